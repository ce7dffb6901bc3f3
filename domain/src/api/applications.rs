//! Applications: what the kiosk submits and what it gets back.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::status::Blzt;
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRequest {
    pub item_id: String,
    pub applicant: Applicant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    pub project: Project,
    pub materials: Vec<MaterialSubmission>,
    /// How the applicant identified: `id_card` or `typed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identified_by: Option<String>,
    /// The kiosk's own reference, printed on a provisional receipt when the platform could not
    /// be reached; the case can be found by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_reference: Option<String>,
    /// What the ID card reader read, when the applicant identified with the card; the form must
    /// agree with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_card: Option<IdCardRead>,
}

/// The fields of an ID card that the application must agree with.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdCardRead {
    pub name: String,
    pub id_number: String,
    /// End of validity; absent for a card valid for life (长期).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applicant {
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub name: String,
    pub credit_code: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub code: String,
    pub name: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialStatus {
    Provided,
    Tolerated,
    Committed,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaterialSubmission {
    pub material_id: String,
    pub status: MaterialStatus,
    /// Pages photographed at the kiosk.
    pub pages: u32,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationCreated {
    pub approval_code: String,
    pub status: Blzt,
    pub status_text: String,
    pub item_id: String,
    pub item_name: String,
    pub submitted_at: NaiveDateTime,
    /// When the slowest department's time limit ends.
    pub due_date: NaiveDate,
    /// Materials accepted as 容缺 and the date each must be supplied by.
    #[serde(default)]
    pub pending_materials: Vec<PendingMaterial>,
    /// Short code derived from the platform's audit chain, printed on the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingMaterial {
    pub material_id: String,
    pub name: String,
    pub due_date: NaiveDate,
}
