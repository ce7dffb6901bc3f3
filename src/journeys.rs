//! Journey events in the outbox: what people did at the kiosk (started, each step, finished,
//! abandoned, rated — nothing personal, so nothing sealed), written with the same durability as
//! submissions (the outbox's WAL, `synchronous=FULL`) and delivered in batches of at most
//! [`JOURNEY_EVENTS_MAX`] to `POST /api/v1/fleet/journeys` with the kiosk's credential. An event
//! goes once the platform acknowledged it (200); it stays through errors, outages and restarts,
//! and is sent again with backoff (the platform counts a known `id` once). A report refused as
//! malformed (422, which the kiosk's own check should prevent) is dropped with an error in the
//! log rather than blocking the ones after it.

use std::time::Duration;

use hall_client::{FleetClient, FleetError};
use hall_domain::api::{JOURNEY_EVENTS_MAX, JourneyEvent, JourneyReport, check_event};
use rusqlite::{Connection, params};

use crate::outbox::{Outbox, OutboxError};
use crate::session::JourneyNote;

/// The table, created when the outbox opens (an outbox of an earlier version gains it).
pub(crate) fn create_table(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS journey_events (
            id TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL DEFAULT (datetime('now'))
        );",
    )
}

/// The event of a session's note: its own random id, and the local time it happened.
pub fn event(note: JourneyNote, at: chrono::NaiveDateTime) -> JourneyEvent {
    JourneyEvent {
        id: uuid::Uuid::new_v4().to_string(),
        journey: note.journey,
        kind: note.kind,
        event: note.event,
        step: note.step,
        rating: note.rating,
        reason: note.reason,
        timed_out: note.timed_out,
        at,
    }
}

impl Outbox {
    /// Keeps a journey event until the platform has it. The same id again is one event.
    pub fn put_journey_event(&self, e: &JourneyEvent) -> Result<(), OutboxError> {
        let body = serde_json::to_string(e)?;
        self.db()?.execute(
            "INSERT INTO journey_events (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            params![e.id, body],
        )?;
        Ok(())
    }

    /// The oldest `limit` events waiting. A row that cannot be read (a damaged file) is deleted
    /// with an error in the log: it would otherwise block the rest.
    pub fn journey_events(&self, limit: usize) -> Result<Vec<JourneyEvent>, OutboxError> {
        let rows: Vec<(String, String)> = {
            let db = self.db()?;
            let mut stmt =
                db.prepare("SELECT id, body FROM journey_events ORDER BY rowid LIMIT ?1")?;
            stmt.query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        let mut bad = Vec::new();
        for (id, body) in rows {
            match serde_json::from_str::<JourneyEvent>(&body) {
                Ok(e) => out.push(e),
                Err(err) => {
                    tracing::error!(id, error = %err, "unreadable journey event dropped");
                    bad.push(id);
                }
            }
        }
        if !bad.is_empty() {
            self.remove_journey_events(&bad)?;
        }
        Ok(out)
    }

    /// The platform has these events (or refused them for good).
    pub fn remove_journey_events(&self, ids: &[String]) -> Result<(), OutboxError> {
        let mut db = self.db()?;
        let tx = db.transaction()?;
        for id in ids {
            tx.execute("DELETE FROM journey_events WHERE id = ?1", params![id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A delivery attempt failed for these events.
    fn journey_attempt_failed(&self, ids: &[String]) -> Result<(), OutboxError> {
        let mut db = self.db()?;
        let tx = db.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE journey_events SET attempts = attempts + 1 WHERE id = ?1",
                params![id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many journey events wait for delivery.
    pub fn journey_events_len(&self) -> Result<usize, OutboxError> {
        let n: i64 = self
            .db()?
            .query_row("SELECT count(*) FROM journey_events", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

/// Why a delivery round stopped with events left.
#[derive(Debug, thiserror::Error)]
pub enum JourneyDeliveryError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("journey events not delivered: {0}")]
    Fleet(#[from] FleetError),
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JourneyRound {
    /// Acknowledged by the platform, and deleted.
    pub delivered: usize,
    /// Refused as malformed (by the kiosk's check or a 422), and deleted.
    pub dropped: usize,
}

/// Sends every waiting event, a batch at a time, until none is left or a batch fails.
pub async fn deliver_journeys(
    outbox: &Outbox,
    client: &FleetClient,
) -> Result<JourneyRound, JourneyDeliveryError> {
    let mut round = JourneyRound::default();
    loop {
        let batch = outbox.journey_events(JOURNEY_EVENTS_MAX)?;
        if batch.is_empty() {
            return Ok(round);
        }
        let (events, bad): (Vec<_>, Vec<_>) =
            batch.into_iter().partition(|e| check_event(e).is_ok());
        if !bad.is_empty() {
            for e in &bad {
                let why = check_event(e).err().unwrap_or_default();
                tracing::error!(id = %e.id, %why, "malformed journey event dropped");
            }
            let ids: Vec<String> = bad.into_iter().map(|e| e.id).collect();
            outbox.remove_journey_events(&ids)?;
            round.dropped += ids.len();
        }
        if events.is_empty() {
            continue;
        }
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        match client.journeys(&JourneyReport { events }).await {
            Ok(answer) => {
                tracing::debug!(
                    accepted = answer.accepted,
                    duplicates = answer.duplicates,
                    "journey events delivered"
                );
                outbox.remove_journey_events(&ids)?;
                round.delivered += ids.len();
            }
            Err(FleetError::Refused { status: 422, title }) => {
                tracing::error!(events = ids.len(), problem = %title,
                    "journey events refused as malformed; dropped");
                outbox.remove_journey_events(&ids)?;
                round.dropped += ids.len();
            }
            Err(e) => {
                outbox.journey_attempt_failed(&ids)?;
                return Err(e.into());
            }
        }
    }
}

/// How long the sender waits between rounds when all went, and at most after failures.
const JOURNEY_EVERY: Duration = Duration::from_secs(5);
const JOURNEY_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Delivers journey events in the background for as long as the kiosk runs: a round every few
/// seconds, backing off (doubling, up to five minutes) while the platform cannot take them.
pub fn spawn_journey_sender(
    outbox: std::sync::Arc<Outbox>,
    client: FleetClient,
    rt: &tokio::runtime::Handle,
) {
    rt.spawn(async move {
        let mut wait = JOURNEY_EVERY;
        let mut failures = 0u32;
        loop {
            match deliver_journeys(&outbox, &client).await {
                Ok(_) => {
                    failures = 0;
                    wait = JOURNEY_EVERY;
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(20) {
                        tracing::warn!(error = %e, failures, "journey events wait for delivery");
                    }
                    wait = (wait * 2).min(JOURNEY_BACKOFF_MAX);
                }
            }
            tokio::time::sleep(wait).await;
        }
    });
}

#[cfg(test)]
mod tests;
