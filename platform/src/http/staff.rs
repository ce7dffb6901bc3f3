//! Department staff: their token, their view of a case, and their actions on their node.

use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use hall_domain::ApprovalCode;
use hall_domain::api::{self, CaseDetails};

use super::cases::details_view;
use super::extract::{ApiJson, path_param};
use crate::audit::Actor;
use crate::problem::{APPROVAL_CODE, ApiError, field_error};
use crate::staff::{NodeAction, Refusal};
use crate::state::AppState;
use crate::store::NodeActionRequest;
use serde::Serialize;
use utoipa::ToSchema;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(api::STAFF_ME, get(staff_me))
        .route(api::STAFF_CASE, get(staff_case))
        .route(api::STAFF_CASE_ACTIONS, post(staff_action))
}

/// `GET /api/v1/staff/me`.
#[derive(Serialize, ToSchema)]
pub struct StaffMe {
    pub department: String,
}

/// Longest opinion a department may write.
pub const MAX_OPINION_CHARS: usize = 500;

/// The department behind a `Authorization: Bearer …` staff token.
pub struct StaffDepartment(pub String);

impl FromRequestParts<AppState> for StaffDepartment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128);
        let unauthorised = || {
            ApiError::unauthorized(
                "authorization",
                "需要有效的部门工作人员令牌（Authorization: Bearer …）",
                "A valid department staff token is required (Authorization: Bearer …)",
            )
        };
        let Some(token) = token else {
            return Err(unauthorised());
        };
        match st
            .store()
            .staff_department(crate::staff::token_hash(token))
            .await?
        {
            Some(d) => Ok(StaffDepartment(d)),
            None => {
                tracing::warn!("a staff request with an unknown or revoked token was refused");
                Err(unauthorised())
            }
        }
    }
}

#[utoipa::path(get, path = api::STAFF_ME, tag = "staff", security(("staff_token" = [])),
    responses((status = 200, description = "The token's department", body = StaffMe), (status = 401, body = crate::problem::ProblemDoc)))]
pub(super) async fn staff_me(
    StaffDepartment(department): StaffDepartment,
) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "department": department }))
}

#[utoipa::path(get, path = api::STAFF_CASE, tag = "staff", security(("staff_token" = [])),
    params(("approval_code" = String, Path)),
    responses((status = 200, body = CaseDetails), (status = 401, body = crate::problem::ProblemDoc), (status = 404, description = "No such case, or none the department reviews", body = crate::problem::ProblemDoc)))]
pub(super) async fn staff_case(
    State(st): State<AppState>,
    StaffDepartment(department): StaffDepartment,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CaseDetails>, ApiError> {
    let raw = path_param(code)?;
    let code = ApprovalCode::parse(&raw)
        .map_err(|e| ApiError::bad_code("approval_code", APPROVAL_CODE, &e))?;
    // Only a case the department reviews, and the read is audited.
    let rec = st
        .store()
        .case_for_department(code.as_str().to_string(), department, st.clock().now())
        .await?;
    rec.map(|c| Json(details_view(c, &st))).ok_or_else(|| {
        ApiError::not_found(
            "approval_code",
            "未找到本部门参与审查的该审批码办件，请核对审批码",
            "No case with this approval code is reviewed by your department; please check it",
        )
    })
}

/// What a department does to its node: `{"action": "accept", "opinion": "…"}`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffActionRequest {
    /// accept, refuse, ask_corrections, answer_corrections, start, approve, approve_pending,
    /// reject or withdraw.
    #[schema(
        pattern = r"^(accept|refuse|ask_corrections|answer_corrections|start|approve|approve_pending|reject|withdraw)$"
    )]
    pub action: String,
    /// Required to refuse, ask for corrections or reject.
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub opinion: Option<String>,
}

/// Carries out a department's action (API and command line alike) and maps a refusal.
pub fn refusal_error(r: Refusal) -> ApiError {
    match r {
        Refusal::CaseNotFound => ApiError::not_found(
            "approval_code",
            "未找到该审批码对应的办件，请核对审批码",
            "No case has this approval code; please check it",
        ),
        Refusal::NotReviewing => ApiError::forbidden(
            "department",
            "本部门不参与该办件的审查",
            "Your department does not review this case",
        ),
        Refusal::Illegal { from, action } => ApiError::conflict(
            "action",
            "illegal_transition",
            &format!("该环节当前为“{}”，不能执行“{}”", from.zh(), action.as_str()),
            &format!(
                "The node is in status {} ({}); the action {} is not allowed from there",
                from.code(),
                from.zh(),
                action.as_str()
            ),
        ),
        Refusal::OpinionRequired => ApiError::validation(vec![field_error(
            "opinion",
            "missing",
            "该操作须填写审查意见",
            "This action needs an opinion saying why",
        )]),
    }
}

#[utoipa::path(post, path = api::STAFF_CASE_ACTIONS, tag = "staff", security(("staff_token" = [])),
    params(("approval_code" = String, Path)), request_body = StaffActionRequest,
    responses((status = 200, description = "The case after the action", body = CaseDetails), (status = 401, body = crate::problem::ProblemDoc),
        (status = 403, description = "The department does not review the case", body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc),
        (status = 409, description = "Not a BLZT transition from the node's status", body = crate::problem::ProblemDoc), (status = 422, body = crate::problem::ProblemDoc)))]
pub(super) async fn staff_action(
    State(st): State<AppState>,
    StaffDepartment(department): StaffDepartment,
    code: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<StaffActionRequest>,
) -> Result<Json<CaseDetails>, ApiError> {
    let raw = path_param(code)?;
    let code = ApprovalCode::parse(&raw)
        .map_err(|e| ApiError::bad_code("approval_code", APPROVAL_CODE, &e))?;
    let Some(action) = NodeAction::parse(&req.action) else {
        return Err(ApiError::validation(vec![field_error(
            "action",
            "value",
            "无法识别的操作",
            "Unknown action: accept, refuse, ask_corrections, answer_corrections, start, \
             approve, approve_pending, reject or withdraw",
        )]));
    };
    if let Some(o) = &req.opinion {
        let n = o.chars().count();
        if n > MAX_OPINION_CHARS {
            return Err(ApiError::validation(vec![field_error(
                "opinion",
                "length",
                &format!("审查意见不能超过{MAX_OPINION_CHARS}个字，现在是{n}个字"),
                &format!("The opinion may have at most {MAX_OPINION_CHARS} characters; it has {n}"),
            )]));
        }
        if o.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ApiError::validation(vec![field_error(
                "opinion",
                "character",
                "审查意见含有不能显示的字符",
                "The opinion contains characters that cannot be shown",
            )]));
        }
    }
    let outcome = st
        .store()
        .act_on_node(NodeActionRequest {
            approval_code: code.as_str().to_string(),
            department: department.clone(),
            action,
            opinion: req.opinion,
            actor: Actor::Staff(department),
            today: st.clock().today(),
            now: st.clock().now(),
        })
        .await?;
    match outcome {
        Ok(rec) => {
            tracing::info!(approval_code = %rec.approval_code, action = action.as_str(),
                status = rec.status.code(), "department acted on a case");
            Ok(Json(details_view(rec, &st)))
        }
        Err(r) => Err(refusal_error(r)),
    }
}
