//! The web console's rows: its users (argon2id PHC hashes), their sessions (the SHA-256 of the
//! cookie's token, with the session's form token) and who took a kiosk's help call. Every change
//! is in the audit chain; a password never is, nor a session token.

use chrono::NaiveDateTime;
use serde_json::json;

use super::audit;
use crate::audit::Actor;
use crate::console_rules::{
    ConsoleRole, LOCK_AFTER_FAILURES, LOCK_FOR_MS, SESSION_MS, SignIn, User,
};
use crate::db::{Conn, Row};
use crate::error::StoreError;
use crate::fleet_rules::{kiosk_subject, new_secret};
use crate::params;

const USER_COLUMNS: &str = "name, role, password_phc, must_change, failures, locked_until_ms";

fn user(r: &Row) -> Result<(User, String, i64, Option<i64>), StoreError> {
    let role = r.text(1)?;
    let role = ConsoleRole::parse(&role)
        .ok_or_else(|| StoreError::Corrupt(format!("console role {role:?}")))?;
    Ok((
        User {
            name: r.text(0)?,
            role,
            must_change: r.i64(3)? != 0,
        },
        r.text(2)?,
        r.i64(4)?,
        r.opt_i64(5)?,
    ))
}

/// Adds a user (or gives an existing one a new password and role). `must_change`: the password
/// was made for them and is to be changed at first sign-in.
pub fn put_user(
    c: &mut dyn Conn,
    name: &str,
    role: ConsoleRole,
    phc: &str,
    must_change: bool,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let exists = c
        .query_opt(
            "SELECT name FROM console_users WHERE name = $1",
            params![name],
        )?
        .is_some();
    if exists {
        c.execute(
            "UPDATE console_users SET role = $2, password_phc = $3, must_change = $4,
             failures = 0, locked_until_ms = NULL WHERE name = $1",
            params![name, role.as_str(), phc, i64::from(must_change)],
        )?;
    } else {
        c.execute(
            "INSERT INTO console_users (name, role, password_phc, must_change, failures, created_at)
             VALUES ($1, $2, $3, $4, 0, $5)",
            params![name, role.as_str(), phc, i64::from(must_change), now],
        )?;
    }
    // A new password ends every session of the user's.
    c.execute(
        "DELETE FROM console_sessions WHERE name = $1",
        params![name],
    )?;
    audit::append(
        c,
        now,
        &Actor::Admin,
        if exists {
            "console_user.reset"
        } else {
            "console_user.added"
        },
        &format!("console:{name}"),
        json!({ "role": role.as_str(), "must_change": must_change }),
    )?;
    Ok(())
}

/// The stored hash of a user who may try to sign in now, or why not. `now_ms`: the real clock.
pub fn sign_in_hash(
    c: &mut dyn Conn,
    name: &str,
    now_ms: i64,
) -> Result<Result<(User, String), SignIn>, StoreError> {
    let Some(r) = c.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM console_users WHERE name = $1"),
        params![name],
    )?
    else {
        return Ok(Err(SignIn::Refused));
    };
    let (user, phc, _, locked_until) = user(&r)?;
    if let Some(until) = locked_until.filter(|u| *u > now_ms) {
        return Ok(Err(SignIn::Locked {
            for_secs: ((until - now_ms) / 1000).max(1),
        }));
    }
    Ok(Ok((user, phc)))
}

/// A refused password: one failure more, and the account locked after too many.
pub fn sign_in_failed(
    c: &mut dyn Conn,
    name: &str,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<SignIn, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT failures FROM console_users WHERE name = $1",
        params![name],
    )?
    else {
        return Ok(SignIn::Refused);
    };
    let failures = r.i64(0)? + 1;
    let locked = failures >= LOCK_AFTER_FAILURES;
    c.execute(
        "UPDATE console_users SET failures = $2, locked_until_ms = $3 WHERE name = $1",
        params![
            name,
            if locked { 0 } else { failures },
            locked.then_some(now_ms + LOCK_FOR_MS)
        ],
    )?;
    audit::append(
        c,
        now,
        &Actor::Fleet(format!("console:{name}")),
        if locked {
            "console_user.locked"
        } else {
            "console_user.refused"
        },
        &format!("console:{name}"),
        json!({ "failures": failures }),
    )?;
    Ok(if locked {
        SignIn::Locked {
            for_secs: LOCK_FOR_MS / 1000,
        }
    } else {
        SignIn::Refused
    })
}

/// A session for a user whose password was right: (cookie token, form token).
pub fn open_session(
    c: &mut dyn Conn,
    name: &str,
    now: NaiveDateTime,
    now_ms: i64,
) -> Result<(String, String), StoreError> {
    let (token, sha) = new_secret("hcs_");
    let (csrf, _) = new_secret("");
    c.execute(
        "UPDATE console_users SET failures = 0, locked_until_ms = NULL WHERE name = $1",
        params![name],
    )?;
    c.execute(
        "DELETE FROM console_sessions WHERE expires_ms < $1",
        params![now_ms],
    )?;
    c.execute(
        "INSERT INTO console_sessions (token_sha256, name, csrf, created_ms, expires_ms)
         VALUES ($1, $2, $3, $4, $5)",
        params![sha, name, csrf, now_ms, now_ms + SESSION_MS],
    )?;
    audit::append(
        c,
        now,
        &Actor::Fleet(format!("console:{name}")),
        "console_user.signed_in",
        &format!("console:{name}"),
        json!({}),
    )?;
    Ok((token, csrf))
}

/// The user and form token of a live session, by the SHA-256 of its cookie's token.
pub fn session(
    c: &mut dyn Conn,
    sha: &str,
    now_ms: i64,
) -> Result<Option<(User, String)>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT u.name, u.role, u.password_phc, u.must_change, u.failures, u.locked_until_ms,
                s.csrf
         FROM console_sessions s JOIN console_users u ON u.name = s.name
         WHERE s.token_sha256 = $1 AND s.expires_ms > $2 AND u.disabled_at IS NULL",
        params![sha, now_ms],
    )?
    else {
        return Ok(None);
    };
    let (user, _, _, _) = user(&r)?;
    Ok(Some((user, r.text(6)?)))
}

/// Ends a session.
pub fn close_session(c: &mut dyn Conn, sha: &str) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM console_sessions WHERE token_sha256 = $1",
        params![sha],
    )?;
    Ok(())
}

/// A user changed their own password (the old one was checked by the caller).
pub fn change_password(
    c: &mut dyn Conn,
    name: &str,
    phc: &str,
    keep_session: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE console_users SET password_phc = $2, must_change = 0 WHERE name = $1",
        params![name, phc],
    )?;
    // Every other session of theirs ends.
    c.execute(
        "DELETE FROM console_sessions WHERE name = $1 AND token_sha256 <> $2",
        params![name, keep_session],
    )?;
    audit::append(
        c,
        now,
        &Actor::Fleet(format!("console:{name}")),
        "console_user.password_changed",
        &format!("console:{name}"),
        json!({}),
    )?;
    Ok(())
}

/// Every user: name, role, locked (now), must change the password.
pub fn users(c: &mut dyn Conn, now_ms: i64) -> Result<Vec<(User, bool)>, StoreError> {
    c.query(
        &format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY name"),
        params![],
    )?
    .iter()
    .map(|r| {
        let (u, _, _, locked) = user(r)?;
        Ok((u, locked.is_some_and(|l| l > now_ms)))
    })
    .collect()
}

/// A help-desk person takes a kiosk's help call. False when the kiosk has none.
pub fn take_help(
    c: &mut dyn Conn,
    kiosk_id: &str,
    by: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE fleet_kiosks SET help_taken_by = $2, help_taken_at = $3
         WHERE kiosk_id = $1 AND help_since IS NOT NULL",
        params![kiosk_id, by, now],
    )?;
    if n > 0 {
        audit::append(
            c,
            now,
            &Actor::Fleet(format!("console:{by}")),
            "fleet.help_taken",
            &kiosk_subject(kiosk_id),
            json!({}),
        )?;
    }
    Ok(n > 0)
}

/// Who took a kiosk's current help call, and when.
pub fn help_taken(
    c: &mut dyn Conn,
    kiosk_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT help_taken_by, help_taken_at FROM fleet_kiosks
         WHERE kiosk_id = $1 AND help_since IS NOT NULL AND help_taken_by IS NOT NULL",
        params![kiosk_id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((r.text(0)?, r.text(1)?)))
}
