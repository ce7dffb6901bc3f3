//! The one error of the data layer: what a database call can fail with.

use crate::catalogue;

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("the database lock was poisoned by a failed request")]
    Poisoned,
    #[error("every database connection stayed busy")]
    Busy,
    #[error("a database task did not finish: {0}")]
    Task(String),
    #[error("the database holds a value this version does not understand: {0}")]
    Corrupt(String),
    #[error("the database schema is version {found}, newer than this program's {known}")]
    TooNew { found: i64, known: i64 },
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("catalogue: {0}")]
    Catalogue(#[from] catalogue::CatalogueError),
    #[error("personal data: {0}")]
    Seal(#[from] crate::seal::SealError),
    #[error(
        "the audit log is keyed and no audit key was given: nothing was written (give \
         --seal-keys FILE, the key file with its audit_key)"
    )]
    AuditUnkeyed,
}

impl StoreError {
    /// Whether running the transaction again may succeed: PostgreSQL aborted it for a conflict
    /// with another transaction (serialization failure, deadlock, a unique key taken meanwhile).
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Postgres(e) => e.code().is_some_and(|c| {
                *c == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                    || *c == postgres::error::SqlState::UNIQUE_VIOLATION
            }),
            _ => false,
        }
    }
}
