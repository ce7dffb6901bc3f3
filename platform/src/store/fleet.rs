//! The fleet's rows: fleet and enrolment tokens, kiosks and their credentials, heartbeats, help
//! requests and commands (roles, limits and refusals in `fleet_rules`).

use chrono::NaiveDateTime;
use hall_domain::api::{
    CommandKind, CommandStatus, DeviceHealth, FleetCommand, Heartbeat, IssueCommand, KioskStatus,
    SystemReport, UpdateState,
};
use serde_json::json;

use super::audit;
use super::fleet_history::{self as history, Happened};
use crate::audit::Actor;
use crate::db::{Conn, Dialect, Row};
use crate::error::StoreError;
use crate::fleet_rules::{
    AckRefusal, CREDENTIAL_PREFIX, DEFAULT_TTL_SECS, ENROL_TOKEN_PREFIX, FLEET_TOKEN_PREFIX,
    IssueRefusal, MAX_TTL_SECS, Role, clip, kiosk_subject, new_secret,
};
use crate::params;

/// Records a help-desk or admin token (its hash). Returns the token, shown once.
pub fn create_fleet_token(
    c: &mut dyn Conn,
    role: Role,
    label: &str,
    now: NaiveDateTime,
) -> Result<String, StoreError> {
    let (token, hash) = new_secret(FLEET_TOKEN_PREFIX);
    c.execute(
        "INSERT INTO fleet_tokens (token_sha256, role, label, created_at) VALUES ($1, $2, $3, $4)",
        params![hash, role.as_str(), label, now],
    )?;
    audit::append(
        c,
        now,
        &Actor::Admin,
        "fleet_token.created",
        "fleet",
        json!({ "role": role.as_str(), "label": label, "token_sha256_prefix": hash.get(0..12) }),
    )?;
    Ok(token)
}

/// Revokes every fleet token with this label; how many.
pub fn revoke_fleet_tokens(
    c: &mut dyn Conn,
    label: &str,
    now: NaiveDateTime,
) -> Result<u64, StoreError> {
    let n = c.execute(
        "UPDATE fleet_tokens SET revoked_at = $2 WHERE label = $1 AND revoked_at IS NULL",
        params![label, now],
    )?;
    if n > 0 {
        audit::append(
            c,
            now,
            &Actor::Admin,
            "fleet_token.revoked",
            "fleet",
            json!({ "label": label, "count": n }),
        )?;
    }
    Ok(n)
}

/// The role and label of a fleet token, unless revoked.
pub fn fleet_role(c: &mut dyn Conn, sha: &str) -> Result<Option<(Role, String)>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT role, label FROM fleet_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL",
        params![sha],
    )?
    else {
        return Ok(None);
    };
    let role = r.text(0)?;
    let role =
        Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("fleet role {role:?}")))?;
    Ok(Some((role, r.text(1)?)))
}

/// A one-time enrolment token for a kiosk (its provisioning file carries it). The kiosk is listed
/// (not enrolled yet) from now on.
pub fn create_enrol_token(
    c: &mut dyn Conn,
    kiosk_id: &str,
    hall: &str,
    ttl_ms: i64,
    actor: &Actor,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<String, StoreError> {
    let (token, hash) = new_secret(ENROL_TOKEN_PREFIX);
    c.execute(
        "INSERT INTO fleet_enrol_tokens (token_sha256, kiosk_id, hall, created_at, expires_ms)
         VALUES ($1, $2, $3, $4, $5)",
        params![hash, kiosk_id, hall, now, now_ms.saturating_add(ttl_ms)],
    )?;
    c.execute(
        "INSERT INTO fleet_kiosks (kiosk_id, hall) VALUES ($1, $2)
         ON CONFLICT (kiosk_id) DO UPDATE SET hall = excluded.hall",
        params![kiosk_id, hall],
    )?;
    audit::append(
        c,
        now,
        actor,
        "kiosk.enrol_token_created",
        &kiosk_subject(kiosk_id),
        json!({ "hall": hall, "ttl_ms": ttl_ms, "token_sha256_prefix": hash.get(0..12) }),
    )?;
    Ok(token)
}

/// Trades an enrolment token (once, before it expires) for the kiosk's own credential:
/// `(kiosk_id, hall, credential)`. A new enrolment replaces the kiosk's earlier credential.
pub fn enrol(
    c: &mut dyn Conn,
    token_sha: &str,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<Option<(String, String, String)>, StoreError> {
    let Some(r) = c.query_opt(
        "UPDATE fleet_enrol_tokens SET used_at = $2
         WHERE token_sha256 = $1 AND used_at IS NULL AND expires_ms > $3
         RETURNING kiosk_id, hall",
        params![token_sha, now, now_ms],
    )?
    else {
        return Ok(None);
    };
    let (kiosk_id, hall) = (r.text(0)?, r.text(1)?);
    let (credential, hash) = new_secret(CREDENTIAL_PREFIX);
    c.execute(
        "INSERT INTO fleet_kiosks (kiosk_id, hall, credential_sha256, enrolled_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (kiosk_id) DO UPDATE SET hall = excluded.hall,
           credential_sha256 = excluded.credential_sha256, enrolled_at = excluded.enrolled_at,
           revoked_at = NULL",
        params![kiosk_id, hall, hash, now],
    )?;
    audit::append(
        c,
        now,
        &Actor::Kiosk(Some(kiosk_id.clone())),
        "kiosk.enrolled",
        &kiosk_subject(&kiosk_id),
        json!({ "hall": hall, "credential_sha256_prefix": hash.get(0..12) }),
    )?;
    Ok(Some((kiosk_id, hall, credential)))
}

/// The kiosk a credential belongs to, unless revoked.
pub fn kiosk_by_credential(c: &mut dyn Conn, sha: &str) -> Result<Option<String>, StoreError> {
    c.query_opt(
        "SELECT kiosk_id FROM fleet_kiosks WHERE credential_sha256 = $1 AND revoked_at IS NULL",
        params![sha],
    )?
    .map(|r| r.text(0))
    .transpose()
}

/// Revokes a kiosk's credential (it must enrol again with a new token); pending commands are
/// withdrawn. False when there is no such kiosk.
pub fn revoke_kiosk(
    c: &mut dyn Conn,
    kiosk_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE fleet_kiosks SET revoked_at = $2, credential_sha256 = NULL WHERE kiosk_id = $1",
        params![kiosk_id, now],
    )?;
    if n == 0 {
        return Ok(false);
    }
    c.execute(
        "UPDATE fleet_enrol_tokens SET used_at = $2 WHERE kiosk_id = $1 AND used_at IS NULL",
        params![kiosk_id, now],
    )?;
    let expired = c.execute(
        "UPDATE fleet_commands SET status = 'expired', result = 'kiosk revoked'
         WHERE kiosk_id = $1 AND status = 'pending'",
        params![kiosk_id],
    )?;
    audit::append(
        c,
        now,
        actor,
        "kiosk.revoked",
        &kiosk_subject(kiosk_id),
        json!({ "pending_commands_withdrawn": expired }),
    )?;
    Ok(true)
}

/// Records a heartbeat; whether a command waits for the kiosk.
pub fn heartbeat(
    c: &mut dyn Conn,
    kiosk_id: &str,
    hb: &Heartbeat,
    now: NaiveDateTime,
    now_ms: i64,
    offline_after_ms: i64,
) -> Result<bool, StoreError> {
    if let Some(before) = history::before(c, kiosk_id)? {
        history::after_heartbeat(c, kiosk_id, &before, hb, now, now_ms, offline_after_ms)?;
    }
    let devices = serde_json::to_string(&hb.devices)?;
    let uptime = i64::try_from(hb.uptime_secs).unwrap_or(i64::MAX);
    if let Some(system) = &hb.system {
        c.execute(
            "UPDATE fleet_kiosks SET os_version = $2, slot = $3, compatible = $4,
               root_sha256 = $5, update_state = $6
             WHERE kiosk_id = $1",
            params![
                kiosk_id,
                clip(&system.os_version),
                system.slot.as_deref().map(clip),
                system.compatible.as_deref().map(clip),
                system.root_sha256.as_deref().map(clip),
                serde_json::to_string(&clipped(&system.update))?
            ],
        )?;
    }
    c.execute(
        "UPDATE fleet_kiosks SET last_seen_ms = $2, last_seen_at = $3, version = $4,
           uptime_secs = $5, boot_id = $6, devices = $7, in_use = $8, last_error = $9
         WHERE kiosk_id = $1",
        params![
            kiosk_id,
            now_ms,
            now,
            clip(&hb.version),
            uptime,
            clip(&hb.boot_id),
            devices,
            hb.in_use,
            hb.last_error.as_deref().map(clip)
        ],
    )?;
    Ok(c.query_opt(
        "SELECT 1 FROM fleet_commands
             WHERE kiosk_id = $1 AND status = 'pending' AND expires_ms > $2 LIMIT 1",
        params![kiosk_id, now_ms],
    )?
    .is_some())
}

/// An update state with its words cut to the length the platform keeps.
pub(crate) fn clipped(u: &UpdateState) -> UpdateState {
    let mut u = u.clone();
    match &mut u {
        UpdateState::Idle => {}
        UpdateState::Downloading { release, percent }
        | UpdateState::Installing { release, percent } => {
            *release = clip(release);
            *percent = (*percent).min(100);
        }
        UpdateState::Installed { release }
        | UpdateState::Trying { release }
        | UpdateState::Booted { release } => *release = clip(release),
        UpdateState::RolledBack { release, reason }
        | UpdateState::Refused { release, reason }
        | UpdateState::Failed { release, reason } => {
            *release = clip(release);
            *reason = clip(reason);
        }
    }
    u
}

/// A kiosk raises (or withdraws) a call for help.
pub fn help(
    c: &mut dyn Conn,
    kiosk_id: &str,
    needs_help: bool,
    note: Option<&str>,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<(), StoreError> {
    let was = c
        .query_one(
            "SELECT help_since FROM fleet_kiosks WHERE kiosk_id = $1",
            params![kiosk_id],
        )?
        .opt_text(0)?;
    if needs_help {
        c.execute(
            "UPDATE fleet_kiosks SET help_since = coalesce(help_since, $2), help_note = $3
             WHERE kiosk_id = $1",
            params![kiosk_id, now, note.map(clip)],
        )?;
    } else {
        c.execute(
            "UPDATE fleet_kiosks SET help_since = NULL, help_note = NULL, help_taken_by = NULL, \
             help_taken_at = NULL WHERE kiosk_id = $1",
            params![kiosk_id],
        )?;
    }
    if was.is_some() != needs_help {
        let what = if needs_help {
            Happened::Help(note.map(str::to_string))
        } else {
            Happened::HelpDone
        };
        history::record(c, kiosk_id, &what, now, now_ms)?;
        audit::append(
            c,
            now,
            &Actor::Kiosk(Some(kiosk_id.to_string())),
            if needs_help {
                "kiosk.help_requested"
            } else {
                "kiosk.help_withdrawn"
            },
            &kiosk_subject(kiosk_id),
            json!({}),
        )?;
    }
    Ok(())
}

/// The help desk answered a kiosk's call. False when the kiosk is unknown.
pub fn clear_help(
    c: &mut dyn Conn,
    kiosk_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT help_since FROM fleet_kiosks WHERE kiosk_id = $1",
        params![kiosk_id],
    )?
    else {
        return Ok(false);
    };
    if r.opt_text(0)?.is_some() {
        c.execute(
            "UPDATE fleet_kiosks SET help_since = NULL, help_note = NULL, help_taken_by = NULL, \
             help_taken_at = NULL WHERE kiosk_id = $1",
            params![kiosk_id],
        )?;
        audit::append(
            c,
            now,
            actor,
            "kiosk.help_cleared",
            &kiosk_subject(kiosk_id),
            json!({}),
        )?;
        history::record(c, kiosk_id, &Happened::HelpDone, now, now_ms)?;
    }
    Ok(true)
}

const COMMAND_COLUMNS: &str = "id, kiosk_id, kind, force, issued_by, issued_at, expires_at, \
                               status, result";

fn command(r: &Row) -> Result<FleetCommand, StoreError> {
    let kind = r.text(2)?;
    let status = r.text(7)?;
    Ok(FleetCommand {
        id: r.text(0)?,
        kiosk_id: r.text(1)?,
        kind: CommandKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("command kind {kind:?}")))?,
        force: r.bool(3)?,
        issued_by: r.text(4)?,
        issued_at: r.datetime(5)?,
        expires_at: r.datetime(6)?,
        status: CommandStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("command status {status:?}")))?,
        result: r.opt_text(8)?,
    })
}

/// Issues a command to one kiosk or to every enrolled kiosk of a hall.
pub fn issue(
    c: &mut dyn Conn,
    req: &IssueCommand,
    actor: &Actor,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<Result<Vec<FleetCommand>, IssueRefusal>, StoreError> {
    let ttl = req.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
    if ttl == 0 || ttl > MAX_TTL_SECS {
        return Ok(Err(IssueRefusal::Ttl));
    }
    let targets: Vec<String> = match (&req.kiosk_id, &req.hall) {
        (Some(k), None) => c
            .query(
                "SELECT kiosk_id FROM fleet_kiosks
                 WHERE kiosk_id = $1 AND credential_sha256 IS NOT NULL AND revoked_at IS NULL",
                params![k.trim()],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?,
        (None, Some(h)) => c
            .query(
                "SELECT kiosk_id FROM fleet_kiosks
                 WHERE hall = $1 AND credential_sha256 IS NOT NULL AND revoked_at IS NULL
                 ORDER BY kiosk_id",
                params![h.trim()],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?,
        _ => return Ok(Err(IssueRefusal::Target)),
    };
    if targets.is_empty() {
        return Ok(Err(IssueRefusal::NoKiosk));
    }
    let ttl_ms = i64::from(ttl) * 1000;
    let expires_at = now
        .checked_add_signed(chrono::TimeDelta::milliseconds(ttl_ms))
        .unwrap_or(now);
    let issued_by = actor.label();
    let mut out = Vec::with_capacity(targets.len());
    for kiosk in targets {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let r = c.query_one(
            &format!(
                "INSERT INTO fleet_commands (id, kiosk_id, kind, force, issued_by, issued_at,
                   issued_ms, expires_at, expires_ms, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')
                 RETURNING {COMMAND_COLUMNS}"
            ),
            params![
                id,
                kiosk,
                req.kind.as_str(),
                req.force,
                issued_by,
                now,
                now_ms,
                expires_at,
                now_ms.saturating_add(ttl_ms)
            ],
        )?;
        audit::append(
            c,
            now,
            actor,
            "command.issued",
            &kiosk_subject(&kiosk),
            json!({ "command": id, "kind": req.kind.as_str(), "force": req.force, "ttl_secs": ttl }),
        )?;
        out.push(command(&r)?);
    }
    Ok(Ok(out))
}

/// Whether a command may wait for the kiosk (a cheap read before [`take_command`]).
pub fn has_pending(c: &mut dyn Conn, kiosk_id: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM fleet_commands WHERE kiosk_id = $1 AND status = 'pending' LIMIT 1",
        params![kiosk_id],
    )?
    .is_some())
}

/// Makes `poll_id` the kiosk's newest command poll: older polls still waiting (of a process
/// that is gone, whose connection no one reads) take nothing from now on.
pub fn start_poll(c: &mut dyn Conn, kiosk_id: &str, poll_id: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE fleet_kiosks SET poll_id = $2 WHERE kiosk_id = $1",
        params![kiosk_id, poll_id],
    )?;
    Ok(())
}

/// Whether `poll_id` is still the kiosk's newest poll.
pub fn poll_current(c: &mut dyn Conn, kiosk_id: &str, poll_id: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM fleet_kiosks WHERE kiosk_id = $1 AND poll_id = $2",
        params![kiosk_id, poll_id],
    )?
    .is_some())
}

/// Expires the kiosk's overdue commands, then hands out its oldest pending command to the
/// kiosk's newest poll, marked delivered in the same statement, so that it is delivered at most
/// once whichever instance the kiosk asks. A restart or reboot that is not forced is delivered
/// at once: the kiosk, which knows when the citizen in front of it finishes, waits for that.
pub fn take_command(
    c: &mut dyn Conn,
    kiosk_id: &str,
    poll_id: &str,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<Option<FleetCommand>, StoreError> {
    let expired = c.query(
        "UPDATE fleet_commands SET status = 'expired'
         WHERE kiosk_id = $1 AND status = 'pending' AND expires_ms <= $2
         RETURNING id, kind",
        params![kiosk_id, now_ms],
    )?;
    for r in &expired {
        audit::append(
            c,
            now,
            &Actor::System,
            "command.expired",
            &kiosk_subject(kiosk_id),
            json!({ "command": r.text(0)?, "kind": r.text(1)? }),
        )?;
    }
    let skip_locked = if c.dialect() == Dialect::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let Some(r) = c.query_opt(
        &format!(
            "UPDATE fleet_commands SET status = 'delivered', delivered_at = $3
             WHERE id = (SELECT id FROM fleet_commands
                         WHERE kiosk_id = $1 AND status = 'pending' AND expires_ms > $2
                           AND (SELECT poll_id FROM fleet_kiosks WHERE kiosk_id = $1) = $4
                         ORDER BY issued_ms, id LIMIT 1{skip_locked})
               AND status = 'pending'
             RETURNING {COMMAND_COLUMNS}"
        ),
        params![kiosk_id, now_ms, now, poll_id],
    )?
    else {
        return Ok(None);
    };
    let cmd = command(&r)?;
    audit::append(
        c,
        now,
        &Actor::Kiosk(Some(kiosk_id.to_string())),
        "command.delivered",
        &kiosk_subject(kiosk_id),
        json!({ "command": cmd.id, "kind": cmd.kind.as_str() }),
    )?;
    Ok(Some(cmd))
}

/// A kiosk reports what became of a delivered command. Repeating it answers the recorded result.
pub fn ack(
    c: &mut dyn Conn,
    kiosk_id: &str,
    command_id: &str,
    ok: bool,
    result: Option<&str>,
    now: NaiveDateTime,
) -> Result<Result<FleetCommand, AckRefusal>, StoreError> {
    let status = if ok { "done" } else { "failed" };
    let updated = c.query_opt(
        &format!(
            "UPDATE fleet_commands SET status = $3, acked_at = $4, result = $5
             WHERE id = $1 AND kiosk_id = $2 AND status = 'delivered'
             RETURNING {COMMAND_COLUMNS}"
        ),
        params![command_id, kiosk_id, status, now, result.map(clip)],
    )?;
    if let Some(r) = updated {
        let cmd = command(&r)?;
        audit::append(
            c,
            now,
            &Actor::Kiosk(Some(kiosk_id.to_string())),
            if ok { "command.done" } else { "command.failed" },
            &kiosk_subject(kiosk_id),
            json!({ "command": cmd.id, "kind": cmd.kind.as_str() }),
        )?;
        return Ok(Ok(cmd));
    }
    let Some(r) = c.query_opt(
        &format!("SELECT {COMMAND_COLUMNS} FROM fleet_commands WHERE id = $1 AND kiosk_id = $2"),
        params![command_id, kiosk_id],
    )?
    else {
        return Ok(Err(AckRefusal::NotFound));
    };
    let cmd = command(&r)?;
    match cmd.status {
        CommandStatus::Done | CommandStatus::Failed => Ok(Ok(cmd)),
        _ => Ok(Err(AckRefusal::NotDelivered)),
    }
}

const KIOSK_COLUMNS: &str = "kiosk_id, hall, credential_sha256 IS NOT NULL, revoked_at, \
    last_seen_ms, last_seen_at, version, uptime_secs, boot_id, devices, in_use, last_error, \
    help_since, help_note, os_version, slot, compatible, root_sha256, update_state";

/// The system a kiosk last reported (from column `at`: os_version, slot, compatible,
/// root_sha256, update_state as JSON).
fn system_report(r: &Row, at: usize) -> Result<Option<SystemReport>, StoreError> {
    let Some(os_version) = r.opt_text(at)? else {
        return Ok(None);
    };
    let update = match r.opt_text(at + 4)? {
        Some(json) => serde_json::from_str(&json)?,
        None => UpdateState::Idle,
    };
    Ok(Some(SystemReport {
        os_version,
        slot: r.opt_text(at + 1)?,
        compatible: r.opt_text(at + 2)?,
        root_sha256: r.opt_text(at + 3)?,
        update,
    }))
}

fn kiosk_status(r: &Row, now_ms: i64, offline_after_ms: i64) -> Result<KioskStatus, StoreError> {
    let last_ms = r.opt_i64(4)?;
    let ago_ms = last_ms.map(|m| now_ms.saturating_sub(m).max(0));
    let devices: Option<DeviceHealth> = r
        .opt_text(9)?
        .map(|d| serde_json::from_str(&d))
        .transpose()?;
    let revoked = r.opt_text(3)?.is_some();
    let help_since = r.opt_datetime(12)?;
    Ok(KioskStatus {
        kiosk_id: r.text(0)?,
        hall: r.text(1)?,
        enrolled: r.bool(2)?,
        revoked,
        online: !revoked && ago_ms.is_some_and(|a| a <= offline_after_ms),
        last_seen: r.opt_datetime(5)?,
        last_seen_secs_ago: ago_ms.map(|a| u64::try_from(a / 1000).unwrap_or(0)),
        version: r.opt_text(6)?,
        uptime_secs: r.opt_i64(7)?.map(|u| u64::try_from(u).unwrap_or(0)),
        boot_id: r.opt_text(8)?,
        devices,
        in_use: r.bool(10)?,
        last_error: r.opt_text(11)?,
        needs_help: help_since.is_some(),
        help_note: r.opt_text(13)?,
        help_since,
        system: system_report(r, 14)?,
        commands: Vec::new(),
    })
}

/// Every kiosk, by hall then id.
pub fn list(
    c: &mut dyn Conn,
    now_ms: i64,
    offline_after_ms: i64,
) -> Result<Vec<KioskStatus>, StoreError> {
    c.query(
        &format!("SELECT {KIOSK_COLUMNS} FROM fleet_kiosks ORDER BY hall, kiosk_id"),
        params![],
    )?
    .iter()
    .map(|r| kiosk_status(r, now_ms, offline_after_ms))
    .collect()
}

/// One kiosk with its latest commands.
pub fn show(
    c: &mut dyn Conn,
    kiosk_id: &str,
    now_ms: i64,
    offline_after_ms: i64,
) -> Result<Option<KioskStatus>, StoreError> {
    let Some(r) = c.query_opt(
        &format!("SELECT {KIOSK_COLUMNS} FROM fleet_kiosks WHERE kiosk_id = $1"),
        params![kiosk_id],
    )?
    else {
        return Ok(None);
    };
    let mut k = kiosk_status(&r, now_ms, offline_after_ms)?;
    k.commands = c
        .query(
            &format!(
                "SELECT {COMMAND_COLUMNS} FROM fleet_commands WHERE kiosk_id = $1
                 ORDER BY issued_ms DESC, id LIMIT 20"
            ),
            params![kiosk_id],
        )?
        .iter()
        .map(command)
        .collect::<Result<_, _>>()?;
    Ok(Some(k))
}
