//! What the platform runs with: its configuration, and the state every request handler shares.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hall_domain::Calendar;

use crate::clock::Clock;
use crate::db::DbUrl;
use crate::error::StoreError;
use crate::payment::{self, CallbackKey, PaymentProvider, SimulatedProvider};
use crate::store::{self, Store};
use crate::{catalogue, fleet, seed, workdays};

/// How to run the platform.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The SQLite file; created when missing, opened in WAL mode. Used unless [`Self::database`]
    /// names a database.
    pub db_path: PathBuf,
    /// The database, when not the SQLite file at [`Self::db_path`]: `DbUrl::Postgres(…)` for a
    /// PostgreSQL database that several instances may share.
    pub database: Option<DbUrl>,
    /// Where to listen; `127.0.0.1:0` picks a free port (see [`RunningServer::addr`]).
    pub listen: SocketAddr,
    /// The demo hall: the demo registry, cases and fee notices are seeded into a database that
    /// has none, and payments go to the simulated provider (its payer and callback routes
    /// answer). Off (production): no demo data, the simulated routes answer 404 and, until a
    /// real provider is configured, a new payment order answers 503. The item catalogue is
    /// seeded into an empty database either way.
    pub demo: bool,
    /// A fixed "today" (tests, demos on a chosen day); `None` means the local date.
    pub today: Option<chrono::NaiveDate>,
    /// Simulated provider: how long a payer takes to confirm a scanned payment code.
    pub sim_payer_delay: Duration,
    /// How long a payment order waits for its payer before it expires.
    pub order_ttl: Duration,
    /// How long a scanned payment code may wait for the payer to confirm on the phone before
    /// the order is reversed: 30 s by default (WeChat: query about every 10 s up to about
    /// 30 s; Alipay's SDK about 25 s); never less than [`MIN_PAYER_CONFIRM`].
    pub payer_confirm_limit: Duration,
    /// How often the payment service is asked about an order waiting for its payer.
    pub wallet_query_every: Duration,
    /// The key with which the simulated provider signs its callbacks (HMAC-SHA256). `None`: the
    /// key kept in the database, made on first use, so that instances sharing a database agree.
    pub callback_key: Option<String>,
    /// Holiday arrangements of years the built-in calendar lacks (`holidays-YYYY.toml` files,
    /// the format of `domain/data/`).
    pub holiday_files: Vec<PathBuf>,
    /// How often kiosks are asked to send a heartbeat.
    pub fleet_heartbeat_secs: u32,
    /// A kiosk whose last heartbeat is older than this is shown offline.
    pub fleet_offline_after: Duration,
    /// The hall's opening hours on working days (the dashboard's availability is of these).
    pub opening_hours: crate::dashboard::OpeningHours,
    /// Serve HTTPS with this certificate and key; `None`: plain HTTP, for loopback only (the
    /// embedded demo, tests, behind a TLS-terminating proxy on the same machine).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Connections, header and body timeouts (see [`crate::serve::Limits`]).
    pub limits: crate::serve::Limits,
    /// Requests an authenticated kiosk may make: per second, sustained, and in a burst. A
    /// person at a kiosk makes a few a second at most; beyond this the kiosk gets 429.
    pub kiosk_rate: Rate,
    /// Requests one network address may make, whoever it claims to be, checked before any
    /// credential is looked up (429 with Retry-After beyond). Behind a reverse proxy every
    /// request comes from the proxy's address: raise it there, and limit at the proxy.
    pub peer_rate: Rate,
    /// The keys of personal data at rest (see [`crate::seal`]).
    pub seal_keys: SealKeys,
    /// Where release bundles are kept (see [`crate::updates::releases_dir_for`]).
    pub releases_dir: PathBuf,
}

/// Where the keys of personal data at rest come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealKeys {
    /// A key file that must exist (`hall-platform seal keygen`; a hall's platform: a systemd
    /// credential or a file outside the database's backups).
    File(PathBuf),
    /// A key file made on first start when missing: the demo hall and tests only.
    MadeAt(PathBuf),
}

pub use crate::limits::Rate;

impl SealKeys {
    /// The key file [`ServerConfig::with_database`] makes for a database: beside a SQLite file;
    /// for PostgreSQL, one per database URL in the temporary directory (tests on one machine).
    pub fn made_for(url: &DbUrl) -> PathBuf {
        match url {
            DbUrl::Sqlite(path) => keys_beside(path),
            other => {
                use sha2::Digest;
                let id: String = sha2::Sha256::digest(format!("{other:?}").as_bytes())
                    .iter()
                    .take(8)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                std::env::temp_dir().join(format!("hall-platform-keys-{id}.toml"))
            }
        }
    }
}

/// The made key file of a SQLite database: beside it.
fn keys_beside(db_path: &std::path::Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".keys.toml");
    db_path.with_file_name(name)
}

/// A wallet payment is never reversed within this time of the debit (WeChat's guidance).
pub const MIN_PAYER_CONFIRM: Duration = Duration::from_secs(15);

impl ServerConfig {
    /// A production configuration with the usual defaults: no demo, local date, 3 s payer delay
    /// (when [`Self::demo`] is set),
    /// 10 min order lifetime (a kiosk withdraws its orders sooner unless the payer asks for
    /// more time).
    pub fn new(db_path: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        let db_path = db_path.into();
        Self {
            db_path: db_path.clone(),
            database: None,
            listen,
            demo: false,
            today: None,
            sim_payer_delay: Duration::from_secs(3),
            order_ttl: Duration::from_secs(600),
            payer_confirm_limit: Duration::from_secs(30),
            wallet_query_every: Duration::from_secs(10),
            callback_key: None,
            holiday_files: Vec::new(),
            fleet_heartbeat_secs: fleet::HEARTBEAT_SECS,
            fleet_offline_after: Duration::from_secs(3 * u64::from(fleet::HEARTBEAT_SECS)),
            opening_hours: crate::dashboard::OpeningHours::default(),
            tls: None,
            limits: crate::serve::Limits::default(),
            seal_keys: SealKeys::MadeAt(keys_beside(&db_path)),
            releases_dir: crate::updates::releases_dir_for(&DbUrl::Sqlite(db_path.clone())),
            kiosk_rate: Rate {
                per_second: 10,
                burst: 60,
            },
            peer_rate: Rate {
                per_second: 50,
                burst: 200,
            },
        }
    }

    /// The demo hall's configuration: [`Self::new`] with [`Self::demo`] set (demo data, the
    /// simulated payment provider). For the demo and the tests, never for a hall.
    pub fn demo_hall(db_path: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            demo: true,
            // Every kiosk of the demo hall (and of a drill) shares the loopback address.
            peer_rate: Rate {
                per_second: 1000,
                burst: 4000,
            },
            ..Self::new(db_path, listen)
        }
    }

    /// A configuration for a database given by URL (`sqlite://…` or `postgres://…`).
    pub fn with_database(url: DbUrl, listen: SocketAddr) -> Self {
        let mut config = Self::new(PathBuf::new(), listen);
        // Instances sharing a database share its made key file.
        config.seal_keys = SealKeys::MadeAt(SealKeys::made_for(&url));
        config.releases_dir = crate::updates::releases_dir_for(&url);
        match url {
            DbUrl::Sqlite(path) => config.db_path = path,
            other => config.database = Some(other),
        }
        config
    }

    /// The database this configuration names.
    pub fn db_url(&self) -> DbUrl {
        self.database
            .clone()
            .unwrap_or_else(|| DbUrl::Sqlite(self.db_path.clone()))
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new(
            "hall-platform.sqlite3",
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
    }
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("seed data: {0}")]
    Seed(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("kiosk enrolment: {0}")]
    Enrolment(String),
    #[error("console user: {0}")]
    ConsoleUser(String),
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    calendar: Arc<Calendar>,
    clock: Clock,
    /// The payment provider; `None` when none is configured.
    provider: Option<Arc<dyn PaymentProvider>>,
    /// The simulated provider, in the demo hall only.
    sim: Option<Arc<SimulatedProvider>>,
    order_ttl: Duration,
    payer_confirm_limit: Duration,
    wallet_query_every: Duration,
    /// When each order waiting for its payer was last asked about (order id → epoch ms).
    last_queries: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    coverage: Arc<workdays::Coverage>,
    heartbeat_secs: u32,
    releases_dir: PathBuf,
    offline_after: Duration,
    opening_hours: crate::dashboard::OpeningHours,
    /// Becomes true when the server stops: long-polls answer at once.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The fleet's changes on this instance: a kiosk's state, help call or commands changed (the
    /// console's pages fetch them again), a command was issued to a kiosk (its waiting poll looks
    /// at once). On PostgreSQL they arrive from every instance through LISTEN/NOTIFY.
    changes: crate::notify::Local,
    limiters: crate::limits::Limiters,
    credentials: crate::limits::KnownCredentials,
}

/// The built-in holiday calendar with the arrangements of `files` added.
pub fn calendar_with(files: &[PathBuf]) -> Result<Calendar, PlatformError> {
    let mut calendar = Calendar::built_in();
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| PlatformError::Seed(format!("holiday file {}: {e}", f.display())))?;
        calendar
            .add_year(&text)
            .map_err(|e| PlatformError::Seed(format!("holiday file {}: {e}", f.display())))?;
    }
    Ok(calendar)
}

impl AppState {
    /// Opens (and migrates) the database and seeds it as configured. Blocking: call it from a
    /// blocking context or use [`spawn`].
    pub fn open(config: &ServerConfig) -> Result<Self, PlatformError> {
        let calendar = Arc::new(calendar_with(&config.holiday_files)?);
        let sealer = Arc::new(
            match &config.seal_keys {
                SealKeys::File(path) => crate::seal::Sealer::load(path),
                SealKeys::MadeAt(path) => crate::seal::Sealer::load_or_create(path),
            }
            .map_err(StoreError::from)?,
        );
        let store = Store::open(&config.db_url())?
            .with_calendar(Arc::clone(&calendar))
            .with_sealer(sealer)?;
        let clock = Clock::new(config.today);
        let coverage = Arc::new(workdays::Coverage::of(&calendar));
        {
            use chrono::Datelike;
            let year = clock.today().year();
            let missing = coverage.missing(year, year + 1);
            if !missing.is_empty() {
                tracing::warn!(?missing, calendar_years = ?coverage.years(),
                    "the holiday calendar lacks these years: due dates reaching into them count \
                     weekends only and are marked provisional; add each year's file \
                     (hall-platform calendar check)");
            }
        }
        let catalogue = catalogue::built_in().map_err(|e| PlatformError::Seed(e.to_string()))?;
        let demo = if config.demo {
            let data =
                seed::DemoData::built_in().map_err(|e| PlatformError::Seed(e.to_string()))?;
            Some(
                data.build(&catalogue, &calendar, clock.today())
                    .map_err(|e| PlatformError::Seed(e.to_string()))?,
            )
        } else {
            None
        };
        let report = store.seed_blocking(&catalogue, demo.as_ref(), clock.now())?;
        let baseline = store.baseline_blocking(clock.now())?;
        if baseline > 0 {
            tracing::info!(
                rows = baseline,
                "the audit log now records the state of every case, notice and order"
            );
        }
        if report.catalogue {
            tracing::info!(items = catalogue.len(), "item catalogue seeded");
        }
        if report.demo {
            tracing::info!("demo registry, cases and fee notices seeded");
        }
        let sim = if config.demo {
            let key = match &config.callback_key {
                Some(k) => k.clone(),
                None => store::meta_or_init(&store, "sim_callback_key", payment::random_key)?,
            };
            tracing::warn!(
                "DEMO: payments go to the simulated provider (a simulated payer confirms them); \
                 demo cases and fee notices are served. Never in a hall."
            );
            Some(Arc::new(SimulatedProvider::new(
                config.sim_payer_delay,
                CallbackKey::new(key.as_bytes()),
            )))
        } else {
            tracing::warn!(
                "no payment provider is configured: fee notices are shown, new payment orders \
                 are refused (503)"
            );
            None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                calendar,
                coverage,
                heartbeat_secs: config.fleet_heartbeat_secs.max(1),
                releases_dir: config.releases_dir.clone(),
                offline_after: config.fleet_offline_after,
                opening_hours: config.opening_hours,
                stopping: tokio::sync::watch::Sender::new(false),
                changes: crate::notify::Local::new(),
                clock,
                provider: sim.clone().map(|p| p as Arc<dyn PaymentProvider>),
                sim,
                order_ttl: config.order_ttl,
                payer_confirm_limit: config.payer_confirm_limit.max(MIN_PAYER_CONFIRM),
                wallet_query_every: config.wallet_query_every,
                last_queries: std::sync::Mutex::new(std::collections::HashMap::new()),
                limiters: crate::limits::Limiters::new(config.kiosk_rate, config.peer_rate),
                credentials: Default::default(),
            }),
        })
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }
    pub(crate) fn limiters(&self) -> &crate::limits::Limiters {
        &self.inner.limiters
    }
    pub(crate) fn known_credentials(&self) -> &crate::limits::KnownCredentials {
        &self.inner.credentials
    }
    pub(crate) fn calendar(&self) -> &Calendar {
        &self.inner.calendar
    }
    /// Where release bundles are kept.
    pub(crate) fn releases_dir(&self) -> &std::path::Path {
        &self.inner.releases_dir
    }

    pub(crate) fn heartbeat_secs(&self) -> u32 {
        self.inner.heartbeat_secs
    }
    pub(crate) fn opening_hours(&self) -> crate::dashboard::OpeningHours {
        self.inner.opening_hours
    }
    pub(crate) fn offline_after_ms(&self) -> i64 {
        i64::try_from(self.inner.offline_after.as_millis()).unwrap_or(i64::MAX)
    }
    pub(crate) fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }
    /// Tells every watching console, on every instance, that the fleet changed.
    pub(crate) fn fleet_changed(&self) {
        self.tell("fleet".to_string());
    }
    pub(crate) fn fleet_changes(&self) -> tokio::sync::broadcast::Receiver<()> {
        self.inner.changes.fleet.subscribe()
    }
    /// Wakes the waiting poll of a kiosk that was sent a command, on whichever instance it is.
    pub(crate) fn command_issued(&self, kiosk: &str) {
        self.tell(format!("cmd:{kiosk}"));
    }
    pub(crate) fn commands_issued(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.inner.changes.commands.subscribe()
    }
    /// Whether changes on other instances reach this one at once (PostgreSQL's NOTIFY): polls
    /// then look at the database only as a safety net.
    pub(crate) fn hears_other_instances(&self) -> bool {
        self.inner.store.dialect() == crate::db::Dialect::Postgres
    }
    pub(crate) fn local_changes(&self) -> crate::notify::Local {
        self.inner.changes.clone()
    }
    fn tell(&self, payload: String) {
        if !self.hears_other_instances() {
            self.inner.changes.deliver(&payload);
            return;
        }
        // Through the database, to every instance (this one's listener included).
        let store = self.inner.store.clone();
        let local = self.inner.changes.clone();
        tokio::spawn(async move {
            let p = payload.clone();
            let sent = store
                .read(move |_, c| {
                    // pg_notify answers `void`, which no row type reads: executed, not queried.
                    c.execute(
                        "SELECT pg_notify($1, $2)",
                        crate::params![crate::notify::CHANNEL, p],
                    )
                })
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "the fleet's change could not be told to other instances");
                local.deliver(&payload);
            }
        });
    }
    pub(crate) fn stop_waiting(&self) {
        self.inner.stopping.send_replace(true);
    }
    pub(crate) fn coverage(&self) -> &workdays::Coverage {
        &self.inner.coverage
    }
    pub(crate) fn calendar_arc(&self) -> Arc<Calendar> {
        Arc::clone(&self.inner.calendar)
    }
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }
    pub(crate) fn provider(&self) -> Option<&dyn PaymentProvider> {
        self.inner.provider.as_deref()
    }
    pub(crate) fn order_ttl(&self) -> Duration {
        self.inner.order_ttl
    }
    pub(crate) fn wallet_query_every(&self) -> Duration {
        self.inner.wallet_query_every
    }
    pub(crate) fn payer_confirm_limit(&self) -> Duration {
        self.inner.payer_confirm_limit
    }
    /// Whether the payment service may be asked about `order_id` at `now_ms` (at most once
    /// every [`ServerConfig::wallet_query_every`]); a yes is remembered.
    pub(crate) fn wallet_query_due(&self, order_id: &str, now_ms: i64) -> bool {
        let every = i64::try_from(self.inner.wallet_query_every.as_millis()).unwrap_or(i64::MAX);
        let Ok(mut last) = self.inner.last_queries.lock() else {
            return true;
        };
        if last.len() > 10_000 {
            // Orders settle or expire within their lifetime: forget the long gone.
            let ttl = i64::try_from(self.inner.order_ttl.as_millis()).unwrap_or(i64::MAX);
            last.retain(|_, at| now_ms.saturating_sub(*at) < ttl);
        }
        match last.get(order_id) {
            Some(at) if now_ms.saturating_sub(*at) < every => false,
            _ => {
                last.insert(order_id.to_string(), now_ms);
                true
            }
        }
    }
    pub(crate) fn forget_query(&self, order_id: &str) {
        if let Ok(mut last) = self.inner.last_queries.lock() {
            last.remove(order_id);
        }
    }
    /// The simulated provider: the demo hall only.
    pub(crate) fn sim_provider(&self) -> Option<&SimulatedProvider> {
        self.inner.sim.as_deref()
    }
}
