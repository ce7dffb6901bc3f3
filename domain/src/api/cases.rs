//! Cases: their status as anyone holding the approval code may see it, and the details their
//! applicant may see.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::payments::FeeNoticeSummary;
use crate::status::Blzt;
/// A case's status, as anyone holding its approval code may see it: what is applied for, where
/// it stands, each department's status and time limit, and its fee notices (payable by code).
/// Who applied, for which project and what the departments wrote are in [`CaseDetails`], for
/// the applicant only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseView {
    pub approval_code: String,
    /// Item name (Chinese).
    pub item: String,
    #[serde(default)]
    pub item_en: String,
    pub item_id: String,
    pub stage: u8,
    pub status: Blzt,
    pub status_text: String,
    #[serde(with = "crate::api::time::local")]
    pub submitted_at: NaiveDateTime,
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub fee_notices: Vec<FeeNoticeSummary>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub department: String,
    #[serde(default)]
    pub department_en: String,
    pub status_code: Blzt,
    pub status_text: String,
    pub started_at: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub time_limit_days: u32,
    #[serde(default)]
    pub finished_at: Option<NaiveDate>,
    pub overdue: bool,
    /// Working days past the due date (0 when not late).
    #[serde(default)]
    pub overdue_days: u32,
}

/// Asks for a case's details with the ID number read from the person's ID card. Sent in the
/// body (never in the URL) so that it stays out of access logs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetailsRequest {
    /// The 18-character ID number read from the card.
    #[cfg_attr(
        feature = "openapi",
        schema(format = "id-number", pattern = r"^[0-9]{17}[0-9Xx]$")
    )]
    pub id_number: String,
}

impl std::fmt::Debug for CaseDetailsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseDetailsRequest")
            .field("id_number", &"***")
            .finish()
    }
}

/// A case with what only its applicant may see: answered when the ID number of the card placed
/// matches the applicant's.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetails {
    /// The case's status at the same moment.
    pub case: CaseView,
    /// Masked: `张**`.
    pub applicant: String,
    pub project_name: String,
    pub project_code: String,
    /// What the departments wrote (corrections asked, reasons), by node.
    #[serde(default)]
    pub opinions: Vec<NodeOpinion>,
}

/// One of a person's own cases, as listed for their ID card: enough to pick it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub approval_code: String,
    pub item: String,
    #[serde(default)]
    pub item_en: String,
    pub status: Blzt,
    pub status_text: String,
    #[serde(with = "crate::api::time::local")]
    pub submitted_at: NaiveDateTime,
}

/// One department's opinion on a case.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeOpinion {
    /// The node's place in [`CaseView::nodes`].
    pub node: u32,
    pub department: String,
    pub opinion: String,
}

impl CaseDetails {
    /// The opinion on the node at `index`, if its department wrote one.
    pub fn opinion(&self, index: usize) -> Option<&str> {
        self.opinions
            .iter()
            .find(|o| o.node as usize == index)
            .map(|o| o.opinion.as_str())
    }
}
