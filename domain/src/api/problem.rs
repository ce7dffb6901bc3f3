//! Errors as RFC 9457 problem details.

use serde::{Deserialize, Serialize};
/// RFC 9457 problem details, as `application/problem+json`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

fn about_blank() -> String {
    "about:blank".to_string()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `applicant.id_number`.
    pub field: String,
    /// Stable machine code, e.g. `check`, `length`, `missing`.
    pub code: String,
    /// Chinese.
    pub message: String,
    #[serde(default)]
    pub message_en: String,
}
