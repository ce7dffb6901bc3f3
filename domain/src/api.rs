//! The platform API (`/api/v1`) as Rust types. Paths and field names are a contract that outside
//! tools use: add fields, never rename or remove them. Money is integer fen everywhere.

mod applications;
mod cases;
mod catalogue;
mod fleet;
mod journeys;
mod paths;
mod payments;
mod problem;
#[cfg(test)]
mod tests;
pub mod time;
mod updates;

pub use applications::*;
pub use cases::*;
pub use catalogue::*;
pub use fleet::*;
pub use journeys::*;
pub use paths::*;
pub use payments::*;
pub use problem::*;
pub use updates::*;
