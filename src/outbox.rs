//! The kiosk's outbox: a submission is written here (SQLite, WAL, `synchronous=FULL`) before the
//! screen may say it is done, and stays until the platform has acknowledged it.
//!
//! An entry is *told* once the person has been told their application was taken (with an
//! approval code, or offline with a local reference). Told entries are delivered with their
//! idempotency key until acknowledged, across restarts and outages. Entries that were never told
//! (the kiosk stopped mid-way) must not become cases: on start they are withdrawn from the
//! platform and deleted. Acknowledged entries are deleted, and `secure_delete` overwrites the
//! personal data they held.
//!
//! Each entry's body (the applicant's name, ID number, phone) is sealed (AES-256-GCM, bound to
//! its idempotency key) under the key file `<outbox>.keys.toml`, made with the outbox and
//! readable by the kiosk's user only (see [`hall_seal`]).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use hall_domain::api::ApplicationRequest;
use hall_seal::{Sealer, place};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("outbox entry is not valid: {0}")]
    Body(#[from] serde_json::Error),
    #[error("outbox lock poisoned")]
    Poisoned,
    #[error("outbox entry: {0}")]
    Seal(#[from] hall_seal::SealError),
}

/// One submission waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub idempotency_key: String,
    pub local_reference: String,
    pub request: ApplicationRequest,
    pub told: bool,
    /// Sent, but the person left without being told: to be withdrawn.
    pub abandoned: bool,
    pub attempts: u32,
}

pub struct Outbox {
    db: Mutex<Connection>,
    sealer: Sealer,
}

/// The key file of an outbox: beside it.
pub fn keys_path(outbox: &Path) -> std::path::PathBuf {
    let mut name = outbox.file_name().unwrap_or_default().to_os_string();
    name.push(".keys.toml");
    outbox.with_file_name(name)
}

impl Outbox {
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        let sealer = Sealer::load_or_create(&keys_path(path))?;
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "secure_delete", "ON")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS outbox (
                idempotency_key TEXT PRIMARY KEY,
                local_reference TEXT NOT NULL UNIQUE,
                body TEXT NOT NULL,
                told INTEGER NOT NULL DEFAULT 0,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                created_at TEXT NOT NULL DEFAULT (datetime('now'))
            );",
        )?;
        // Payment orders under way: an order still waiting for its payer when the kiosk stopped
        // is cancelled on the next start, so no one is charged at a kiosk that cannot show it.
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS orders (
                order_id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL DEFAULT (datetime('now'))
            );",
        )?;
        // Added after the first release: an outbox from then gains the column.
        let has_abandoned: bool = db
            .prepare("SELECT 1 FROM pragma_table_info('outbox') WHERE name = 'abandoned'")?
            .exists([])?;
        if !has_abandoned {
            db.execute_batch("ALTER TABLE outbox ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0")?;
        }
        // Added with the journey events: an outbox from before gains the table.
        crate::journeys::create_table(&db)?;
        Ok(Outbox {
            db: Mutex::new(db),
            sealer,
        })
    }

    pub(crate) fn db(&self) -> Result<std::sync::MutexGuard<'_, Connection>, OutboxError> {
        self.db.lock().map_err(|_| OutboxError::Poisoned)
    }

    /// Writes a submission durably before it is sent. Writing the same key again keeps the
    /// first entry (a retry of the same submission).
    pub fn put(
        &self,
        key: &str,
        local_reference: &str,
        request: &ApplicationRequest,
    ) -> Result<(), OutboxError> {
        let json = Zeroizing::new(serde_json::to_string(request)?);
        let body = self.sealer.seal(&place("outbox", "body", key), &json)?;
        self.db()?.execute(
            "INSERT INTO outbox (idempotency_key, local_reference, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (idempotency_key) DO NOTHING",
            params![key, local_reference, body],
        )?;
        Ok(())
    }

    /// The person was told the application was taken offline: it must now be delivered.
    pub fn mark_told(&self, key: &str) -> Result<(), OutboxError> {
        self.db()?.execute(
            "UPDATE outbox SET told = 1 WHERE idempotency_key = ?1",
            params![key],
        )?;
        Ok(())
    }

    /// The person left without being told the outcome: the sender withdraws the submission
    /// (an entry already told is never abandoned).
    pub fn abandon(&self, key: &str) -> Result<(), OutboxError> {
        self.db()?.execute(
            "UPDATE outbox SET abandoned = 1 WHERE idempotency_key = ?1 AND told = 0",
            params![key],
        )?;
        Ok(())
    }

    /// The platform acknowledged the submission: the entry and its personal data go, from the
    /// write-ahead log too.
    pub fn remove(&self, key: &str) -> Result<(), OutboxError> {
        let db = self.db()?;
        db.execute(
            "DELETE FROM outbox WHERE idempotency_key = ?1",
            params![key],
        )?;
        db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// A delivery attempt failed; the reason is kept for the help desk (no personal data).
    pub fn failed(&self, key: &str, reason: &str) -> Result<(), OutboxError> {
        self.db()?.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE idempotency_key = ?1",
            params![key, reason],
        )?;
        Ok(())
    }

    pub fn entries(&self) -> Result<Vec<Entry>, OutboxError> {
        let db = self.db()?;
        let mut stmt = db.prepare(
            "SELECT idempotency_key, local_reference, body, told, attempts, abandoned FROM outbox
             ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, local_reference, body, told, attempts, abandoned) = row?;
            // An entry from before sealing is read as it was written.
            let json = if Sealer::is_sealed(&body) {
                self.sealer.open(&place("outbox", "body", &key), &body)?
            } else {
                Zeroizing::new(body)
            };
            out.push(Entry {
                idempotency_key: key,
                local_reference,
                request: serde_json::from_str(&json)?,
                told,
                abandoned,
                attempts,
            });
        }
        Ok(out)
    }

    pub fn get(&self, key: &str) -> Result<Option<Entry>, OutboxError> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|e| e.idempotency_key == key))
    }

    /// A payment order is waiting for its payer (written before the QR code or the wait is
    /// shown).
    pub fn put_order(&self, order_id: &str) -> Result<(), OutboxError> {
        self.db()?.execute(
            "INSERT INTO orders (order_id) VALUES (?1) ON CONFLICT (order_id) DO NOTHING",
            params![order_id],
        )?;
        Ok(())
    }

    /// The order reached its end (paid, failed, cancelled, expired) and the screen says so.
    pub fn order_settled(&self, order_id: &str) -> Result<(), OutboxError> {
        self.db()?
            .execute("DELETE FROM orders WHERE order_id = ?1", params![order_id])?;
        Ok(())
    }

    /// Orders still under way.
    pub fn orders(&self) -> Result<Vec<String>, OutboxError> {
        let db = self.db()?;
        let mut stmt = db.prepare("SELECT order_id FROM orders ORDER BY created_at, rowid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn len(&self) -> Result<usize, OutboxError> {
        let n: i64 = self
            .db()?
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        Ok(n as usize)
    }

    pub fn is_empty(&self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub withdrawn: usize,
    pub waiting: usize,
}

/// One delivery round. Told entries are sent with their idempotency key; entries in `stale`
/// (left untold by an earlier run of the kiosk) are withdrawn from the platform and deleted.
pub async fn deliver(
    outbox: &Outbox,
    api: &dyn crate::client::PlatformApi,
    stale: &mut std::collections::HashSet<String>,
) -> Result<Round, OutboxError> {
    use crate::client::ApiError;
    let mut round = Round::default();
    for order_id in outbox.orders()? {
        // Only orders left by an earlier run: this run's are settled as the screen shows them.
        if !stale.contains(&order_id) {
            continue;
        }
        let settled = match api.order(&order_id).await {
            Ok(o) if o.status.is_final() => {
                tracing::info!(order = %order_id, status = ?o.status,
                    "payment order left by an earlier run had ended");
                true
            }
            Ok(_) => match api.cancel_order(&order_id).await {
                Ok(o) => {
                    tracing::warn!(order = %order_id, status = ?o.status,
                        "payment order left waiting by an earlier run cancelled");
                    o.status.is_final()
                }
                Err(e) => {
                    tracing::warn!(order = %order_id, error = %e, "cannot cancel a payment order yet");
                    false
                }
            },
            Err(ApiError::NotFound) => true,
            Err(e) => {
                tracing::warn!(order = %order_id, error = %e, "cannot ask about a payment order yet");
                false
            }
        };
        if settled {
            outbox.order_settled(&order_id)?;
            stale.remove(&order_id);
        } else {
            round.waiting += 1;
        }
    }
    for e in outbox.entries()? {
        let key = e.idempotency_key.clone();
        if !e.told && (e.abandoned || stale.contains(&key)) {
            match api.withdraw(&key).await {
                Ok(had_case) => {
                    tracing::info!(
                        key,
                        had_case,
                        "submission never shown to its applicant withdrawn"
                    );
                    outbox.remove(&key)?;
                    stale.remove(&key);
                    round.withdrawn += 1;
                }
                Err(ApiError::Refused(p)) => {
                    // A department already took it up: only staff can undo it now.
                    tracing::error!(key, problem = %p.title,
                        "a submission never shown to its applicant could not be withdrawn");
                    outbox.remove(&key)?;
                    stale.remove(&key);
                }
                Err(err) => {
                    outbox.failed(&key, &err.to_string())?;
                    round.waiting += 1;
                }
            }
            continue;
        }
        if !e.told {
            continue; // in flight in this run of the kiosk
        }
        match api.submit(&key, &e.request).await {
            Ok(created) => {
                tracing::info!(
                    local_reference = %e.local_reference,
                    approval_code = %created.approval_code,
                    "submission taken offline delivered"
                );
                outbox.remove(&key)?;
                round.delivered += 1;
            }
            Err(ApiError::Refused(p)) => {
                // The platform will never take it as it is: staff must call the applicant.
                tracing::error!(
                    local_reference = %e.local_reference,
                    problem = %p.title,
                    "submission taken offline was refused by the platform"
                );
                outbox.failed(&key, &format!("refused: {}", p.title))?;
                round.waiting += 1;
            }
            Err(err) => {
                outbox.failed(&key, &err.to_string())?;
                round.waiting += 1;
            }
        }
    }
    Ok(round)
}

/// Delivers the outbox in the background, with backoff while the platform is unreachable.
pub fn spawn_sender(
    outbox: std::sync::Arc<Outbox>,
    api: std::sync::Arc<dyn crate::client::PlatformApi>,
    rt: &tokio::runtime::Handle,
) {
    // Entries that are untold when the kiosk starts, and payment orders still listed, were
    // left by a run that stopped mid-way.
    let mut stale: std::collections::HashSet<String> = outbox
        .entries()
        .map(|es| {
            es.into_iter()
                .filter(|e| !e.told)
                .map(|e| e.idempotency_key)
                .collect()
        })
        .unwrap_or_default();
    stale.extend(outbox.orders().unwrap_or_default());
    rt.spawn(async move {
        let mut wait = std::time::Duration::from_secs(2);
        loop {
            match deliver(&outbox, api.as_ref(), &mut stale).await {
                Ok(r) if r.waiting == 0 => wait = std::time::Duration::from_secs(2),
                Ok(_) => wait = (wait * 2).min(std::time::Duration::from_secs(60)),
                Err(e) => {
                    tracing::error!(error = %e, "outbox delivery failed");
                    wait = (wait * 2).min(std::time::Duration::from_secs(60));
                }
            }
            tokio::time::sleep(wait).await;
        }
    });
}

/// A local reference for a submission taken offline: 12 digits (`9`, ten random digits and a
/// Damm check digit), so that it can be typed on the lookup keypad and told apart from approval
/// codes (16 digits, and their prefixes, which begin with the year) and payment codes (20).
pub fn local_reference() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    let lead = char::from(hall_domain::codes::LOCAL_REFERENCE_LEAD);
    let body = format!("{lead}{n:010}");
    let check = hall_domain::codes::damm_digit(&body).unwrap_or(0);
    format!("{body}{check}")
}

pub use hall_domain::codes::is_local_reference;

#[cfg(test)]
mod tests {
    use super::*;
    use hall_domain::api::{Applicant, Project};

    fn request() -> ApplicationRequest {
        ApplicationRequest {
            item_id: "qytzxmba".into(),
            applicant: Applicant {
                name: "张建国".into(),
                id_number: "420602195803120011".into(),
                phone: "13800138000".into(),
            },
            organization: None,
            project: Project {
                code: "2026-420600-47-01-000123".into(),
                name: "邻里中心".into(),
            },
            materials: Vec::new(),
            identified_by: Some("id_card".into()),
            local_reference: None,
            id_card: None,
        }
    }

    #[test]
    fn entries_survive_reopening_and_go_when_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        {
            let o = Outbox::open(&path).unwrap();
            o.put("k1", "000000000001", &request()).unwrap();
            o.put("k1", "000000000002", &request()).unwrap();
            o.put("k2", "000000000003", &request()).unwrap();
            o.mark_told("k2").unwrap();
            o.failed("k2", "unreachable").unwrap();
        }
        let o = Outbox::open(&path).unwrap();
        let e = o.entries().unwrap();
        assert_eq!(e.len(), 2, "the same key is one entry");
        assert_eq!(e[0].local_reference, "000000000001");
        assert!(!e[0].told);
        assert!(e[1].told);
        assert_eq!(e[1].attempts, 1);
        assert_eq!(e[1].request, request());
        o.remove("k2").unwrap();
        o.remove("k1").unwrap();
        assert!(o.is_empty().unwrap());
    }

    #[test]
    fn acknowledged_personal_data_is_overwritten_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        let o = Outbox::open(&path).unwrap();
        o.put("k1", "000000000001", &request()).unwrap();
        o.remove("k1").unwrap();
        drop(o);
        let mut bytes = std::fs::read(&path).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("outbox.sqlite-wal")) {
            bytes.extend(wal);
        }
        let needle = "420602195803120011".as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the ID number is gone from the database files"
        );
    }

    #[test]
    fn a_waiting_entry_is_sealed_on_disk_and_opens_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        let o = Outbox::open(&path).unwrap();
        o.put("k1", "000000000001", &request()).unwrap();
        o.mark_told("k1").unwrap();
        drop(o);
        let mut bytes = std::fs::read(&path).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("outbox.sqlite-wal")) {
            bytes.extend(wal);
        }
        for needle in ["420602195803120011", "13800138000", "张建国"] {
            let needle = needle.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "personal data in the clear in the outbox files"
            );
        }
        let keys = keys_path(&path);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Reopened with its key: the entry is whole. With another key: a clear error.
        assert_eq!(
            Outbox::open(&path).unwrap().entries().unwrap()[0].request,
            request()
        );
        std::fs::remove_file(&keys).unwrap();
        let err = Outbox::open(&path).unwrap().entries().unwrap_err();
        assert!(matches!(err, OutboxError::Seal(_)), "{err}");
    }

    #[test]
    fn local_references_are_checked_digits() {
        for _ in 0..100 {
            let r = local_reference();
            assert_eq!(r.len(), 12);
            assert!(is_local_reference(&r), "{r}");
            let mut typo = r.clone().into_bytes();
            typo[3] = b'0' + (typo[3] - b'0' + 1) % 10;
            assert!(!is_local_reference(&String::from_utf8(typo).unwrap()));
        }
    }
}
