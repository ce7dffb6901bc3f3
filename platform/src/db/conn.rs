//! What a connection of either backend offers the platform's statements.

use super::value::{Row, ToValue};
use crate::error::StoreError;

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The key that signs each audit entry, shared by every connection of a database and set once
/// the store has its key file (the key never enters the database).
#[derive(Default)]
pub struct AuditKey(std::sync::OnceLock<std::sync::Arc<crate::seal::Sealer>>);

impl AuditKey {
    pub fn set(&self, sealer: std::sync::Arc<crate::seal::Sealer>) {
        // Set once: a store keeps the keys it opened with.
        let _ = self.0.set(sealer);
    }

    /// The MAC of an entry's hash, when the key file has an audit key.
    pub fn mac(&self, hash: &str) -> Option<String> {
        self.0
            .get()
            .and_then(|s| s.audit_mac(&format!("hall-platform audit entry\n{hash}")))
    }
}

/// A connection (inside or outside a transaction) that runs the platform's SQL.
pub trait Conn {
    fn dialect(&self) -> Dialect;
    /// The MAC of an audit entry's hash under the audit key (None without one).
    fn audit_mac(&self, hash: &str) -> Option<String>;
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, StoreError>;
    /// Runs a query; every row.
    fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, StoreError>;
    /// Runs several statements without parameters.
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;

    fn query_opt(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    fn query_one(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?.ok_or_else(|| {
            StoreError::Corrupt("a query that always answers returned no row".into())
        })
    }
}
