//! Every route of the API, one constant each: an axum route pattern (`{name}` a path parameter).
//! The platform registers and documents its routes with these, and clients build paths from them
//! with the functions here, so the two cannot drift apart.

/// A path pattern with its parameters filled in, in order.
fn fill(pattern: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    let mut values = values.iter();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(values.next().copied().unwrap_or_default());
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

pub const HEALTH: &str = "/api/v1/health";
pub const OPENAPI: &str = "/api/v1/openapi.json";
pub const ITEMS: &str = "/api/v1/items";
pub const PROJECT: &str = "/api/v1/projects/{code}";
pub const ORGANIZATION: &str = "/api/v1/organizations/{credit_code}";
pub const APPLICATIONS: &str = "/api/v1/applications";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Withdraws what was submitted under the `Idempotency-Key` sent with it.
pub const APPLICATIONS_WITHDRAW: &str = "/api/v1/applications/withdraw";
pub const APPLICATION_BY_KEY: &str = "/api/v1/applications/by-key/{key}";
pub const CASE: &str = "/api/v1/cases/{approval_code}";
/// The details of a case, for its applicant (POST with a
/// [`CaseDetailsRequest`](super::cases::CaseDetailsRequest)).
pub const CASE_DETAILS: &str = "/api/v1/cases/{approval_code}/details";
/// The cases of the holder of an ID card (POST with a
/// [`CaseDetailsRequest`](super::cases::CaseDetailsRequest)).
pub const CASES_BY_APPLICANT: &str = "/api/v1/cases/by-applicant";
pub const CASE_BY_REFERENCE: &str = "/api/v1/cases/by-reference/{reference}";
pub const STAFF_ME: &str = "/api/v1/staff/me";
pub const STAFF_CASE: &str = "/api/v1/staff/cases/{approval_code}";
pub const STAFF_CASE_ACTIONS: &str = "/api/v1/staff/cases/{approval_code}/actions";
pub const FEE_NOTICE: &str = "/api/v1/fee-notices/{payment_code}";
pub const FEE_NOTICE_ORDERS: &str = "/api/v1/fee-notices/{payment_code}/orders";
pub const ORDER: &str = "/api/v1/orders/{order_id}";
pub const ORDER_CANCEL: &str = "/api/v1/orders/{order_id}/cancel";
/// Simulated provider only: the payer's phone confirms a QR order.
pub const SIM_ORDER_PAY: &str = "/api/v1/sim/orders/{order_id}/pay";
/// Simulated provider only: its signed payment callbacks.
pub const SIM_CALLBACK: &str = "/api/v1/payments/simulated/callback";

pub fn case_path(approval_code: &str) -> String {
    fill(CASE, &[approval_code])
}
/// The details of a case, for its applicant (POST with a
/// [`CaseDetailsRequest`](super::cases::CaseDetailsRequest)).
pub fn case_details_path(approval_code: &str) -> String {
    fill(CASE_DETAILS, &[approval_code])
}
pub fn fee_notice_path(payment_code: &str) -> String {
    fill(FEE_NOTICE, &[payment_code])
}
pub fn orders_path(payment_code: &str) -> String {
    fill(FEE_NOTICE_ORDERS, &[payment_code])
}
pub fn order_path(order_id: &str) -> String {
    fill(ORDER, &[order_id])
}
pub fn order_cancel_path(order_id: &str) -> String {
    fill(ORDER_CANCEL, &[order_id])
}
pub fn project_path(code: &str) -> String {
    fill(PROJECT, &[code])
}
pub fn organization_path(credit_code: &str) -> String {
    fill(ORGANIZATION, &[credit_code])
}
/// Simulated provider only: the payer's phone confirms a QR order.
pub fn sim_pay_path(order_id: &str) -> String {
    fill(SIM_ORDER_PAY, &[order_id])
}

// Fleet control

pub const FLEET_ENROL: &str = "/api/v1/fleet/enrol";
pub const FLEET_HEARTBEAT: &str = "/api/v1/fleet/heartbeat";
pub const FLEET_HELP: &str = "/api/v1/fleet/help";
pub const FLEET_COMMANDS: &str = "/api/v1/fleet/commands";
pub const FLEET_COMMAND_ACK: &str = "/api/v1/fleet/commands/{id}/ack";
pub const FLEET_ME: &str = "/api/v1/fleet/me";
/// What people did at the kiosk (journey events, 好差评), with the kiosk's credential.
pub const FLEET_JOURNEYS: &str = "/api/v1/fleet/journeys";
/// A release's RAUC bundle, for kiosks it is rolled out to (`Range` to resume).
pub const FLEET_RELEASE_BUNDLE: &str = "/api/v1/fleet/releases/{release}/bundle";
/// The releases the platform stores (GET: help desk; POST: an admin uploads a bundle).
pub const FLEET_RELEASES: &str = "/api/v1/fleet/releases";
/// Rollouts of releases (GET: help desk; POST: an admin starts one).
pub const FLEET_ROLLOUTS: &str = "/api/v1/fleet/rollouts";
/// One rollout with its kiosks (GET), changed by an admin (POST: widen, stop, resume).
pub const FLEET_ROLLOUT: &str = "/api/v1/fleet/rollouts/{rollout_id}";
pub const FLEET_KIOSKS: &str = "/api/v1/fleet/kiosks";
pub const FLEET_KIOSK: &str = "/api/v1/fleet/kiosks/{kiosk_id}";
pub const FLEET_KIOSK_HELP_CLEAR: &str = "/api/v1/fleet/kiosks/{kiosk_id}/help/clear";
pub const FLEET_KIOSK_REVOKE: &str = "/api/v1/fleet/kiosks/{kiosk_id}/revoke";
pub const FLEET_KIOSK_APPLICATIONS: &str = "/api/v1/fleet/kiosks/{kiosk_id}/applications";
pub const FLEET_ENROL_TOKENS: &str = "/api/v1/fleet/enrol-tokens";

/// The long-poll for a kiosk's next command, waiting at most `wait_secs` (≤ 30).
pub fn fleet_poll_path(wait_secs: u32) -> String {
    format!("{FLEET_COMMANDS}?wait={wait_secs}")
}
/// Where a kiosk acknowledges a command with its result.
pub fn fleet_ack_path(command_id: &str) -> String {
    fill(FLEET_COMMAND_ACK, &[command_id])
}
/// Where a kiosk downloads a release's bundle.
pub fn release_bundle_path(release: &str) -> String {
    fill(FLEET_RELEASE_BUNDLE, &[release])
}
/// One rollout.
pub fn fleet_rollout_path(rollout_id: &str) -> String {
    fill(FLEET_ROLLOUT, &[rollout_id])
}
pub fn fleet_kiosk_path(kiosk_id: &str) -> String {
    fill(FLEET_KIOSK, &[kiosk_id])
}
pub fn fleet_kiosk_help_clear_path(kiosk_id: &str) -> String {
    fill(FLEET_KIOSK_HELP_CLEAR, &[kiosk_id])
}
pub fn fleet_kiosk_revoke_path(kiosk_id: &str) -> String {
    fill(FLEET_KIOSK_REVOKE, &[kiosk_id])
}
pub fn fleet_kiosk_applications_path(kiosk_id: &str) -> String {
    fill(FLEET_KIOSK_APPLICATIONS, &[kiosk_id])
}
