//! What people did at the kiosks (journey events and 好差评), as the kiosks report them, and the
//! records the hall manager's figures are made of: journey events, payments, submissions, help
//! calls and the devices' history over a period.

use chrono::{Local, NaiveDateTime, TimeZone};
use hall_domain::api::{JourneyEvent, JourneyEventKind, JourneyKind, JourneyStep, RatingReason};

use crate::db::Conn;
use crate::error::StoreError;
use crate::params;

/// How long journey events are kept: 400 days (a year's comparison).
pub const KEEP_MS: i64 = 400 * 86_400_000;
/// An event dated further ahead of the platform's clock than this is dated on arrival instead
/// (a kiosk whose clock runs ahead would otherwise fill days to come).
pub const AHEAD_MS: i64 = 5 * 60_000;

/// A local wall-clock time as milliseconds since the epoch.
pub fn local_ms(t: NaiveDateTime) -> i64 {
    match Local.from_local_datetime(&t).earliest() {
        Some(l) => l.timestamp_millis(),
        None => t.and_utc().timestamp_millis(),
    }
}

fn event_name(e: JourneyEventKind) -> &'static str {
    match e {
        JourneyEventKind::Started => "started",
        JourneyEventKind::Step => "step",
        JourneyEventKind::Finished => "finished",
        JourneyEventKind::Abandoned => "abandoned",
        JourneyEventKind::Rated => "rated",
    }
}

fn event_kind(s: &str) -> Option<JourneyEventKind> {
    Some(match s {
        "started" => JourneyEventKind::Started,
        "step" => JourneyEventKind::Step,
        "finished" => JourneyEventKind::Finished,
        "abandoned" => JourneyEventKind::Abandoned,
        "rated" => JourneyEventKind::Rated,
        _ => return None,
    })
}

/// Keeps a kiosk's report: `(accepted, duplicates)`. Events already kept (same kiosk, same id)
/// are counted as duplicates and change nothing.
pub fn record(
    c: &mut dyn Conn,
    kiosk_id: &str,
    events: &[JourneyEvent],
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<(u32, u32), StoreError> {
    let hall = c
        .query_opt(
            "SELECT hall FROM fleet_kiosks WHERE kiosk_id = $1",
            params![kiosk_id],
        )?
        .map(|r| r.text(0))
        .transpose()?
        .unwrap_or_default();
    let (mut accepted, mut duplicates) = (0u32, 0u32);
    for e in events {
        let (mut at, mut at_ms) = (e.at, local_ms(e.at));
        if at_ms > now_ms + AHEAD_MS {
            (at, at_ms) = (now, now_ms);
        }
        let n = c.execute(
            "INSERT INTO journey_events (kiosk_id, id, hall, journey, kind, event, step, rating,
                 reason, timed_out, at, at_ms, received_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (kiosk_id, id) DO NOTHING",
            params![
                kiosk_id,
                e.id.to_ascii_lowercase(),
                hall,
                e.journey.to_ascii_lowercase(),
                e.kind.as_str(),
                event_name(e.event),
                e.step.map(|s| s.as_str()),
                e.rating.map(|r| i64::from(r.score())),
                e.reason.map(|r| r.as_str()),
                e.timed_out,
                at,
                at_ms,
                now_ms
            ],
        )?;
        if n == 1 {
            accepted += 1;
        } else {
            duplicates += 1;
        }
    }
    if accepted > 0 {
        c.execute(
            "DELETE FROM journey_events WHERE kiosk_id = $1 AND at_ms < $2",
            params![kiosk_id, now_ms - KEEP_MS],
        )?;
    }
    Ok((accepted, duplicates))
}

/// One kept event, as the figures read it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub kiosk_id: String,
    pub hall: String,
    pub journey: String,
    pub kind: JourneyKind,
    pub event: JourneyEventKind,
    pub step: Option<JourneyStep>,
    /// 5 (非常满意) to 1 (非常不满意).
    pub rating: Option<u8>,
    pub reason: Option<RatingReason>,
    pub timed_out: bool,
    pub at: NaiveDateTime,
}

/// Which kiosks a period's figures are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Hall(String),
    Kiosk(String),
}

impl Scope {
    /// A condition on `hall_col` / `kiosk_col`, with its parameter as `$n`.
    fn condition(&self, hall_col: &str, kiosk_col: &str, n: usize) -> (String, Option<String>) {
        match self {
            Scope::All => ("1 = 1".into(), None),
            Scope::Hall(h) => (format!("{hall_col} = ${n}"), Some(h.clone())),
            Scope::Kiosk(k) => (format!("{kiosk_col} = ${n}"), Some(k.clone())),
        }
    }
}

/// The journey events of journeys that started in `[from, to)` (local time), with all their
/// events (a journey started before midnight and rated after is one journey of the day it
/// started), ordered by journey and time.
pub fn events(
    c: &mut dyn Conn,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<EventRow>, StoreError> {
    let (cond, value) = scope.condition("e.hall", "e.kiosk_id", 3);
    let sql = format!(
        "SELECT e.kiosk_id, e.hall, e.journey, e.kind, e.event, e.step, e.rating, e.reason,
                e.timed_out, e.at
         FROM journey_events e
         JOIN (SELECT kiosk_id, journey FROM journey_events
               WHERE event = 'started' AND at >= $1 AND at < $2) s
           ON s.kiosk_id = e.kiosk_id AND s.journey = e.journey
         WHERE {cond}
         ORDER BY e.kiosk_id, e.journey, e.at"
    );
    let rows = match &value {
        Some(v) => c.query(&sql, params![from, to, v])?,
        None => c.query(&sql, params![from, to])?,
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (Some(kind), Some(event)) = (JourneyKind::parse(&r.text(3)?), event_kind(&r.text(4)?))
        else {
            continue;
        };
        out.push(EventRow {
            kiosk_id: r.text(0)?,
            hall: r.text(1)?,
            journey: r.text(2)?,
            kind,
            event,
            step: r.opt_text(5)?.and_then(|s| JourneyStep::parse(&s)),
            rating: r.opt_i64(6)?.and_then(|n| u8::try_from(n).ok()),
            reason: r.opt_text(7)?.and_then(|s| RatingReason::parse(&s)),
            timed_out: r.bool(8)?,
            at: r.datetime(9)?,
        });
    }
    Ok(out)
}

/// A kiosk known to the fleet, with its hall.
pub fn kiosks(c: &mut dyn Conn, scope: &Scope) -> Result<Vec<(String, String)>, StoreError> {
    let (cond, value) = scope.condition("hall", "kiosk_id", 1);
    let sql =
        format!("SELECT kiosk_id, hall FROM fleet_kiosks WHERE {cond} ORDER BY hall, kiosk_id");
    let rows = match &value {
        Some(v) => c.query(&sql, params![v])?,
        None => c.query(&sql, params![])?,
    };
    rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect()
}

/// Payments completed at each kiosk in `[from, to)`: `(kiosk, count, fen)`.
pub fn payments(
    c: &mut dyn Conn,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let (cond, value) = scope.condition("k.hall", "o.kiosk_id", 3);
    let sql = format!(
        "SELECT o.kiosk_id, count(*), coalesce(sum(o.amount_fen), 0)
         FROM orders o JOIN fleet_kiosks k ON k.kiosk_id = o.kiosk_id
         WHERE o.status = 'paid' AND o.paid_at >= $1 AND o.paid_at < $2 AND {cond}
         GROUP BY o.kiosk_id"
    );
    let rows = match &value {
        Some(v) => c.query(&sql, params![from, to, v])?,
        None => c.query(&sql, params![from, to])?,
    };
    rows.iter()
        .map(|r| Ok((r.text(0)?, r.i64(1)?, r.i64(2)?)))
        .collect()
}

/// `(kiosk, at_ms, kind, detail)`: one entry of a kiosk's history.
pub type HistoryRow = (String, i64, String, Option<String>);

/// The devices' history of each kiosk in scope from `from_ms` (and the last entry before it, so
/// the state at the start is known): `(kiosk, at_ms, kind, detail)`, oldest first.
pub fn history(
    c: &mut dyn Conn,
    scope: &Scope,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<HistoryRow>, StoreError> {
    let (cond, value) = scope.condition("k.hall", "h.kiosk_id", 3);
    let sql = format!(
        "SELECT h.kiosk_id, h.at_ms, h.kind, h.detail
         FROM fleet_history h JOIN fleet_kiosks k ON k.kiosk_id = h.kiosk_id
         WHERE h.at_ms < $2 AND {cond} AND (h.at_ms >= $1 OR h.at_ms = (
             SELECT max(p.at_ms) FROM fleet_history p
             WHERE p.kiosk_id = h.kiosk_id AND p.at_ms < $1 AND p.kind = h.kind))
         ORDER BY h.kiosk_id, h.at_ms"
    );
    let rows = match &value {
        Some(v) => c.query(&sql, params![from_ms, to_ms, v])?,
        None => c.query(&sql, params![from_ms, to_ms])?,
    };
    rows.iter()
        .map(|r| Ok((r.text(0)?, r.i64(1)?, r.text(2)?, r.opt_text(3)?)))
        .collect()
}

/// When each kiosk in scope was last heard from: `(kiosk, last_seen_ms)`.
pub fn last_seen(c: &mut dyn Conn, scope: &Scope) -> Result<Vec<(String, i64)>, StoreError> {
    let (cond, value) = scope.condition("hall", "kiosk_id", 1);
    let sql = format!(
        "SELECT kiosk_id, last_seen_ms FROM fleet_kiosks
         WHERE last_seen_ms IS NOT NULL AND {cond}"
    );
    let rows = match &value {
        Some(v) => c.query(&sql, params![v])?,
        None => c.query(&sql, params![])?,
    };
    rows.iter().map(|r| Ok((r.text(0)?, r.i64(1)?))).collect()
}
