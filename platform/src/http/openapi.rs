//! The OpenAPI document of the platform API (`GET /api/v1/openapi.json`), generated from the
//! handlers' annotations and the API types (utoipa).

use axum::routing::get;
use axum::{Json, Router};
use hall_domain::Blzt;
use hall_domain::api::{
    Applicant, ApplicationCreated, ApplicationRequest, CaseView, FeeLine, FeeNotice,
    FeeNoticeSummary, FieldError, Item, Material, MaterialStatus, MaterialSubmission, Node,
    NoticeStatus, Order, OrderRequest, OrderStatus, Organization, OrganizationInfo,
    PendingMaterial, Problem, Project, ProjectInfo,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{applications, cases, catalogue, fleet, health, journeys, payments, staff, updates};
use crate::application::{Extras, IdCardRead};
use crate::payment::Callback;
use crate::state::AppState;
use crate::store::Created;

struct StaffToken;

impl Modify for StaffToken {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "staff_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A department's token from `hall-platform staff token`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "kiosk_credential",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A kiosk's own credential (hkc_…), from POST /api/v1/fleet/enrol",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "fleet_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A help-desk or admin token (hft_…) from `hall-platform fleet token create`",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hall-platform",
        description = "The approval platform API of the construction-project service hall. \
            Errors are application/problem+json (the Problem schema) with field errors in \
            Chinese and English. Money is integer fen.",
    ),
    paths(
        health::health, catalogue::items, catalogue::project, catalogue::organization,
        applications::create_application, applications::withdraw_application, applications::application_by_key, cases::case, cases::case_details, cases::cases_by_applicant, cases::case_by_reference,
        staff::staff_me, staff::staff_case, staff::staff_action,
        payments::notice, payments::create_order, payments::order, payments::cancel_order, payments::sim_pay,
        payments::sim_callback,
        fleet::enrol, fleet::heartbeat, fleet::help,
        fleet::poll, fleet::ack, fleet::me,
        fleet::list, fleet::show, fleet::issue,
        fleet::clear_help, fleet::revoke, fleet::enrol_token,
        fleet::applications, journeys::report,
        updates::releases, updates::upload, updates::bundle,
        updates::rollouts, updates::start, updates::rollout, updates::change,
    ),
    components(schemas(
        health::Health, staff::StaffMe, applications::ApplicationBody, Extras, IdCardRead, Created, Callback,
        applications::WithdrawAnswer, cases::CaseAnswer,
        fleet::FleetMe, fleet::EnrolTokenRequest, fleet::EnrolToken,
        hall_domain::api::EnrolRequest, hall_domain::api::Enrolled, hall_domain::api::DeviceState,
        hall_domain::api::DeviceHealth, hall_domain::api::Heartbeat, hall_domain::api::HeartbeatAnswer,
        hall_domain::api::SystemReport, hall_domain::api::UpdateState, hall_domain::api::UpdateOffer,
        hall_domain::api::Release, hall_domain::api::StartRollout, hall_domain::api::RolloutChange,
        hall_domain::api::Rollout, hall_domain::api::RolloutKiosk, hall_domain::api::RolloutProgress,
        hall_domain::api::HelpRequest, hall_domain::api::CommandKind, hall_domain::api::CommandStatus,
        hall_domain::api::FleetCommand, hall_domain::api::CommandAck, hall_domain::api::IssueCommand,
        hall_domain::api::JourneyReport, hall_domain::api::JourneyReportAnswer, hall_domain::api::JourneyEvent,
        hall_domain::api::JourneyKind, hall_domain::api::JourneyStep, hall_domain::api::JourneyEventKind,
        hall_domain::api::Rating, hall_domain::api::RatingReason,
        hall_domain::api::KioskStatus, crate::store::KeyState, crate::store::KeyedCase, fleet::KioskCase,
        staff::StaffActionRequest, Item, Material, ProjectInfo, OrganizationInfo,
        ApplicationRequest, Applicant, Organization, Project, MaterialStatus, MaterialSubmission,
        ApplicationCreated, PendingMaterial, Problem, FieldError, CaseView, Node, FeeNoticeSummary,
        hall_domain::api::CaseDetailsRequest, hall_domain::api::CaseDetails, hall_domain::api::NodeOpinion, hall_domain::api::CaseSummary,
        NoticeStatus, FeeNotice, FeeLine, OrderRequest, OrderStatus, Order, Blzt,
    )),
    modifiers(&StaffToken),
)]
pub struct ApiDoc;

/// The document, as JSON.
pub fn json() -> serde_json::Value {
    match serde_json::to_value(ApiDoc::openapi()) {
        Ok(mut doc) => {
            super::contract::refine(&mut doc);
            doc
        }
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document could not be serialised");
            serde_json::Value::Null
        }
    }
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route(hall_domain::api::OPENAPI, get(document))
}

async fn document() -> Json<serde_json::Value> {
    Json(json())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if let (true, Some(s)) = (k == "$ref", x.as_str()) {
                        out.push(s.to_string());
                    }
                    refs(x, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_is_documented_and_every_reference_resolves() {
        let doc = json();
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        for p in [
            "/api/v1/health",
            "/api/v1/items",
            "/api/v1/projects/{code}",
            "/api/v1/organizations/{credit_code}",
            "/api/v1/applications",
            "/api/v1/cases/{approval_code}",
            "/api/v1/cases/by-reference/{reference}",
            "/api/v1/staff/me",
            "/api/v1/staff/cases/{approval_code}",
            "/api/v1/staff/cases/{approval_code}/actions",
            "/api/v1/fee-notices/{payment_code}",
            "/api/v1/fee-notices/{payment_code}/orders",
            "/api/v1/orders/{order_id}",
            "/api/v1/orders/{order_id}/cancel",
            "/api/v1/sim/orders/{order_id}/pay",
            "/api/v1/payments/simulated/callback",
            "/api/v1/applications/withdraw",
            "/api/v1/applications/by-key/{key}",
            "/api/v1/fleet/enrol",
            "/api/v1/fleet/heartbeat",
            "/api/v1/fleet/help",
            "/api/v1/fleet/commands",
            "/api/v1/fleet/commands/{id}/ack",
            "/api/v1/fleet/me",
            "/api/v1/fleet/kiosks",
            "/api/v1/fleet/kiosks/{kiosk_id}",
            "/api/v1/fleet/kiosks/{kiosk_id}/help/clear",
            "/api/v1/fleet/kiosks/{kiosk_id}/revoke",
            "/api/v1/fleet/kiosks/{kiosk_id}/applications",
            "/api/v1/fleet/enrol-tokens",
            "/api/v1/fleet/journeys",
            "/api/v1/fleet/releases",
            "/api/v1/fleet/releases/{release}/bundle",
            "/api/v1/fleet/rollouts",
            "/api/v1/fleet/rollouts/{rollout_id}",
        ] {
            assert!(paths.iter().any(|x| *x == p), "{p} is not documented");
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 30);
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(schemas.contains_key(name), "{r} does not resolve");
        }
        let blzt = &schemas["Blzt"];
        assert_eq!(blzt["type"], "integer");
        assert_eq!(blzt["maximum"], 15);
        assert!(doc["components"]["securitySchemes"]["staff_token"].is_object());
    }

    #[test]
    fn errors_are_problems_and_every_refusal_an_operation_can_give_is_declared() {
        let doc = json();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let responses = op["responses"].as_object().unwrap();
                for (status, answer) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        let content = answer["content"].as_object().unwrap();
                        assert_eq!(
                            content.keys().collect::<Vec<_>>(),
                            ["application/problem+json"],
                            "{method} {path} {status}"
                        );
                    }
                }
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                assert!(
                    !secured || responses.contains_key("401"),
                    "{method} {path}: 401"
                );
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(responses.contains_key(status), "{method} {path}: {status}");
                    }
                }
                if let Some(params) = op["parameters"].as_array() {
                    for p in params {
                        assert!(
                            p["schema"]["pattern"].is_string() || p["in"] == "query",
                            "{method} {path}: parameter {} has no pattern",
                            p["name"]
                        );
                    }
                }
            }
        }
        assert!(operations >= 33, "{operations} operations");
        let code = &doc["paths"]["/api/v1/cases/{approval_code}"]["get"]["parameters"][0]["schema"];
        assert_eq!(code["format"], "approval-code");
        let kiosk = &doc["components"]["schemas"]["KioskStatus"]["properties"]["last_seen"];
        assert!(kiosk.to_string().contains("date-time"), "{kiosk}");
        assert!(doc["components"]["schemas"]["IssueCommand"]["oneOf"].is_array());
    }
}
