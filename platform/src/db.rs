//! Backend-neutral database access: one SQLite file (the embedded default) or a PostgreSQL
//! database that several platform instances share.
//!
//! Every statement of the platform is written once, with PostgreSQL's `$1` placeholders, and runs
//! on either backend through [`Conn`]: SQLite sees `?1` and has `FOR UPDATE` removed (its write
//! transactions already hold the database lock). Values cross the boundary as [`Value`]: integers
//! and text only, so dates are stored as ISO text on both backends and compare as they sort.
//!
//! Connections are pooled ([`Pool`]): SQLite has one writer and a few readers (WAL lets them run
//! beside the writer); PostgreSQL has a small pool of clients. Write transactions that PostgreSQL
//! aborts for a conflict with another instance (serialization failure, deadlock, a unique key
//! taken meanwhile) are run again from the start.

mod conn;
mod pg;
mod pool;
mod sqlite;
mod value;

pub use conn::{AuditKey, Conn, Dialect};
pub use pg::PgConn;
pub use pool::{Pool, Pooled};
pub use sqlite::SqliteConn;
pub use value::{Row, ToValue, Value, parse_datetime};

use std::path::PathBuf;
use std::time::Duration;

use crate::error::StoreError;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// A SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user@host:port/db` or key=value form).
    Postgres(String),
}

impl DbUrl {
    /// `sqlite://PATH`, `sqlite:PATH`, `postgres://…`, `postgresql://…`, or a bare path (SQLite).
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(s.to_string()));
        }
        let path = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .unwrap_or(s);
        if path.is_empty() {
            return Err(StoreError::Config("the database URL names no file".into()));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(path)))
    }

    /// The URL without a password, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbUrl::Postgres(url) => match postgres::Config::from_str_checked(url) {
                Some(cfg) => {
                    let host = cfg
                        .get_hosts()
                        .first()
                        .map(|h| match h {
                            postgres::config::Host::Tcp(h) => h.clone(),
                            #[cfg(unix)]
                            postgres::config::Host::Unix(p) => p.display().to_string(),
                        })
                        .unwrap_or_default();
                    let port = cfg.get_ports().first().copied().unwrap_or(5432);
                    format!(
                        "postgres://{}@{host}:{port}/{}",
                        cfg.get_user().unwrap_or(""),
                        cfg.get_dbname().unwrap_or("")
                    )
                }
                None => "postgres://(unreadable)".into(),
            },
        }
    }
}

trait ConfigExt {
    fn from_str_checked(s: &str) -> Option<postgres::Config>;
}

impl ConfigExt for postgres::Config {
    fn from_str_checked(s: &str) -> Option<postgres::Config> {
        s.parse().ok()
    }
}

// ---------------------------------------------------------------------------------------------
// The database

/// How many SQLite readers run beside the writer, and how many PostgreSQL clients an instance
/// keeps.
const SQLITE_READERS: usize = 4;
const PG_READS: usize = 8;
const PG_WRITES: usize = 12;
const PG_CONNECTIONS: usize = PG_READS + PG_WRITES;
const WRITE_ATTEMPTS: usize = 8;

/// A database: one backend, pooled.
pub enum Database {
    Sqlite {
        path: PathBuf,
        writer: Pool<SqliteConn>,
        readers: Pool<SqliteConn>,
        audit: std::sync::Arc<AuditKey>,
    },
    Postgres {
        url: String,
        pool: Pool<PgConn>,
        audit: std::sync::Arc<AuditKey>,
    },
}

impl Database {
    /// Connects (SQLite: opens, creating the file). Does not migrate: the store does when it opens.
    pub fn open(url: &DbUrl) -> Result<Self, StoreError> {
        match url {
            DbUrl::Sqlite(path) => {
                let audit = std::sync::Arc::new(AuditKey::default());
                // Open once now so that a bad path fails here, not at the first request.
                let first = SqliteConn::open(path)?.keyed(audit.clone());
                let (p1, a1) = (path.clone(), audit.clone());
                let (p2, a2) = (path.clone(), audit.clone());
                let writer = Pool::new(
                    1,
                    Box::new(move || SqliteConn::open(&p1).map(|c| c.keyed(a1.clone()))),
                    |_| true,
                );
                let readers = Pool::new(
                    SQLITE_READERS,
                    Box::new(move || SqliteConn::open(&p2).map(|c| c.keyed(a2.clone()))),
                    |_| true,
                );
                {
                    let mut st = writer.state.lock().map_err(|_| StoreError::Poisoned)?;
                    st.idle.push(first);
                    st.open = 1;
                }
                Ok(Database::Sqlite {
                    path: path.clone(),
                    writer,
                    readers,
                    audit,
                })
            }
            DbUrl::Postgres(url) => {
                let audit = std::sync::Arc::new(AuditKey::default());
                let first = PgConn::connect(url)?.keyed(audit.clone());
                let (u, a) = (url.clone(), audit.clone());
                // One client more than requests are let through (see `slots`): the one that links
                // pending audit entries never queues behind the requests waiting for it.
                let pool = Pool::new(
                    PG_CONNECTIONS + 1,
                    Box::new(move || PgConn::connect(&u).map(|c| c.keyed(a.clone()))),
                    PgConn::healthy,
                );
                {
                    let mut st = pool.state.lock().map_err(|_| StoreError::Poisoned)?;
                    st.idle.push(first);
                    st.open = 1;
                }
                Ok(Database::Postgres {
                    url: url.clone(),
                    pool,
                    audit,
                })
            }
        }
    }

    /// The key that signs audit entries (set once, from the store's key file).
    pub fn audit_key(&self) -> &AuditKey {
        match self {
            Database::Sqlite { audit, .. } | Database::Postgres { audit, .. } => audit,
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Database::Sqlite { .. } => Dialect::Sqlite,
            Database::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// How many reads and how many write transactions are let through to the pool at once.
    /// PostgreSQL: few readers (the machine's cores are shared with the server, and more
    /// clients only lengthen the tail), more writers (their commits share an fsync).
    pub fn slots(&self) -> (usize, usize) {
        match self {
            // Several write transactions wait at the writer itself, so that it passes from one
            // to the next without a trip through the async runtime.
            Database::Sqlite { .. } => (SQLITE_READERS, 8),
            Database::Postgres { .. } => (PG_READS, PG_WRITES),
        }
    }

    /// The URL it was opened with, without a password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite { path, .. } => DbUrl::Sqlite(path.clone()).redacted(),
            Database::Postgres { url, .. } => DbUrl::Postgres(url.clone()).redacted(),
        }
    }

    /// Runs `f` on a connection outside any explicit transaction (reads).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Database::Sqlite { readers, .. } => {
                let mut c = readers.get()?;
                f(&mut *c)
            }
            Database::Postgres { pool, .. } => {
                let mut c = pool.get()?;
                f(&mut *c)
            }
        }
    }

    /// Runs `f` in a write transaction and commits it; rolls back when `f` fails. PostgreSQL
    /// transactions that lost a race with another transaction are run again.
    pub fn write<T>(
        &self,
        mut f: impl FnMut(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Database::Sqlite { writer, .. } => {
                let mut c = writer.get()?;
                c.batch("BEGIN IMMEDIATE")?;
                match f(&mut *c) {
                    Ok(v) => match c.batch("COMMIT") {
                        Ok(()) => Ok(v),
                        Err(e) => {
                            let _ = c.batch("ROLLBACK");
                            Err(e)
                        }
                    },
                    Err(e) => {
                        // Nothing to undo when the transaction already ended.
                        let _ = c.batch("ROLLBACK");
                        Err(e)
                    }
                }
            }
            Database::Postgres { pool, .. } => {
                let mut c = pool.get()?;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    c.batch("BEGIN")?;
                    let result = f(&mut *c).and_then(|v| c.batch("COMMIT").map(|()| v));
                    match result {
                        Ok(v) => return Ok(v),
                        Err(e) => {
                            let _ = c.batch("ROLLBACK");
                            if attempt < WRITE_ATTEMPTS && e.is_retryable() {
                                tracing::debug!(attempt, error = %e, "transaction retried");
                                std::thread::sleep(Duration::from_millis(
                                    (attempt as u64) * 2 + rand::random_range(0..5u64),
                                ));
                                continue;
                            }
                            return Err(e);
                        }
                    }
                }
            }
        }
    }

    /// Runs `f` with one connection held for a whole procedure (migrations), with no
    /// transaction opened for it.
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Database::Sqlite { writer, .. } => {
                let mut c = writer.get()?;
                f(&mut *c)
            }
            Database::Postgres { pool, .. } => {
                let mut c = pool.get()?;
                f(&mut *c)
            }
        }
    }
}
