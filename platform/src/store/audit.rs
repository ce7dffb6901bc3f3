//! The audit chain's rows: appending (at once, or pending until linked after the commit),
//! linking pending entries, walking the chain and reading a subject's entries.

use chrono::NaiveDateTime;
use serde_json::Value as Json;

use crate::audit::{Actor, Appended, Entry, GENESIS, Verdict, entry_hash};
use crate::db::{Conn, Dialect, Row};
use crate::error::StoreError;
use crate::params;

/// Appends an entry in the caller's transaction. The chain's head row is locked until the
/// transaction ends, so concurrent writers (and instances) append one after the other.
pub fn append(
    c: &mut dyn Conn,
    at: NaiveDateTime,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: Json,
) -> Result<Appended, StoreError> {
    let head = c.query_one(
        "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        params![],
    )?;
    let seq = head.i64(0)? + 1;
    let prev = head.text(1)?;
    let at = at.format("%Y-%m-%d %H:%M:%S%.3f").to_string();
    let actor = actor.label();
    let detail = detail.to_string();
    let hash = entry_hash(seq, &at, &actor, action, subject, &detail, &prev);
    let mac = c.audit_mac(&hash);
    if mac.is_none() {
        refuse_unkeyed_after_keyed(c, seq - 1)?;
    }
    if c.dialect() == Dialect::Postgres {
        // One round trip while the head is locked.
        c.execute(
            "WITH head AS (UPDATE audit_head SET seq = $1, hash = $8 WHERE id = 1)
             INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash, mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![seq, at, actor, action, subject, detail, prev, hash, mac],
        )?;
    } else {
        c.execute(
            "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash, mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![seq, at, actor, action, subject, detail, prev, hash, mac],
        )?;
        c.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            params![seq, hash],
        )?;
    }
    Ok(Appended { seq, hash })
}

/// Records an entry in the caller's transaction without taking the chain's head: it is linked
/// into the chain by [`link_pending`] once the transaction has committed (PostgreSQL
/// submissions, so that their commits do not wait for one another). Returns its pending id.
pub fn append_pending(
    c: &mut dyn Conn,
    at: NaiveDateTime,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: Json,
) -> Result<i64, StoreError> {
    let at = at.format("%Y-%m-%d %H:%M:%S%.3f").to_string();
    c.query_one(
        "INSERT INTO audit_pending (at, actor, action, subject, detail)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params![at, actor.label(), action, subject, detail.to_string()],
    )?
    .i64(0)
}

/// The pending entry's columns, for statements that insert it together with other rows.
pub fn pending_values(
    at: NaiveDateTime,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: &Json,
) -> [crate::db::Value; 5] {
    use crate::db::Value;
    [
        Value::Text(at.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
        Value::Text(actor.label()),
        Value::Text(action.to_string()),
        Value::Text(subject.to_string()),
        Value::Text(detail.to_string()),
    ]
}

/// Rows per INSERT when linking pending entries.
const LINK_CHUNK: usize = 64;

/// Links up to `limit` pending entries into the chain, oldest first, in the caller's
/// transaction (which holds the head until it commits): one commit for many entries. Returns
/// each linked entry's pending id and hash.
pub fn link_pending(c: &mut dyn Conn, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let head = c.query_one(
        "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        params![],
    )?;
    let (mut seq, mut prev) = (head.i64(0)?, head.text(1)?);
    let mut rows = c.query(
        "DELETE FROM audit_pending WHERE id IN
           (SELECT id FROM audit_pending ORDER BY id LIMIT $1)
         RETURNING id, at, actor, action, subject, detail",
        params![limit],
    )?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    if c.audit_mac(GENESIS).is_none() {
        refuse_unkeyed_after_keyed(c, seq)?;
    }
    let mut pending = Vec::with_capacity(rows.len());
    for r in rows.drain(..) {
        pending.push((
            r.i64(0)?,
            r.text(1)?,
            r.text(2)?,
            r.text(3)?,
            r.text(4)?,
            r.text(5)?,
        ));
    }
    pending.sort_by_key(|p| p.0);
    let mut linked = Vec::with_capacity(pending.len());
    for chunk in pending.chunks(LINK_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash, \
             pending_id, mac) VALUES ",
        );
        let mut values: Vec<crate::db::Value> = Vec::with_capacity(chunk.len() * 10);
        for (i, (id, at, actor, action, subject, detail)) in chunk.iter().enumerate() {
            seq += 1;
            let hash = entry_hash(seq, at, actor, action, subject, detail, &prev);
            if i > 0 {
                sql.push_str(", ");
            }
            let b = i * 10;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10
            ));
            let mac = c.audit_mac(&hash).map_or(Value::Null, Value::Text);
            use crate::db::Value;
            values.extend([
                Value::Int(seq),
                Value::Text(at.clone()),
                Value::Text(actor.clone()),
                Value::Text(action.clone()),
                Value::Text(subject.clone()),
                Value::Text(detail.clone()),
                Value::Text(prev.clone()),
                Value::Text(hash.clone()),
                Value::Int(*id),
                mac,
            ]);
            linked.push((*id, hash.clone()));
            prev = hash;
        }
        let refs: Vec<&dyn crate::db::ToValue> = values
            .iter()
            .map(|v| v as &dyn crate::db::ToValue)
            .collect();
        c.execute(&sql, &refs)?;
    }
    c.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        params![seq, prev],
    )?;
    Ok(linked)
}

/// The hash of a linked entry by its pending id.
pub fn hash_of_pending(c: &mut dyn Conn, pending_id: i64) -> Result<Option<String>, StoreError> {
    c.query_opt(
        "SELECT hash FROM audit_log WHERE pending_id = $1",
        params![pending_id],
    )?
    .map(|r| r.text(0))
    .transpose()
}

/// How many entries wait to be linked into the chain.
pub fn pending_count(c: &mut dyn Conn) -> Result<i64, StoreError> {
    c.query_one("SELECT count(*) FROM audit_pending", params![])?
        .i64(0)
}

fn entry(r: &Row) -> Result<Entry, StoreError> {
    Ok(Entry {
        seq: r.i64(0)?,
        at: r.text(1)?,
        actor: r.text(2)?,
        action: r.text(3)?,
        subject: r.text(4)?,
        detail: r.text(5)?,
        prev_hash: r.text(6)?,
        hash: r.text(7)?,
    })
}

const PAGE: i64 = 2000;

/// Walks the whole chain, a page at a time.
pub fn verify(c: &mut dyn Conn) -> Result<Verdict, StoreError> {
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    // With the audit key: every entry from the first keyed one on carries the MAC of its hash.
    let keyed = c.audit_mac(GENESIS).is_some();
    let mut first_keyed: Option<i64> = None;
    loop {
        let rows = c.query(
            "SELECT seq, at, actor, action, subject, detail, prev_hash, hash, mac FROM audit_log
             WHERE seq >= $1 ORDER BY seq LIMIT $2",
            params![expected_seq, PAGE],
        )?;
        let n = rows.len();
        for r in &rows {
            let e = entry(r)?;
            if e.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    problem: format!(
                        "entry {expected_seq} is missing (the next entry is {})",
                        e.seq
                    ),
                });
            }
            if e.prev_hash != prev {
                return Ok(Verdict::Broken {
                    seq: e.seq,
                    problem: "it does not link to the entry before it".into(),
                });
            }
            let h = entry_hash(
                e.seq,
                &e.at,
                &e.actor,
                &e.action,
                &e.subject,
                &e.detail,
                &e.prev_hash,
            );
            if h != e.hash {
                return Ok(Verdict::Broken {
                    seq: e.seq,
                    problem: "its content does not match its hash (it was edited)".into(),
                });
            }
            if keyed && let Some(problem) = mac_problem(c, &e, r.opt_text(8)?, &mut first_keyed) {
                return Ok(Verdict::Broken {
                    seq: e.seq,
                    problem,
                });
            }
            prev = e.hash;
            expected_seq += 1;
        }
        if i64::try_from(n).unwrap_or(i64::MAX) < PAGE {
            break;
        }
    }
    let last = expected_seq - 1;
    let head = c.query_one("SELECT seq, hash FROM audit_head WHERE id = 1", params![])?;
    let (head_seq, head_hash) = (head.i64(0)?, head.text(1)?);
    if head_seq != last {
        return Ok(Verdict::Broken {
            seq: last + 1,
            problem: format!(
                "the chain ends at entry {last} but its head names entry {head_seq} \
                 (entries at the end were deleted)"
            ),
        });
    }
    if head_hash != prev {
        return Ok(Verdict::Broken {
            seq: last,
            problem: "the last entry is not the head of the chain".into(),
        });
    }
    Ok(Verdict::Intact {
        entries: last,
        head: prev,
    })
}

/// Without the audit key, no entry goes after a keyed one: it would break the chain's keying.
fn refuse_unkeyed_after_keyed(c: &mut dyn Conn, last: i64) -> Result<(), StoreError> {
    let keyed = c
        .query_opt("SELECT mac FROM audit_log WHERE seq = $1", params![last])?
        .map(|r| r.opt_text(0))
        .transpose()?
        .flatten()
        .is_some();
    if keyed {
        return Err(StoreError::AuditUnkeyed);
    }
    Ok(())
}

/// What is wrong with an entry's MAC, if anything: it must be the MAC of its hash under the
/// audit key, and once one entry has a MAC, every later one must have one.
fn mac_problem(
    c: &dyn Conn,
    e: &Entry,
    mac: Option<String>,
    first_keyed: &mut Option<i64>,
) -> Option<String> {
    match (mac, *first_keyed) {
        (None, None) => None,
        (None, Some(from)) => Some(format!(
            "it has no MAC although every entry from {from} on has one (it was written \
             without the audit key)"
        )),
        (Some(mac), _) => {
            first_keyed.get_or_insert(e.seq);
            let want = c.audit_mac(&e.hash)?;
            let same = mac.len() == want.len()
                && mac
                    .bytes()
                    .zip(want.bytes())
                    .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                    == 0;
            (!same).then(|| {
                "its MAC does not match (it was written or rewritten without the audit key)".into()
            })
        }
    }
}

/// The entries about one subject (a case's approval code, a payment code, an order id), oldest
/// first.
pub fn for_subject(c: &mut dyn Conn, subject: &str) -> Result<Vec<Entry>, StoreError> {
    c.query(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log
         WHERE subject = $1 ORDER BY seq",
        params![subject],
    )?
    .iter()
    .map(entry)
    .collect()
}
