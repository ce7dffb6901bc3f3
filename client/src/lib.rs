//! The kiosk's side of the hall platform's fleet API, apart from the platform itself: a kiosk
//! is a client, and links no server code. Request and answer types are in [`hall_domain::api`].

pub mod fleet;
pub mod link;

pub use fleet::{FleetClient, FleetError};
pub use link::LinkError;
