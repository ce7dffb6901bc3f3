//! Cases as the applicant sees them: by approval code, with details for the ID card holder,
//! by the card holder, by a kiosk's local reference.

use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use hall_domain::api::{self, CaseDetails, CaseDetailsRequest, CaseView, Node};
use hall_domain::codes::mask_name;
use hall_domain::{ApprovalCode, Blzt};

use super::auth::KioskAuth;
use super::extract::{ApiJson, path_param};
use crate::application;
use crate::problem::{APPROVAL_CODE, ApiError, code_error};
use crate::state::AppState;
use crate::store::{CaseRecord, DetailsOutcome, NodeRecord};
use crate::workdays::overdue_days;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(api::CASE, get(case))
        .route(api::CASE_DETAILS, post(case_details))
        .route(api::CASES_BY_APPLICANT, post(cases_by_applicant))
        .route(api::CASE_BY_REFERENCE, get(case_by_reference))
}

/// A node as shown: lateness counts working days after the due date, for nodes whose time
/// limit still runs (not finished, not waiting for the applicant's corrections).
pub(super) fn node_view(n: NodeRecord, today: chrono::NaiveDate, st: &AppState) -> Node {
    let clock_runs = !n.status.is_final() && n.status != Blzt::CorrectionsAsked;
    let days = match (clock_runs, n.due_date) {
        (true, Some(due)) => overdue_days(st.calendar(), due, today),
        _ => 0,
    };
    Node {
        department: n.department,
        department_en: n.department_en,
        status_code: n.status,
        status_text: n.status.zh().to_string(),
        started_at: n.started_at,
        due_date: n.due_date,
        time_limit_days: n.time_limit_days,
        finished_at: n.finished_at,
        overdue: days > 0,
        overdue_days: days,
    }
}

pub(super) fn case_view(c: CaseRecord, st: &AppState) -> CaseView {
    let today = st.clock().today();
    CaseView {
        approval_code: c.approval_code,
        item: c.item_name,
        item_en: c.item_name_en,
        item_id: c.item_id,
        stage: c.stage,
        status: c.status,
        status_text: c.status.zh().to_string(),
        submitted_at: c.submitted_at,
        nodes: c
            .nodes
            .into_iter()
            .map(|n| node_view(n, today, st))
            .collect(),
        fee_notices: c.fee_notices,
    }
}

/// A case as the lookup answers it: the case, and whether its due dates are provisional.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CaseAnswer {
    #[serde(flatten)]
    pub case: CaseView,
    /// A running time limit reaches into a year without a holiday calendar: its due date (and
    /// lateness) counts weekends only and may move once that year's arrangement is added.
    pub due_date_provisional: bool,
    /// The years without a holiday calendar that the running time limits reach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calendar_missing_years: Vec<i32>,
}

pub(super) fn case_answer(c: CaseRecord, st: &AppState) -> CaseAnswer {
    let today = st.clock().today();
    let submitted = c.submitted_at.date();
    let mut missing: Vec<i32> = Vec::new();
    for n in &c.nodes {
        let clock_runs = !n.status.is_final() && n.status != Blzt::CorrectionsAsked;
        if let (true, Some(due)) = (clock_runs, n.due_date) {
            let start = n.started_at.unwrap_or(submitted);
            let end = if today > due { today } else { due };
            for y in st.coverage().uncovered(start, end) {
                if !missing.contains(&y) {
                    missing.push(y);
                }
            }
        }
    }
    missing.sort_unstable();
    CaseAnswer {
        case: case_view(c, st),
        due_date_provisional: !missing.is_empty(),
        calendar_missing_years: missing,
    }
}

#[utoipa::path(get, path = api::CASE, tag = "cases", security(("kiosk_credential" = [])),
    params(("approval_code" = String, Path, description = "16-digit approval code")),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, body = CaseAnswer), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
pub(super) async fn case(
    State(st): State<AppState>,
    _kiosk: KioskAuth,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CaseAnswer>, ApiError> {
    let raw = path_param(code)?;
    let code = ApprovalCode::parse(&raw)
        .map_err(|e| ApiError::bad_code("approval_code", APPROVAL_CODE, &e))?;
    let rec = st.store().case(code.as_str().to_string()).await?;
    rec.map(|c| Json(case_answer(c, &st))).ok_or_else(|| {
        ApiError::not_found(
            "approval_code",
            "未找到该审批码对应的办件，请核对审批码",
            "No case has this approval code; please check it",
        )
    })
}

/// A case with what only its applicant (or department staff) may see.
pub(super) fn details_view(c: CaseRecord, st: &AppState) -> CaseDetails {
    let applicant = mask_name(&c.applicant_name);
    let (project_name, project_code) = (c.project_name.clone(), c.project_code.clone());
    let opinions = c
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            Some(api::NodeOpinion {
                node: u32::try_from(i).ok()?,
                department: n.department.clone(),
                opinion: n.opinion.clone().filter(|o| !o.trim().is_empty())?,
            })
        })
        .collect();
    CaseDetails {
        case: case_view(c, st),
        applicant,
        project_name,
        project_code,
        opinions,
    }
}

#[utoipa::path(post, path = api::CASE_DETAILS, tag = "cases", security(("kiosk_credential" = [])),
    params(("approval_code" = String, Path, description = "16-digit approval code")),
    request_body = CaseDetailsRequest,
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc),
        (status = 200, description = "The ID number is the applicant's: the case with its applicant (masked), project and the departments' opinions", body = CaseDetails),
        (status = 400, body = crate::problem::ProblemDoc),
        (status = 403, description = "The ID number is not the applicant's", body = crate::problem::ProblemDoc),
        (status = 404, body = crate::problem::ProblemDoc),
        (status = 422, description = "The ID number is not a valid one", body = crate::problem::ProblemDoc),
        (status = 429, description = "Too many refused attempts for this case lately", body = crate::problem::ProblemDoc)))]
pub(super) async fn case_details(
    State(st): State<AppState>,
    kiosk: KioskAuth,
    code: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<CaseDetailsRequest>,
) -> Result<Json<CaseDetails>, ApiError> {
    let raw = path_param(code)?;
    let code = ApprovalCode::parse(&raw)
        .map_err(|e| ApiError::bad_code("approval_code", APPROVAL_CODE, &e))?;
    let id_number = zeroize::Zeroizing::new(req.id_number);
    hall_domain::codes::validate_id_number(&id_number).map_err(|e| {
        ApiError::validation(vec![code_error("id_number", crate::problem::ID_NUMBER, &e)])
    })?;
    let outcome = st
        .store()
        .case_details(
            code.as_str().to_string(),
            id_number,
            kiosk.actor(),
            st.clock().now(),
        )
        .await?;
    match outcome {
        DetailsOutcome::Shown(c) => {
            tracing::info!(approval_code = %code.as_str(), "case details shown to the applicant");
            Ok(Json(details_view(*c, &st)))
        }
        DetailsOutcome::Refused => {
            tracing::info!(approval_code = %code.as_str(), "case details refused: not the applicant");
            Err(ApiError::forbidden(
                "id_number",
                "这张身份证不是该办件的申请人，不能查看办件详情",
                "This ID card is not the applicant's: the case's details cannot be shown",
            ))
        }
        DetailsOutcome::Limited => {
            tracing::warn!(approval_code = %code.as_str(), "case details: too many refused attempts");
            Err(ApiError::too_many(
                "id_number",
                "尝试次数过多，请稍后再试或到窗口咨询",
                "Too many attempts; please try later or ask at a service window",
            )
            .retry_after(std::time::Duration::from_secs(
                crate::store::DETAILS_WINDOW_MINUTES.unsigned_abs() * 60,
            )))
        }
        DetailsOutcome::NotFound => Err(ApiError::not_found(
            "approval_code",
            "未找到该审批码对应的办件，请核对审批码",
            "No case has this approval code; please check it",
        )),
    }
}

#[utoipa::path(post, path = api::CASES_BY_APPLICANT, tag = "cases", security(("kiosk_credential" = [])),
    request_body = CaseDetailsRequest,
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc),
        (status = 200, description = "The card holder's own cases (not withdrawn), newest first: status only; open one with its details endpoint", body = Vec<api::CaseSummary>),
        (status = 422, description = "Not an ID number", body = crate::problem::ProblemDoc),
        (status = 429, description = "Too many lists asked by this kiosk lately", body = crate::problem::ProblemDoc)))]
pub(super) async fn cases_by_applicant(
    State(st): State<AppState>,
    kiosk: KioskAuth,
    ApiJson(req): ApiJson<CaseDetailsRequest>,
) -> Result<Json<Vec<api::CaseSummary>>, ApiError> {
    let id_number = zeroize::Zeroizing::new(req.id_number);
    hall_domain::codes::validate_id_number(&id_number).map_err(|e| {
        ApiError::validation(vec![code_error("id_number", crate::problem::ID_NUMBER, &e)])
    })?;
    let digest = crate::store::id_number_sha256(&id_number);
    if let Err(wait) = st.limiters().applicant_list(&digest) {
        tracing::warn!(kiosk = %kiosk.0, "cases by applicant: too many lists of one ID number");
        return Err(ApiError::too_many(
            "id_number",
            "查询次数过多，请稍后再试或到窗口咨询",
            "Too many lookups; please try later or ask at a service window",
        )
        .retry_after(wait));
    }
    match st
        .store()
        .cases_by_applicant(id_number, kiosk.actor(), st.clock().now())
        .await?
    {
        Some(list) => {
            tracing::info!(found = list.len(), "cases listed for an ID card");
            Ok(Json(list))
        }
        None => Err(ApiError::too_many(
            "id_number",
            "查询次数过多，请稍后再试或到窗口咨询",
            "Too many lookups; please try later or ask at a service window",
        )),
    }
}

#[utoipa::path(get, path = api::CASE_BY_REFERENCE, tag = "cases", security(("kiosk_credential" = [])),
    params(("reference" = String, Path, description = "The kiosk's local reference of an offline submission")),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, body = CaseAnswer), (status = 404, body = crate::problem::ProblemDoc)))]
pub(super) async fn case_by_reference(
    State(st): State<AppState>,
    _kiosk: KioskAuth,
    reference: Result<Path<String>, PathRejection>,
) -> Result<Json<CaseAnswer>, ApiError> {
    let reference = path_param(reference)?;
    let reference = reference.trim();
    let not_found = || {
        ApiError::not_found(
            "reference",
            "未找到该本机受理编号对应的办件：离线受理的申请可能尚未送达，请稍后再查",
            "No case has this local reference: an application taken offline may not have arrived yet",
        )
    };
    if reference.is_empty() || reference.chars().count() > application::MAX_REFERENCE_CHARS {
        return Err(not_found());
    }
    let rec = st.store().case_by_reference(reference.to_string()).await?;
    rec.map(|c| Json(case_answer(c, &st))).ok_or_else(not_found)
}
