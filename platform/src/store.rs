//! The data layer: every SQL statement of the platform lives here, written once for SQLite and
//! PostgreSQL (see [`crate::db`]).
//!
//! The schema is versioned in `schema_migrations`; [`MIGRATIONS`] lists every step, with its SQL
//! for each backend, and a database is brought up to date when it is opened (on PostgreSQL under
//! an advisory lock, so instances starting together migrate once). Rules that money depends on (a
//! fee notice is paid once, by one order) are enforced by the schema itself, not only by this
//! code. Every state change appends to the audit chain in the same transaction ([`crate::audit`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime};
use hall_domain::api::{
    Applicant, ApplicationCreated, CaseSummary, FeeLine, FeeNoticeSummary, MaterialStatus,
    NoticeStatus, OrderStatus, Organization, OrganizationInfo, Project, ProjectInfo,
};
use hall_domain::{Blzt, Calendar};
use serde_json::json;

use crate::audit::{self, Actor};
use crate::catalogue::{self, Catalogue, CatalogueItem};
use crate::db::{Conn, Database, DbUrl, Dialect, ToValue};
use crate::params;
use crate::payment::PayMethod;
use crate::staff::{self, NodeAction, Refusal};

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

/// One schema step: its version, a name for people, and its SQL for each backend.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every schema step, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "catalogue, registry, cases, fee notices and orders",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "catalogue versions, local references, staff tokens, audit log",
        sqlite: include_str!("../migrations/sqlite/0002_versions_staff_audit.sql"),
        postgres: include_str!("../migrations/postgres/0002_full_schema.sql"),
    },
    Migration {
        version: 3,
        name: "withdrawals of submissions never confirmed to the applicant",
        sqlite: include_str!("../migrations/sqlite/0003_withdrawals.sql"),
        postgres: include_str!("../migrations/postgres/0003_withdrawals.sql"),
    },
    Migration {
        version: 4,
        name: "audit entries linked into the chain after their transaction commits",
        sqlite: include_str!("../migrations/sqlite/0004_audit_pending.sql"),
        postgres: include_str!("../migrations/postgres/0004_audit_pending.sql"),
    },
    Migration {
        version: 5,
        name: "fleet control: kiosks, enrolment and help-desk tokens, commands",
        sqlite: include_str!("../migrations/sqlite/0005_fleet.sql"),
        postgres: include_str!("../migrations/postgres/0005_fleet.sql"),
    },
    Migration {
        version: 6,
        name: "fleet: only a kiosk's newest command poll takes commands",
        sqlite: include_str!("../migrations/sqlite/0006_fleet_poll.sql"),
        postgres: include_str!("../migrations/postgres/0006_fleet_poll.sql"),
    },
];

/// The schema version this program writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// A key of PostgreSQL's advisory locks, held while migrating.
const MIGRATION_LOCK: i64 = 0x4841_4c4c_0001;

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
    /// The catalogue version whose rules the case was checked against.
    pub catalogue_version: i64,
    /// The kiosk's reference for a submission it took while the platform was unreachable.
    pub local_reference: Option<String>,
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
    /// When corrections were asked, while they are (the time limit waits meanwhile).
    pub corrections_asked_at: Option<NaiveDate>,
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

/// Refused detail requests for one case that a kiosk may make within [`DETAILS_WINDOW_MINUTES`]
/// before it must wait, and that all kiosks together may make.
pub const DETAILS_TRIES_PER_KIOSK: i64 = 3;
pub const DETAILS_TRIES_PER_CASE: i64 = 10;
pub const DETAILS_WINDOW_MINUTES: i64 = 15;
/// Lists of a card holder's cases a kiosk may ask for within [`DETAILS_WINDOW_MINUTES`], and the
/// most cases one list holds.
pub const APPLICANT_LISTS_PER_KIOSK: i64 = 20;
pub const APPLICANT_CASES_MAX: i64 = 20;

/// What a request for a case's details came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DetailsOutcome {
    NotFound,
    /// The ID number is not the applicant's.
    Refused,
    /// Too many refused attempts lately.
    Limited,
    Shown(Box<CaseRecord>),
}

/// The SHA-256 of an ID number in its normalised form (trimmed, `x` as `X`).
pub fn id_number_sha256(id_number: &str) -> [u8; 32] {
    use sha2::Digest;
    let normal = zeroize::Zeroizing::new(id_number.trim().to_ascii_uppercase());
    sha2::Sha256::digest(normal.as_bytes()).into()
}

/// Compares two digests in time that does not depend on where they differ.
fn id_digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    pub catalogue_version: i64,
    pub local_reference: Option<String>,
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
    /// Another case already carries the submission's local reference.
    ReferenceTaken,
    /// A new case was created.
    Created(Created),
    /// The key was seen before with the same request: the first answer.
    Replayed(Created),
    /// The key was seen before with a different request.
    KeyReused,
    /// The kiosk withdrew this key (it never told the applicant): nothing is created.
    Withdrawn,
}

/// Why a kiosk withdraws a case: it never confirmed the submission to the applicant.
pub const WITHDRAW_REASON: &str = "kiosk never confirmed it to the applicant";

/// What withdrawing an idempotency key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withdrawal {
    /// The case created under the key is withdrawn (now, or by an earlier call).
    Withdrawn { approval_code: String },
    /// No case had arrived: the key is refused from now on.
    NoCase,
    /// Staff already acted on the case (or it was decided at once): a kiosk cannot withdraw it.
    Refused { approval_code: String, status: Blzt },
}

/// A case created under an idempotency key, as the kiosk-side checks see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct KeyedCase {
    pub idempotency_key: String,
    pub approval_code: String,
    pub kiosk_id: Option<String>,
    pub local_reference: Option<String>,
    /// BLZT status code of the case.
    #[schema(value_type = u8)]
    pub status: Blzt,
    /// Not withdrawn.
    pub active: bool,
}

/// What the platform knows of an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct KeyState {
    pub idempotency_key: String,
    /// The case created under the key, if one arrived.
    pub case: Option<KeyedCase>,
    /// The key was withdrawn (its case withdrawn, or refused before it arrived).
    pub withdrawn: bool,
    /// 1 when a case under the key is active (not withdrawn), else 0.
    pub active_cases: u32,
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

/// A catalogue version as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueVersionInfo {
    pub version: i64,
    pub created_at: String,
    pub source: String,
    pub sha256: String,
    pub current: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub version: i64,
    /// The catalogue was the current one already: no version was added.
    pub unchanged: bool,
}

/// A case created under an idempotency key, with its receipt's verification code.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    pub created: ApplicationCreated,
    /// The receipt's verification code (`XXXX-XXXX`), from the audit chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    /// The due date (or a tolerated material's) reaches into a year without a holiday
    /// calendar: it counts weekends only and may move once that year's arrangement is added.
    #[serde(default)]
    pub due_date_provisional: bool,
}

/// A department's action on its node, as the store carries it out.
#[derive(Debug, Clone)]
pub struct NodeActionRequest {
    pub approval_code: String,
    /// The department's name (Chinese) or English name.
    pub department: String,
    pub action: NodeAction,
    pub opinion: Option<String>,
    pub actor: Actor,
    pub today: NaiveDate,
    pub now: NaiveDateTime,
}

// ---------------------------------------------------------------------------------------------
// The store

/// The platform's database. Cheap to clone; clones share the connections and the cache of
/// catalogue versions (which never change once written).
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    catalogues: Arc<Mutex<HashMap<i64, Arc<Catalogue>>>>,
    calendar: Arc<Calendar>,
    /// Requests wait here, first come first served, for a connection, before a blocking thread
    /// is taken: as many permits as connections (SQLite: readers, and the one writer).
    read_gate: Arc<tokio::sync::Semaphore>,
    write_gate: Arc<tokio::sync::Semaphore>,
    /// One linking round of pending audit entries at a time; what recent rounds linked.
    links: Arc<tokio::sync::Mutex<Links>>,
}

/// Hashes of pending audit entries linked by the last two rounds, by pending id.
#[derive(Default)]
struct Links {
    current: HashMap<i64, String>,
    previous: HashMap<i64, String>,
}

impl Links {
    fn take(&mut self, id: i64) -> Option<String> {
        self.current
            .remove(&id)
            .or_else(|| self.previous.remove(&id))
    }
    fn record(&mut self, linked: Vec<(i64, String)>) {
        self.previous = std::mem::take(&mut self.current);
        self.current = linked.into_iter().collect();
    }
}

/// How many pending audit entries one round links at most.
const LINK_BATCH: i64 = 2048;

impl Store {
    /// Connects to (creating when missing, for SQLite) the database and brings its schema up to
    /// date.
    pub fn open(url: &DbUrl) -> Result<Self, StoreError> {
        let db = Database::open(url)?;
        migrate(&db)?;
        let (reads, writes) = db.slots();
        let read_gate = Arc::new(tokio::sync::Semaphore::new(reads));
        let write_gate = Arc::new(tokio::sync::Semaphore::new(writes));
        let store = Self {
            db: Arc::new(db),
            catalogues: Arc::new(Mutex::new(HashMap::new())),
            calendar: Arc::new(Calendar::built_in()),
            read_gate,
            write_gate,
            links: Arc::new(tokio::sync::Mutex::new(Links::default())),
        };
        // Entries left pending by an instance that stopped between a commit and its linking.
        let linked = store.link_pending_blocking()?;
        if linked > 0 {
            tracing::info!(
                entries = linked,
                "pending audit entries linked into the chain"
            );
        }
        Ok(store)
    }

    /// The same store counting working days with `calendar` (the built-in one by default).
    pub fn with_calendar(mut self, calendar: Arc<Calendar>) -> Self {
        self.calendar = calendar;
        self
    }

    /// Runs a read with a connection of the pool. Blocking.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.db.read(f)
    }

    /// Runs a write transaction. Blocking.
    pub fn write_blocking<T>(
        &self,
        f: impl FnMut(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.db.write(f)
    }

    /// Links every pending audit entry into the chain; how many. Blocking.
    pub fn link_pending_blocking(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n = self.db.write(|c| audit::link_pending(c, LINK_BATCH))?.len();
            total += n;
            if i64::try_from(n).unwrap_or(i64::MAX) < LINK_BATCH {
                return Ok(total);
            }
        }
    }

    /// The hash of a pending audit entry once it is linked into the chain. Rounds are shared:
    /// whoever gets the turn links everything pending, so many submissions share one commit.
    async fn linked_hash(&self, pending_id: i64) -> Result<String, StoreError> {
        for _ in 0..8 {
            {
                let mut links = self.links.lock().await;
                if let Some(h) = links.take(pending_id) {
                    return Ok(h);
                }
                // Not through the gate: the pool keeps a client for this (see `Database::slots`).
                let store = self.clone();
                let linked = tokio::task::spawn_blocking(move || {
                    store.db.write(|c| audit::link_pending(c, LINK_BATCH))
                })
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
                links.record(linked);
                if let Some(h) = links.take(pending_id) {
                    return Ok(h);
                }
            }
            // Linked by another instance, or by a round whose results were passed on.
            if let Some(h) = self
                .read(move |_, c| audit::hash_of_pending(c, pending_id))
                .await?
            {
                return Ok(h);
            }
        }
        Err(StoreError::Corrupt(format!(
            "pending audit entry {pending_id} was not linked into the chain"
        )))
    }

    /// The verification code of a case: the start of its `case.created` entry's hash.
    async fn verification_of(&self, approval_code: String) -> Result<Option<String>, StoreError> {
        for attempt in 0..2 {
            let code = approval_code.clone();
            let hash = self
                .read(move |_, c| {
                    c.query_opt(
                        "SELECT hash FROM audit_log WHERE subject = $1 AND action = 'case.created'
                         ORDER BY seq LIMIT 1",
                        params![code],
                    )?
                    .map(|r| r.text(0))
                    .transpose()
                })
                .await?;
            if let Some(h) = hash {
                return Ok(Some(audit::verification_code(&h)));
            }
            if attempt == 0 {
                // Still pending: link it.
                let store = self.clone();
                tokio::task::spawn_blocking(move || store.link_pending_blocking())
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))??;
            }
        }
        Ok(None)
    }

    /// A SQLite file.
    pub fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::open(&DbUrl::Sqlite(path.to_path_buf()))
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// Where the data is, without a password.
    pub fn describe(&self) -> String {
        self.db.describe()
    }

    /// Runs a read on the blocking thread pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.read_gate)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let r = store.db.read(|c| f(&store, c));
            drop(permit);
            r
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs a write transaction on the blocking thread pool.
    pub(crate) async fn write<T, F>(&self, mut f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&Store, &mut dyn Conn) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.write_gate)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let r = store.db.write(|c| f(&store, c));
            drop(permit);
            r
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// The schema version the database is at. Blocking.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.db.read(current_version)
    }

    /// Seeds the catalogue (as version 1) into a database that has none, and the demo records
    /// into one that was never seeded with them and holds no case. Blocking.
    pub fn seed_blocking(
        &self,
        catalogue: &[CatalogueItem],
        demo: Option<&DemoRecords>,
        now: NaiveDateTime,
    ) -> Result<SeedReport, StoreError> {
        let (document, sha) = catalogue::canonical(catalogue)?;
        self.db.write(|c| {
            let mut report = SeedReport::default();
            let versions = c
                .query_one("SELECT count(*) FROM catalogue_versions", params![])?
                .i64(0)?;
            if versions == 0 {
                insert_catalogue_version(c, 1, catalogue, &document, &sha, "built-in", now)?;
                report.catalogue = true;
            }
            if let Some(demo) = demo {
                let cases = c.query_one("SELECT count(*) FROM cases", params![])?.i64(0)?;
                if cases == 0 && meta(c, "demo_seeded")?.is_none() {
                    let version = current_catalogue_version(c)?.unwrap_or(1);
                    for p in &demo.projects {
                        c.execute(
                            "INSERT INTO projects (code, name, construction_unit)
                             VALUES ($1, $2, $3)",
                            params![p.code, p.name, p.construction_unit],
                        )?;
                    }
                    for o in &demo.organizations {
                        c.execute(
                            "INSERT INTO organizations (credit_code, name) VALUES ($1, $2)",
                            params![o.credit_code, o.name],
                        )?;
                    }
                    for case in &demo.cases {
                        let mut case = case.clone();
                        case.catalogue_version = version;
                        insert_case(c, &case, None)?;
                    }
                    for n in &demo.notices {
                        insert_notice(c, n)?;
                    }
                    set_meta(c, "demo_seeded", "1")?;
                    audit::append(
                        c,
                        now,
                        &Actor::System,
                        "demo.seeded",
                        "demo",
                        json!({
                            "cases": demo.cases.iter().map(|c| &c.approval_code).collect::<Vec<_>>(),
                            "notices": demo.notices.iter().map(|n| &n.payment_code).collect::<Vec<_>>(),
                        }),
                    )?;
                    report.demo = true;
                }
            }
            Ok(report)
        })
    }

    // --- catalogue ------------------------------------------------------------------------------

    /// A catalogue version, from the cache or the database.
    fn catalogue_version(
        &self,
        c: &mut dyn Conn,
        version: i64,
    ) -> Result<Arc<Catalogue>, StoreError> {
        if let Some(cat) = self
            .catalogues
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .get(&version)
        {
            return Ok(Arc::clone(cat));
        }
        let row = c
            .query_opt(
                "SELECT document FROM catalogue_versions WHERE version = $1",
                params![version],
            )?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("catalogue version {version} is missing"))
            })?;
        let items = catalogue::parse(&row.text(0)?)?;
        let cat = Arc::new(Catalogue { version, items });
        self.catalogues
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .insert(version, Arc::clone(&cat));
        Ok(cat)
    }

    fn current_catalogue(&self, c: &mut dyn Conn) -> Result<Arc<Catalogue>, StoreError> {
        let version = current_catalogue_version(c)?
            .ok_or_else(|| StoreError::Corrupt("the database has no catalogue".into()))?;
        self.catalogue_version(c, version)
    }

    /// The catalogue now in force.
    pub async fn catalogue(&self) -> Result<Arc<Catalogue>, StoreError> {
        self.read(|s, c| s.current_catalogue(c)).await
    }

    /// What a submission is checked against, in one round trip: the catalogue in force and the
    /// registered names of the project and organisation it names.
    pub async fn intake(
        &self,
        project_code: Option<String>,
        credit_code: Option<String>,
    ) -> Result<(Arc<Catalogue>, Option<String>, Option<String>), StoreError> {
        self.read(move |s, c| {
            let r = c.query_one(
                "SELECT (SELECT value FROM meta WHERE key = 'catalogue_version'),
                        (SELECT name FROM projects WHERE code = $1),
                        (SELECT name FROM organizations WHERE credit_code = $2)",
                params![project_code, credit_code],
            )?;
            let v = r
                .opt_text(0)?
                .ok_or_else(|| StoreError::Corrupt("the database has no catalogue".into()))?;
            let version = v
                .parse::<i64>()
                .map_err(|_| StoreError::Corrupt(format!("catalogue version {v:?}")))?;
            Ok((
                s.catalogue_version(c, version)?,
                r.opt_text(1)?,
                r.opt_text(2)?,
            ))
        })
        .await
    }

    /// The catalogue now in force, ordered by stage then id.
    pub async fn items(&self) -> Result<Vec<CatalogueItem>, StoreError> {
        Ok(self.catalogue().await?.items.clone())
    }

    /// Adds a catalogue version and makes it current, unless it is the current one already.
    /// Blocking.
    pub fn import_catalogue_blocking(
        &self,
        items: &[CatalogueItem],
        source: &str,
        now: NaiveDateTime,
    ) -> Result<Imported, StoreError> {
        let (document, sha) = catalogue::canonical(items)?;
        self.db.write(|c| {
            let current = current_catalogue_version(c)?;
            if let Some(v) = current {
                let same = c
                    .query_opt(
                        "SELECT sha256 FROM catalogue_versions WHERE version = $1",
                        params![v],
                    )?
                    .map(|r| r.text(0))
                    .transpose()?;
                if same.as_deref() == Some(sha.as_str()) {
                    return Ok(Imported {
                        version: v,
                        unchanged: true,
                    });
                }
            }
            let next = c
                .query_one(
                    "SELECT coalesce(max(version), 0) + 1 FROM catalogue_versions",
                    params![],
                )?
                .i64(0)?;
            insert_catalogue_version(c, next, items, &document, &sha, source, now)?;
            Ok(Imported {
                version: next,
                unchanged: false,
            })
        })
    }

    /// The canonical text of a catalogue version (the current one when `None`). Blocking.
    pub fn export_catalogue_blocking(
        &self,
        version: Option<i64>,
    ) -> Result<Option<(i64, String)>, StoreError> {
        self.db.read(|c| {
            let Some(v) = (match version {
                Some(v) => Some(v),
                None => current_catalogue_version(c)?,
            }) else {
                return Ok(None);
            };
            c.query_opt(
                "SELECT version, document FROM catalogue_versions WHERE version = $1",
                params![v],
            )?
            .map(|r| Ok((r.i64(0)?, r.text(1)?)))
            .transpose()
        })
    }

    /// Every catalogue version, oldest first. Blocking.
    pub fn catalogue_versions_blocking(&self) -> Result<Vec<CatalogueVersionInfo>, StoreError> {
        self.db.read(|c| {
            let current = current_catalogue_version(c)?;
            c.query(
                "SELECT version, created_at, source, sha256 FROM catalogue_versions ORDER BY version",
                params![],
            )?
            .iter()
            .map(|r| {
                let version = r.i64(0)?;
                Ok(CatalogueVersionInfo {
                    version,
                    created_at: r.text(1)?,
                    source: r.text(2)?,
                    sha256: r.text(3)?,
                    current: Some(version) == current,
                })
            })
            .collect()
        })
    }

    // --- registries ------------------------------------------------------------------------------

    /// A registered project by its dashed code.
    pub async fn project(&self, code: String) -> Result<Option<ProjectInfo>, StoreError> {
        self.read(move |_, c| {
            c.query_opt(
                "SELECT code, name, construction_unit FROM projects WHERE code = $1",
                params![code],
            )?
            .map(|r| {
                Ok(ProjectInfo {
                    code: r.text(0)?,
                    name: r.text(1)?,
                    construction_unit: r.opt_text(2)?,
                })
            })
            .transpose()
        })
        .await
    }

    pub async fn organization(
        &self,
        credit_code: String,
    ) -> Result<Option<OrganizationInfo>, StoreError> {
        self.read(move |_, c| {
            c.query_opt(
                "SELECT credit_code, name FROM organizations WHERE credit_code = $1",
                params![credit_code],
            )?
            .map(|r| {
                Ok(OrganizationInfo {
                    credit_code: r.text(0)?,
                    name: r.text(1)?,
                })
            })
            .transpose()
        })
        .await
    }

    // --- applications and cases ---------------------------------------------------------------

    /// Creates a case under an idempotency key, in one transaction: a key seen before answers
    /// with its first response (same request) or [`Idempotent::KeyReused`]. `build` receives the
    /// next approval serial and returns the case and the answer to store with the key. The
    /// case's creation is appended to the audit chain, whose entry gives the receipt's
    /// verification code.
    pub async fn create_application<F>(
        &self,
        key: String,
        request_sha256: String,
        actor: Actor,
        build: F,
    ) -> Result<Idempotent, StoreError>
    where
        F: Fn(u32) -> (NewCase, ApplicationCreated) + Send + 'static,
    {
        let outcome = self
            .write(move |_, c| {
                if c.dialect() == Dialect::Postgres {
                    create_application_pg(c, &key, &request_sha256, &actor, &build)
                } else {
                    create_application_sqlite(c, &key, &request_sha256, &actor, &build)
                        .map(|o| (o, None))
                }
            })
            .await?;
        match outcome {
            (Idempotent::Created(mut answer), Some(pending_id)) => {
                let hash = self.linked_hash(pending_id).await?;
                answer.verification_code = Some(audit::verification_code(&hash));
                Ok(Idempotent::Created(answer))
            }
            (Idempotent::Replayed(mut answer), _) if answer.verification_code.is_none() => {
                answer.verification_code = self
                    .verification_of(answer.created.approval_code.clone())
                    .await?;
                Ok(Idempotent::Replayed(answer))
            }
            (other, _) => Ok(other),
        }
    }

    pub async fn case(&self, approval_code: String) -> Result<Option<CaseRecord>, StoreError> {
        self.read(move |s, c| load_case(s, c, &approval_code)).await
    }

    /// A case's details for whoever shows the applicant's ID number (as the SHA-256 of its
    /// normalised form), in one transaction: refused attempts of the last
    /// [`DETAILS_WINDOW_MINUTES`] are counted from the audit log (per kiosk and per case), the
    /// comparison is made in constant time, and the attempt is appended to the audit log
    /// (`case.details.shown`, `.refused` or `.limited`, never with the number itself).
    pub async fn case_details(
        &self,
        approval_code: String,
        id_sha256: [u8; 32],
        actor: Actor,
        now: NaiveDateTime,
    ) -> Result<DetailsOutcome, StoreError> {
        self.write(move |s, c| {
            let Some(r) = c.query_opt(
                "SELECT applicant_id_number FROM cases WHERE approval_code = $1",
                params![approval_code],
            )?
            else {
                return Ok(DetailsOutcome::NotFound);
            };
            let stored = zeroize::Zeroizing::new(r.text(0)?);
            let since = (now - chrono::Duration::minutes(DETAILS_WINDOW_MINUTES))
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            let label = actor.label();
            let counts = c.query_one(
                "SELECT count(*), count(CASE WHEN actor = $3 THEN 1 END) FROM audit_log
                 WHERE subject = $1 AND action = 'case.details.refused' AND at >= $2",
                params![approval_code, since, label],
            )?;
            let (all, mine) = (counts.i64(0)?, counts.i64(1)?);
            if mine >= DETAILS_TRIES_PER_KIOSK || all >= DETAILS_TRIES_PER_CASE {
                audit::append(
                    c,
                    now,
                    &actor,
                    "case.details.limited",
                    &approval_code,
                    json!({}),
                )?;
                return Ok(DetailsOutcome::Limited);
            }
            let matches = id_digest_eq(&id_number_sha256(&stored), &id_sha256);
            let action = if matches {
                "case.details.shown"
            } else {
                "case.details.refused"
            };
            audit::append(c, now, &actor, action, &approval_code, json!({}))?;
            if !matches {
                return Ok(DetailsOutcome::Refused);
            }
            Ok(match load_case(s, c, &approval_code)? {
                Some(case) => DetailsOutcome::Shown(Box::new(case)),
                None => DetailsOutcome::NotFound,
            })
        })
        .await
    }

    /// The cases (not withdrawn, newest first, at most [`APPLICANT_CASES_MAX`]) of the holder of
    /// an ID number, for the card placed on the lookup screen; `None` when the kiosk asked more
    /// than [`APPLICANT_LISTS_PER_KIOSK`] times within [`DETAILS_WINDOW_MINUTES`]. Audited as
    /// `cases.by_applicant` (subject: the kiosk) with how many were found, never the number.
    pub async fn cases_by_applicant(
        &self,
        id_number: zeroize::Zeroizing<String>,
        actor: Actor,
        now: NaiveDateTime,
    ) -> Result<Option<Vec<CaseSummary>>, StoreError> {
        self.write(move |s, c| {
            let label = actor.label();
            let since = (now - chrono::Duration::minutes(DETAILS_WINDOW_MINUTES))
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            let asked = c
                .query_one(
                    "SELECT count(*) FROM audit_log
                     WHERE subject = $1 AND action = 'cases.by_applicant' AND at >= $2",
                    params![label, since],
                )?
                .i64(0)?;
            if asked >= APPLICANT_LISTS_PER_KIOSK {
                return Ok(None);
            }
            let normal = zeroize::Zeroizing::new(id_number.trim().to_ascii_uppercase());
            let rows = c.query(
                &format!(
                    "SELECT approval_code, item_id, status, submitted_at, catalogue_version
                     FROM cases WHERE applicant_id_number = $1 AND status <> $2
                     ORDER BY submitted_at DESC, approval_code DESC LIMIT {APPLICANT_CASES_MAX}"
                ),
                params![normal.as_str(), Blzt::Withdrawn],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let item_id = r.text(1)?;
                let cat = s.catalogue_version(c, r.i64(4)?)?;
                let (item, item_en) = cat
                    .item(&item_id)
                    .map(|i| (i.item.name.clone(), i.item.name_en.clone()))
                    .unwrap_or_else(|| (item_id.clone(), String::new()));
                let status = r.blzt(2)?;
                out.push(CaseSummary {
                    approval_code: r.text(0)?,
                    item,
                    item_en,
                    status,
                    status_text: status.zh().to_string(),
                    submitted_at: r.datetime(3)?,
                });
            }
            audit::append(
                c,
                now,
                &actor,
                "cases.by_applicant",
                &label,
                json!({ "found": out.len() }),
            )?;
            Ok(Some(out))
        })
        .await
    }

    /// The case a kiosk submitted under its local reference.
    pub async fn case_by_reference(
        &self,
        reference: String,
    ) -> Result<Option<CaseRecord>, StoreError> {
        self.read(move |s, c| {
            let Some(r) = c.query_opt(
                "SELECT approval_code FROM cases WHERE local_reference = $1",
                params![reference],
            )?
            else {
                return Ok(None);
            };
            load_case(s, c, &r.text(0)?)
        })
        .await
    }

    /// Withdraws what a kiosk submitted under an idempotency key and never confirmed to the
    /// applicant, in one transaction: the case and all its nodes go to BLZT 2 (withdrawn) with
    /// [`WITHDRAW_REASON`], appended to the audit chain; when no case has arrived, a tombstone
    /// makes the key refused if its request arrives later. Idempotent. A case some department
    /// already moved beyond received/accepted is refused.
    pub async fn withdraw_key(
        &self,
        key: String,
        actor: Actor,
        today: NaiveDate,
        now: NaiveDateTime,
    ) -> Result<Withdrawal, StoreError> {
        self.write(move |_, c| withdraw_key(c, &key, &actor, today, now))
            .await
    }

    /// What the platform holds under an idempotency key.
    pub async fn key_state(&self, key: String) -> Result<KeyState, StoreError> {
        self.read(move |_, c| key_state(c, &key)).await
    }

    /// Blocking form of [`Store::key_state`].
    pub fn key_state_blocking(&self, key: &str) -> Result<KeyState, StoreError> {
        self.db.read(|c| key_state(c, key))
    }

    /// Every case a kiosk submitted under an idempotency key, withdrawn ones included (see
    /// [`KeyedCase::active`]), oldest first.
    pub async fn cases_by_kiosk(&self, kiosk_id: String) -> Result<Vec<KeyedCase>, StoreError> {
        self.read(move |_, c| cases_by_kiosk(c, &kiosk_id)).await
    }

    /// Blocking form of [`Store::cases_by_kiosk`].
    pub fn cases_by_kiosk_blocking(&self, kiosk_id: &str) -> Result<Vec<KeyedCase>, StoreError> {
        self.db.read(|c| cases_by_kiosk(c, kiosk_id))
    }

    /// A department acts on its node of a case: the transition is checked, the node and the
    /// case's status change, and the change is appended to the audit chain, in one transaction.
    pub async fn act_on_node(
        &self,
        req: NodeActionRequest,
    ) -> Result<Result<CaseRecord, Refusal>, StoreError> {
        self.write(move |s, c| act_on_node(s, c, &req)).await
    }

    /// Blocking form of [`Store::act_on_node`], for the command line.
    pub fn act_on_node_blocking(
        &self,
        req: &NodeActionRequest,
    ) -> Result<Result<CaseRecord, Refusal>, StoreError> {
        self.db.write(|c| act_on_node(self, c, req))
    }

    /// The department a staff token belongs to, unless revoked.
    pub async fn staff_department(
        &self,
        token_sha256: String,
    ) -> Result<Option<String>, StoreError> {
        self.read(move |_, c| {
            c.query_opt(
                "SELECT department FROM staff_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL",
                params![token_sha256],
            )?
            .map(|r| r.text(0))
            .transpose()
        })
        .await
    }

    /// Records a staff token (only its hash). Blocking.
    pub fn add_staff_token_blocking(
        &self,
        department: &str,
        label: &str,
        token_sha256: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        self.db.write(|c| {
            c.execute(
                "INSERT INTO staff_tokens (token_sha256, department, label, created_at)
                 VALUES ($1, $2, $3, $4)",
                params![token_sha256, department, label, now],
            )?;
            audit::append(
                c,
                now,
                &Actor::Admin,
                "staff_token.created",
                department,
                json!({ "label": label, "token_sha256_prefix": token_sha256.get(0..12) }),
            )?;
            Ok(())
        })
    }

    /// Revokes every token with this label in a department; how many were revoked. Blocking.
    pub fn revoke_staff_tokens_blocking(
        &self,
        department: &str,
        label: &str,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        self.db.write(|c| {
            let n = c.execute(
                "UPDATE staff_tokens SET revoked_at = $3
                 WHERE department = $1 AND label = $2 AND revoked_at IS NULL",
                params![department, label, now],
            )?;
            if n > 0 {
                audit::append(
                    c,
                    now,
                    &Actor::Admin,
                    "staff_token.revoked",
                    department,
                    json!({ "label": label, "count": n }),
                )?;
            }
            Ok(n)
        })
    }

    /// Every department that reviews some case or item, for the command line's checks. Blocking.
    pub fn departments_blocking(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.db.read(|c| {
            let cat = self.current_catalogue(c)?;
            let mut out: Vec<(String, String)> = Vec::new();
            for d in cat.items.iter().flat_map(|i| &i.departments) {
                if !out.iter().any(|(n, _)| *n == d.name) {
                    out.push((d.name.clone(), d.name_en.clone()));
                }
            }
            Ok(out)
        })
    }

    // --- audit -----------------------------------------------------------------------------------

    /// Walks the audit chain. Blocking.
    pub fn audit_verify_blocking(&self) -> Result<audit::Verdict, StoreError> {
        self.db.read(audit::verify)
    }

    /// The audit entries about one subject. Blocking.
    pub fn audit_for_blocking(&self, subject: &str) -> Result<Vec<audit::Entry>, StoreError> {
        self.db.read(|c| audit::for_subject(c, subject))
    }

    // --- fee notices and orders ----------------------------------------------------------------

    pub async fn notice(&self, payment_code: String) -> Result<Option<NoticeRecord>, StoreError> {
        self.read(move |_, c| load_notice(c, &payment_code)).await
    }

    /// Inserts an order for a notice that is still unpaid (checked in the same transaction).
    pub async fn create_order(
        &self,
        order: NewOrder,
    ) -> Result<Result<OrderRecord, NoticeBlock>, StoreError> {
        self.write(move |_, c| {
            let status = c
                .query_opt(
                    "SELECT status FROM fee_notices WHERE payment_code = $1 FOR UPDATE",
                    params![order.payment_code],
                )?
                .map(|r| r.text(0))
                .transpose()?;
            match status.as_deref() {
                None => return Ok(Err(NoticeBlock::NotFound)),
                Some("unpaid") => {}
                Some("paid") => return Ok(Err(NoticeBlock::AlreadyPaid)),
                Some(_) => return Ok(Err(NoticeBlock::Cancelled)),
            }
            c.execute(
                "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, qr_payload,
                   provider, provider_state, created_ms, expires_ms, created_at, expires_at,
                   failure_reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
            audit::append(
                c,
                order.created_at,
                &Actor::Kiosk(None),
                "order.created",
                &order.order_id,
                json!({
                    "payment_code": order.payment_code,
                    "method": order.method.as_str(),
                    "amount_fen": order.amount_fen,
                    "status": order_status_str(order.status),
                    "provider": order.provider,
                }),
            )?;
            let rec = load_order(c, &order.order_id)?
                .ok_or_else(|| StoreError::Corrupt("an inserted order vanished".into()))?;
            Ok(Ok(rec))
        })
        .await
    }

    /// The pending orders of a notice, oldest first.
    pub async fn pending_orders(
        &self,
        payment_code: String,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        self.read(move |_, c| {
            let ids = c.query(
                "SELECT order_id FROM orders WHERE payment_code = $1 AND status = 'pending'
                 ORDER BY created_ms, order_id",
                params![payment_code],
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for r in ids {
                if let Some(o) = load_order(c, &r.text(0)?)? {
                    out.push(o);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn order(&self, order_id: String) -> Result<Option<OrderRecord>, StoreError> {
        self.read(move |_, c| load_order(c, &order_id)).await
    }

    /// Records the provider's state of a pending order (e.g. the payer confirmed).
    pub async fn set_provider_state(
        &self,
        order_id: String,
        state: String,
    ) -> Result<bool, StoreError> {
        self.write(move |_, c| {
            let n = c.execute(
                "UPDATE orders SET provider_state = $2 WHERE order_id = $1 AND status = 'pending'",
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
        actor: Actor,
        now: NaiveDateTime,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.write(move |_, c| settle_order(c, &order_id, &settlement, &actor, now))
            .await
    }
}

fn settle_order(
    c: &mut dyn Conn,
    order_id: &str,
    settlement: &Settlement,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Option<OrderRecord>, StoreError> {
    // Lock the order first, then its notice: every writer takes them in this order.
    let Some(locked) = c.query_opt(
        "SELECT status, payment_code FROM orders WHERE order_id = $1 FOR UPDATE",
        params![order_id],
    )?
    else {
        return Ok(None);
    };
    if locked.text(0)? != "pending" {
        return load_order(c, order_id);
    }
    let payment_code = locked.text(1)?;
    let (action, detail) = match settlement {
        Settlement::Paid {
            transaction_id,
            paid_at,
            receipt_prefix,
        } => {
            let serial = next_in_sequence(c, "receipt")?;
            let receipt_no = format!("{receipt_prefix}{serial:010}");
            let n = c.execute(
                "UPDATE fee_notices SET status = 'paid', receipt_no = $2, paid_at = $3,
                   paid_order_id = $4
                 WHERE payment_code = $1 AND status = 'unpaid'",
                params![payment_code, receipt_no, paid_at, order_id],
            )?;
            if n == 1 {
                c.execute(
                    "UPDATE orders SET status = 'paid', transaction_id = $2, receipt_no = $3,
                       paid_at = $4
                     WHERE order_id = $1 AND status = 'pending'",
                    params![order_id, transaction_id, receipt_no, paid_at],
                )?;
                audit::append(
                    c,
                    now,
                    actor,
                    "notice.paid",
                    &payment_code,
                    json!({ "order_id": order_id, "receipt_no": receipt_no }),
                )?;
                (
                    "order.paid",
                    json!({ "transaction_id": transaction_id, "receipt_no": receipt_no }),
                )
            } else {
                let reason = "该缴款通知已缴清或已撤销，本笔款项将原路退回";
                c.execute(
                    "UPDATE orders SET status = 'failed', failure_reason = $2
                     WHERE order_id = $1 AND status = 'pending'",
                    params![order_id, reason],
                )?;
                (
                    "order.failed",
                    json!({ "transaction_id": transaction_id, "reason": "notice no longer unpaid; refund" }),
                )
            }
        }
        Settlement::Failed { reason } => {
            c.execute(
                "UPDATE orders SET status = 'failed', failure_reason = $2
                 WHERE order_id = $1 AND status = 'pending'",
                params![order_id, reason],
            )?;
            ("order.failed", json!({ "reason": reason }))
        }
        Settlement::Cancelled => {
            c.execute(
                "UPDATE orders SET status = 'cancelled' WHERE order_id = $1 AND status = 'pending'",
                params![order_id],
            )?;
            ("order.cancelled", json!({}))
        }
        Settlement::Expired => {
            c.execute(
                "UPDATE orders SET status = 'expired' WHERE order_id = $1 AND status = 'pending'",
                params![order_id],
            )?;
            ("order.expired", json!({}))
        }
    };
    audit::append(c, now, actor, action, order_id, detail)?;
    load_order(c, order_id)
}

/// What the key's earlier use says, if anything: withdrawn, a replay, or reused.
fn key_seen(
    withdrawn: bool,
    seen: Option<(String, String)>,
    request_sha256: &str,
) -> Result<Option<Idempotent>, StoreError> {
    if withdrawn {
        return Ok(Some(Idempotent::Withdrawn));
    }
    let Some((hash, response)) = seen else {
        return Ok(None);
    };
    Ok(Some(if hash == request_sha256 {
        Idempotent::Replayed(serde_json::from_str(&response)?)
    } else {
        Idempotent::KeyReused
    }))
}

fn case_created_detail(case: &NewCase, request_sha256: &str) -> serde_json::Value {
    json!({
        "item_id": case.item_id,
        "catalogue_version": case.catalogue_version,
        "status": case.status.code(),
        "nodes": case.nodes.iter().map(|n| n.status.code()).collect::<Vec<_>>(),
        "materials": case.materials.iter()
            .map(|m| json!([m.material_id, material_status_str(m.status), m.pages]))
            .collect::<Vec<_>>(),
        "local_reference": case.local_reference,
        "request_sha256": request_sha256,
    })
}

/// SQLite: one writer, so the entry is appended to the chain in the transaction.
fn create_application_sqlite(
    c: &mut dyn Conn,
    key: &str,
    request_sha256: &str,
    actor: &Actor,
    build: &dyn Fn(u32) -> (NewCase, ApplicationCreated),
) -> Result<Idempotent, StoreError> {
    let r = c.query_one(
        "SELECT (SELECT 1 FROM withdrawn_keys WHERE key = $1),
                (SELECT request_sha256 FROM idempotency_keys WHERE key = $1),
                (SELECT response FROM idempotency_keys WHERE key = $1)",
        params![key],
    )?;
    let seen = match (r.opt_text(1)?, r.opt_text(2)?) {
        (Some(h), Some(resp)) => Some((h, resp)),
        _ => None,
    };
    if let Some(answer) = key_seen(r.at(0)? != &crate::db::Value::Null, seen, request_sha256)? {
        return Ok(answer);
    }
    let serial = next_in_sequence(c, "approval_serial")?;
    let serial = u32::try_from(serial)
        .map_err(|_| StoreError::Corrupt(format!("approval serial {serial}")))?;
    let (case, created) = build(serial);
    if let Some(reference) = &case.local_reference {
        let taken = c.query_opt(
            "SELECT approval_code FROM cases WHERE local_reference = $1",
            params![reference],
        )?;
        if taken.is_some() {
            return Ok(Idempotent::ReferenceTaken);
        }
    }
    insert_case(c, &case, None)?;
    let entry = audit::append(
        c,
        case.submitted_at,
        actor,
        "case.created",
        &case.approval_code,
        case_created_detail(&case, request_sha256),
    )?;
    let answer = Created {
        created,
        verification_code: Some(audit::verification_code(&entry.hash)),
        due_date_provisional: false,
    };
    c.execute(
        "INSERT INTO idempotency_keys (key, request_sha256, approval_code, response, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![
            key,
            request_sha256,
            case.approval_code,
            serde_json::to_string(&answer)?,
            case.submitted_at
        ],
    )?;
    Ok(Idempotent::Created(answer))
}

/// PostgreSQL: five round trips (begin, the key's lock, the checks with the serial, every row
/// in one statement, the commit), and the audit entry is recorded pending, so that concurrent
/// submissions commit together; it is linked into the chain right after the commit. Returns the
/// entry's pending id with a new case.
fn create_application_pg(
    c: &mut dyn Conn,
    key: &str,
    request_sha256: &str,
    actor: &Actor,
    build: &dyn Fn(u32) -> (NewCase, ApplicationCreated),
) -> Result<(Idempotent, Option<i64>), StoreError> {
    use crate::db::Value;
    c.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))::text",
        params![KEY_LOCK_SPACE, key],
    )?;
    // The submission's local reference (the same whatever the serial).
    let reference = build(0).0.local_reference;
    // After the lock, in a statement of its own: it sees whatever the key's last holder
    // committed. A serial is drawn only for a new case, so replays leave no gaps.
    let r = c.query_one(
        "SELECT w, h, r, t, CASE WHEN w IS NULL AND h IS NULL AND t IS NULL
                              THEN nextval('approval_serial_seq') END
         FROM (SELECT (SELECT 1 FROM withdrawn_keys WHERE key = $1) AS w,
                      (SELECT request_sha256 FROM idempotency_keys WHERE key = $1) AS h,
                      (SELECT response FROM idempotency_keys WHERE key = $1) AS r,
                      (SELECT approval_code FROM cases WHERE local_reference = $2) AS t) AS x",
        params![key, reference],
    )?;
    let seen = match (r.opt_text(1)?, r.opt_text(2)?) {
        (Some(h), Some(resp)) => Some((h, resp)),
        _ => None,
    };
    if let Some(answer) = key_seen(r.at(0)? != &Value::Null, seen, request_sha256)? {
        return Ok((answer, None));
    }
    if r.opt_text(3)?.is_some() {
        return Ok((Idempotent::ReferenceTaken, None));
    }
    let serial = r.i64(4)?;
    let serial = u32::try_from(serial)
        .map_err(|_| StoreError::Corrupt(format!("approval serial {serial}")))?;
    let (case, created) = build(serial);
    let answer = Created {
        created,
        verification_code: None,
        due_date_provisional: false,
    };
    let mut sql = String::with_capacity(2048);
    let mut v: Vec<Value> = Vec::with_capacity(40 + 11 * case.nodes.len());
    fn slots(v: &mut Vec<Value>, vals: Vec<Value>) -> String {
        let mut out = String::from("(");
        for (i, val) in vals.into_iter().enumerate() {
            v.push(val);
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", v.len()));
        }
        out.push(')');
        out
    }
    let k = &case;
    let case_row = slots(
        &mut v,
        vec![
            k.approval_code.to_value(),
            k.item_id.to_value(),
            k.status.to_value(),
            k.submitted_at.to_value(),
            k.due_date.to_value(),
            k.applicant.name.to_value(),
            k.applicant.id_number.to_value(),
            k.applicant.phone.to_value(),
            k.organization.as_ref().map(|o| &o.name).to_value(),
            k.organization.as_ref().map(|o| &o.credit_code).to_value(),
            k.project.code.to_value(),
            k.project.name.to_value(),
            k.identified_by.to_value(),
            k.kiosk_id.to_value(),
            k.catalogue_version.to_value(),
            k.local_reference.to_value(),
            Value::Null,
            k.submitted_at.to_value(),
        ],
    );
    sql.push_str(&format!(
        "WITH c AS (INSERT INTO cases (approval_code, item_id, status, submitted_at, due_date,
           applicant_name, applicant_id_number, applicant_phone, organization_name,
           organization_credit_code, project_code, project_name, identified_by, kiosk_id,
           catalogue_version, local_reference, verification_code, updated_at) VALUES {case_row})"
    ));
    if !k.nodes.is_empty() {
        let rows: Vec<String> = k
            .nodes
            .iter()
            .enumerate()
            .map(|(seq, n)| {
                slots(
                    &mut v,
                    vec![
                        k.approval_code.to_value(),
                        seq.to_value(),
                        n.department.to_value(),
                        n.department_en.to_value(),
                        n.status.to_value(),
                        n.started_at.to_value(),
                        n.due_date.to_value(),
                        n.time_limit_days.to_value(),
                        n.finished_at.to_value(),
                        n.opinion.to_value(),
                        n.corrections_asked_at.to_value(),
                    ],
                )
            })
            .collect();
        sql.push_str(&format!(
            ", n AS (INSERT INTO case_nodes (approval_code, seq, department, department_en, status,
               started_at, due_date, time_limit_days, finished_at, opinion, corrections_asked_at)
             VALUES {})",
            rows.join(", ")
        ));
    }
    if !k.materials.is_empty() {
        let rows: Vec<String> = k
            .materials
            .iter()
            .map(|m| {
                slots(
                    &mut v,
                    vec![
                        k.approval_code.to_value(),
                        m.material_id.to_value(),
                        Value::Text(material_status_str(m.status).to_string()),
                        m.pages.to_value(),
                        m.due_date.to_value(),
                    ],
                )
            })
            .collect();
        sql.push_str(&format!(
            ", m AS (INSERT INTO case_materials (approval_code, material_id, status, pages, due_date)
             VALUES {})",
            rows.join(", ")
        ));
    }
    let key_row = slots(
        &mut v,
        vec![
            key.to_value(),
            request_sha256.to_value(),
            k.approval_code.to_value(),
            Value::Text(serde_json::to_string(&answer)?),
            k.submitted_at.to_value(),
        ],
    );
    sql.push_str(&format!(
        ", i AS (INSERT INTO idempotency_keys (key, request_sha256, approval_code, response,
           created_at) VALUES {key_row})"
    ));
    let audit_row = slots(
        &mut v,
        audit::pending_values(
            k.submitted_at,
            actor,
            "case.created",
            &k.approval_code,
            &case_created_detail(k, request_sha256),
        )
        .to_vec(),
    );
    sql.push_str(&format!(
        " INSERT INTO audit_pending (at, actor, action, subject, detail) VALUES {audit_row}
         RETURNING id"
    ));
    let refs: Vec<&dyn crate::db::ToValue> =
        v.iter().map(|x| x as &dyn crate::db::ToValue).collect();
    let pending_id = c.query_one(&sql, &refs)?.i64(0)?;
    Ok((Idempotent::Created(answer), Some(pending_id)))
}

/// Serialises the transactions about one idempotency key (a submission and its withdrawal)
/// across instances. SQLite's write transactions are serialised already.
fn lock_key(c: &mut dyn Conn, key: &str) -> Result<(), StoreError> {
    if c.dialect() == Dialect::Postgres {
        c.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))::text",
            params![KEY_LOCK_SPACE, key],
        )?;
    }
    Ok(())
}

/// The first half of PostgreSQL's two-key advisory locks taken for idempotency keys.
const KEY_LOCK_SPACE: i32 = 0x4841_4c4b;

fn withdraw_key(
    c: &mut dyn Conn,
    key: &str,
    actor: &Actor,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Withdrawal, StoreError> {
    lock_key(c, key)?;
    let case = c
        .query_opt(
            "SELECT approval_code FROM idempotency_keys WHERE key = $1",
            params![key],
        )?
        .map(|r| r.text(0))
        .transpose()?;
    let Some(code) = case else {
        let n = c.execute(
            "INSERT INTO withdrawn_keys (key, withdrawn_at, approval_code, reason)
             VALUES ($1, $2, NULL, $3) ON CONFLICT (key) DO NOTHING",
            params![key, now, WITHDRAW_REASON],
        )?;
        if n == 1 {
            audit::append(
                c,
                now,
                actor,
                "key.withdrawn",
                &key_subject(key),
                json!({ "reason": WITHDRAW_REASON, "case": null }),
            )?;
        }
        return Ok(Withdrawal::NoCase);
    };
    let head = c.query_one(
        "SELECT status FROM cases WHERE approval_code = $1 FOR UPDATE",
        params![code],
    )?;
    let case_from = head.blzt(0)?;
    if case_from == Blzt::Withdrawn {
        return Ok(Withdrawal::Withdrawn {
            approval_code: code,
        });
    }
    // An instant (秒批) item is approved by the platform itself when it arrives: no one has
    // acted on it and no one knows its code until the kiosk shows it, so a kiosk may withdraw
    // it like a case still waiting. Approved is final: no department can have acted since.
    let decided_at_once = case_from == Blzt::Approved
        && c.query_one(
            "SELECT i.instant FROM cases k JOIN items i ON i.id = k.item_id
             WHERE k.approval_code = $1",
            params![code],
        )?
        .i64(0)?
            == 1;
    let untouched = |st: Blzt| {
        matches!(st, Blzt::Received | Blzt::Accepted) || (decided_at_once && st == Blzt::Approved)
    };
    let nodes = c.query(
        "SELECT status FROM case_nodes WHERE approval_code = $1 ORDER BY seq",
        params![code],
    )?;
    let mut from = Vec::with_capacity(nodes.len());
    for r in &nodes {
        let st = r.blzt(0)?;
        if !untouched(st) {
            return Ok(Withdrawal::Refused {
                approval_code: code,
                status: case_from,
            });
        }
        from.push(st.code());
    }
    if !untouched(case_from) {
        return Ok(Withdrawal::Refused {
            approval_code: code,
            status: case_from,
        });
    }
    c.execute(
        "UPDATE case_nodes SET status = $2, finished_at = $3, opinion = $4
         WHERE approval_code = $1",
        params![code, Blzt::Withdrawn, today, WITHDRAW_REASON],
    )?;
    c.execute(
        "UPDATE cases SET status = $2, updated_at = $3 WHERE approval_code = $1",
        params![code, Blzt::Withdrawn, now],
    )?;
    c.execute(
        "INSERT INTO withdrawn_keys (key, withdrawn_at, approval_code, reason)
         VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
        params![key, now, code, WITHDRAW_REASON],
    )?;
    audit::append(
        c,
        now,
        actor,
        "case.withdrawn",
        &code,
        json!({
            "reason": WITHDRAW_REASON,
            "case_from": case_from.code(),
            "nodes_from": from,
            "to": Blzt::Withdrawn.code(),
            "key": key_subject(key),
        }),
    )?;
    Ok(Withdrawal::Withdrawn {
        approval_code: code,
    })
}

/// How an idempotency key is named in the audit log: by its hash, so the log never holds a
/// token that could be replayed.
fn key_subject(key: &str) -> String {
    use sha2::Digest;
    let h: String = sha2::Sha256::digest(key.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("key:{h}")
}

fn keyed_case(r: &crate::db::Row) -> Result<KeyedCase, StoreError> {
    let status = r.blzt(4)?;
    Ok(KeyedCase {
        idempotency_key: r.text(0)?,
        approval_code: r.text(1)?,
        kiosk_id: r.opt_text(2)?,
        local_reference: r.opt_text(3)?,
        status,
        active: status != Blzt::Withdrawn,
    })
}

fn key_state(c: &mut dyn Conn, key: &str) -> Result<KeyState, StoreError> {
    let case = c
        .query_opt(
            "SELECT k.key, c.approval_code, c.kiosk_id, c.local_reference, c.status
             FROM idempotency_keys k JOIN cases c ON c.approval_code = k.approval_code
             WHERE k.key = $1",
            params![key],
        )?
        .map(|r| keyed_case(&r))
        .transpose()?;
    let tombstone = c
        .query_opt(
            "SELECT key FROM withdrawn_keys WHERE key = $1",
            params![key],
        )?
        .is_some();
    let active = case.as_ref().is_some_and(|k| k.active);
    Ok(KeyState {
        idempotency_key: key.to_string(),
        withdrawn: tombstone || case.as_ref().is_some_and(|k| !k.active),
        active_cases: u32::from(active),
        case,
    })
}

fn cases_by_kiosk(c: &mut dyn Conn, kiosk_id: &str) -> Result<Vec<KeyedCase>, StoreError> {
    c.query(
        "SELECT k.key, c.approval_code, c.kiosk_id, c.local_reference, c.status
         FROM cases c JOIN idempotency_keys k ON k.approval_code = c.approval_code
         WHERE c.kiosk_id = $1
         ORDER BY c.submitted_at, c.approval_code",
        params![kiosk_id],
    )?
    .iter()
    .map(keyed_case)
    .collect()
}

fn act_on_node(
    s: &Store,
    c: &mut dyn Conn,
    req: &NodeActionRequest,
) -> Result<Result<CaseRecord, Refusal>, StoreError> {
    let Some(head) = c.query_opt(
        "SELECT status FROM cases WHERE approval_code = $1 FOR UPDATE",
        params![req.approval_code],
    )?
    else {
        return Ok(Err(Refusal::CaseNotFound));
    };
    let case_from = head.blzt(0)?;
    let rows = c.query(
        "SELECT seq, department, department_en, status, due_date, corrections_asked_at, opinion
         FROM case_nodes WHERE approval_code = $1 ORDER BY seq",
        params![req.approval_code],
    )?;
    let wanted = req.department.trim();
    let mut statuses = Vec::with_capacity(rows.len());
    let mut target = None;
    for (i, r) in rows.iter().enumerate() {
        statuses.push(r.blzt(3)?);
        let (name, name_en) = (r.text(1)?, r.text(2)?);
        if target.is_none() && (name == wanted || name_en.eq_ignore_ascii_case(wanted)) {
            target = Some(i);
        }
    }
    let Some(i) = target else {
        return Ok(Err(Refusal::NotReviewing));
    };
    let r = &rows[i];
    let (seq, department) = (r.i64(0)?, r.text(1)?);
    let from = statuses[i];
    if !req.action.allowed_from(from) {
        return Ok(Err(Refusal::Illegal {
            from,
            action: req.action,
        }));
    }
    let opinion = req
        .opinion
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string);
    if req.action.needs_opinion() && opinion.is_none() {
        return Ok(Err(Refusal::OpinionRequired));
    }
    let to = req.action.target();
    let mut due = r.opt_date(4)?;
    let mut asked_at = r.opt_date(5)?;
    match req.action {
        NodeAction::AskCorrections => asked_at = Some(req.today),
        NodeAction::AnswerCorrections => {
            // The time limit waited while the applicant had the case: it moves on by as many
            // working days.
            if let (Some(d), Some(asked)) = (due, asked_at) {
                let waited = s.calendar.working_days_between(asked, req.today);
                due = Some(s.calendar.add_working_days(d, waited));
            }
            asked_at = None;
        }
        _ => {}
    }
    let finished = to.is_final().then_some(req.today);
    let new_opinion = opinion.clone().or(r.opt_text(6)?);
    c.execute(
        "UPDATE case_nodes SET status = $3, finished_at = $4, opinion = $5, due_date = $6,
           corrections_asked_at = $7
         WHERE approval_code = $1 AND seq = $2",
        params![
            req.approval_code,
            seq,
            to,
            finished,
            new_opinion,
            due,
            asked_at
        ],
    )?;
    statuses[i] = to;
    let case_to = staff::case_status(&statuses);
    c.execute(
        "UPDATE cases SET status = $2, updated_at = $3 WHERE approval_code = $1",
        params![req.approval_code, case_to, req.now],
    )?;
    let opinion_sha = opinion.as_deref().map(|o| {
        use sha2::Digest;
        sha2::Sha256::digest(o.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    audit::append(
        c,
        req.now,
        &req.actor,
        &format!("node.{}", req.action.as_str()),
        &req.approval_code,
        json!({
            "department": department,
            "from": from.code(),
            "to": to.code(),
            "case_from": case_from.code(),
            "case_to": case_to.code(),
            "opinion_sha256": opinion_sha,
        }),
    )?;
    let case = load_case(s, c, &req.approval_code)?
        .ok_or_else(|| StoreError::Corrupt("a case vanished while it was changed".into()))?;
    Ok(Ok(case))
}

// ---------------------------------------------------------------------------------------------
// Migrations and small helpers

fn current_version(c: &mut dyn Conn) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        params![],
    )?
    .i64(0)
}

fn migrate(db: &Database) -> Result<(), StoreError> {
    db.with_conn(|c| {
        let pg = c.dialect() == Dialect::Postgres;
        if pg {
            c.execute("SELECT pg_advisory_lock($1)::text", params![MIGRATION_LOCK])?;
        }
        let result = migrate_locked(c);
        if pg {
            c.execute(
                "SELECT pg_advisory_unlock($1)::text",
                params![MIGRATION_LOCK],
            )?;
        }
        result
    })
}

fn migrate_locked(c: &mut dyn Conn) -> Result<(), StoreError> {
    let pg = c.dialect() == Dialect::Postgres;
    c.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )?;
    let found = current_version(c)?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        c.batch(if pg { "BEGIN" } else { "BEGIN IMMEDIATE" })?;
        let step = (|| {
            c.batch(if pg { m.postgres } else { m.sqlite })?;
            c.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                params![m.version, m.name, chrono::Utc::now().naive_utc()],
            )?;
            c.batch("COMMIT")
        })();
        if let Err(e) = step {
            let _ = c.batch("ROLLBACK");
            return Err(e);
        }
        tracing::info!(
            version = m.version,
            name = m.name,
            "database schema migrated"
        );
    }
    Ok(())
}

fn meta(c: &mut dyn Conn, key: &str) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT value FROM meta WHERE key = $1", params![key])?
        .map(|r| r.text(0))
        .transpose()
}

fn set_meta(c: &mut dyn Conn, key: &str, value: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// A value kept in `meta`, made by `make` the first time it is asked for (by any instance).
pub(crate) fn meta_or_init(
    store: &Store,
    key: &str,
    make: impl Fn() -> String,
) -> Result<String, StoreError> {
    store.db.write(|c| {
        if let Some(v) = meta(c, key)? {
            return Ok(v);
        }
        let v = make();
        set_meta(c, key, &v)?;
        Ok(v)
    })
}

fn current_catalogue_version(c: &mut dyn Conn) -> Result<Option<i64>, StoreError> {
    meta(c, "catalogue_version")?
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| StoreError::Corrupt(format!("catalogue version {v:?}")))
        })
        .transpose()
}

fn insert_catalogue_version(
    c: &mut dyn Conn,
    version: i64,
    items: &[CatalogueItem],
    document: &str,
    sha: &str,
    source: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO catalogue_versions (version, created_at, source, sha256, document)
         VALUES ($1, $2, $3, $4, $5)",
        params![version, now, source, sha, document],
    )?;
    for ci in items {
        let it = &ci.item;
        c.execute(
            "INSERT INTO items (id, name, name_en, stage, time_limit_days, instant, fee_note)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
               stage = excluded.stage, time_limit_days = excluded.time_limit_days,
               instant = excluded.instant, fee_note = excluded.fee_note",
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
    }
    set_meta(c, "catalogue_version", &version.to_string())?;
    audit::append(
        c,
        now,
        if source == "built-in" {
            &Actor::System
        } else {
            &Actor::Admin
        },
        "catalogue.imported",
        &format!("catalogue:{version}"),
        json!({ "version": version, "sha256": sha, "items": items.len(), "source": source }),
    )?;
    Ok(())
}

fn next_in_sequence(c: &mut dyn Conn, name: &str) -> Result<i64, StoreError> {
    if c.dialect() == Dialect::Postgres && name == "approval_serial" {
        return c
            .query_one("SELECT nextval('approval_serial_seq')", params![])?
            .i64(0);
    }
    c.query_one(
        "UPDATE sequences SET next_value = next_value + 1 WHERE name = $1
         RETURNING next_value - 1",
        params![name],
    )?
    .i64(0)
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
// Case rows

fn insert_case(
    c: &mut dyn Conn,
    k: &NewCase,
    verification: Option<&str>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO cases (approval_code, item_id, status, submitted_at, due_date,
           applicant_name, applicant_id_number, applicant_phone, organization_name,
           organization_credit_code, project_code, project_name, identified_by, kiosk_id,
           catalogue_version, local_reference, verification_code, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $4)",
        params![
            k.approval_code,
            k.item_id,
            k.status,
            k.submitted_at,
            k.due_date,
            k.applicant.name,
            k.applicant.id_number,
            k.applicant.phone,
            k.organization.as_ref().map(|o| &o.name),
            k.organization.as_ref().map(|o| &o.credit_code),
            k.project.code,
            k.project.name,
            k.identified_by,
            k.kiosk_id,
            k.catalogue_version,
            k.local_reference,
            verification,
        ],
    )?;
    for (seq, n) in k.nodes.iter().enumerate() {
        c.execute(
            "INSERT INTO case_nodes (approval_code, seq, department, department_en, status,
               started_at, due_date, time_limit_days, finished_at, opinion, corrections_asked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            params![
                k.approval_code,
                seq,
                n.department,
                n.department_en,
                n.status,
                n.started_at,
                n.due_date,
                n.time_limit_days,
                n.finished_at,
                n.opinion,
                n.corrections_asked_at,
            ],
        )?;
    }
    for m in &k.materials {
        c.execute(
            "INSERT INTO case_materials (approval_code, material_id, status, pages, due_date)
             VALUES ($1, $2, $3, $4, $5)",
            params![
                k.approval_code,
                m.material_id,
                material_status_str(m.status),
                m.pages,
                m.due_date
            ],
        )?;
    }
    Ok(())
}

/// A row read one column to the right (past a leading tag column).
struct Shift<'a>(&'a crate::db::Row);

impl Shift<'_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.0.text(i + 1)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.0.opt_text(i + 1)
    }
    fn i64(&self, i: usize) -> Result<i64, StoreError> {
        self.0.i64(i + 1)
    }
    fn u32(&self, i: usize) -> Result<u32, StoreError> {
        self.0.u32(i + 1)
    }
    fn blzt(&self, i: usize) -> Result<Blzt, StoreError> {
        self.0.blzt(i + 1)
    }
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        self.0.opt_date(i + 1)
    }
    fn datetime(&self, i: usize) -> Result<NaiveDateTime, StoreError> {
        self.0.datetime(i + 1)
    }
}

fn load_case(s: &Store, c: &mut dyn Conn, code: &str) -> Result<Option<CaseRecord>, StoreError> {
    // The case, its nodes and its fee notices in one round trip: the case's columns repeat on
    // each node's row; the notices follow as rows of their own.
    let rows = c.query(
        "SELECT 0, c.approval_code, c.item_id, c.status, c.submitted_at, c.applicant_name,
           c.project_code, c.project_name, c.catalogue_version, c.local_reference,
           n.department, n.department_en, n.status, n.started_at, n.due_date, n.time_limit_days,
           n.finished_at, n.opinion, n.corrections_asked_at, n.seq, NULL, NULL, NULL
         FROM cases c LEFT JOIN case_nodes n ON n.approval_code = c.approval_code
         WHERE c.approval_code = $1
         UNION ALL
         SELECT 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, f.payment_code, f.total_fen, f.status
         FROM fee_notices f WHERE f.approval_code = $1
         ORDER BY 1, 20, 21",
        params![code],
    )?;
    let Some(h) = rows.first().filter(|r| r.i64(0).ok() == Some(0)) else {
        return Ok(None);
    };
    let h = Shift(h);
    let approval_code = h.text(0)?;
    let item_id = h.text(1)?;
    let catalogue_version = h.i64(7)?;
    let cat = s.catalogue_version(c, catalogue_version)?;
    let item = cat.item(&item_id).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "case {approval_code} names item {item_id:?}, not in catalogue version {catalogue_version}"
        ))
    })?;
    let mut nodes = Vec::with_capacity(rows.len());
    let mut fee_notices = Vec::new();
    for row in &rows {
        let r = Shift(row);
        if row.i64(0)? == 1 {
            fee_notices.push(FeeNoticeSummary {
                payment_code: r.text(19)?,
                total_fen: r.i64(20)?,
                status: notice_status(&r.text(21)?)?,
            });
            continue;
        }
        if r.opt_text(9)?.is_none() {
            continue;
        }
        nodes.push(NodeRecord {
            department: r.text(9)?,
            department_en: r.text(10)?,
            status: r.blzt(11)?,
            started_at: r.opt_date(12)?,
            due_date: r.opt_date(13)?,
            time_limit_days: r.u32(14)?,
            finished_at: r.opt_date(15)?,
            opinion: r.opt_text(16)?,
            corrections_asked_at: r.opt_date(17)?,
        });
    }
    Ok(Some(CaseRecord {
        approval_code,
        item_id,
        item_name: item.item.name.clone(),
        item_name_en: item.item.name_en.clone(),
        stage: item.item.stage,
        status: h.blzt(2)?,
        submitted_at: h.datetime(3)?,
        applicant_name: h.text(4)?,
        project_code: h.text(5)?,
        project_name: h.text(6)?,
        catalogue_version,
        local_reference: h.opt_text(8)?,
        nodes,
        fee_notices,
    }))
}

// ---------------------------------------------------------------------------------------------
// Notice and order rows

fn insert_notice(c: &mut dyn Conn, n: &NewNotice) -> Result<(), StoreError> {
    let total: i64 = n.lines.iter().map(|l| l.amount_fen).sum();
    c.execute(
        "INSERT INTO fee_notices (payment_code, agency, approval_code, payer, payer_is_person,
           total_fen, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'unpaid')",
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
        c.execute(
            "INSERT INTO fee_lines (payment_code, seq, name, amount_fen) VALUES ($1, $2, $3, $4)",
            params![n.payment_code, seq, l.name, l.amount_fen],
        )?;
    }
    Ok(())
}

fn load_notice(c: &mut dyn Conn, code: &str) -> Result<Option<NoticeRecord>, StoreError> {
    let Some(h) = c.query_opt(
        "SELECT payment_code, agency, approval_code, payer, payer_is_person, total_fen,
           status, receipt_no, paid_at
         FROM fee_notices WHERE payment_code = $1",
        params![code],
    )?
    else {
        return Ok(None);
    };
    let payment_code = h.text(0)?;
    let lines = c
        .query(
            "SELECT name, amount_fen FROM fee_lines WHERE payment_code = $1 ORDER BY seq",
            params![payment_code],
        )?
        .iter()
        .map(|r| {
            Ok(FeeLine {
                name: r.text(0)?,
                amount_fen: r.i64(1)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(NoticeRecord {
        payment_code,
        agency: h.text(1)?,
        approval_code: h.opt_text(2)?,
        payer: h.text(3)?,
        payer_is_person: h.bool(4)?,
        lines,
        total_fen: h.i64(5)?,
        status: notice_status(&h.text(6)?)?,
        receipt_no: h.opt_text(7)?,
        paid_at: h.opt_datetime(8)?,
    }))
}

fn load_order(c: &mut dyn Conn, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT order_id, payment_code, method, status, amount_fen, qr_payload, provider,
           provider_state, created_ms, expires_ms, expires_at, transaction_id, receipt_no,
           paid_at, failure_reason
         FROM orders WHERE order_id = $1",
        params![order_id],
    )?
    else {
        return Ok(None);
    };
    let method = r.text(2)?;
    Ok(Some(OrderRecord {
        order_id: r.text(0)?,
        payment_code: r.text(1)?,
        method: PayMethod::parse(&method)
            .ok_or_else(|| StoreError::Corrupt(format!("payment method {method:?}")))?,
        status: order_status(&r.text(3)?)?,
        amount_fen: r.i64(4)?,
        qr_payload: r.opt_text(5)?,
        provider: r.text(6)?,
        provider_state: r.text(7)?,
        created_ms: r.i64(8)?,
        expires_ms: r.i64(9)?,
        expires_at: r.datetime(10)?,
        transaction_id: r.opt_text(11)?,
        receipt_no: r.opt_text(12)?,
        paid_at: r.opt_datetime(13)?,
        failure_reason: r.opt_text(14)?,
    }))
}
