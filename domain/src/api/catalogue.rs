//! The catalogue of items and their materials, and the registries of projects and organisations:
//! a project is registered (with its name) before its approvals; an organisation is known by its
//! credit code. The kiosk fills names from these instead of asking a person to type.

use serde::{Deserialize, Serialize};
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub department: String,
    #[serde(default)]
    pub department_en: String,
    /// 1–5, see [`crate::Stage`].
    pub stage: u8,
    /// 0 means the same working day.
    pub time_limit_days: u32,
    /// 秒批: approved at once when every rule passes.
    #[serde(default)]
    pub instant: bool,
    #[serde(default)]
    pub fee_note: Option<String>,
    pub materials: Vec<Material>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Material {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub required: bool,
    /// 容缺: may be supplied after acceptance, within `tolerance_days` working days.
    pub tolerable: bool,
    #[serde(default)]
    pub tolerance_days: Option<u32>,
    /// 告知承诺: a signed commitment may stand in for it.
    pub commitment_allowed: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectInfo {
    /// With dashes: `2026-420600-47-01-000123`.
    pub code: String,
    pub name: String,
    /// Credit code of the construction unit, when registered.
    #[serde(default)]
    pub construction_unit: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationInfo {
    pub credit_code: String,
    pub name: String,
}
