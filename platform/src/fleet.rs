//! Fleet control: kiosks enrol with a one-time token and get their own credential, report a
//! heartbeat (version, uptime, boot id, devices, whether a citizen is using them, the last
//! error), raise a help request, and fetch the help desk's commands (restart the application,
//! reboot, identify) by long-poll.
//!
//! Everything goes through the database, so several platform instances on one PostgreSQL serve
//! one fleet: a command is handed out by one atomic `UPDATE … RETURNING` on a row picked with
//! `FOR UPDATE SKIP LOCKED`, so it is delivered at most once whichever instance the kiosk asks.
//! A command that nobody fetched before its expiry is never delivered. Restarts and reboots that
//! are not forced wait while the kiosk's last heartbeat says a citizen is using it (and the
//! kiosk itself waits for the session to end before carrying them out).
//!
//! Tokens (help-desk, admin, enrolment) and kiosk credentials are stored as SHA-256. Every
//! token, enrolment, revocation, help request and command (issued, delivered, expired,
//! acknowledged) is appended to the audit chain.
//!
//! `fleet_rules` holds the roles, limits, secrets and refusals; the statements are in
//! [`crate::store::fleet`]; both are re-exported here.

pub use crate::fleet_rules::*;
pub use crate::store::fleet::{
    ack, clear_help, create_enrol_token, create_fleet_token, enrol, fleet_role, has_pending,
    heartbeat, help, issue, kiosk_by_credential, list, poll_current, revoke_fleet_tokens,
    revoke_kiosk, show, start_poll, take_command,
};
