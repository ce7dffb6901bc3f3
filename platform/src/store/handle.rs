//! The store's handle: its connections and the gates before them, the cache of catalogue
//! versions, linking pending audit entries into the chain, and the `meta` values.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hall_domain::Calendar;

use super::{audit, migrate};
use crate::audit::Entry;
use crate::catalogue::Catalogue;
use crate::db::{Conn, Database, DbUrl, Dialect};
use crate::error::StoreError;
use crate::params;

/// The platform's database. Cheap to clone; clones share the connections and the cache of
/// catalogue versions (which never change once written).
#[derive(Clone)]
pub struct Store {
    pub(super) db: Arc<Database>,
    pub(super) catalogues: Arc<Mutex<HashMap<i64, Arc<Catalogue>>>>,
    pub(super) calendar: Arc<Calendar>,
    /// Requests wait here, first come first served, for a connection, before a blocking thread
    /// is taken: as many permits as connections (SQLite: readers, and the one writer).
    read_gate: Arc<tokio::sync::Semaphore>,
    write_gate: Arc<tokio::sync::Semaphore>,
    /// One linking round of pending audit entries at a time; what recent rounds linked.
    links: Arc<tokio::sync::Mutex<Links>>,
    /// The keys of personal data at rest; a store without them neither writes nor opens it.
    sealer: Option<Arc<crate::seal::Sealer>>,
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
    /// The hash of entry `seq`, if the chain has it. Blocking.
    pub fn audit_hash_at_blocking(&self, seq: i64) -> Result<Option<String>, StoreError> {
        self.db.read(|c| {
            c.query_opt("SELECT hash FROM audit_log WHERE seq = $1", params![seq])?
                .map(|r| r.text(0))
                .transpose()
        })
    }

    /// The keys of personal data and of the audit's checkpoints, when the store was given them.
    pub fn keys(&self) -> Option<&crate::seal::Sealer> {
        self.sealer.as_deref()
    }

    /// The audit entries about one subject. Blocking.
    pub fn audit_for_blocking(&self, subject: &str) -> Result<Vec<Entry>, StoreError> {
        self.db.read(|c| audit::for_subject(c, subject))
    }

    /// Connects to (creating when missing, for SQLite) the database and brings its schema up to
    /// date.
    pub fn open(url: &DbUrl) -> Result<Self, StoreError> {
        let db = Database::open(url)?;
        migrate::migrate(&db)?;
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
            sealer: None,
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

    /// The same store sealing personal data with `sealer`'s keys, and first sealing what an
    /// earlier version left in the clear. Blocking.
    pub fn with_sealer(mut self, sealer: Arc<crate::seal::Sealer>) -> Result<Self, StoreError> {
        self.db.audit_key().set(sealer.clone());
        self.sealer = Some(sealer);
        let sealed = self.seal_legacy_blocking()?;
        if sealed > 0 {
            tracing::info!(
                rows = sealed,
                "personal data stored in the clear was sealed"
            );
        }
        Ok(self)
    }

    /// Whether audit entries are keyed (the key file has an audit key): they are signed as they
    /// are written, and `audit verify` checks each one's MAC.
    pub fn audit_is_keyed(&self) -> bool {
        self.db.audit_key().mac(crate::audit::GENESIS).is_some()
    }

    /// The keys of personal data at rest.
    pub(crate) fn sealer(&self) -> Result<&crate::seal::Sealer, StoreError> {
        self.sealer.as_deref().ok_or_else(|| {
            StoreError::Config("no key for personal data at rest was given to the store".into())
        })
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
    pub(super) async fn linked_hash(&self, pending_id: i64) -> Result<String, StoreError> {
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
    pub(super) async fn verification_of(
        &self,
        approval_code: String,
    ) -> Result<Option<String>, StoreError> {
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
                return Ok(Some(crate::audit::verification_code(&h)));
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

    /// The PostgreSQL server's URL (for a connection of its own: the fleet's change listener).
    pub fn postgres_url(&self) -> Option<String> {
        match &*self.db {
            crate::db::Database::Postgres { url, .. } => Some(url.clone()),
            crate::db::Database::Sqlite { .. } => None,
        }
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
        self.db.read(migrate::current_version)
    }
}

pub(super) fn meta(c: &mut dyn Conn, key: &str) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT value FROM meta WHERE key = $1", params![key])?
        .map(|r| r.text(0))
        .transpose()
}

pub(super) fn set_meta(c: &mut dyn Conn, key: &str, value: &str) -> Result<(), StoreError> {
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

pub(super) fn next_in_sequence(c: &mut dyn Conn, name: &str) -> Result<i64, StoreError> {
    c.query_one(
        "UPDATE sequences SET next_value = next_value + 1 WHERE name = $1
         RETURNING next_value - 1",
        params![name],
    )?
    .i64(0)
}
