//! Cases: their rows (case, nodes, materials), and what the applicant may look up.

use chrono::{NaiveDate, NaiveDateTime};
use hall_domain::Blzt;
use hall_domain::api::{
    Applicant, CaseSummary, FeeNoticeSummary, MaterialStatus, Organization, Project,
};
use serde_json::json;

use super::audit;
use super::handle::Store;
use super::payments::notice_status;
use crate::audit::Actor;
use crate::db::Conn;
use crate::error::StoreError;
use crate::params;

/// A new case with its nodes and materials, ready to insert.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub approval_code: String,
    pub item_id: String,
    pub status: Blzt,
    pub submitted_at: NaiveDateTime,
    pub due_date: NaiveDate,
    pub applicant: Applicant,
    pub organization: Option<Organization>,
    pub project: Project,
    pub identified_by: Option<String>,
    pub kiosk_id: Option<String>,
    /// The catalogue version whose rules the case was checked against.
    pub catalogue_version: i64,
    /// The kiosk's reference for a submission it took while the platform was unreachable.
    pub local_reference: Option<String>,
    pub nodes: Vec<NodeRecord>,
    pub materials: Vec<CaseMaterial>,
    /// The keyed hash of the applicant's ID number (set when the applicant is sealed).
    pub applicant_id_index: Option<String>,
}

/// One department's node of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    pub department: String,
    pub department_en: String,
    pub status: Blzt,
    pub started_at: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub time_limit_days: u32,
    pub finished_at: Option<NaiveDate>,
    pub opinion: Option<String>,
    /// When corrections were asked, while they are (the time limit waits meanwhile).
    pub corrections_asked_at: Option<NaiveDate>,
}

/// A material as submitted with a case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMaterial {
    pub material_id: String,
    pub status: MaterialStatus,
    pub pages: u32,
    /// For tolerated materials: when they must be supplied.
    pub due_date: Option<NaiveDate>,
}

/// Refused detail requests for one case that a kiosk may make within [`DETAILS_WINDOW_MINUTES`]
/// before it must wait, and that all kiosks together may make.
pub const DETAILS_TRIES_PER_KIOSK: i64 = 3;

pub const DETAILS_TRIES_PER_CASE: i64 = 10;

pub const DETAILS_WINDOW_MINUTES: i64 = 15;

/// Lists of a card holder's cases a kiosk may ask for within [`DETAILS_WINDOW_MINUTES`], and the
/// most cases one list holds.
pub const APPLICANT_LISTS_PER_KIOSK: i64 = 20;

pub const APPLICANT_CASES_MAX: i64 = 20;

/// What a request for a case's details came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DetailsOutcome {
    NotFound,
    /// The ID number is not the applicant's.
    Refused,
    /// Too many refused attempts lately.
    Limited,
    Shown(Box<CaseRecord>),
}

/// The SHA-256 of an ID number in its normalised form (trimmed, `x` as `X`), for in-memory rate
/// keys; never stored.
pub fn id_number_sha256(id_number: &str) -> [u8; 32] {
    use sha2::Digest;
    let normal = zeroize::Zeroizing::new(id_number.trim().to_ascii_uppercase());
    sha2::Sha256::digest(normal.as_bytes()).into()
}

/// Compares two keyed hashes (hex) in time that does not depend on where they differ.
pub(super) fn index_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A case as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    pub approval_code: String,
    pub item_id: String,
    pub item_name: String,
    pub item_name_en: String,
    pub stage: u8,
    pub status: Blzt,
    pub submitted_at: NaiveDateTime,
    pub applicant_name: String,
    pub project_code: String,
    pub project_name: String,
    pub catalogue_version: i64,
    pub local_reference: Option<String>,
    pub nodes: Vec<NodeRecord>,
    pub fee_notices: Vec<FeeNoticeSummary>,
}

pub(super) fn material_status_str(s: MaterialStatus) -> &'static str {
    match s {
        MaterialStatus::Provided => "provided",
        MaterialStatus::Tolerated => "tolerated",
        MaterialStatus::Committed => "committed",
    }
}

pub(super) fn insert_case(
    c: &mut dyn Conn,
    k: &NewCase,
    verification: Option<&str>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO cases (approval_code, item_id, status, submitted_at, due_date,
           applicant_name, applicant_id_number, applicant_phone, organization_name,
           organization_credit_code, project_code, project_name, identified_by, kiosk_id,
           catalogue_version, local_reference, verification_code, updated_at, applicant_id_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $4,
           $18)",
        params![
            k.approval_code,
            k.item_id,
            k.status,
            k.submitted_at,
            k.due_date,
            k.applicant.name,
            k.applicant.id_number,
            k.applicant.phone,
            k.organization.as_ref().map(|o| &o.name),
            k.organization.as_ref().map(|o| &o.credit_code),
            k.project.code,
            k.project.name,
            k.identified_by,
            k.kiosk_id,
            k.catalogue_version,
            k.local_reference,
            verification,
            k.applicant_id_index,
        ],
    )?;
    for (seq, n) in k.nodes.iter().enumerate() {
        c.execute(
            "INSERT INTO case_nodes (approval_code, seq, department, department_en, status,
               started_at, due_date, time_limit_days, finished_at, opinion, corrections_asked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            params![
                k.approval_code,
                seq,
                n.department,
                n.department_en,
                n.status,
                n.started_at,
                n.due_date,
                n.time_limit_days,
                n.finished_at,
                n.opinion,
                n.corrections_asked_at,
            ],
        )?;
    }
    for m in &k.materials {
        c.execute(
            "INSERT INTO case_materials (approval_code, material_id, status, pages, due_date)
             VALUES ($1, $2, $3, $4, $5)",
            params![
                k.approval_code,
                m.material_id,
                material_status_str(m.status),
                m.pages,
                m.due_date
            ],
        )?;
    }
    Ok(())
}

/// A row read one column to the right (past a leading tag column).
pub(super) struct Shift<'a>(&'a crate::db::Row);

impl Shift<'_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.0.text(i + 1)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.0.opt_text(i + 1)
    }
    fn i64(&self, i: usize) -> Result<i64, StoreError> {
        self.0.i64(i + 1)
    }
    fn u32(&self, i: usize) -> Result<u32, StoreError> {
        self.0.u32(i + 1)
    }
    fn blzt(&self, i: usize) -> Result<Blzt, StoreError> {
        self.0.blzt(i + 1)
    }
    fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        self.0.opt_date(i + 1)
    }
    fn datetime(&self, i: usize) -> Result<NaiveDateTime, StoreError> {
        self.0.datetime(i + 1)
    }
}

pub(super) fn load_case(
    s: &Store,
    c: &mut dyn Conn,
    code: &str,
) -> Result<Option<CaseRecord>, StoreError> {
    // The case, its nodes and its fee notices in one round trip: the case's columns repeat on
    // each node's row; the notices follow as rows of their own.
    let rows = c.query(
        "SELECT 0, c.approval_code, c.item_id, c.status, c.submitted_at, c.applicant_name,
           c.project_code, c.project_name, c.catalogue_version, c.local_reference,
           n.department, n.department_en, n.status, n.started_at, n.due_date, n.time_limit_days,
           n.finished_at, n.opinion, n.corrections_asked_at, n.seq, NULL, NULL, NULL
         FROM cases c LEFT JOIN case_nodes n ON n.approval_code = c.approval_code
         WHERE c.approval_code = $1
         UNION ALL
         SELECT 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, f.payment_code, f.total_fen, f.status
         FROM fee_notices f WHERE f.approval_code = $1
         ORDER BY 1, 20, 21",
        params![code],
    )?;
    let Some(h) = rows.first().filter(|r| r.i64(0).ok() == Some(0)) else {
        return Ok(None);
    };
    let h = Shift(h);
    let approval_code = h.text(0)?;
    let item_id = h.text(1)?;
    let catalogue_version = h.i64(7)?;
    let cat = s.catalogue_version(c, catalogue_version)?;
    let item = cat.item(&item_id).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "case {approval_code} names item {item_id:?}, not in catalogue version {catalogue_version}"
        ))
    })?;
    let mut nodes = Vec::with_capacity(rows.len());
    let mut fee_notices = Vec::new();
    for row in &rows {
        let r = Shift(row);
        if row.i64(0)? == 1 {
            fee_notices.push(FeeNoticeSummary {
                payment_code: r.text(19)?,
                total_fen: r.i64(20)?,
                status: notice_status(&r.text(21)?)?,
            });
            continue;
        }
        if r.opt_text(9)?.is_none() {
            continue;
        }
        nodes.push(NodeRecord {
            department: r.text(9)?,
            department_en: r.text(10)?,
            status: r.blzt(11)?,
            started_at: r.opt_date(12)?,
            due_date: r.opt_date(13)?,
            time_limit_days: r.u32(14)?,
            finished_at: r.opt_date(15)?,
            opinion: r.opt_text(16)?,
            corrections_asked_at: r.opt_date(17)?,
        });
    }
    let applicant_name = super::sealing::open_name(s, &approval_code, &h.text(4)?)?;
    Ok(Some(CaseRecord {
        approval_code,
        item_id,
        item_name: item.item.name.clone(),
        item_name_en: item.item.name_en.clone(),
        stage: item.item.stage,
        status: h.blzt(2)?,
        submitted_at: h.datetime(3)?,
        applicant_name,
        project_code: h.text(5)?,
        project_name: h.text(6)?,
        catalogue_version,
        local_reference: h.opt_text(8)?,
        nodes,
        fee_notices,
    }))
}

impl Store {
    pub async fn case(&self, approval_code: String) -> Result<Option<CaseRecord>, StoreError> {
        self.read(move |s, c| load_case(s, c, &approval_code)).await
    }

    /// A case's details for whoever shows the applicant's ID number (as the SHA-256 of its
    /// normalised form), in one transaction holding the case's row (so that concurrent attempts
    /// on one case, from any kiosk or instance, are counted one after another: the limits are
    /// exact): refused attempts of the last
    /// [`DETAILS_WINDOW_MINUTES`] are counted from the audit log (per kiosk and per case), the
    /// comparison is made in constant time, and the attempt is appended to the audit log
    /// (`case.details.shown`, `.refused` or `.limited`, never with the number itself).
    pub async fn case_details(
        &self,
        approval_code: String,
        id_number: zeroize::Zeroizing<String>,
        actor: Actor,
        now: NaiveDateTime,
    ) -> Result<DetailsOutcome, StoreError> {
        let shown = self.sealer()?.index(&id_number);
        drop(id_number);
        self.write(move |s, c| {
            let Some(r) = c.query_opt(
                "SELECT applicant_id_index FROM cases WHERE approval_code = $1 FOR UPDATE",
                params![approval_code],
            )?
            else {
                return Ok(DetailsOutcome::NotFound);
            };
            let stored = r.opt_text(0)?.unwrap_or_default();
            let since = (now - chrono::Duration::minutes(DETAILS_WINDOW_MINUTES))
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            let label = actor.label();
            let counts = c.query_one(
                "SELECT count(*), count(CASE WHEN actor = $3 THEN 1 END) FROM audit_log
                 WHERE subject = $1 AND action = 'case.details.refused' AND at >= $2",
                params![approval_code, since, label],
            )?;
            let (all, mine) = (counts.i64(0)?, counts.i64(1)?);
            if mine >= DETAILS_TRIES_PER_KIOSK || all >= DETAILS_TRIES_PER_CASE {
                audit::append(
                    c,
                    now,
                    &actor,
                    "case.details.limited",
                    &approval_code,
                    json!({}),
                )?;
                return Ok(DetailsOutcome::Limited);
            }
            let matches = index_eq(&stored, &shown);
            let action = if matches {
                "case.details.shown"
            } else {
                "case.details.refused"
            };
            audit::append(c, now, &actor, action, &approval_code, json!({}))?;
            if !matches {
                return Ok(DetailsOutcome::Refused);
            }
            Ok(match load_case(s, c, &approval_code)? {
                Some(case) => DetailsOutcome::Shown(Box::new(case)),
                None => DetailsOutcome::NotFound,
            })
        })
        .await
    }

    /// The cases (not withdrawn, newest first, at most [`APPLICANT_CASES_MAX`]) of the holder of
    /// an ID number, for the card placed on the lookup screen; `None` when the kiosk asked more
    /// than [`APPLICANT_LISTS_PER_KIOSK`] times within [`DETAILS_WINDOW_MINUTES`]. Audited as
    /// `cases.by_applicant` (subject: the kiosk) with how many were found, never the number.
    pub async fn cases_by_applicant(
        &self,
        id_number: zeroize::Zeroizing<String>,
        actor: Actor,
        now: NaiveDateTime,
    ) -> Result<Option<Vec<CaseSummary>>, StoreError> {
        self.write(move |s, c| {
            let label = actor.label();
            // The kiosk's row, held: its concurrent lists are counted one after another.
            if let Actor::Kiosk(Some(kiosk)) = &actor {
                c.query_opt(
                    "SELECT kiosk_id FROM fleet_kiosks WHERE kiosk_id = $1 FOR UPDATE",
                    params![kiosk],
                )?;
            }
            let since = (now - chrono::Duration::minutes(DETAILS_WINDOW_MINUTES))
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            let asked = c
                .query_one(
                    "SELECT count(*) FROM audit_log
                     WHERE subject = $1 AND action = 'cases.by_applicant' AND at >= $2",
                    params![label, since],
                )?
                .i64(0)?;
            if asked >= APPLICANT_LISTS_PER_KIOSK {
                return Ok(None);
            }
            let index = s.sealer()?.index(&id_number);
            let rows = c.query(
                &format!(
                    "SELECT approval_code, item_id, status, submitted_at, catalogue_version
                     FROM cases WHERE applicant_id_index = $1 AND status <> $2
                     ORDER BY submitted_at DESC, approval_code DESC LIMIT {APPLICANT_CASES_MAX}"
                ),
                params![index, Blzt::Withdrawn],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let item_id = r.text(1)?;
                let cat = s.catalogue_version(c, r.i64(4)?)?;
                let (item, item_en) = cat
                    .item(&item_id)
                    .map(|i| (i.item.name.clone(), i.item.name_en.clone()))
                    .unwrap_or_else(|| (item_id.clone(), String::new()));
                let status = r.blzt(2)?;
                out.push(CaseSummary {
                    approval_code: r.text(0)?,
                    item,
                    item_en,
                    status,
                    status_text: status.zh().to_string(),
                    submitted_at: r.datetime(3)?,
                });
            }
            audit::append(
                c,
                now,
                &actor,
                "cases.by_applicant",
                &label,
                json!({ "found": out.len() }),
            )?;
            Ok(Some(out))
        })
        .await
    }

    /// The case a kiosk submitted under its local reference.
    pub async fn case_by_reference(
        &self,
        reference: String,
    ) -> Result<Option<CaseRecord>, StoreError> {
        self.read(move |s, c| {
            let Some(r) = c.query_opt(
                "SELECT approval_code FROM cases WHERE local_reference = $1",
                params![reference],
            )?
            else {
                return Ok(None);
            };
            load_case(s, c, &r.text(0)?)
        })
        .await
    }
}
