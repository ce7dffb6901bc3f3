//! Field updates' rows: releases, rollouts, where each kiosk stands in a rollout and every change
//! of it (rules and files in [`crate::updates`]); what kiosks report and the offer a heartbeat
//! answer carries are in `update_offers.rs`, re-exported here.

use chrono::NaiveDateTime;
use hall_domain::api::{
    Release, Rollout, RolloutChange, RolloutKiosk, RolloutProgress, StartRollout,
};
use serde_json::json;

use super::audit;
use crate::audit::Actor;
use crate::db::{Conn, Row};
use crate::error::StoreError;
use crate::params;
use crate::updates::{RolloutRefusal, Sidecar, bucket};

/// The states that end a kiosk's part in a rollout as a failure.
pub(super) const FAILURES: &str = "('rolled_back', 'refused', 'failed')";

fn release_subject(version: &str) -> String {
    format!("release:{version}")
}

pub(super) fn rollout_subject(id: &str) -> String {
    format!("rollout:{id}")
}

/// Records a release whose bundle is stored as `bundle`. False when the version is taken.
pub fn add_release(
    c: &mut dyn Conn,
    meta: &Sidecar,
    bundle: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let size = i64::try_from(meta.size).unwrap_or(i64::MAX);
    let n = c.execute(
        "INSERT INTO releases (version, compatible, root_sha256, bundle, size, sha256, added_at, added_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (version) DO NOTHING",
        params![
            meta.version,
            meta.compatible,
            meta.root_sha256,
            bundle,
            size,
            meta.sha256,
            now,
            actor.label()
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    audit::append(
        c,
        now,
        actor,
        "release.added",
        &release_subject(&meta.version),
        json!({ "compatible": meta.compatible, "size": meta.size, "sha256": meta.sha256,
                "root_sha256": meta.root_sha256 }),
    )?;
    Ok(true)
}

const RELEASE_COLUMNS: &str =
    "version, compatible, root_sha256, size, sha256, added_at, added_by, bundle";

fn release_row(r: &Row) -> Result<(Release, String), StoreError> {
    Ok((
        Release {
            version: r.text(0)?,
            compatible: r.text(1)?,
            root_sha256: r.text(2)?,
            size: u64::try_from(r.i64(3)?).unwrap_or(0),
            sha256: r.text(4)?,
            added_at: r
                .opt_datetime(5)?
                .ok_or_else(|| StoreError::Corrupt("release without a time".into()))?,
            added_by: r.text(6)?,
        },
        r.text(7)?,
    ))
}

/// A release and its bundle's file name.
pub fn release(c: &mut dyn Conn, version: &str) -> Result<Option<(Release, String)>, StoreError> {
    c.query_opt(
        &format!("SELECT {RELEASE_COLUMNS} FROM releases WHERE version = $1"),
        params![version],
    )?
    .map(|r| release_row(&r))
    .transpose()
}

/// Every release, newest first.
pub fn releases(c: &mut dyn Conn) -> Result<Vec<Release>, StoreError> {
    c.query(
        &format!("SELECT {RELEASE_COLUMNS} FROM releases ORDER BY added_at DESC, version"),
        params![],
    )?
    .iter()
    .map(|r| release_row(r).map(|(r, _)| r))
    .collect()
}

/// A rollout as stored.
#[derive(Debug, Clone)]
pub(super) struct RolloutRow {
    pub(super) id: String,
    pub(super) release: String,
    kiosk_id: Option<String>,
    hall: Option<String>,
    percent: u8,
    stop_on_failure: bool,
    state: String,
    stop_reason: Option<String>,
    stopped_by_kiosk: Option<String>,
    started_at: String,
    started_by: String,
}

pub(super) const ROLLOUT_COLUMNS: &str = "r.id, r.release, r.kiosk_id, r.hall, r.percent, \
    r.stop_on_failure, r.state, r.stop_reason, r.stopped_by_kiosk, r.started_at, r.started_by";

pub(super) fn rollout_row(r: &Row) -> Result<RolloutRow, StoreError> {
    Ok(RolloutRow {
        id: r.text(0)?,
        release: r.text(1)?,
        kiosk_id: r.opt_text(2)?,
        hall: r.opt_text(3)?,
        percent: u8::try_from(r.i64(4)?).unwrap_or(100),
        stop_on_failure: r.bool(5)?,
        state: r.text(6)?,
        stop_reason: r.opt_text(7)?,
        stopped_by_kiosk: r.opt_text(8)?,
        started_at: r.text(9)?,
        started_by: r.text(10)?,
    })
}

impl RolloutRow {
    pub(super) fn targets(&self, kiosk_id: &str, hall: &str) -> bool {
        match (&self.kiosk_id, &self.hall) {
            (Some(k), _) => k == kiosk_id,
            (None, Some(h)) => h == hall && bucket(&self.id, kiosk_id) < self.percent,
            (None, None) => false,
        }
    }
}

/// Starts a rollout; its id.
pub fn start_rollout(
    c: &mut dyn Conn,
    req: &StartRollout,
    actor: &Actor,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<Result<String, RolloutRefusal>, StoreError> {
    let hall = req.hall.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let kiosk = req
        .kiosk_id
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let percent = match (kiosk, hall, req.percent) {
        (Some(_), None, None | Some(100)) => 100,
        (None, Some(_), None) => 100,
        (None, Some(_), Some(p)) if (1..=100).contains(&p) => p,
        (None, Some(_), Some(_)) => return Ok(Err(RolloutRefusal::Percent)),
        _ => return Ok(Err(RolloutRefusal::Target)),
    };
    if release(c, &req.release)?.is_none() {
        return Ok(Err(RolloutRefusal::NoRelease));
    }
    let found = match (kiosk, hall) {
        (Some(k), _) => c.query_opt(
            "SELECT 1 FROM fleet_kiosks WHERE kiosk_id = $1 AND revoked_at IS NULL",
            params![k],
        )?,
        (_, Some(h)) => c.query_opt(
            "SELECT 1 FROM fleet_kiosks WHERE hall = $1 AND revoked_at IS NULL LIMIT 1",
            params![h],
        )?,
        _ => None,
    };
    if found.is_none() {
        return Ok(Err(RolloutRefusal::NoKiosk));
    }
    let id = format!("ro-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    c.execute(
        "INSERT INTO rollouts (id, release, kiosk_id, hall, percent, stop_on_failure, state,
           started_at, started_ms, started_by)
         VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9)",
        params![
            id,
            req.release,
            kiosk,
            hall,
            percent,
            req.stop_on_failure,
            now,
            now_ms,
            actor.label()
        ],
    )?;
    audit::append(
        c,
        now,
        actor,
        "rollout.started",
        &rollout_subject(&id),
        json!({ "release": req.release, "kiosk_id": kiosk, "hall": hall, "percent": percent,
                "stop_on_failure": req.stop_on_failure }),
    )?;
    Ok(Ok(id))
}

fn rollout_by_id(c: &mut dyn Conn, id: &str) -> Result<Option<RolloutRow>, StoreError> {
    c.query_opt(
        &format!("SELECT {ROLLOUT_COLUMNS} FROM rollouts r WHERE r.id = $1"),
        params![id],
    )?
    .map(|r| rollout_row(&r))
    .transpose()
}

/// Widens, stops or resumes a rollout.
pub fn change_rollout(
    c: &mut dyn Conn,
    id: &str,
    change: &RolloutChange,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Result<(), RolloutRefusal>, StoreError> {
    let Some(r) = rollout_by_id(c, id)? else {
        return Ok(Err(RolloutRefusal::NoRollout));
    };
    let detail = match change {
        RolloutChange::Widen { percent } => {
            if r.hall.is_none() {
                return Ok(Err(RolloutRefusal::Target));
            }
            if !(r.percent..=100).contains(percent) {
                return Ok(Err(RolloutRefusal::Percent));
            }
            c.execute(
                "UPDATE rollouts SET percent = $2 WHERE id = $1",
                params![id, *percent],
            )?;
            json!({ "action": "widen", "from": r.percent, "to": percent })
        }
        RolloutChange::Stop => {
            let reason = format!("stopped by {}", actor.label());
            c.execute(
                "UPDATE rollouts SET state = 'stopped', stop_reason = $2, stopped_by_kiosk = NULL
                 WHERE id = $1 AND state = 'running'",
                params![id, reason],
            )?;
            json!({ "action": "stop" })
        }
        RolloutChange::Resume => {
            c.execute(
                "UPDATE rollouts SET state = 'running', stop_reason = NULL, stopped_by_kiosk = NULL
                 WHERE id = $1",
                params![id],
            )?;
            json!({ "action": "resume", "was": r.state })
        }
    };
    audit::append(
        c,
        now,
        actor,
        "rollout.changed",
        &rollout_subject(id),
        detail,
    )?;
    Ok(Ok(()))
}

/// A kiosk as a rollout sees it.
struct Candidate {
    kiosk_id: String,
    hall: String,
    os_version: Option<String>,
    compatible: Option<String>,
}

fn candidates(c: &mut dyn Conn, r: &RolloutRow) -> Result<Vec<Candidate>, StoreError> {
    let rows = c.query(
        "SELECT k.kiosk_id, k.hall, k.os_version, k.compatible FROM fleet_kiosks k
         WHERE (k.revoked_at IS NULL AND (k.kiosk_id = $1 OR k.hall = $2))
            OR k.kiosk_id IN (SELECT kiosk_id FROM rollout_kiosks WHERE rollout_id = $3)
         ORDER BY k.hall, k.kiosk_id",
        params![r.kiosk_id, r.hall, r.id],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let k = Candidate {
            kiosk_id: row.text(0)?,
            hall: row.text(1)?,
            os_version: row.opt_text(2)?,
            compatible: row.opt_text(3)?,
        };
        out.push(k);
    }
    Ok(out)
}

/// A kiosk offered a rollout: its id, state, percent, reason, since.
type Offered = (String, String, Option<i64>, Option<String>, String);

fn summarise(
    c: &mut dyn Conn,
    r: RolloutRow,
    compatible: &str,
    with_kiosks: bool,
) -> Result<Rollout, StoreError> {
    let offered: Vec<Offered> = c
        .query(
            "SELECT kiosk_id, state, percent, reason, since FROM rollout_kiosks WHERE rollout_id = $1",
            params![r.id],
        )?
        .iter()
        .map(|x| Ok((x.text(0)?, x.text(1)?, x.opt_i64(2)?, x.opt_text(3)?, x.text(4)?)))
        .collect::<Result<_, StoreError>>()?;
    let failed: Vec<String> = c
        .query(
            &format!(
                "SELECT DISTINCT kiosk_id FROM rollout_events
                 WHERE rollout_id = $1 AND state IN {FAILURES}"
            ),
            params![r.id],
        )?
        .iter()
        .map(|x| x.text(0))
        .collect::<Result<_, _>>()?;
    let mut kiosks = Vec::new();
    for k in candidates(c, &r)? {
        let row = offered.iter().find(|o| o.0 == k.kiosk_id);
        if row.is_none() && !r.targets(&k.kiosk_id, &k.hall) {
            continue;
        }
        let progress = if k.os_version.as_deref() == Some(r.release.as_str()) {
            RolloutProgress::Done
        } else if failed.contains(&k.kiosk_id) {
            RolloutProgress::Failed
        } else if k.compatible.as_deref() != Some(compatible) {
            RolloutProgress::NotCompatible
        } else if row.is_some() {
            RolloutProgress::InProgress
        } else {
            RolloutProgress::Waiting
        };
        kiosks.push(RolloutKiosk {
            kiosk_id: k.kiosk_id,
            hall: k.hall,
            progress,
            state: row.map(|o| o.1.clone()),
            percent: row.and_then(|o| o.2).and_then(|p| u8::try_from(p).ok()),
            reason: row.and_then(|o| o.3.clone()),
            since: row.map(|o| o.4.clone()),
            os_version: k.os_version,
        });
    }
    let count = |p: RolloutProgress| {
        u32::try_from(kiosks.iter().filter(|k| k.progress == p).count()).unwrap_or(u32::MAX)
    };
    Ok(Rollout {
        done: count(RolloutProgress::Done),
        in_progress: count(RolloutProgress::InProgress),
        failed: count(RolloutProgress::Failed),
        waiting: count(RolloutProgress::Waiting),
        not_compatible: count(RolloutProgress::NotCompatible),
        kiosks: if with_kiosks { kiosks } else { Vec::new() },
        id: r.id,
        release: r.release,
        kiosk_id: r.kiosk_id,
        hall: r.hall,
        percent: r.percent,
        stop_on_failure: r.stop_on_failure,
        state: r.state,
        stop_reason: r.stop_reason,
        stopped_by_kiosk: r.stopped_by_kiosk,
        started_at: r.started_at,
        started_by: r.started_by,
    })
}

/// Every rollout, newest first, with its counts.
pub fn rollouts(c: &mut dyn Conn) -> Result<Vec<Rollout>, StoreError> {
    let rows = c.query(
        &format!(
            "SELECT {ROLLOUT_COLUMNS}, rel.compatible FROM rollouts r
             JOIN releases rel ON rel.version = r.release ORDER BY r.started_ms DESC, r.id"
        ),
        params![],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let r = rollout_row(row)?;
        let compatible = row.text(11)?;
        out.push(summarise(c, r, &compatible, false)?);
    }
    Ok(out)
}

/// One rollout with each of its kiosks.
pub fn rollout(c: &mut dyn Conn, id: &str) -> Result<Option<Rollout>, StoreError> {
    let Some(row) = c.query_opt(
        &format!(
            "SELECT {ROLLOUT_COLUMNS}, rel.compatible FROM rollouts r
             JOIN releases rel ON rel.version = r.release WHERE r.id = $1"
        ),
        params![id],
    )?
    else {
        return Ok(None);
    };
    let r = rollout_row(&row)?;
    let compatible = row.text(11)?;
    summarise(c, r, &compatible, true).map(Some)
}

/// A change of a kiosk's state in a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutEvent {
    pub at: String,
    pub kiosk_id: String,
    pub state: String,
    pub reason: Option<String>,
}

/// A rollout's changes, newest first (at most `limit`).
pub fn rollout_events(
    c: &mut dyn Conn,
    id: &str,
    limit: i64,
) -> Result<Vec<RolloutEvent>, StoreError> {
    c.query(
        "SELECT at, kiosk_id, state, reason FROM rollout_events WHERE rollout_id = $1
         ORDER BY at_ms DESC LIMIT $2",
        params![id, limit],
    )?
    .iter()
    .map(|r| {
        Ok(RolloutEvent {
            at: r.text(0)?,
            kiosk_id: r.text(1)?,
            state: r.text(2)?,
            reason: r.opt_text(3)?,
        })
    })
    .collect()
}

pub use super::update_offers::{bundle_for, on_heartbeat};
