//! The data layer: every SQL statement of the platform lives here.
//!
//! One SQLite file in WAL mode, one connection behind a mutex, every call run on the blocking
//! thread pool. The schema is versioned in `schema_migrations`; [`MIGRATIONS`] lists every step
//! and a database is brought up to date when it is opened. Rules that money depends on (a fee
//! notice is paid once, by one order) are enforced by the schema itself, not only by this code.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime};
use hall_domain::Blzt;
use hall_domain::api::{
    Applicant, ApplicationCreated, FeeLine, FeeNoticeSummary, Item, Material, MaterialStatus,
    NoticeStatus, OrderStatus, Organization, OrganizationInfo, Project, ProjectInfo,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::catalogue::{CatalogueItem, Department};
use crate::payment::PayMethod;

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database lock was poisoned by a failed request")]
    Poisoned,
    #[error("a database task did not finish: {0}")]
    Task(String),
    #[error("the database holds a value this version does not understand: {0}")]
    Corrupt(String),
    #[error("the database schema is version {found}, newer than this program's {known}")]
    TooNew { found: i64, known: i64 },
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// One schema step: its version, a name for people, and the SQL.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every schema step, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "catalogue, registry, cases, fee notices and orders",
    sql: include_str!("../migrations/0001_initial.sql"),
}];

// ---------------------------------------------------------------------------------------------
// Records

/// A new case with its nodes and materials, ready to insert.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub approval_code: String,
    pub item_id: String,
    pub status: Blzt,
    pub submitted_at: NaiveDateTime,
    pub due_date: NaiveDate,
    pub applicant: Applicant,
    pub organization: Option<Organization>,
    pub project: Project,
    pub identified_by: Option<String>,
    pub kiosk_id: Option<String>,
    pub nodes: Vec<NodeRecord>,
    pub materials: Vec<CaseMaterial>,
}

/// One department's node of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    pub department: String,
    pub department_en: String,
    pub status: Blzt,
    pub started_at: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub time_limit_days: u32,
    pub finished_at: Option<NaiveDate>,
    pub opinion: Option<String>,
}

/// A material as submitted with a case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMaterial {
    pub material_id: String,
    pub status: MaterialStatus,
    pub pages: u32,
    /// For tolerated materials: when they must be supplied.
    pub due_date: Option<NaiveDate>,
}

/// A case as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub approval_code: String,
    pub item_id: String,
    pub item_name: String,
    pub item_name_en: String,
    pub stage: u8,
    pub status: Blzt,
    pub submitted_at: NaiveDateTime,
    pub applicant_name: String,
    pub project_code: String,
    pub project_name: String,
    pub nodes: Vec<NodeRecord>,
    pub fee_notices: Vec<FeeNoticeSummary>,
}

/// A fee notice to insert.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub payment_code: String,
    pub agency: String,
    pub approval_code: Option<String>,
    pub payer: String,
    /// A person's name is masked wherever it is shown; an organisation's is not.
    pub payer_is_person: bool,
    pub lines: Vec<FeeLine>,
}

/// A fee notice as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRecord {
    pub payment_code: String,
    pub agency: String,
    pub approval_code: Option<String>,
    pub payer: String,
    pub payer_is_person: bool,
    pub lines: Vec<FeeLine>,
    pub total_fen: i64,
    pub status: NoticeStatus,
    pub receipt_no: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
}

/// A payment order to insert.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order_id: String,
    pub payment_code: String,
    pub method: PayMethod,
    pub status: OrderStatus,
    pub amount_fen: i64,
    pub qr_payload: Option<String>,
    pub provider: String,
    pub provider_state: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub failure_reason: Option<String>,
}

/// A payment order as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub order_id: String,
    pub payment_code: String,
    pub method: PayMethod,
    pub status: OrderStatus,
    pub amount_fen: i64,
    pub qr_payload: Option<String>,
    pub provider: String,
    pub provider_state: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub expires_at: NaiveDateTime,
    pub transaction_id: Option<String>,
    pub receipt_no: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub failure_reason: Option<String>,
}

/// How a pending order ends.
#[derive(Debug, Clone)]
pub enum Settlement {
    Paid {
        transaction_id: String,
        paid_at: NaiveDateTime,
        /// Prefix of the e-receipt number; a serial from the database follows it.
        receipt_prefix: String,
    },
    Failed {
        reason: String,
    },
    Cancelled,
    Expired,
}

/// Why an order cannot be created for a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeBlock {
    NotFound,
    AlreadyPaid,
    Cancelled,
}

/// What became of an application under an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum Idempotent {
    /// A new case was created.
    Created(ApplicationCreated),
    /// The key was seen before with the same request: the first answer.
    Replayed(ApplicationCreated),
    /// The key was seen before with a different request.
    KeyReused,
}

/// Demo data to seed into an empty database.
#[derive(Debug, Clone, Default)]
pub struct DemoRecords {
    pub projects: Vec<ProjectInfo>,
    pub organizations: Vec<OrganizationInfo>,
    pub cases: Vec<NewCase>,
    pub notices: Vec<NewNotice>,
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedReport {
    pub catalogue: bool,
    pub demo: bool,
}

// ---------------------------------------------------------------------------------------------
// The store

/// The platform's database. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating when missing) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // journal_mode answers with a row, so it is queried rather than executed.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite did not switch to WAL mode");
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Runs `f` with the connection on the blocking thread pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.lock()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.lock()?;
        current_version(&conn)
    }

    /// Seeds the catalogue into a database that has none, and the demo records into one that
    /// was never seeded with them and holds no case. Blocking.
    pub fn seed_blocking(
        &self,
        catalogue: &[CatalogueItem],
        demo: Option<&DemoRecords>,
    ) -> Result<SeedReport, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = SeedReport::default();
        let items: i64 = tx.query_row("SELECT count(*) FROM items", [], |r| r.get(0))?;
        if items == 0 && meta(&tx, "catalogue_seeded")?.is_none() {
            for c in catalogue {
                insert_item(&tx, c)?;
            }
            set_meta(&tx, "catalogue_seeded", "1")?;
            report.catalogue = true;
        }
        if let Some(demo) = demo {
            let cases: i64 = tx.query_row("SELECT count(*) FROM cases", [], |r| r.get(0))?;
            if cases == 0 && meta(&tx, "demo_seeded")?.is_none() {
                for p in &demo.projects {
                    tx.execute(
                        "INSERT INTO projects (code, name, construction_unit) VALUES (?1, ?2, ?3)",
                        params![p.code, p.name, p.construction_unit],
                    )?;
                }
                for o in &demo.organizations {
                    tx.execute(
                        "INSERT INTO organizations (credit_code, name) VALUES (?1, ?2)",
                        params![o.credit_code, o.name],
                    )?;
                }
                for c in &demo.cases {
                    insert_case(&tx, c)?;
                }
                for n in &demo.notices {
                    insert_notice(&tx, n)?;
                }
                set_meta(&tx, "demo_seeded", "1")?;
                report.demo = true;
            }
        }
        tx.commit()?;
        Ok(report)
    }

    // --- catalogue and registries ------------------------------------------------------------

    /// The catalogue, ordered by stage then id.
    pub async fn items(&self) -> Result<Vec<CatalogueItem>, StoreError> {
        self.run(|c| {
            let ids: Vec<String> = c
                .prepare("SELECT id FROM items ORDER BY stage, id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(item) = load_item(c, &id)? {
                    out.push(item);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn item(&self, id: String) -> Result<Option<CatalogueItem>, StoreError> {
        self.run(move |c| load_item(c, &id)).await
    }

    /// A registered project by its dashed code.
    pub async fn project(&self, code: String) -> Result<Option<ProjectInfo>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT code, name, construction_unit FROM projects WHERE code = ?1",
                [&code],
                |r| {
                    Ok(ProjectInfo {
                        code: r.get(0)?,
                        name: r.get(1)?,
                        construction_unit: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub async fn organization(
        &self,
        credit_code: String,
    ) -> Result<Option<OrganizationInfo>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT credit_code, name FROM organizations WHERE credit_code = ?1",
                [&credit_code],
                |r| {
                    Ok(OrganizationInfo {
                        credit_code: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    // --- applications and cases ---------------------------------------------------------------

    /// Creates a case under an idempotency key, in one transaction: a key seen before answers
    /// with its first response (same request) or [`Idempotent::KeyReused`]. `build` receives the
    /// next approval serial and returns the case and the answer to store with the key.
    pub async fn create_application<F>(
        &self,
        key: String,
        request_sha256: String,
        build: F,
    ) -> Result<Idempotent, StoreError>
    where
        F: FnOnce(u32) -> (NewCase, ApplicationCreated) + Send + 'static,
    {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let seen: Option<(String, String)> = tx
                .query_row(
                    "SELECT request_sha256, response FROM idempotency_keys WHERE key = ?1",
                    [&key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((hash, response)) = seen {
                return Ok(if hash == request_sha256 {
                    Idempotent::Replayed(serde_json::from_str(&response)?)
                } else {
                    Idempotent::KeyReused
                });
            }
            let serial = next_in_sequence(&tx, "approval_serial")?;
            let serial = u32::try_from(serial)
                .map_err(|_| StoreError::Corrupt(format!("approval serial {serial}")))?;
            let (case, created) = build(serial);
            insert_case(&tx, &case)?;
            tx.execute(
                "INSERT INTO idempotency_keys (key, request_sha256, approval_code, response, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    key,
                    request_sha256,
                    case.approval_code,
                    serde_json::to_string(&created)?,
                    case.submitted_at
                ],
            )?;
            tx.commit()?;
            Ok(Idempotent::Created(created))
        })
        .await
    }

    pub async fn case(&self, approval_code: String) -> Result<Option<CaseRecord>, StoreError> {
        self.run(move |c| load_case(c, &approval_code)).await
    }

    // --- fee notices and orders ----------------------------------------------------------------

    pub async fn notice(&self, payment_code: String) -> Result<Option<NoticeRecord>, StoreError> {
        self.run(move |c| load_notice(c, &payment_code)).await
    }

    /// Inserts an order for a notice that is still unpaid (checked in the same transaction).
    pub async fn create_order(
        &self,
        order: NewOrder,
    ) -> Result<Result<OrderRecord, NoticeBlock>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let status: Option<String> = tx
                .query_row(
                    "SELECT status FROM fee_notices WHERE payment_code = ?1",
                    [&order.payment_code],
                    |r| r.get(0),
                )
                .optional()?;
            match status.as_deref() {
                None => return Ok(Err(NoticeBlock::NotFound)),
                Some("unpaid") => {}
                Some("paid") => return Ok(Err(NoticeBlock::AlreadyPaid)),
                Some(_) => return Ok(Err(NoticeBlock::Cancelled)),
            }
            tx.execute(
                "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, qr_payload,
                   provider, provider_state, created_ms, expires_ms, created_at, expires_at,
                   failure_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    order.order_id,
                    order.payment_code,
                    order.method.as_str(),
                    order_status_str(order.status),
                    order.amount_fen,
                    order.qr_payload,
                    order.provider,
                    order.provider_state,
                    order.created_ms,
                    order.expires_ms,
                    order.created_at,
                    order.expires_at,
                    order.failure_reason,
                ],
            )?;
            let rec = load_order(&tx, &order.order_id)?
                .ok_or_else(|| StoreError::Corrupt("an inserted order vanished".into()))?;
            tx.commit()?;
            Ok(Ok(rec))
        })
        .await
    }

    /// The pending orders of a notice, oldest first.
    pub async fn pending_orders(
        &self,
        payment_code: String,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        self.run(move |c| {
            let ids: Vec<String> = c
                .prepare(
                    "SELECT order_id FROM orders WHERE payment_code = ?1 AND status = 'pending'
                     ORDER BY created_ms, order_id",
                )?
                .query_map([&payment_code], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(o) = load_order(c, &id)? {
                    out.push(o);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn order(&self, order_id: String) -> Result<Option<OrderRecord>, StoreError> {
        self.run(move |c| load_order(c, &order_id)).await
    }

    /// Records the provider's state of a pending order (e.g. the payer confirmed).
    pub async fn set_provider_state(
        &self,
        order_id: String,
        state: String,
    ) -> Result<bool, StoreError> {
        self.run(move |c| {
            let n = c.execute(
                "UPDATE orders SET provider_state = ?2 WHERE order_id = ?1 AND status = 'pending'",
                params![order_id, state],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Ends a pending order. A payment marks the notice paid in the same transaction; when the
    /// notice was paid meanwhile by another order, this order fails instead. An order that is no
    /// longer pending is returned unchanged.
    pub async fn settle_order(
        &self,
        order_id: String,
        settlement: Settlement,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(order) = load_order(&tx, &order_id)? else {
                return Ok(None);
            };
            if order.status != OrderStatus::Pending {
                return Ok(Some(order));
            }
            match settlement {
                Settlement::Paid {
                    transaction_id,
                    paid_at,
                    receipt_prefix,
                } => {
                    let serial = next_in_sequence(&tx, "receipt")?;
                    let receipt_no = format!("{receipt_prefix}{serial:010}");
                    let n = tx.execute(
                        "UPDATE fee_notices SET status = 'paid', receipt_no = ?2, paid_at = ?3,
                           paid_order_id = ?4
                         WHERE payment_code = ?1 AND status = 'unpaid'",
                        params![order.payment_code, receipt_no, paid_at, order.order_id],
                    )?;
                    if n == 1 {
                        tx.execute(
                            "UPDATE orders SET status = 'paid', transaction_id = ?2,
                               receipt_no = ?3, paid_at = ?4
                             WHERE order_id = ?1 AND status = 'pending'",
                            params![order.order_id, transaction_id, receipt_no, paid_at],
                        )?;
                    } else {
                        tx.execute(
                            "UPDATE orders SET status = 'failed', failure_reason = ?2
                             WHERE order_id = ?1 AND status = 'pending'",
                            params![order.order_id, "该缴款通知已缴清或已撤销，本笔款项将原路退回"],
                        )?;
                    }
                }
                Settlement::Failed { reason } => {
                    tx.execute(
                        "UPDATE orders SET status = 'failed', failure_reason = ?2
                         WHERE order_id = ?1 AND status = 'pending'",
                        params![order.order_id, reason],
                    )?;
                }
                Settlement::Cancelled => {
                    tx.execute(
                        "UPDATE orders SET status = 'cancelled' WHERE order_id = ?1 AND status = 'pending'",
                        [&order.order_id],
                    )?;
                }
                Settlement::Expired => {
                    tx.execute(
                        "UPDATE orders SET status = 'expired' WHERE order_id = ?1 AND status = 'pending'",
                        [&order.order_id],
                    )?;
                }
            }
            let rec = load_order(&tx, &order_id)?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Migrations and small helpers

fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )?;
    let found = current_version(conn)?;
    let known = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, chrono::Utc::now().naive_utc()],
        )?;
        tx.commit()?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "database schema migrated"
        );
    }
    Ok(())
}

fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn next_in_sequence(tx: &Transaction<'_>, name: &str) -> Result<i64, StoreError> {
    let value: i64 = tx.query_row(
        "UPDATE sequences SET next_value = next_value + 1 WHERE name = ?1 RETURNING next_value - 1",
        [name],
        |r| r.get(0),
    )?;
    Ok(value)
}

fn blzt(code: i64) -> Result<Blzt, StoreError> {
    u8::try_from(code)
        .ok()
        .and_then(|c| Blzt::try_from(c).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("status code {code}")))
}

/// A BLZT column, read inside a row mapper.
fn blzt_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Blzt> {
    let code: i64 = r.get(idx)?;
    u8::try_from(code)
        .ok()
        .and_then(|c| Blzt::try_from(c).ok())
        .ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                idx,
                rusqlite::types::Type::Integer,
                format!("status code {code} is not a BLZT code").into(),
            )
        })
}

fn material_status_str(s: MaterialStatus) -> &'static str {
    match s {
        MaterialStatus::Provided => "provided",
        MaterialStatus::Tolerated => "tolerated",
        MaterialStatus::Committed => "committed",
    }
}

fn notice_status(s: &str) -> Result<NoticeStatus, StoreError> {
    match s {
        "unpaid" => Ok(NoticeStatus::Unpaid),
        "paid" => Ok(NoticeStatus::Paid),
        "cancelled" => Ok(NoticeStatus::Cancelled),
        other => Err(StoreError::Corrupt(format!("notice status {other:?}"))),
    }
}

fn order_status_str(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "pending",
        OrderStatus::Paid => "paid",
        OrderStatus::Failed => "failed",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Expired => "expired",
    }
}

fn order_status(s: &str) -> Result<OrderStatus, StoreError> {
    match s {
        "pending" => Ok(OrderStatus::Pending),
        "paid" => Ok(OrderStatus::Paid),
        "failed" => Ok(OrderStatus::Failed),
        "cancelled" => Ok(OrderStatus::Cancelled),
        "expired" => Ok(OrderStatus::Expired),
        other => Err(StoreError::Corrupt(format!("order status {other:?}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Catalogue rows

fn insert_item(tx: &Transaction<'_>, c: &CatalogueItem) -> Result<(), StoreError> {
    let it = &c.item;
    tx.execute(
        "INSERT INTO items (id, name, name_en, stage, time_limit_days, instant, fee_note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            it.id,
            it.name,
            it.name_en,
            it.stage,
            it.time_limit_days,
            it.instant,
            it.fee_note
        ],
    )?;
    for (seq, d) in c.departments.iter().enumerate() {
        tx.execute(
            "INSERT INTO item_departments (item_id, seq, name, name_en, time_limit_days)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![it.id, seq, d.name, d.name_en, d.time_limit_days],
        )?;
    }
    for (seq, m) in it.materials.iter().enumerate() {
        tx.execute(
            "INSERT INTO item_materials (item_id, seq, id, name, name_en, required, tolerable,
               tolerance_days, commitment_allowed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                it.id,
                seq,
                m.id,
                m.name,
                m.name_en,
                m.required,
                m.tolerable,
                m.tolerance_days,
                m.commitment_allowed
            ],
        )?;
    }
    Ok(())
}

fn load_item(c: &Connection, id: &str) -> Result<Option<CatalogueItem>, StoreError> {
    let head = c
        .query_row(
            "SELECT id, name, name_en, stage, time_limit_days, instant, fee_note
             FROM items WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u8>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((id, name, name_en, stage, time_limit_days, instant, fee_note)) = head else {
        return Ok(None);
    };
    let departments: Vec<Department> = c
        .prepare(
            "SELECT name, name_en, time_limit_days FROM item_departments
             WHERE item_id = ?1 ORDER BY seq",
        )?
        .query_map([&id], |r| {
            Ok(Department {
                name: r.get(0)?,
                name_en: r.get(1)?,
                time_limit_days: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let materials: Vec<Material> = c
        .prepare(
            "SELECT id, name, name_en, required, tolerable, tolerance_days, commitment_allowed
             FROM item_materials WHERE item_id = ?1 ORDER BY seq",
        )?
        .query_map([&id], |r| {
            Ok(Material {
                id: r.get(0)?,
                name: r.get(1)?,
                name_en: r.get(2)?,
                required: r.get(3)?,
                tolerable: r.get(4)?,
                tolerance_days: r.get(5)?,
                commitment_allowed: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let Some(lead) = departments.first() else {
        return Err(StoreError::Corrupt(format!(
            "item {id:?} has no department"
        )));
    };
    let item = Item {
        department: lead.name.clone(),
        department_en: lead.name_en.clone(),
        id,
        name,
        name_en,
        stage,
        time_limit_days,
        instant,
        fee_note,
        materials,
    };
    Ok(Some(CatalogueItem { item, departments }))
}

// ---------------------------------------------------------------------------------------------
// Case rows

fn insert_case(tx: &Transaction<'_>, c: &NewCase) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO cases (approval_code, item_id, status, submitted_at, due_date,
           applicant_name, applicant_id_number, applicant_phone, organization_name,
           organization_credit_code, project_code, project_name, identified_by, kiosk_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            c.approval_code,
            c.item_id,
            c.status.code(),
            c.submitted_at,
            c.due_date,
            c.applicant.name,
            c.applicant.id_number,
            c.applicant.phone,
            c.organization.as_ref().map(|o| &o.name),
            c.organization.as_ref().map(|o| &o.credit_code),
            c.project.code,
            c.project.name,
            c.identified_by,
            c.kiosk_id,
        ],
    )?;
    for (seq, n) in c.nodes.iter().enumerate() {
        tx.execute(
            "INSERT INTO case_nodes (approval_code, seq, department, department_en, status,
               started_at, due_date, time_limit_days, finished_at, opinion)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                c.approval_code,
                seq,
                n.department,
                n.department_en,
                n.status.code(),
                n.started_at,
                n.due_date,
                n.time_limit_days,
                n.finished_at,
                n.opinion,
            ],
        )?;
    }
    for m in &c.materials {
        tx.execute(
            "INSERT INTO case_materials (approval_code, material_id, status, pages, due_date)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                c.approval_code,
                m.material_id,
                material_status_str(m.status),
                m.pages,
                m.due_date
            ],
        )?;
    }
    Ok(())
}

fn load_case(c: &Connection, code: &str) -> Result<Option<CaseRecord>, StoreError> {
    let head = c
        .query_row(
            "SELECT cases.approval_code, cases.item_id, items.name, items.name_en, items.stage,
               cases.status, cases.submitted_at, cases.applicant_name, cases.project_code,
               cases.project_name
             FROM cases JOIN items ON items.id = cases.item_id
             WHERE cases.approval_code = ?1",
            [code],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u8>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, NaiveDateTime>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                ))
            },
        )
        .optional()?;
    let Some((
        approval_code,
        item_id,
        item_name,
        item_name_en,
        stage,
        status,
        submitted_at,
        applicant_name,
        project_code,
        project_name,
    )) = head
    else {
        return Ok(None);
    };
    let nodes: Vec<NodeRecord> = c
        .prepare(
            "SELECT department, department_en, status, started_at, due_date, time_limit_days,
               finished_at, opinion
             FROM case_nodes WHERE approval_code = ?1 ORDER BY seq",
        )?
        .query_map([&approval_code], |r| {
            Ok(NodeRecord {
                department: r.get(0)?,
                department_en: r.get(1)?,
                status: blzt_column(r, 2)?,
                started_at: r.get(3)?,
                due_date: r.get(4)?,
                time_limit_days: r.get(5)?,
                finished_at: r.get(6)?,
                opinion: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let notice_rows: Vec<(String, i64, String)> = c
        .prepare(
            "SELECT payment_code, total_fen, status FROM fee_notices
             WHERE approval_code = ?1 ORDER BY payment_code",
        )?
        .query_map([&approval_code], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut fee_notices = Vec::with_capacity(notice_rows.len());
    for (payment_code, total_fen, status) in notice_rows {
        fee_notices.push(FeeNoticeSummary {
            payment_code,
            total_fen,
            status: notice_status(&status)?,
        });
    }
    Ok(Some(CaseRecord {
        approval_code,
        item_id,
        item_name,
        item_name_en,
        stage,
        status: blzt(status)?,
        submitted_at,
        applicant_name,
        project_code,
        project_name,
        nodes,
        fee_notices,
    }))
}

// ---------------------------------------------------------------------------------------------
// Notice and order rows

fn insert_notice(tx: &Transaction<'_>, n: &NewNotice) -> Result<(), StoreError> {
    let total: i64 = n.lines.iter().map(|l| l.amount_fen).sum();
    tx.execute(
        "INSERT INTO fee_notices (payment_code, agency, approval_code, payer, payer_is_person,
           total_fen, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'unpaid')",
        params![
            n.payment_code,
            n.agency,
            n.approval_code,
            n.payer,
            n.payer_is_person,
            total
        ],
    )?;
    for (seq, l) in n.lines.iter().enumerate() {
        tx.execute(
            "INSERT INTO fee_lines (payment_code, seq, name, amount_fen) VALUES (?1, ?2, ?3, ?4)",
            params![n.payment_code, seq, l.name, l.amount_fen],
        )?;
    }
    Ok(())
}

fn load_notice(c: &Connection, code: &str) -> Result<Option<NoticeRecord>, StoreError> {
    let head = c
        .query_row(
            "SELECT payment_code, agency, approval_code, payer, payer_is_person, total_fen,
               status, receipt_no, paid_at
             FROM fee_notices WHERE payment_code = ?1",
            [code],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<NaiveDateTime>>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((
        payment_code,
        agency,
        approval_code,
        payer,
        payer_is_person,
        total_fen,
        status,
        receipt_no,
        paid_at,
    )) = head
    else {
        return Ok(None);
    };
    let lines: Vec<FeeLine> = c
        .prepare("SELECT name, amount_fen FROM fee_lines WHERE payment_code = ?1 ORDER BY seq")?
        .query_map([&payment_code], |r| {
            Ok(FeeLine {
                name: r.get(0)?,
                amount_fen: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(NoticeRecord {
        payment_code,
        agency,
        approval_code,
        payer,
        payer_is_person,
        lines,
        total_fen,
        status: notice_status(&status)?,
        receipt_no,
        paid_at,
    }))
}

fn load_order(c: &Connection, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
    let row = c
        .query_row(
            "SELECT order_id, payment_code, method, status, amount_fen, qr_payload, provider,
               provider_state, created_ms, expires_ms, expires_at, transaction_id, receipt_no,
               paid_at, failure_reason
             FROM orders WHERE order_id = ?1",
            [order_id],
            |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                    ),
                    (
                        r.get::<_, i64>(8)?,
                        r.get::<_, i64>(9)?,
                        r.get::<_, NaiveDateTime>(10)?,
                        r.get::<_, Option<String>>(11)?,
                        r.get::<_, Option<String>>(12)?,
                        r.get::<_, Option<NaiveDateTime>>(13)?,
                        r.get::<_, Option<String>>(14)?,
                    ),
                ))
            },
        )
        .optional()?;
    let Some((
        (order_id, payment_code, method, status, amount_fen, qr_payload, provider, provider_state),
        (created_ms, expires_ms, expires_at, transaction_id, receipt_no, paid_at, failure_reason),
    )) = row
    else {
        return Ok(None);
    };
    Ok(Some(OrderRecord {
        order_id,
        payment_code,
        method: PayMethod::parse(&method)
            .ok_or_else(|| StoreError::Corrupt(format!("payment method {method:?}")))?,
        status: order_status(&status)?,
        amount_fen,
        qr_payload,
        provider,
        provider_state,
        created_ms,
        expires_ms,
        expires_at,
        transaction_id,
        receipt_no,
        paid_at,
        failure_reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(code: &str) -> NewNotice {
        NewNotice {
            payment_code: code.into(),
            agency: "市住房和城乡建设局".into(),
            approval_code: None,
            payer: "测试单位".into(),
            payer_is_person: false,
            lines: vec![FeeLine {
                name: "城市基础设施配套费".into(),
                amount_fen: 1000,
            }],
        }
    }

    fn order(id: &str, code: &str) -> NewOrder {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        NewOrder {
            order_id: id.into(),
            payment_code: code.into(),
            method: PayMethod::Qr,
            status: OrderStatus::Pending,
            amount_fen: 1000,
            qr_payload: None,
            provider: "test".into(),
            provider_state: String::new(),
            created_ms: 0,
            expires_ms: 1,
            created_at: t,
            expires_at: t,
            failure_reason: None,
        }
    }

    fn paid() -> Settlement {
        Settlement::Paid {
            transaction_id: "T1".into(),
            paid_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
                .unwrap()
                .and_hms_opt(9, 1, 0)
                .unwrap(),
            receipt_prefix: "R".into(),
        }
    }

    #[tokio::test]
    async fn schema_refuses_a_second_payment_of_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite3");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 1);
        store
            .seed_blocking(
                &[],
                Some(&DemoRecords {
                    notices: vec![notice("42060026110200000999")],
                    ..Default::default()
                }),
            )
            .unwrap();
        let code = "42060026110200000999";
        store.create_order(order("a", code)).await.unwrap().unwrap();
        let a = store
            .settle_order("a".into(), paid())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.status, OrderStatus::Paid);
        assert_eq!(a.receipt_no.as_deref(), Some("R0000000001"));
        // The code path refuses a new order for a paid notice...
        let again = store.create_order(order("b", code)).await.unwrap();
        assert_eq!(again.unwrap_err(), NoticeBlock::AlreadyPaid);
        // ...and the schema refuses to pay it twice or undo the payment even when asked directly.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let err = conn.execute(
            "UPDATE fee_notices SET status = 'unpaid', paid_order_id = NULL WHERE payment_code = ?1",
            [code],
        );
        assert!(err.is_err(), "a paid notice must not become unpaid");
        conn.execute(
            "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, provider,
               provider_state, created_ms, expires_ms, created_at, expires_at)
             VALUES ('c', ?1, 'qr', 'pending', 1000, 'test', '', 0, 1, '2026-11-23 09:00:00',
               '2026-11-23 09:00:00')",
            [code],
        )
        .unwrap();
        let err = conn.execute("UPDATE orders SET status = 'paid' WHERE order_id = 'c'", []);
        assert!(
            err.is_err(),
            "a second paid order for one notice must be refused"
        );
        let err = conn.execute(
            "UPDATE orders SET status = 'cancelled' WHERE order_id = 'a'",
            [],
        );
        assert!(err.is_err(), "a paid order is final");
    }

    #[tokio::test]
    async fn migrations_are_recorded_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite3");
        drop(Store::open(&path).unwrap());
        // Opening again applies nothing twice.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 1);
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'x', 'now')",
            [],
        )
        .unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew {
                found: 99,
                known: 1
            })
        ));
    }
}
