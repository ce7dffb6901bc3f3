//! Applications under idempotency keys: creating a case once per key, replays, withdrawals
//! of submissions never confirmed to the applicant, and what a key or kiosk holds.

use chrono::{NaiveDate, NaiveDateTime};
use hall_domain::Blzt;
use hall_domain::api::ApplicationCreated;
use serde_json::json;

use super::audit;
use super::cases::{NewCase, insert_case, material_status_str};
use super::handle::Store;
use crate::audit::Actor;
use crate::db::{Conn, Dialect, ToValue};
use crate::error::StoreError;
use crate::params;

/// What became of an application under an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum Idempotent {
    /// Another case already carries the submission's local reference.
    ReferenceTaken,
    /// A new case was created.
    Created(Created),
    /// The key was seen before with the same request: the first answer.
    Replayed(Created),
    /// The key was seen before with a different request.
    KeyReused,
    /// The kiosk withdrew this key (it never told the applicant): nothing is created.
    Withdrawn,
}

/// Why a kiosk withdraws a case: it never confirmed the submission to the applicant.
pub const WITHDRAW_REASON: &str = "kiosk never confirmed it to the applicant";

/// What withdrawing an idempotency key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withdrawal {
    /// The case created under the key is withdrawn (now, or by an earlier call).
    Withdrawn { approval_code: String },
    /// No case had arrived: the key is refused from now on.
    NoCase,
    /// Staff already acted on the case (or it was decided at once): a kiosk cannot withdraw it.
    Refused { approval_code: String, status: Blzt },
}

/// A case created under an idempotency key, as the kiosk-side checks see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct KeyedCase {
    pub idempotency_key: String,
    pub approval_code: String,
    pub kiosk_id: Option<String>,
    pub local_reference: Option<String>,
    /// BLZT status code of the case.
    #[schema(value_type = u8)]
    pub status: Blzt,
    /// Not withdrawn.
    pub active: bool,
}

/// What the platform knows of an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct KeyState {
    pub idempotency_key: String,
    /// The case created under the key, if one arrived.
    pub case: Option<KeyedCase>,
    /// The key was withdrawn (its case withdrawn, or refused before it arrived).
    pub withdrawn: bool,
    /// 1 when a case under the key is active (not withdrawn), else 0.
    pub active_cases: u32,
}

/// A case created under an idempotency key, with its receipt's verification code.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    pub created: ApplicationCreated,
    /// The receipt's verification code (`XXXX-XXXX`), from the audit chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    /// The due date (or a tolerated material's) reaches into a year without a holiday
    /// calendar: it counts weekends only and may move once that year's arrangement is added.
    #[serde(default)]
    pub due_date_provisional: bool,
}

/// What the key's earlier use says, if anything: withdrawn, a replay, or reused.
pub(super) fn key_seen(
    withdrawn: bool,
    seen: Option<(String, String)>,
    request_sha256: &str,
) -> Result<Option<Idempotent>, StoreError> {
    if withdrawn {
        return Ok(Some(Idempotent::Withdrawn));
    }
    let Some((hash, response)) = seen else {
        return Ok(None);
    };
    Ok(Some(if hash == request_sha256 {
        Idempotent::Replayed(serde_json::from_str(&response)?)
    } else {
        Idempotent::KeyReused
    }))
}

pub(super) fn case_created_detail(case: &NewCase, request_sha256: &str) -> serde_json::Value {
    json!({
        "item_id": case.item_id,
        "catalogue_version": case.catalogue_version,
        "status": case.status.code(),
        "nodes": case.nodes.iter().map(|n| n.status.code()).collect::<Vec<_>>(),
        "materials": case.materials.iter()
            .map(|m| json!([m.material_id, material_status_str(m.status), m.pages]))
            .collect::<Vec<_>>(),
        "local_reference": case.local_reference,
        "request_sha256": request_sha256,
        "state": super::bound::new_case_state(case),
    })
}

/// How many random serials a submission draws before it gives up: with a day's codes one in
/// a thousand taken, eight draws all taken happen once in 10^24 submissions.
const SERIAL_DRAWS: usize = 8;

/// The serial part of a new approval code: random (the thread's CSPRNG, seeded from the
/// operating system), so that one code says nothing about any other; the primary key keeps it
/// unique.
fn random_serial() -> u32 {
    use rand::Rng;
    rand::rng().random_range(0..hall_domain::codes::ApprovalCode::SERIALS)
}

/// SQLite: one writer, so the entry is appended to the chain in the transaction.
pub(super) fn create_application_sqlite(
    c: &mut dyn Conn,
    sealer: &crate::seal::Sealer,
    key: &str,
    request_sha256: &str,
    actor: &Actor,
    build: &dyn Fn(u32) -> (NewCase, ApplicationCreated),
) -> Result<Idempotent, StoreError> {
    let r = c.query_one(
        "SELECT (SELECT 1 FROM withdrawn_keys WHERE key = $1),
                (SELECT request_sha256 FROM idempotency_keys WHERE key = $1),
                (SELECT response FROM idempotency_keys WHERE key = $1)",
        params![key],
    )?;
    let seen = match (r.opt_text(1)?, r.opt_text(2)?) {
        (Some(h), Some(resp)) => Some((h, resp)),
        _ => None,
    };
    if let Some(answer) = key_seen(r.at(0)? != &crate::db::Value::Null, seen, request_sha256)? {
        return Ok(answer);
    }
    // A random serial, drawn again in the rare case that the day already has its code.
    let mut drawn = None;
    for _ in 0..SERIAL_DRAWS {
        let (case, created) = build(random_serial());
        let taken = c.query_opt(
            "SELECT 1 FROM cases WHERE approval_code = $1",
            params![case.approval_code],
        )?;
        if taken.is_none() {
            drawn = Some((case, created));
            break;
        }
    }
    let Some((mut case, created)) = drawn else {
        return Err(StoreError::Corrupt(format!(
            "no free approval code in {SERIAL_DRAWS} random draws"
        )));
    };
    if let Some(reference) = &case.local_reference {
        let taken = c.query_opt(
            "SELECT approval_code FROM cases WHERE local_reference = $1",
            params![reference],
        )?;
        if taken.is_some() {
            return Ok(Idempotent::ReferenceTaken);
        }
    }
    case.applicant_id_index = Some(super::sealing::seal_applicant(
        sealer,
        &case.approval_code,
        &mut case.applicant,
    )?);
    insert_case(c, &case, None)?;
    let entry = audit::append(
        c,
        case.submitted_at,
        actor,
        "case.created",
        &case.approval_code,
        case_created_detail(&case, request_sha256),
    )?;
    let answer = Created {
        created,
        verification_code: Some(crate::audit::verification_code(&entry.hash)),
        due_date_provisional: false,
    };
    c.execute(
        "INSERT INTO idempotency_keys (key, request_sha256, approval_code, response, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![
            key,
            request_sha256,
            case.approval_code,
            serde_json::to_string(&answer)?,
            case.submitted_at
        ],
    )?;
    Ok(Idempotent::Created(answer))
}

/// PostgreSQL: five round trips (begin, the key's lock, the checks with the serial, every row
/// in one statement, the commit), and the audit entry is recorded pending, so that concurrent
/// submissions commit together; it is linked into the chain right after the commit. Returns the
/// entry's pending id with a new case.
pub(super) fn create_application_pg(
    c: &mut dyn Conn,
    sealer: &crate::seal::Sealer,
    key: &str,
    request_sha256: &str,
    actor: &Actor,
    build: &dyn Fn(u32) -> (NewCase, ApplicationCreated),
) -> Result<(Idempotent, Option<i64>), StoreError> {
    use crate::db::Value;
    c.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))::text",
        params![KEY_LOCK_SPACE, key],
    )?;
    // A random serial; the same query says whether the day already has its code (drawn again
    // then), and two submissions that drew the same one at once meet the primary key, a
    // conflict the caller's transaction retry draws again for.
    let mut drawn = None;
    for _ in 0..SERIAL_DRAWS {
        let built = build(random_serial());
        // After the lock, in a statement of its own: it sees whatever the key's last holder
        // committed.
        let r = c.query_one(
            "SELECT (SELECT 1 FROM withdrawn_keys WHERE key = $1),
                    (SELECT request_sha256 FROM idempotency_keys WHERE key = $1),
                    (SELECT response FROM idempotency_keys WHERE key = $1),
                    (SELECT approval_code FROM cases WHERE local_reference = $2),
                    (SELECT 1 FROM cases WHERE approval_code = $3)",
            params![key, built.0.local_reference, built.0.approval_code],
        )?;
        let code_free = r.at(4)? == &Value::Null;
        drawn = Some((r, built));
        if code_free {
            break;
        }
    }
    let Some((r, (mut case, created))) = drawn else {
        return Err(StoreError::Corrupt("no approval code drawn".into()));
    };
    let seen = match (r.opt_text(1)?, r.opt_text(2)?) {
        (Some(h), Some(resp)) => Some((h, resp)),
        _ => None,
    };
    if let Some(answer) = key_seen(r.at(0)? != &Value::Null, seen, request_sha256)? {
        return Ok((answer, None));
    }
    if r.opt_text(3)?.is_some() {
        return Ok((Idempotent::ReferenceTaken, None));
    }
    if r.at(4)? != &Value::Null {
        return Err(StoreError::Corrupt(format!(
            "no free approval code in {SERIAL_DRAWS} random draws"
        )));
    }
    case.applicant_id_index = Some(super::sealing::seal_applicant(
        sealer,
        &case.approval_code,
        &mut case.applicant,
    )?);
    let answer = Created {
        created,
        verification_code: None,
        due_date_provisional: false,
    };
    let mut sql = String::with_capacity(2048);
    let mut v: Vec<Value> = Vec::with_capacity(40 + 11 * case.nodes.len());
    fn slots(v: &mut Vec<Value>, vals: Vec<Value>) -> String {
        let mut out = String::from("(");
        for (i, val) in vals.into_iter().enumerate() {
            v.push(val);
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", v.len()));
        }
        out.push(')');
        out
    }
    let k = &case;
    let case_row = slots(
        &mut v,
        vec![
            k.approval_code.to_value(),
            k.item_id.to_value(),
            k.status.to_value(),
            k.submitted_at.to_value(),
            k.due_date.to_value(),
            k.applicant.name.to_value(),
            k.applicant.id_number.to_value(),
            k.applicant.phone.to_value(),
            k.organization.as_ref().map(|o| &o.name).to_value(),
            k.organization.as_ref().map(|o| &o.credit_code).to_value(),
            k.project.code.to_value(),
            k.project.name.to_value(),
            k.identified_by.to_value(),
            k.kiosk_id.to_value(),
            k.catalogue_version.to_value(),
            k.local_reference.to_value(),
            Value::Null,
            k.submitted_at.to_value(),
            k.applicant_id_index.to_value(),
        ],
    );
    sql.push_str(&format!(
        "WITH c AS (INSERT INTO cases (approval_code, item_id, status, submitted_at, due_date,
           applicant_name, applicant_id_number, applicant_phone, organization_name,
           organization_credit_code, project_code, project_name, identified_by, kiosk_id,
           catalogue_version, local_reference, verification_code, updated_at,
           applicant_id_index) VALUES {case_row})"
    ));
    if !k.nodes.is_empty() {
        let rows: Vec<String> = k
            .nodes
            .iter()
            .enumerate()
            .map(|(seq, n)| {
                slots(
                    &mut v,
                    vec![
                        k.approval_code.to_value(),
                        seq.to_value(),
                        n.department.to_value(),
                        n.department_en.to_value(),
                        n.status.to_value(),
                        n.started_at.to_value(),
                        n.due_date.to_value(),
                        n.time_limit_days.to_value(),
                        n.finished_at.to_value(),
                        n.opinion.to_value(),
                        n.corrections_asked_at.to_value(),
                    ],
                )
            })
            .collect();
        sql.push_str(&format!(
            ", n AS (INSERT INTO case_nodes (approval_code, seq, department, department_en, status,
               started_at, due_date, time_limit_days, finished_at, opinion, corrections_asked_at)
             VALUES {})",
            rows.join(", ")
        ));
    }
    if !k.materials.is_empty() {
        let rows: Vec<String> = k
            .materials
            .iter()
            .map(|m| {
                slots(
                    &mut v,
                    vec![
                        k.approval_code.to_value(),
                        m.material_id.to_value(),
                        Value::Text(material_status_str(m.status).to_string()),
                        m.pages.to_value(),
                        m.due_date.to_value(),
                    ],
                )
            })
            .collect();
        sql.push_str(&format!(
            ", m AS (INSERT INTO case_materials (approval_code, material_id, status, pages, due_date)
             VALUES {})",
            rows.join(", ")
        ));
    }
    let key_row = slots(
        &mut v,
        vec![
            key.to_value(),
            request_sha256.to_value(),
            k.approval_code.to_value(),
            Value::Text(serde_json::to_string(&answer)?),
            k.submitted_at.to_value(),
        ],
    );
    sql.push_str(&format!(
        ", i AS (INSERT INTO idempotency_keys (key, request_sha256, approval_code, response,
           created_at) VALUES {key_row})"
    ));
    let audit_row = slots(
        &mut v,
        audit::pending_values(
            k.submitted_at,
            actor,
            "case.created",
            &k.approval_code,
            &case_created_detail(k, request_sha256),
        )
        .to_vec(),
    );
    sql.push_str(&format!(
        " INSERT INTO audit_pending (at, actor, action, subject, detail) VALUES {audit_row}
         RETURNING id"
    ));
    let refs: Vec<&dyn crate::db::ToValue> =
        v.iter().map(|x| x as &dyn crate::db::ToValue).collect();
    let pending_id = c.query_one(&sql, &refs)?.i64(0)?;
    Ok((Idempotent::Created(answer), Some(pending_id)))
}

/// Serialises the transactions about one idempotency key (a submission and its withdrawal)
/// across instances. SQLite's write transactions are serialised already.
pub(super) fn lock_key(c: &mut dyn Conn, key: &str) -> Result<(), StoreError> {
    if c.dialect() == Dialect::Postgres {
        c.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))::text",
            params![KEY_LOCK_SPACE, key],
        )?;
    }
    Ok(())
}

/// The first half of PostgreSQL's two-key advisory locks taken for idempotency keys.
pub(super) const KEY_LOCK_SPACE: i32 = 0x4841_4c4b;

pub(super) fn withdraw_key(
    c: &mut dyn Conn,
    key: &str,
    actor: &Actor,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Withdrawal, StoreError> {
    lock_key(c, key)?;
    let case = c
        .query_opt(
            "SELECT approval_code FROM idempotency_keys WHERE key = $1",
            params![key],
        )?
        .map(|r| r.text(0))
        .transpose()?;
    let Some(code) = case else {
        let n = c.execute(
            "INSERT INTO withdrawn_keys (key, withdrawn_at, approval_code, reason)
             VALUES ($1, $2, NULL, $3) ON CONFLICT (key) DO NOTHING",
            params![key, now, WITHDRAW_REASON],
        )?;
        if n == 1 {
            audit::append(
                c,
                now,
                actor,
                "key.withdrawn",
                &key_subject(key),
                json!({ "reason": WITHDRAW_REASON, "case": null }),
            )?;
        }
        return Ok(Withdrawal::NoCase);
    };
    let head = c.query_one(
        "SELECT status FROM cases WHERE approval_code = $1 FOR UPDATE",
        params![code],
    )?;
    let case_from = head.blzt(0)?;
    if case_from == Blzt::Withdrawn {
        return Ok(Withdrawal::Withdrawn {
            approval_code: code,
        });
    }
    // An instant (秒批) item is approved by the platform itself when it arrives: no one has
    // acted on it and no one knows its code until the kiosk shows it, so a kiosk may withdraw
    // it like a case still waiting. Approved is final: no department can have acted since.
    let decided_at_once = case_from == Blzt::Approved
        && c.query_one(
            "SELECT i.instant FROM cases k JOIN items i ON i.id = k.item_id
             WHERE k.approval_code = $1",
            params![code],
        )?
        .i64(0)?
            == 1;
    let untouched = |st: Blzt| {
        matches!(st, Blzt::Received | Blzt::Accepted) || (decided_at_once && st == Blzt::Approved)
    };
    let nodes = c.query(
        "SELECT status FROM case_nodes WHERE approval_code = $1 ORDER BY seq",
        params![code],
    )?;
    let mut from = Vec::with_capacity(nodes.len());
    for r in &nodes {
        let st = r.blzt(0)?;
        if !untouched(st) {
            return Ok(Withdrawal::Refused {
                approval_code: code,
                status: case_from,
            });
        }
        from.push(st.code());
    }
    if !untouched(case_from) {
        return Ok(Withdrawal::Refused {
            approval_code: code,
            status: case_from,
        });
    }
    c.execute(
        "UPDATE case_nodes SET status = $2, finished_at = $3, opinion = $4
         WHERE approval_code = $1",
        params![code, Blzt::Withdrawn, today, WITHDRAW_REASON],
    )?;
    c.execute(
        "UPDATE cases SET status = $2, updated_at = $3 WHERE approval_code = $1",
        params![code, Blzt::Withdrawn, now],
    )?;
    c.execute(
        "INSERT INTO withdrawn_keys (key, withdrawn_at, approval_code, reason)
         VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
        params![key, now, code, WITHDRAW_REASON],
    )?;
    let state = super::bound::case_state(c, &code)?;
    audit::append(
        c,
        now,
        actor,
        "case.withdrawn",
        &code,
        json!({
            "reason": WITHDRAW_REASON,
            "case_from": case_from.code(),
            "nodes_from": from,
            "to": Blzt::Withdrawn.code(),
            "key": key_subject(key),
            "state": state,
        }),
    )?;
    Ok(Withdrawal::Withdrawn {
        approval_code: code,
    })
}

/// How an idempotency key is named in the audit log: by its hash, so the log never holds a
/// token that could be replayed.
pub(super) fn key_subject(key: &str) -> String {
    use sha2::Digest;
    let h: String = sha2::Sha256::digest(key.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("key:{h}")
}

pub(super) fn keyed_case(r: &crate::db::Row) -> Result<KeyedCase, StoreError> {
    let status = r.blzt(4)?;
    Ok(KeyedCase {
        idempotency_key: r.text(0)?,
        approval_code: r.text(1)?,
        kiosk_id: r.opt_text(2)?,
        local_reference: r.opt_text(3)?,
        status,
        active: status != Blzt::Withdrawn,
    })
}

pub(super) fn key_state(c: &mut dyn Conn, key: &str) -> Result<KeyState, StoreError> {
    let case = c
        .query_opt(
            "SELECT k.key, c.approval_code, c.kiosk_id, c.local_reference, c.status
             FROM idempotency_keys k JOIN cases c ON c.approval_code = k.approval_code
             WHERE k.key = $1",
            params![key],
        )?
        .map(|r| keyed_case(&r))
        .transpose()?;
    let tombstone = c
        .query_opt(
            "SELECT key FROM withdrawn_keys WHERE key = $1",
            params![key],
        )?
        .is_some();
    let active = case.as_ref().is_some_and(|k| k.active);
    Ok(KeyState {
        idempotency_key: key.to_string(),
        withdrawn: tombstone || case.as_ref().is_some_and(|k| !k.active),
        active_cases: u32::from(active),
        case,
    })
}

pub(super) fn cases_by_kiosk(
    c: &mut dyn Conn,
    kiosk_id: &str,
) -> Result<Vec<KeyedCase>, StoreError> {
    c.query(
        "SELECT k.key, c.approval_code, c.kiosk_id, c.local_reference, c.status
         FROM cases c JOIN idempotency_keys k ON k.approval_code = c.approval_code
         WHERE c.kiosk_id = $1
         ORDER BY c.submitted_at, c.approval_code",
        params![kiosk_id],
    )?
    .iter()
    .map(keyed_case)
    .collect()
}

impl Store {
    // --- applications and cases ---------------------------------------------------------------

    /// Creates a case under an idempotency key, in one transaction: a key seen before answers
    /// with its first response (same request) or [`Idempotent::KeyReused`]. `build` receives the
    /// next approval serial and returns the case and the answer to store with the key. The
    /// case's creation is appended to the audit chain, whose entry gives the receipt's
    /// verification code.
    pub async fn create_application<F>(
        &self,
        key: String,
        request_sha256: String,
        actor: Actor,
        build: F,
    ) -> Result<Idempotent, StoreError>
    where
        F: Fn(u32) -> (NewCase, ApplicationCreated) + Send + 'static,
    {
        let outcome = self
            .write(move |s, c| {
                let sealer = s.sealer()?;
                if c.dialect() == Dialect::Postgres {
                    create_application_pg(c, sealer, &key, &request_sha256, &actor, &build)
                } else {
                    create_application_sqlite(c, sealer, &key, &request_sha256, &actor, &build)
                        .map(|o| (o, None))
                }
            })
            .await?;
        match outcome {
            (Idempotent::Created(mut answer), Some(pending_id)) => {
                let hash = self.linked_hash(pending_id).await?;
                answer.verification_code = Some(crate::audit::verification_code(&hash));
                Ok(Idempotent::Created(answer))
            }
            (Idempotent::Replayed(mut answer), _) if answer.verification_code.is_none() => {
                answer.verification_code = self
                    .verification_of(answer.created.approval_code.clone())
                    .await?;
                Ok(Idempotent::Replayed(answer))
            }
            (other, _) => Ok(other),
        }
    }

    /// Withdraws what a kiosk submitted under an idempotency key and never confirmed to the
    /// applicant, in one transaction: the case and all its nodes go to BLZT 2 (withdrawn) with
    /// [`WITHDRAW_REASON`], appended to the audit chain; when no case has arrived, a tombstone
    /// makes the key refused if its request arrives later. Idempotent. A case some department
    /// already moved beyond received/accepted is refused.
    pub async fn withdraw_key(
        &self,
        key: String,
        actor: Actor,
        today: NaiveDate,
        now: NaiveDateTime,
    ) -> Result<Withdrawal, StoreError> {
        self.write(move |_, c| withdraw_key(c, &key, &actor, today, now))
            .await
    }

    /// What the platform holds under an idempotency key.
    pub async fn key_state(&self, key: String) -> Result<KeyState, StoreError> {
        self.read(move |_, c| key_state(c, &key)).await
    }

    /// Blocking form of [`Store::key_state`].
    pub fn key_state_blocking(&self, key: &str) -> Result<KeyState, StoreError> {
        self.db.read(|c| key_state(c, key))
    }

    /// Every case a kiosk submitted under an idempotency key, withdrawn ones included (see
    /// [`KeyedCase::active`]), oldest first.
    pub async fn cases_by_kiosk(&self, kiosk_id: String) -> Result<Vec<KeyedCase>, StoreError> {
        self.read(move |_, c| cases_by_kiosk(c, &kiosk_id)).await
    }

    /// Blocking form of [`Store::cases_by_kiosk`].
    pub fn cases_by_kiosk_blocking(&self, kiosk_id: &str) -> Result<Vec<KeyedCase>, StoreError> {
        self.db.read(|c| cases_by_kiosk(c, kiosk_id))
    }
}
