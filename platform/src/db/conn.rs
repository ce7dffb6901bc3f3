//! What a connection of either backend offers the platform's statements.

use super::value::{Row, ToValue};
use crate::error::StoreError;

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection (inside or outside a transaction) that runs the platform's SQL.
pub trait Conn {
    fn dialect(&self) -> Dialect;
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
