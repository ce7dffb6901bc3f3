//! SQLite connections: statements written for PostgreSQL, translated once per connection.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::conn::{Conn, Dialect};
use super::value::{Row, ToValue, Value, values};
use crate::error::StoreError;

/// `$1` → `?1`; `FOR UPDATE` dropped (SQLite locks the whole database for a write transaction).
fn sqlite_sql(sql: &str) -> String {
    let sql = sql.replace(" FOR UPDATE", "");
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// A SQLite connection with its translated statements.
pub struct SqliteConn {
    conn: rusqlite::Connection,
    translated: HashMap<String, String>,
    audit: std::sync::Arc<super::conn::AuditKey>,
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl SqliteConn {
    /// This connection signs audit entries with the database's audit key.
    pub(super) fn keyed(mut self, audit: std::sync::Arc<super::conn::AuditKey>) -> Self {
        self.audit = audit;
        self
    }

    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // journal_mode answers with a row, so it is queried rather than executed.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite did not switch to WAL mode");
        }
        // FULL: a case the platform acknowledged survives a power cut.
        // secure_delete: what a row held before an update (personal data in the clear, before it
        // was sealed) is overwritten, not left in free pages.
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self {
            conn,
            translated: HashMap::new(),
            audit: Default::default(),
        })
    }

    fn sql(&mut self, sql: &str) -> String {
        if let Some(t) = self.translated.get(sql) {
            return t.clone();
        }
        let t = sqlite_sql(sql);
        self.translated.insert(sql.to_string(), t.clone());
        t
    }
}

impl Conn for SqliteConn {
    fn audit_mac(&self, hash: &str) -> Option<String> {
        self.audit.mac(hash)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, StoreError> {
        let sql = self.sql(sql);
        let vals = values(params);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let n = stmt.execute(rusqlite::params_from_iter(vals.iter()))?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, StoreError> {
        use rusqlite::types::ValueRef;
        let sql = self.sql(sql);
        let vals = values(params);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(vals.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(width);
            for i in 0..width {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Int(n),
                    ValueRef::Text(t) => Value::Text(
                        std::str::from_utf8(t)
                            .map_err(|_| StoreError::Corrupt(format!("column {i} is not UTF-8")))?
                            .to_string(),
                    ),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(StoreError::Corrupt(format!(
                            "column {i} holds a value of a type the platform does not store"
                        )));
                    }
                });
            }
            out.push(Row(row));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql)?;
        Ok(())
    }
}
