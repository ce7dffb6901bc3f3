//! The platform API (`/api/v1`) as Rust types. Paths and field names are a contract that outside
//! tools use: add fields, never rename or remove them. Money is integer fen everywhere.

use crate::status::Blzt;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

// Paths. Each route is one constant, an axum route pattern (`{name}` a path parameter): the
// platform registers and documents its routes with these, and clients build paths from them with
// the functions below, so the two cannot drift apart.

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
/// The details of a case, for its applicant (POST with a [`CaseDetailsRequest`]).
pub const CASE_DETAILS: &str = "/api/v1/cases/{approval_code}/details";
/// The cases of the holder of an ID card (POST with a [`CaseDetailsRequest`]).
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
/// The details of a case, for its applicant (POST with a [`CaseDetailsRequest`]).
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

// ---------------------------------------------------------------------------------------------
// Catalogue

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

// ---------------------------------------------------------------------------------------------
// Registries: a project is registered (with its name) before its approvals; an organisation is
// known by its credit code. The kiosk fills names from these instead of asking a person to type.

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

// ---------------------------------------------------------------------------------------------
// Applications

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
    /// The kiosk that took the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
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

// ---------------------------------------------------------------------------------------------
// Cases

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
    pub id_number: String,
    /// The kiosk asking (for the audit log and the attempt limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
}

impl std::fmt::Debug for CaseDetailsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseDetailsRequest")
            .field("id_number", &"***")
            .field("kiosk_id", &self.kiosk_id)
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

// ---------------------------------------------------------------------------------------------
// Fees and payment

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    Unpaid,
    Paid,
    Cancelled,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeNoticeSummary {
    pub payment_code: String,
    pub total_fen: i64,
    pub status: NoticeStatus,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeNotice {
    pub payment_code: String,
    pub agency: String,
    #[serde(default)]
    pub approval_code: Option<String>,
    /// Masked payer name.
    #[serde(default)]
    pub payer: String,
    pub items: Vec<FeeLine>,
    pub total_fen: i64,
    pub status: NoticeStatus,
    #[serde(default)]
    pub receipt_no: Option<String>,
    #[serde(default)]
    pub paid_at: Option<NaiveDateTime>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeLine {
    pub name: String,
    pub amount_fen: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum OrderRequest {
    /// The kiosk shows a QR for the payer's phone.
    Qr,
    /// The scanner read the payer's phone payment code.
    Scan { auth_code: String },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for the payer (scan the QR, or confirm on the phone).
    Pending,
    Paid,
    Failed,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Pending)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub payment_code: String,
    pub status: OrderStatus,
    pub amount_fen: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_payload: Option<String>,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub receipt_no: Option<String>,
    #[serde(default)]
    pub paid_at: Option<NaiveDateTime>,
    #[serde(default)]
    pub expires_at: Option<NaiveDateTime>,
    /// Why it failed, in words (Chinese).
    #[serde(default)]
    pub failure_reason: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Fleet control (`/api/v1/fleet/...`): enrolment, heartbeats, help requests and commands. A kiosk
// authenticates with the credential it got at enrolment (`Authorization: Bearer hkc_…`);
// help-desk staff and admins with their fleet tokens (`Bearer hft_…`).

pub const FLEET_ENROL: &str = "/api/v1/fleet/enrol";
pub const FLEET_HEARTBEAT: &str = "/api/v1/fleet/heartbeat";
pub const FLEET_HELP: &str = "/api/v1/fleet/help";
pub const FLEET_COMMANDS: &str = "/api/v1/fleet/commands";
pub const FLEET_COMMAND_ACK: &str = "/api/v1/fleet/commands/{id}/ack";
pub const FLEET_ME: &str = "/api/v1/fleet/me";
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

/// `POST /api/v1/fleet/enrol`: the one-time token from the kiosk's provisioning file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub enrolment_token: String,
}

/// The kiosk's own credential: keep it (it is shown once) and send it as `Bearer` from now on.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolled {
    pub kiosk_id: String,
    pub hall: String,
    pub credential: String,
    /// How often the platform expects a heartbeat.
    pub heartbeat_secs: u32,
}

/// What a device reports about itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    Ok,
    /// Printer: paper running low.
    PaperLow,
    /// Printer: out of paper.
    PaperOut,
    /// Not connected (or not found).
    Absent,
    Error,
    /// Not fitted on this kiosk.
    None,
}

/// The health of the kiosk's devices.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceHealth {
    pub printer: DeviceState,
    pub reader: DeviceState,
    pub camera: DeviceState,
    pub scanner: DeviceState,
}

/// `POST /api/v1/fleet/heartbeat`, every `heartbeat_secs`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The kiosk software's version.
    pub version: String,
    pub uptime_secs: u64,
    /// The operating system's boot id (`/proc/sys/kernel/random/boot_id`): a new one is a reboot.
    pub boot_id: String,
    pub devices: DeviceHealth,
    /// A citizen is using the kiosk (a session is open).
    pub in_use: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The platform's answer to a heartbeat.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatAnswer {
    pub heartbeat_secs: u32,
    /// A command waits: poll now.
    #[serde(default)]
    pub commands_pending: bool,
}

/// `POST /api/v1/fleet/help`: the help button (`needs_help: true`), or the kiosk withdrawing
/// its call (`false`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelpRequest {
    pub needs_help: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a help-desk command asks a kiosk to do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Restart the kiosk application (after the citizen in front of it finished, unless forced).
    RestartApp,
    /// Reboot the machine (likewise).
    Reboot,
    /// Show the kiosk's id on screen and blink its light.
    Identify,
}

impl CommandKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::RestartApp => "restart_app",
            CommandKind::Reboot => "reboot",
            CommandKind::Identify => "identify",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "restart_app" => Some(CommandKind::RestartApp),
            "reboot" => Some(CommandKind::Reboot),
            "identify" => Some(CommandKind::Identify),
            _ => None,
        }
    }
}

/// Where a command is in its life.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    /// Waiting for the kiosk to fetch it.
    Pending,
    /// Handed to the kiosk (once; never again).
    Delivered,
    /// The kiosk carried it out.
    Done,
    /// The kiosk could not carry it out.
    Failed,
    /// Nobody fetched it in time.
    Expired,
}

impl CommandStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Pending => "pending",
            CommandStatus::Delivered => "delivered",
            CommandStatus::Done => "done",
            CommandStatus::Failed => "failed",
            CommandStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(CommandStatus::Pending),
            "delivered" => Some(CommandStatus::Delivered),
            "done" => Some(CommandStatus::Done),
            "failed" => Some(CommandStatus::Failed),
            "expired" => Some(CommandStatus::Expired),
            _ => None,
        }
    }
}

/// A command as the kiosk receives it (and as the help desk sees it).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetCommand {
    pub id: String,
    pub kiosk_id: String,
    pub kind: CommandKind,
    /// Restart or reboot now, even while a citizen is using the kiosk.
    pub force: bool,
    pub issued_by: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub status: CommandStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// `POST /api/v1/fleet/commands/{id}/ack`: what became of a command.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandAck {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// `POST /api/v1/fleet/commands` (help desk): to one kiosk or every kiosk of a hall.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueCommand {
    pub kind: CommandKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
    #[serde(default)]
    pub force: bool,
    /// How long the command may wait to be fetched (default 300 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u32>,
}

/// A kiosk as the help desk sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KioskStatus {
    pub kiosk_id: String,
    pub hall: String,
    pub enrolled: bool,
    pub revoked: bool,
    /// A heartbeat arrived within the platform's offline limit.
    pub online: bool,
    #[serde(default)]
    pub last_seen: Option<NaiveDateTime>,
    #[serde(default)]
    pub last_seen_secs_ago: Option<u64>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    #[serde(default)]
    pub boot_id: Option<String>,
    #[serde(default)]
    pub devices: Option<DeviceHealth>,
    pub in_use: bool,
    #[serde(default)]
    pub last_error: Option<String>,
    pub needs_help: bool,
    #[serde(default)]
    pub help_note: Option<String>,
    #[serde(default)]
    pub help_since: Option<NaiveDateTime>,
    /// The latest commands (for `show`), newest first.
    #[serde(default)]
    pub commands: Vec<FleetCommand>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `path` is an instance of the route `pattern` (`{name}` matching one segment).
    fn matches(pattern: &str, path: &str) -> bool {
        let (p, q): (Vec<&str>, Vec<&str>) =
            (pattern.split('/').collect(), path.split('/').collect());
        p.len() == q.len()
            && p.iter().zip(&q).all(|(p, q)| {
                if p.starts_with('{') && p.ends_with('}') {
                    !q.is_empty()
                } else {
                    p == q
                }
            })
    }

    #[test]
    fn every_path_builder_fills_its_route_pattern() {
        let cases: Vec<(&str, String, &str)> = vec![
            (
                CASE,
                case_path("1101202401000001"),
                "/api/v1/cases/1101202401000001",
            ),
            (
                CASE_DETAILS,
                case_details_path("1101202401000001"),
                "/api/v1/cases/1101202401000001/details",
            ),
            (
                FEE_NOTICE,
                fee_notice_path("2401000001"),
                "/api/v1/fee-notices/2401000001",
            ),
            (
                FEE_NOTICE_ORDERS,
                orders_path("2401000001"),
                "/api/v1/fee-notices/2401000001/orders",
            ),
            (ORDER, order_path("ord-1"), "/api/v1/orders/ord-1"),
            (
                ORDER_CANCEL,
                order_cancel_path("ord-1"),
                "/api/v1/orders/ord-1/cancel",
            ),
            (
                PROJECT,
                project_path("2401-110000-04-01-000001"),
                "/api/v1/projects/2401-110000-04-01-000001",
            ),
            (
                ORGANIZATION,
                organization_path("91110000600037341L"),
                "/api/v1/organizations/91110000600037341L",
            ),
            (
                SIM_ORDER_PAY,
                sim_pay_path("ord-1"),
                "/api/v1/sim/orders/ord-1/pay",
            ),
            (
                FLEET_COMMAND_ACK,
                fleet_ack_path("cmd-1"),
                "/api/v1/fleet/commands/cmd-1/ack",
            ),
            (
                FLEET_KIOSK,
                fleet_kiosk_path("k-1"),
                "/api/v1/fleet/kiosks/k-1",
            ),
        ];
        for (pattern, built, expected) in cases {
            assert_eq!(built, expected);
            assert!(matches(pattern, &built), "{built} does not match {pattern}");
            assert!(!built.contains('{'), "{built} left a parameter unfilled");
        }
        assert_eq!(fleet_poll_path(25), "/api/v1/fleet/commands?wait=25");
        assert!(fleet_poll_path(25).starts_with(FLEET_COMMANDS));
    }

    #[test]
    fn every_route_is_a_versioned_api_path() {
        for p in [
            HEALTH,
            OPENAPI,
            ITEMS,
            PROJECT,
            ORGANIZATION,
            APPLICATIONS,
            APPLICATIONS_WITHDRAW,
            APPLICATION_BY_KEY,
            CASE,
            CASE_DETAILS,
            CASES_BY_APPLICANT,
            CASE_BY_REFERENCE,
            STAFF_ME,
            STAFF_CASE,
            STAFF_CASE_ACTIONS,
            FEE_NOTICE,
            FEE_NOTICE_ORDERS,
            ORDER,
            ORDER_CANCEL,
            SIM_ORDER_PAY,
            SIM_CALLBACK,
            FLEET_ENROL,
            FLEET_HEARTBEAT,
            FLEET_HELP,
            FLEET_COMMANDS,
            FLEET_COMMAND_ACK,
            FLEET_ME,
            FLEET_KIOSKS,
            FLEET_KIOSK,
            FLEET_KIOSK_HELP_CLEAR,
            FLEET_KIOSK_REVOKE,
            FLEET_KIOSK_APPLICATIONS,
            FLEET_ENROL_TOKENS,
        ] {
            assert!(p.starts_with("/api/v1/"), "{p}");
            assert_eq!(p.matches('{').count(), p.matches('}').count(), "{p}");
        }
    }

    #[test]
    fn order_request_wire_shape() {
        let j = serde_json::to_value(OrderRequest::Qr).unwrap();
        assert_eq!(j, serde_json::json!({"method": "qr"}));
        let j = serde_json::to_value(OrderRequest::Scan {
            auth_code: "134567890123456789".into(),
        })
        .unwrap();
        assert_eq!(
            j,
            serde_json::json!({"method": "scan", "auth_code": "134567890123456789"})
        );
    }

    #[test]
    fn material_status_wire_shape() {
        let j = serde_json::to_value(MaterialStatus::Tolerated).unwrap();
        assert_eq!(j, serde_json::json!("tolerated"));
        let node: Result<Node, _> = serde_json::from_value(serde_json::json!({
            "department": "住建", "status_code": 99, "status_text": "", "started_at": null,
            "due_date": null, "time_limit_days": 1, "overdue": false
        }));
        assert!(node.is_err(), "unknown BLZT codes are rejected");
    }
}
