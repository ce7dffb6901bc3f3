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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};

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

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

// ---------------------------------------------------------------------------------------------
// Values and rows

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// Anything that can be bound as a statement parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_value!(i64, i32, u32, u16, u8, bool);
impl ToValue for usize {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToValue for NaiveDate {
    fn to_value(&self) -> Value {
        Value::Text(self.format(DATE).to_string())
    }
}
impl ToValue for NaiveDateTime {
    fn to_value(&self) -> Value {
        Value::Text(self.format(DATETIME).to_string())
    }
}
impl ToValue for hall_domain::Blzt {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(self.code()))
    }
}

const DATE: &str = "%Y-%m-%d";
/// As rusqlite wrote it in schema version 1, so older files read back the same.
const DATETIME: &str = "%Y-%m-%d %H:%M:%S%.f";

/// Statement parameters: `params![a, b]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::db::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::db::ToValue),+] as &[&dyn $crate::db::ToValue] };
}

/// One row of a result, read by column index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

fn corrupt(what: &str, i: usize, v: &Value) -> StoreError {
    StoreError::Corrupt(format!("column {i}: expected {what}, found {v:?}"))
}

impl Row {
    pub fn at(&self, i: usize) -> Result<&Value, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("the row has no column {i}")))
    }

    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            v => Err(corrupt("an integer", i, v)),
        }
    }
    pub fn i64(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_i64(i)?
            .ok_or_else(|| corrupt("an integer", i, &Value::Null))
    }
    pub fn opt_u32(&self, i: usize) -> Result<Option<u32>, StoreError> {
        self.opt_i64(i)?
            .map(|n| u32::try_from(n).map_err(|_| corrupt("a small integer", i, &Value::Int(n))))
            .transpose()
    }
    pub fn u32(&self, i: usize) -> Result<u32, StoreError> {
        let n = self.i64(i)?;
        u32::try_from(n).map_err(|_| corrupt("a small integer", i, &Value::Int(n)))
    }
    pub fn u8(&self, i: usize) -> Result<u8, StoreError> {
        let n = self.i64(i)?;
        u8::try_from(n).map_err(|_| corrupt("a small integer", i, &Value::Int(n)))
    }
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.i64(i)? != 0)
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            v => Err(corrupt("text", i, v)),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| corrupt("text", i, &Value::Null))
    }
    pub fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        self.opt_text(i)?
            .map(|s| {
                NaiveDate::parse_from_str(&s, DATE)
                    .map_err(|_| corrupt("a date", i, &Value::Text(s.clone())))
            })
            .transpose()
    }
    pub fn date(&self, i: usize) -> Result<NaiveDate, StoreError> {
        self.opt_date(i)?
            .ok_or_else(|| corrupt("a date", i, &Value::Null))
    }
    pub fn opt_datetime(&self, i: usize) -> Result<Option<NaiveDateTime>, StoreError> {
        self.opt_text(i)?
            .map(|s| {
                NaiveDateTime::parse_from_str(&s, DATETIME)
                    .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f"))
                    .map_err(|_| corrupt("a date and time", i, &Value::Text(s.clone())))
            })
            .transpose()
    }
    pub fn datetime(&self, i: usize) -> Result<NaiveDateTime, StoreError> {
        self.opt_datetime(i)?
            .ok_or_else(|| corrupt("a date and time", i, &Value::Null))
    }
    pub fn blzt(&self, i: usize) -> Result<hall_domain::Blzt, StoreError> {
        let code = self.u8(i)?;
        hall_domain::Blzt::try_from(code).map_err(StoreError::Corrupt)
    }
}

// ---------------------------------------------------------------------------------------------
// Connections

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

fn values(params: &[&dyn ToValue]) -> Vec<Value> {
    params.iter().map(|p| p.to_value()).collect()
}

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
    fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // journal_mode answers with a row, so it is queried rather than executed.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite did not switch to WAL mode");
        }
        // FULL: a case the platform acknowledged survives a power cut.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self {
            conn,
            translated: HashMap::new(),
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

/// A PostgreSQL client with its prepared statements.
pub struct PgConn {
    client: postgres::Client,
    prepared: HashMap<String, postgres::Statement>,
}

mod pg_value {
    use super::Value;
    use bytes::BytesMut;
    use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error;

    type BoxError = Box<dyn Error + Sync + Send>;

    impl ToSql for Value {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            match self {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(n) => match *ty {
                    Type::INT8 => n.to_sql(ty, out),
                    Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                    Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                    Type::BOOL => (*n != 0).to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR => n.to_string().to_sql(ty, out),
                    _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
                },
                Value::Text(s) => match *ty {
                    Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                    _ => s.as_str().to_sql(ty, out),
                },
            }
        }

        fn accepts(_ty: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }
}

impl PgConn {
    fn connect(url: &str) -> Result<Self, StoreError> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        // Dates are text on both backends; the session speaks UTC so nothing depends on the
        // server's zone.
        client.batch_execute("SET TIME ZONE 'UTC'; SET client_min_messages = warning")?;
        Ok(Self {
            client,
            prepared: HashMap::new(),
        })
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        if self.prepared.len() > 256 {
            self.prepared.clear();
        }
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn healthy(&self) -> bool {
        !self.client.is_closed()
    }
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Value, StoreError> {
    use postgres::types::Type;
    let ty = row.columns().get(i).map(|c| c.type_().clone());
    let v = match ty {
        Some(Type::INT8) => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Some(Type::INT4) => row
            .try_get::<_, Option<i32>>(i)?
            .map(|n| Value::Int(i64::from(n))),
        Some(Type::INT2) => row
            .try_get::<_, Option<i16>>(i)?
            .map(|n| Value::Int(i64::from(n))),
        Some(Type::BOOL) => row
            .try_get::<_, Option<bool>>(i)?
            .map(|b| Value::Int(i64::from(b))),
        Some(Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME) => {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        }
        other => {
            return Err(StoreError::Corrupt(format!(
                "column {i} has a type the platform does not read ({other:?})"
            )));
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

impl Conn for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let vals = values(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = vals
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        Ok(self.client.execute(&stmt, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, StoreError> {
        let stmt = self.statement(sql)?;
        let vals = values(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = vals
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self.client.query(&stmt, &refs)?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| pg_value(r, i))
                    .collect::<Result<_, _>>()
                    .map(Row)
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Pools

/// A small blocking pool: up to `max` connections, made when first needed.
pub struct Pool<C: Send + 'static> {
    state: Mutex<PoolState<C>>,
    freed: Condvar,
    max: usize,
    wait: Duration,
    connect: Box<dyn Fn() -> Result<C, StoreError> + Send + Sync>,
    healthy: fn(&C) -> bool,
}

struct PoolState<C> {
    idle: Vec<C>,
    open: usize,
}

/// A connection taken from a [`Pool`]; it goes back when dropped.
pub struct Pooled<'a, C: Send + 'static> {
    pool: &'a Pool<C>,
    conn: Option<C>,
}

impl<C: Send + 'static> Drop for Pool<C> {
    /// Closes the idle connections on a thread of their own: closing a PostgreSQL client blocks,
    /// which must not happen on a thread that drives async tasks (where the last clone of the
    /// store may well be dropped).
    fn drop(&mut self) {
        let idle = match self.state.get_mut() {
            Ok(st) => std::mem::take(&mut st.idle),
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().idle),
        };
        if idle.is_empty() {
            return;
        }
        let closer = std::thread::Builder::new()
            .name("db-close".into())
            .spawn(move || drop(idle));
        if let Err(e) = closer {
            tracing::warn!(error = %e, "database connections could not be closed on a thread");
        }
    }
}

impl<C: Send + 'static> Pool<C> {
    fn new(
        max: usize,
        connect: Box<dyn Fn() -> Result<C, StoreError> + Send + Sync>,
        healthy: fn(&C) -> bool,
    ) -> Self {
        Self {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            wait: Duration::from_secs(15),
            connect,
            healthy,
        }
    }

    fn get(&self) -> Result<Pooled<'_, C>, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut st = self.state.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(c) = st.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(c),
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match (self.connect)() {
                    Ok(c) => Ok(Pooled {
                        pool: self,
                        conn: Some(c),
                    }),
                    Err(e) => {
                        if let Ok(mut st) = self.state.lock() {
                            st.open -= 1;
                        }
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy);
            }
            st = self
                .freed
                .wait_timeout(st, left)
                .map_err(|_| StoreError::Poisoned)?
                .0;
        }
    }
}

impl<C: Send + 'static> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let healthy = (self.pool.healthy)(&conn);
        if let Ok(mut st) = self.pool.state.lock() {
            if healthy {
                st.idle.push(conn);
            } else {
                st.open = st.open.saturating_sub(1);
            }
        }
        self.pool.freed.notify_one();
    }
}

impl<C: Send + 'static> std::ops::Deref for Pooled<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        // Present from creation until drop.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}
impl<C: Send + 'static> std::ops::DerefMut for Pooled<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
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
    },
    Postgres {
        url: String,
        pool: Pool<PgConn>,
    },
}

impl Database {
    /// Connects (SQLite: opens, creating the file). Does not migrate: see [`crate::store`].
    pub fn open(url: &DbUrl) -> Result<Self, StoreError> {
        match url {
            DbUrl::Sqlite(path) => {
                // Open once now so that a bad path fails here, not at the first request.
                let first = SqliteConn::open(path)?;
                let p1 = path.clone();
                let p2 = path.clone();
                let writer = Pool::new(1, Box::new(move || SqliteConn::open(&p1)), |_| true);
                let readers = Pool::new(
                    SQLITE_READERS,
                    Box::new(move || SqliteConn::open(&p2)),
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
                })
            }
            DbUrl::Postgres(url) => {
                let first = PgConn::connect(url)?;
                let u = url.clone();
                // One client more than requests are let through (see `slots`): the one that links
                // pending audit entries never queues behind the requests waiting for it.
                let pool = Pool::new(
                    PG_CONNECTIONS + 1,
                    Box::new(move || PgConn::connect(&u)),
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
                })
            }
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
