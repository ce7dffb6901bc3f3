//! What kiosks report of their updates, recorded in the rollouts that offered them the release
//! (a failure stops a rollout that says so), the offer a heartbeat answer carries, and who may
//! download a bundle. Re-exported by [`super::updates`].

use chrono::NaiveDateTime;
use hall_domain::api::{SystemReport, UpdateOffer, UpdateState, release_bundle_path};
use serde_json::json;

use super::audit;
use super::updates::{FAILURES, ROLLOUT_COLUMNS, release, rollout_row, rollout_subject};
use crate::audit::Actor;
use crate::db::Conn;
use crate::error::StoreError;
use crate::fleet_rules::clip;
use crate::params;

fn record_event(
    c: &mut dyn Conn,
    rollout_id: &str,
    kiosk_id: &str,
    state: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO rollout_events (rollout_id, kiosk_id, state, reason, at, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![rollout_id, kiosk_id, state, reason, now, now_ms],
    )?;
    Ok(())
}

fn reason_of(u: &UpdateState) -> Option<&str> {
    match u {
        UpdateState::RolledBack { reason, .. }
        | UpdateState::Refused { reason, .. }
        | UpdateState::Failed { reason, .. } => Some(reason),
        _ => None,
    }
}

fn percent_of(u: &UpdateState) -> Option<u8> {
    match u {
        UpdateState::Downloading { percent, .. } | UpdateState::Installing { percent, .. } => {
            Some((*percent).min(100))
        }
        _ => None,
    }
}

/// Records what a kiosk reports of a release in every rollout that offered it to the kiosk; a
/// failure stops a running rollout that says so.
fn record_report(
    c: &mut dyn Conn,
    kiosk_id: &str,
    update: &UpdateState,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<(), StoreError> {
    let Some(release) = update.release() else {
        return Ok(());
    };
    let rows = c.query(
        "SELECT rk.rollout_id, rk.state, rk.reason, r.state, r.stop_on_failure, rk.offered_over
         FROM rollout_kiosks rk JOIN rollouts r ON r.id = rk.rollout_id
         WHERE rk.kiosk_id = $1 AND r.release = $2",
        params![kiosk_id, release],
    )?;
    let (state, reason, percent) = (
        update.name(),
        reason_of(update).map(clip),
        percent_of(update),
    );
    let reported = serde_json::to_string(update)?;
    for row in &rows {
        let (rollout_id, was, was_reason) = (row.text(0)?, row.text(1)?, row.opt_text(2)?);
        let (running, stop_on_failure) = (row.text(3)? == "running", row.bool(4)?);
        if was == "offered" && row.opt_text(5)?.as_deref() == Some(reported.as_str()) {
            // What it said before this rollout offered it the release (an earlier rollout's
            // ending): no news of this one yet.
            continue;
        }
        if was == state && was_reason == reason {
            c.execute(
                "UPDATE rollout_kiosks SET percent = $3 WHERE rollout_id = $1 AND kiosk_id = $2",
                params![rollout_id, kiosk_id, percent],
            )?;
            continue;
        }
        c.execute(
            "UPDATE rollout_kiosks SET state = $3, percent = $4, reason = $5, since = $6, since_ms = $7
             WHERE rollout_id = $1 AND kiosk_id = $2",
            params![rollout_id, kiosk_id, state, percent, reason, now, now_ms],
        )?;
        record_event(
            c,
            &rollout_id,
            kiosk_id,
            state,
            reason.as_deref(),
            now,
            now_ms,
        )?;
        tracing::info!(rollout = %rollout_id, kiosk = %kiosk_id, state, "update state changed");
        if update.is_failure() && running && stop_on_failure {
            let why = format!(
                "{kiosk_id}: {state}: {}",
                reason.as_deref().unwrap_or_default()
            );
            c.execute(
                "UPDATE rollouts SET state = 'stopped', stop_reason = $2, stopped_by_kiosk = $3
                 WHERE id = $1 AND state = 'running'",
                params![rollout_id, why, kiosk_id],
            )?;
            audit::append(
                c,
                now,
                &Actor::Kiosk(Some(kiosk_id.to_string())),
                "rollout.stopped",
                &rollout_subject(&rollout_id),
                json!({ "kiosk_id": kiosk_id, "state": state, "reason": reason }),
            )?;
            tracing::warn!(rollout = %rollout_id, kiosk = %kiosk_id, state, "rollout stopped by a failure");
        }
    }
    Ok(())
}

/// After a heartbeat: records the kiosk's update state in its rollouts and answers with the
/// release to offer it, if any: the newest running rollout that targets it, of a release its
/// system takes, that it does not run yet and did not fail in that rollout.
pub fn on_heartbeat(
    c: &mut dyn Conn,
    kiosk_id: &str,
    system: Option<&SystemReport>,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<Option<UpdateOffer>, StoreError> {
    let Some(system) = system else {
        return Ok(None);
    };
    record_report(c, kiosk_id, &system.update, now, now_ms)?;
    let Some(compatible) = system.compatible.as_deref() else {
        return Ok(None);
    };
    let Some(hall) = c
        .query_opt(
            "SELECT hall FROM fleet_kiosks WHERE kiosk_id = $1",
            params![kiosk_id],
        )?
        .map(|r| r.text(0))
        .transpose()?
    else {
        return Ok(None);
    };
    let running = c.query(
        &format!(
            "SELECT {ROLLOUT_COLUMNS}, rel.compatible, rel.root_sha256, rel.size, rel.sha256
             FROM rollouts r JOIN releases rel ON rel.version = r.release
             WHERE r.state = 'running' AND rel.compatible = $1 AND r.release <> $2
             ORDER BY r.started_ms DESC, r.id"
        ),
        params![compatible, system.os_version],
    )?;
    for row in &running {
        let r = rollout_row(row)?;
        if !r.targets(kiosk_id, &hall) {
            continue;
        }
        let failed = c
            .query_opt(
                &format!(
                    "SELECT 1 FROM rollout_events
                     WHERE rollout_id = $1 AND kiosk_id = $2 AND state IN {FAILURES} LIMIT 1"
                ),
                params![r.id, kiosk_id],
            )?
            .is_some();
        if failed {
            continue;
        }
        let over = (system.update.release() == Some(r.release.as_str()))
            .then(|| serde_json::to_string(&system.update))
            .transpose()?;
        let new = c.execute(
            "INSERT INTO rollout_kiosks (rollout_id, kiosk_id, state, since, since_ms, offered_over)
             VALUES ($1, $2, 'offered', $3, $4, $5) ON CONFLICT (rollout_id, kiosk_id) DO NOTHING",
            params![r.id, kiosk_id, now, now_ms, over],
        )?;
        if new > 0 {
            record_event(c, &r.id, kiosk_id, "offered", None, now, now_ms)?;
            tracing::info!(rollout = %r.id, kiosk = %kiosk_id, release = %r.release, "update offered");
        }
        return Ok(Some(UpdateOffer {
            bundle_path: release_bundle_path(&r.release),
            release: r.release,
            rollout: r.id,
            compatible: row.text(11)?,
            root_sha256: row.text(12)?,
            size: u64::try_from(row.i64(13)?).unwrap_or(0),
            sha256: row.text(14)?,
        }));
    }
    Ok(None)
}

/// The bundle a kiosk may download: a release offered to it (in any rollout), or one a running
/// rollout targets it with. `(file name, size, sha256)`; `None` for anyone else.
pub fn bundle_for(
    c: &mut dyn Conn,
    kiosk_id: &str,
    version: &str,
) -> Result<Option<(String, u64, String)>, StoreError> {
    let Some((rel, bundle)) = release(c, version)? else {
        return Ok(None);
    };
    let offered = c
        .query_opt(
            "SELECT 1 FROM rollout_kiosks rk JOIN rollouts r ON r.id = rk.rollout_id
             WHERE rk.kiosk_id = $1 AND r.release = $2 LIMIT 1",
            params![kiosk_id, version],
        )?
        .is_some();
    let allowed = offered
        || {
            let hall = c
                .query_opt(
                    "SELECT hall FROM fleet_kiosks WHERE kiosk_id = $1",
                    params![kiosk_id],
                )?
                .map(|r| r.text(0))
                .transpose()?
                .unwrap_or_default();
            let running = c.query(
            &format!(
                "SELECT {ROLLOUT_COLUMNS} FROM rollouts r WHERE r.state = 'running' AND r.release = $1"
            ),
            params![version],
        )?;
            let mut any = false;
            for row in &running {
                any |= rollout_row(row)?.targets(kiosk_id, &hall);
            }
            any
        };
    Ok(allowed.then_some((bundle, rel.size, rel.sha256)))
}
