//! What the audit chain binds: the state of every case (its status and each node's, in order),
//! fee notice and payment order. An entry that creates or changes one records the state it left
//! (`"state"` in its detail); `audit verify` then checks that every row is in the state its
//! latest entry says, and names the rows that are not — a status changed in the database
//! directly, or a row that no entry accounts for.
//!
//! Rows written before the platform recorded states get one `*.baseline` entry each, once, when
//! it first starts with this version: the binding starts there.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::json;

use super::audit;
use super::cases::NewCase;
use super::handle::{Store, meta, set_meta};
use crate::audit::Actor;
use crate::db::Conn;
use crate::error::StoreError;
use crate::params;

/// What kind of row an entry's subject is, by its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Case,
    Notice,
    Order,
}

impl Kind {
    pub fn of_action(action: &str) -> Option<Kind> {
        match action.split('.').next()? {
            "case" | "node" => Some(Kind::Case),
            "notice" => Some(Kind::Notice),
            "order" => Some(Kind::Order),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Case => "case",
            Kind::Notice => "fee notice",
            Kind::Order => "payment order",
        }
    }
}

fn case_state_of(status: i64, nodes: &[i64]) -> String {
    let nodes: Vec<String> = nodes.iter().map(i64::to_string).collect();
    format!("{status}|{}", nodes.join(","))
}

/// A new case's state, as its `case.created` entry records it.
pub(super) fn new_case_state(k: &NewCase) -> String {
    let nodes: Vec<i64> = k.nodes.iter().map(|n| i64::from(n.status.code())).collect();
    case_state_of(i64::from(k.status.code()), &nodes)
}

/// A case's state as the database holds it now.
pub(super) fn case_state(c: &mut dyn Conn, code: &str) -> Result<String, StoreError> {
    let status = c
        .query_opt(
            "SELECT status FROM cases WHERE approval_code = $1",
            params![code],
        )?
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(-1);
    let nodes = c
        .query(
            "SELECT status FROM case_nodes WHERE approval_code = $1 ORDER BY seq",
            params![code],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(case_state_of(status, &nodes))
}

/// Every row's state now, by kind and subject.
fn states(c: &mut dyn Conn) -> Result<HashMap<(Kind, String), String>, StoreError> {
    let mut out = HashMap::new();
    let mut nodes: HashMap<String, Vec<i64>> = HashMap::new();
    for r in c.query(
        "SELECT approval_code, status FROM case_nodes ORDER BY approval_code, seq",
        params![],
    )? {
        nodes.entry(r.text(0)?).or_default().push(r.i64(1)?);
    }
    for r in c.query("SELECT approval_code, status FROM cases", params![])? {
        let code = r.text(0)?;
        let n = nodes.remove(&code).unwrap_or_default();
        out.insert((Kind::Case, code), case_state_of(r.i64(1)?, &n));
    }
    for r in c.query("SELECT payment_code, status FROM fee_notices", params![])? {
        out.insert((Kind::Notice, r.text(0)?), r.text(1)?);
    }
    for r in c.query("SELECT order_id, status FROM orders", params![])? {
        out.insert((Kind::Order, r.text(0)?), r.text(1)?);
    }
    Ok(out)
}

/// The rows whose state is not the one their latest entry recorded (`recorded`: from the walk
/// of the chain), each named with what differs. At most `limit` are named.
pub(super) fn unbound(
    c: &mut dyn Conn,
    recorded: &HashMap<(Kind, String), String>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut now: Vec<_> = states(c)?.into_iter().collect();
    now.sort();
    for ((kind, subject), state) in now {
        let problem = match recorded.get(&(kind, subject.clone())) {
            None => Some(format!(
                "{} {subject}: no audit entry accounts for it (state {state})",
                kind.name()
            )),
            Some(want) if *want != state => Some(format!(
                "{} {subject}: its state is {state}, its audit entries lead to {want}",
                kind.name()
            )),
            Some(_) => None,
        };
        if let Some(p) = problem {
            out.push(p);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// The chain walked ([`audit::verify`]), then every row checked against the state its latest
/// entry recorded.
pub(super) fn verify(c: &mut dyn Conn) -> Result<crate::audit::Verdict, StoreError> {
    let verdict = audit::verify(c)?;
    let crate::audit::Verdict::Intact { entries, .. } = &verdict else {
        return Ok(verdict);
    };
    let recorded = recorded(c)?;
    let rows = unbound(c, &recorded, 20)?;
    if rows.is_empty() {
        return Ok(verdict);
    }
    Ok(crate::audit::Verdict::Unbound {
        entries: *entries,
        rows,
    })
}

/// The state each entry recorded, the latest for each row.
fn recorded(c: &mut dyn Conn) -> Result<HashMap<(Kind, String), String>, StoreError> {
    let mut out = HashMap::new();
    for r in c.query(
        "SELECT action, subject, detail FROM audit_log ORDER BY seq",
        params![],
    )? {
        let (action, subject, detail) = (r.text(0)?, r.text(1)?, r.text(2)?);
        if let (Some(kind), Some(state)) = (Kind::of_action(&action), recorded_state(&detail)) {
            out.insert((kind, subject), state);
        }
    }
    Ok(out)
}

/// Whether an entry's detail records a state; which.
pub(super) fn recorded_state(detail: &str) -> Option<String> {
    if !detail.contains("\"state\"") {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()?
        .get("state")?
        .as_str()
        .map(str::to_string)
}

/// One `*.baseline` entry for every row no entry records a state of, once (then the `meta`
/// flag says it was done); how many.
fn baseline(c: &mut dyn Conn, now: NaiveDateTime) -> Result<usize, StoreError> {
    if meta(c, "states_bound")?.is_some() {
        return Ok(0);
    }
    let recorded = recorded(c)?;
    let mut n = 0;
    let mut rows: Vec<_> = states(c)?.into_iter().collect();
    rows.sort();
    for ((kind, subject), state) in rows {
        if recorded.contains_key(&(kind, subject.clone())) {
            continue;
        }
        let action = match kind {
            Kind::Case => "case.baseline",
            Kind::Notice => "notice.baseline",
            Kind::Order => "order.baseline",
        };
        audit::append(
            c,
            now,
            &Actor::System,
            action,
            &subject,
            json!({ "state": state }),
        )?;
        n += 1;
    }
    set_meta(c, "states_bound", "1")?;
    Ok(n)
}

impl Store {
    /// Walks the audit chain and checks every case, notice and order against it. Blocking.
    pub fn audit_verify_blocking(&self) -> Result<crate::audit::Verdict, StoreError> {
        self.db.read(verify)
    }

    /// Records the state of rows from before states were recorded (once). Blocking.
    pub(crate) fn baseline_blocking(&self, now: NaiveDateTime) -> Result<usize, StoreError> {
        self.db.write(|c| baseline(c, now))
    }
}
