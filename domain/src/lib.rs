//! Shared domain of the hall: the codes people type (with their check characters), money in fen
//! and in Chinese capitals, the national handling-status codes, working days, and the types of the
//! platform API that the kiosk and the platform both speak.

pub mod api;
pub mod calendar;
pub mod codes;
pub mod money;
pub mod status;

pub use calendar::Calendar;
pub use codes::{ApprovalCode, CodeError};
pub use status::{Blzt, Stage};
