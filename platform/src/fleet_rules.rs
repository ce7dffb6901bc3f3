//! Fleet control's rules: roles, limits, secrets and refusals (no I/O).

use rand::Rng;

/// How often a kiosk is asked to send its heartbeat, by default.
pub const HEARTBEAT_SECS: u32 = 30;

/// How long a command waits to be fetched, by default.
pub const DEFAULT_TTL_SECS: u32 = 300;

/// The longest a command may wait.
pub const MAX_TTL_SECS: u32 = 24 * 3600;

/// The longest text kept from a kiosk (errors, notes, versions).
pub const MAX_TEXT: usize = 500;

/// What a fleet token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// List and show kiosks, issue restart / reboot / identify, clear help requests.
    Helpdesk,
    /// Everything the help desk may do, and enrol and revoke kiosks.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Helpdesk => "helpdesk",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "helpdesk" => Some(Role::Helpdesk),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A new secret with its prefix, and its SHA-256 (what is stored).
pub fn new_secret(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 24];
    rand::rng().fill(&mut bytes);
    let token = format!(
        "{prefix}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let hash = crate::staff::token_hash(&token);
    (token, hash)
}

/// Prefixes: help-desk/admin tokens, enrolment tokens, kiosk credentials.
pub const FLEET_TOKEN_PREFIX: &str = "hft_";

pub const ENROL_TOKEN_PREFIX: &str = "hke_";

pub const CREDENTIAL_PREFIX: &str = "hkc_";

pub(crate) fn clip(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(MAX_TEXT)
        .collect()
}

pub(crate) fn kiosk_subject(kiosk_id: &str) -> String {
    format!("kiosk:{kiosk_id}")
}

/// Why a command could not be issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueRefusal {
    /// Neither or both of a kiosk and a hall were named.
    Target,
    /// No enrolled kiosk with this id (or in this hall).
    NoKiosk,
    /// The TTL is out of range.
    Ttl,
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckRefusal {
    /// No such command for this kiosk.
    NotFound,
    /// The command was never delivered (pending or expired).
    NotDelivered,
}
