//! Department staff: their tokens, and their actions on their nodes of a case.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::audit;
use super::cases::{CaseRecord, load_case};
use super::handle::Store;
use crate::audit::Actor;
use crate::db::Conn;
use crate::error::StoreError;
use crate::params;
use crate::staff::{self, NodeAction, Refusal};

/// A department's action on its node, as the store carries it out.
#[derive(Debug, Clone)]
pub struct NodeActionRequest {
    pub approval_code: String,
    /// The department's name (Chinese) or English name.
    pub department: String,
    pub action: NodeAction,
    pub opinion: Option<String>,
    pub actor: Actor,
    pub today: NaiveDate,
    pub now: NaiveDateTime,
}

pub(super) fn act_on_node(
    s: &Store,
    c: &mut dyn Conn,
    req: &NodeActionRequest,
) -> Result<Result<CaseRecord, Refusal>, StoreError> {
    let Some(head) = c.query_opt(
        "SELECT status FROM cases WHERE approval_code = $1 FOR UPDATE",
        params![req.approval_code],
    )?
    else {
        return Ok(Err(Refusal::CaseNotFound));
    };
    let case_from = head.blzt(0)?;
    let rows = c.query(
        "SELECT seq, department, department_en, status, due_date, corrections_asked_at, opinion
         FROM case_nodes WHERE approval_code = $1 ORDER BY seq",
        params![req.approval_code],
    )?;
    let wanted = req.department.trim();
    let mut statuses = Vec::with_capacity(rows.len());
    let mut target = None;
    for (i, r) in rows.iter().enumerate() {
        statuses.push(r.blzt(3)?);
        let (name, name_en) = (r.text(1)?, r.text(2)?);
        if target.is_none() && (name == wanted || name_en.eq_ignore_ascii_case(wanted)) {
            target = Some(i);
        }
    }
    let Some(i) = target else {
        return Ok(Err(Refusal::NotReviewing));
    };
    let r = &rows[i];
    let (seq, department) = (r.i64(0)?, r.text(1)?);
    let from = statuses[i];
    if !req.action.allowed_from(from) {
        return Ok(Err(Refusal::Illegal {
            from,
            action: req.action,
        }));
    }
    let opinion = req
        .opinion
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string);
    if req.action.needs_opinion() && opinion.is_none() {
        return Ok(Err(Refusal::OpinionRequired));
    }
    let to = req.action.target();
    let mut due = r.opt_date(4)?;
    let mut asked_at = r.opt_date(5)?;
    match req.action {
        NodeAction::AskCorrections => asked_at = Some(req.today),
        NodeAction::AnswerCorrections => {
            // The time limit waited while the applicant had the case: it moves on by as many
            // working days.
            if let (Some(d), Some(asked)) = (due, asked_at) {
                let waited = s.calendar.working_days_between(asked, req.today);
                due = Some(s.calendar.add_working_days(d, waited));
            }
            asked_at = None;
        }
        _ => {}
    }
    let finished = to.is_final().then_some(req.today);
    let new_opinion = opinion.clone().or(r.opt_text(6)?);
    c.execute(
        "UPDATE case_nodes SET status = $3, finished_at = $4, opinion = $5, due_date = $6,
           corrections_asked_at = $7
         WHERE approval_code = $1 AND seq = $2",
        params![
            req.approval_code,
            seq,
            to,
            finished,
            new_opinion,
            due,
            asked_at
        ],
    )?;
    statuses[i] = to;
    let case_to = staff::case_status(&statuses);
    c.execute(
        "UPDATE cases SET status = $2, updated_at = $3 WHERE approval_code = $1",
        params![req.approval_code, case_to, req.now],
    )?;
    let opinion_sha = opinion.as_deref().map(|o| {
        use sha2::Digest;
        sha2::Sha256::digest(o.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    let state = super::bound::case_state(c, &req.approval_code)?;
    audit::append(
        c,
        req.now,
        &req.actor,
        &format!("node.{}", req.action.as_str()),
        &req.approval_code,
        json!({
            "department": department,
            "from": from.code(),
            "to": to.code(),
            "case_from": case_from.code(),
            "case_to": case_to.code(),
            "opinion_sha256": opinion_sha,
            "state": state,
        }),
    )?;
    let case = load_case(s, c, &req.approval_code)?
        .ok_or_else(|| StoreError::Corrupt("a case vanished while it was changed".into()))?;
    Ok(Ok(case))
}

impl Store {
    /// A case as a department's staff read it: only a case in which the department has a node
    /// (by its Chinese or English name), and every read appended to the audit log
    /// (`case.read`, by the department). `None`: no such case, or none of theirs — the same
    /// answer, so that a department cannot learn which codes exist.
    pub async fn case_for_department(
        &self,
        approval_code: String,
        department: String,
        at: NaiveDateTime,
    ) -> Result<Option<CaseRecord>, StoreError> {
        self.write(move |s, c| {
            let Some(case) = load_case(s, c, &approval_code)? else {
                return Ok(None);
            };
            let wanted = department.trim();
            let theirs = case
                .nodes
                .iter()
                .any(|n| n.department == wanted || n.department_en.eq_ignore_ascii_case(wanted));
            if !theirs {
                return Ok(None);
            }
            audit::append(
                c,
                at,
                &Actor::Staff(department.clone()),
                "case.read",
                &approval_code,
                json!({}),
            )?;
            Ok(Some(case))
        })
        .await
    }

    /// A department acts on its node of a case: the transition is checked, the node and the
    /// case's status change, and the change is appended to the audit chain, in one transaction.
    pub async fn act_on_node(
        &self,
        req: NodeActionRequest,
    ) -> Result<Result<CaseRecord, Refusal>, StoreError> {
        self.write(move |s, c| act_on_node(s, c, &req)).await
    }

    /// Blocking form of [`Store::act_on_node`], for the command line.
    pub fn act_on_node_blocking(
        &self,
        req: &NodeActionRequest,
    ) -> Result<Result<CaseRecord, Refusal>, StoreError> {
        self.db.write(|c| act_on_node(self, c, req))
    }

    /// The department a staff token belongs to, unless revoked.
    pub async fn staff_department(
        &self,
        token_sha256: String,
    ) -> Result<Option<String>, StoreError> {
        self.read(move |_, c| {
            c.query_opt(
                "SELECT department FROM staff_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL",
                params![token_sha256],
            )?
            .map(|r| r.text(0))
            .transpose()
        })
        .await
    }

    /// Records a staff token (only its hash). Blocking.
    pub fn add_staff_token_blocking(
        &self,
        department: &str,
        label: &str,
        token_sha256: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        self.db.write(|c| {
            c.execute(
                "INSERT INTO staff_tokens (token_sha256, department, label, created_at)
                 VALUES ($1, $2, $3, $4)",
                params![token_sha256, department, label, now],
            )?;
            audit::append(
                c,
                now,
                &Actor::Admin,
                "staff_token.created",
                department,
                json!({ "label": label, "token_sha256_prefix": token_sha256.get(0..12) }),
            )?;
            Ok(())
        })
    }

    /// Revokes every token with this label in a department; how many were revoked. Blocking.
    pub fn revoke_staff_tokens_blocking(
        &self,
        department: &str,
        label: &str,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        self.db.write(|c| {
            let n = c.execute(
                "UPDATE staff_tokens SET revoked_at = $3
                 WHERE department = $1 AND label = $2 AND revoked_at IS NULL",
                params![department, label, now],
            )?;
            if n > 0 {
                audit::append(
                    c,
                    now,
                    &Actor::Admin,
                    "staff_token.revoked",
                    department,
                    json!({ "label": label, "count": n }),
                )?;
            }
            Ok(n)
        })
    }

    /// Every department that reviews some case or item, for the command line's checks. Blocking.
    pub fn departments_blocking(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.db.read(|c| {
            let cat = self.current_catalogue(c)?;
            let mut out: Vec<(String, String)> = Vec::new();
            for d in cat.items.iter().flat_map(|i| &i.departments) {
                if !out.iter().any(|(n, _)| *n == d.name) {
                    out.push((d.name.clone(), d.name_en.clone()));
                }
            }
            Ok(out)
        })
    }
}
