//! Applications: what the kiosk submits and what it gets back.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::status::Blzt;
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub item_id: String,
    pub applicant: Applicant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    pub project: Project,
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub materials: Vec<MaterialSubmission>,
    /// How the applicant identified: `id_card` or `typed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^(id_card|typed)$"))]
    pub identified_by: Option<String>,
    /// The kiosk's own reference, printed on a provisional receipt when the platform could not
    /// be reached; the case can be found by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9_-]{0,64}$"))]
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
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 50, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub name: String,
    #[cfg_attr(
        feature = "openapi",
        schema(format = "id-number", pattern = r"^[0-9]{17}[0-9Xx]$")
    )]
    pub id_number: String,
    /// End of validity; absent for a card valid for life (长期).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applicant {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 50, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub name: String,
    #[cfg_attr(
        feature = "openapi",
        schema(format = "id-number", pattern = r"^[0-9]{17}[0-9Xx]$")
    )]
    pub id_number: String,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^(1[3-9][0-9]{9}|0[0-9]{9,11})$")
    )]
    pub phone: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub name: String,
    #[cfg_attr(
        feature = "openapi",
        schema(format = "credit-code", pattern = r"^[0-9A-HJ-NPQRTUWXY]{18}$")
    )]
    pub credit_code: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    #[cfg_attr(
        feature = "openapi",
        schema(
            format = "project-code",
            pattern = r"^(20[0-9]{18}|20[0-9]{2}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6})$"
        )
    )]
    pub code: String,
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
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
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
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
    #[serde(with = "crate::api::time::local")]
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
