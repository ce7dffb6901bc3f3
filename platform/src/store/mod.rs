//! The data layer: every SQL statement of the platform lives here, written once for SQLite and
//! PostgreSQL (see [`crate::db`]).
//!
//! The schema is versioned in `schema_migrations`; [`MIGRATIONS`] lists every step, with its SQL
//! for each backend, and a database is brought up to date when it is opened (on PostgreSQL under
//! an advisory lock, so instances starting together migrate once). Rules that money depends on (a
//! fee notice is paid once, by one order) are enforced by the schema itself, not only by this
//! code. Every state change appends to the audit chain in the same transaction ([`crate::audit`]).
//!
//! One file per aggregate (applications, cases, payments, staff, fleet, catalogue and registries,
//! audit), each with its records and its SQL; `migrate` holds the schema's steps, `seed` the
//! first data; `handle` the connections and what every aggregate shares.

mod applications;
pub mod audit;
mod bound;
mod cases;
mod catalogue;
pub mod console;
pub mod fleet;
pub mod fleet_history;
mod handle;
pub mod journeys;
mod migrate;
mod payments;
mod sealing;
mod seed;
mod staff;
mod update_offers;
pub mod updates;

pub use crate::error::StoreError;
pub use applications::{Created, Idempotent, KeyState, KeyedCase, WITHDRAW_REASON, Withdrawal};
pub use cases::{
    APPLICANT_CASES_MAX, APPLICANT_LISTS_PER_KIOSK, CaseMaterial, CaseRecord,
    DETAILS_TRIES_PER_CASE, DETAILS_TRIES_PER_KIOSK, DETAILS_WINDOW_MINUTES, DetailsOutcome,
    NewCase, NodeRecord, id_number_sha256,
};
pub use catalogue::{CatalogueVersionInfo, Imported};
pub use handle::Store;
pub(crate) use handle::meta_or_init;
pub use migrate::{MIGRATIONS, Migration, latest_version};
pub use payments::{
    NewNotice, NewOrder, NoticeBlock, NoticeRecord, OrderRecord, PayMethod, Settlement,
};
pub use seed::{DemoRecords, SeedReport};
pub use staff::NodeActionRequest;
