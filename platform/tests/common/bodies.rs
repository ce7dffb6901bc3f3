//! Application bodies the tests submit.

use hall_platform::demo;
use serde_json::{Value, json};

/// A complete application for the engineering planning permit by the demo applicant, for the
/// demo organisation and project (two departments; one tolerable material that is tolerated),
/// typed in at kiosk `kiosk_id`.
pub fn planning_permit(kiosk_id: &str) -> Value {
    json!({
        "item_id": "engineering-planning-permit",
        "applicant": {
            "name": demo::APPLICANT_NAME,
            "id_number": demo::APPLICANT_ID,
            "phone": demo::APPLICANT_PHONE
        },
        "organization": { "name": "", "credit_code": demo::CREDIT_CODE },
        "project": { "code": demo::PROJECT_CODE, "name": "" },
        "materials": [
            { "material_id": "application-form", "status": "provided", "pages": 2 },
            { "material_id": "land-rights", "status": "committed", "pages": 0 },
            { "material_id": "engineering-drawings", "status": "provided", "pages": 14 },
            { "material_id": "civil-defence-plan", "status": "tolerated", "pages": 0 }
        ],
        "identified_by": "typed",
        "kiosk_id": kiosk_id
    })
}

/// A complete application for the engineering planning permit (two departments, one
/// tolerable material that is tolerated).
pub fn planning_permit_application() -> Value {
    let mut body = planning_permit("K-01");
    body["project"]["code"] = json!("20264206004701000123");
    body["identified_by"] = json!("id_card");
    body
}
