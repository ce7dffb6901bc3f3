//! Fleet control (`/api/v1/fleet/...`): enrolment, heartbeats, help requests and commands. A kiosk
//! authenticates with the credential it got at enrolment (`Authorization: Bearer hkc_…`);
//! help-desk staff and admins with their fleet tokens (`Bearer hft_…`).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
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
    /// The running system and where its update stands (absent from kiosks before field updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<super::SystemReport>,
}

/// The platform's answer to a heartbeat.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatAnswer {
    pub heartbeat_secs: u32,
    /// A command waits: poll now.
    #[serde(default)]
    pub commands_pending: bool,
    /// A release rolled out to this kiosk that it does not run yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<super::UpdateOffer>,
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
    #[serde(with = "crate::api::time::local")]
    pub issued_at: NaiveDateTime,
    #[serde(with = "crate::api::time::local")]
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
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub kiosk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub hall: Option<String>,
    #[serde(default)]
    pub force: bool,
    /// How long the command may wait to be fetched (default 300 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400))]
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
    #[serde(default, with = "crate::api::time::local_opt")]
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
    #[serde(default, with = "crate::api::time::local_opt")]
    pub help_since: Option<NaiveDateTime>,
    /// The running system and where its update stands, as its latest heartbeat said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<super::SystemReport>,
    /// The latest commands (for `show`), newest first.
    #[serde(default)]
    pub commands: Vec<FleetCommand>,
}
