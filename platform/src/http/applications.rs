//! Applications: submitting under an idempotency key, withdrawing what the applicant never
//! saw confirmed, and what a key holds.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use hall_domain::api::{self, ApplicationRequest};
use sha2::{Digest, Sha256};

use super::auth::KioskAuth;
use super::extract::{IdempotencyKey, JsonBytes, MAX_KEY_CHARS, decode_json, path_param};
use crate::application::{self, Extras, Registry};
use crate::problem::{ApiError, field_error};
use crate::state::AppState;
use crate::store::{Created, Idempotent, KeyState, Withdrawal};
use serde::Serialize;
use utoipa::ToSchema;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(api::APPLICATIONS, post(create_application))
        .route(api::APPLICATIONS_WITHDRAW, post(withdraw_application))
        .route(api::APPLICATION_BY_KEY, get(application_by_key))
}

/// An application's body: the request and the optional fields beside it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "item_id": "project-filing",
    "applicant": {"name": "张建国", "id_number": "11010519491231002X", "phone": "13800138000"},
    "organization": {"name": "襄阳市示例建设有限公司", "credit_code": "91350100M000100Y43"},
    "project": {"code": "2026-420600-47-01-000123", "name": "襄阳市示例产业园一期"},
    "materials": [
        {"material_id": "filing-form", "status": "provided", "pages": 2},
        {"material_id": "business-licence", "status": "provided", "pages": 1},
        {"material_id": "compliance-pledge", "status": "committed", "pages": 0}
    ],
    "identified_by": "typed"
}))]
pub struct ApplicationBody {
    #[serde(flatten)]
    pub request: ApplicationRequest,
    #[serde(flatten)]
    pub extras: Extras,
}

/// Idempotency keys are the kiosk's own: stored as `kiosk_id:key` (a kiosk id holds no `:`), so
/// one kiosk can neither replay, withdraw nor read another's submission by guessing its key.
fn scoped_key(kiosk: &KioskAuth, key: &str) -> String {
    format!("{}:{key}", kiosk.0)
}

/// The key as the kiosk sent it.
fn unscoped_key(kiosk: &KioskAuth, stored: &str) -> String {
    stored
        .strip_prefix(kiosk.0.as_str())
        .and_then(|k| k.strip_prefix(':'))
        .unwrap_or(stored)
        .to_string()
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[utoipa::path(post, path = api::APPLICATIONS, tag = "cases", security(("kiosk_credential" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per submission; the same on retries (1-128 visible ASCII)")),
    request_body = ApplicationBody,
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 201, description = "The case (or, for a retried key, the first answer)", body = Created),
        (status = 400, body = crate::problem::ProblemDoc), (status = 409, description = "Key reused for another body, or local reference taken", body = crate::problem::ProblemDoc),
        (status = 413, body = crate::problem::ProblemDoc), (status = 415, body = crate::problem::ProblemDoc), (status = 422, description = "Field errors", body = crate::problem::ProblemDoc)))]
pub(super) async fn create_application(
    State(st): State<AppState>,
    kiosk: KioskAuth,
    IdempotencyKey(key): IdempotencyKey,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let req: ApplicationRequest = decode_json(&body)?;
    let extras: Extras = decode_json(&body)?;
    let (catalogue, project_name, organization_name) = st
        .store()
        .intake(
            application::project_code_of(&req),
            application::credit_code_of(&req),
        )
        .await?;
    let item = if req.item_id.chars().count() <= application::MAX_ID_CHARS {
        catalogue.item(&req.item_id).cloned()
    } else {
        None
    };
    let registry = Registry {
        project_name,
        organization_name,
    };
    let today = st.clock().today();
    let mut valid = application::validate(
        &req,
        &extras,
        item.as_ref(),
        catalogue.version,
        &registry,
        today,
    )
    .map_err(ApiError::validation)?;
    valid.kiosk_id = Some(kiosk.0.clone());
    // The request as parsed, re-serialised: the same content hashes the same whatever its
    // spacing or field order.
    let mut canonical = serde_json::to_vec(&req).map_err(|e| {
        tracing::error!(error = %e, "a request could not be serialised");
        ApiError::internal()
    })?;
    if extras != Extras::default() {
        canonical.push(b'\n');
        canonical.extend(serde_json::to_vec(&extras).map_err(|_| ApiError::internal())?);
    }
    let hash = sha256_hex(&canonical);
    let now = st.clock().now();
    let cal = st.calendar_arc();
    let outcome = st
        .store()
        .create_application(
            scoped_key(&kiosk, &key),
            hash,
            kiosk.actor(),
            move |serial| application::build_case(&valid, serial, today, now, &cal),
        )
        .await?;
    let provisional = |c: &mut Created| {
        let start = c.created.submitted_at.date();
        let last = c
            .created
            .pending_materials
            .iter()
            .map(|m| m.due_date)
            .fold(c.created.due_date, std::cmp::max);
        c.due_date_provisional = st.coverage().provisional(start, last);
    };
    match outcome {
        Idempotent::Created(mut c) => {
            provisional(&mut c);
            tracing::info!(approval_code = %c.created.approval_code, item = %c.created.item_id,
                status = c.created.status.code(), "application accepted");
            Ok((StatusCode::CREATED, Json(c)))
        }
        Idempotent::Replayed(mut c) => {
            provisional(&mut c);
            tracing::info!(approval_code = %c.created.approval_code, "application replayed for a retried key");
            Ok((StatusCode::CREATED, Json(c)))
        }
        Idempotent::ReferenceTaken => Err(ApiError::conflict(
            "local_reference",
            "reference_taken",
            "这个本机受理编号已用于另一份申请",
            "This local reference was already used for another application",
        )),
        Idempotent::Withdrawn => Err(key_withdrawn()),
        Idempotent::KeyReused => Err(ApiError::conflict(
            api::IDEMPOTENCY_HEADER,
            "idempotency_key_reused",
            "这个 Idempotency-Key 已用于另一份不同的申请，请为新申请使用新的键",
            "This Idempotency-Key was already used for a different application; use a new key",
        )),
    }
}

pub(super) fn key_withdrawn() -> ApiError {
    ApiError::conflict(
        api::IDEMPOTENCY_HEADER,
        "idempotency_key_withdrawn",
        "这份申请已被自助终端撤回（终端未向申请人确认受理），不予受理；请重新提交",
        "The kiosk withdrew this submission (it never confirmed it to the applicant); \
         nothing was created. Submit again with a new key",
    )
}

/// The answer to a withdrawal.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct WithdrawAnswer {
    /// A case had arrived under the key and is now withdrawn (BLZT 2).
    pub withdrawn: bool,
    /// The withdrawn case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
}

/// A kiosk withdraws a submission it never confirmed to the applicant (it stopped between
/// sending and showing "done"). The body is empty or `{}`.
#[utoipa::path(post, path = api::APPLICATIONS_WITHDRAW, tag = "cases", security(("kiosk_credential" = [])),
    params(("Idempotency-Key" = String, Header, description = "The key the submission was (or would have been) sent with")),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, description = "withdrawn: true when a case had arrived and is now withdrawn (status 2, audited); false when none had arrived, and the key is refused from now on. Repeating the call answers the same.", body = WithdrawAnswer),
        (status = 400, body = crate::problem::ProblemDoc),
        (status = 409, description = "A department already acted on the case (beyond received/accepted): it cannot be withdrawn by a kiosk", body = crate::problem::ProblemDoc)))]
pub(super) async fn withdraw_application(
    State(st): State<AppState>,
    kiosk: KioskAuth,
    IdempotencyKey(key): IdempotencyKey,
    body: Bytes,
) -> Result<Json<WithdrawAnswer>, ApiError> {
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v: serde_json::Value = decode_json(&body)?;
        if !v.as_object().is_some_and(serde_json::Map::is_empty) {
            return Err(ApiError::validation(vec![field_error(
                "body",
                "unexpected",
                "撤回请求不需要请求内容（可为空或 {}）",
                "A withdrawal takes no body (empty or {})",
            )]));
        }
    }
    let outcome = st
        .store()
        .withdraw_key(
            scoped_key(&kiosk, &key),
            kiosk.actor(),
            st.clock().today(),
            st.clock().now(),
        )
        .await?;
    match outcome {
        Withdrawal::Withdrawn { approval_code } => {
            tracing::info!(%approval_code, "a submission never confirmed to its applicant was withdrawn");
            Ok(Json(WithdrawAnswer {
                withdrawn: true,
                approval_code: Some(approval_code),
            }))
        }
        Withdrawal::NoCase => {
            tracing::info!("a submission was withdrawn before it arrived; its key is refused");
            Ok(Json(WithdrawAnswer {
                withdrawn: false,
                approval_code: None,
            }))
        }
        Withdrawal::Refused {
            approval_code,
            status,
        } => {
            tracing::warn!(%approval_code, status = status.code(),
                "a kiosk asked to withdraw a case that a department already acted on");
            Err(ApiError::conflict(
                "approval_code",
                "case_in_progress",
                &format!(
                    "办件{approval_code}已由部门办理（{}），自助终端不能撤回，请到窗口办理",
                    status.zh()
                ),
                &format!(
                    "Case {approval_code} is already being handled (status {}); a kiosk cannot \
                     withdraw it. Ask at the counter",
                    status.code()
                ),
            ))
        }
    }
}

/// What the platform holds under an idempotency key (the kiosk's checks and tests).
#[utoipa::path(get, path = api::APPLICATION_BY_KEY, tag = "cases", security(("kiosk_credential" = [])),
    params(("key" = String, Path, description = "The Idempotency-Key a submission was sent with")),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, description = "The case under the key, if any, and whether the key was withdrawn", body = KeyState),
        (status = 400, body = crate::problem::ProblemDoc)))]
pub(super) async fn application_by_key(
    State(st): State<AppState>,
    kiosk: KioskAuth,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<KeyState>, ApiError> {
    let key = path_param(key)?;
    let key = key.trim();
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(field_error(
            "key",
            "invalid",
            &format!("Idempotency-Key 须为1至{MAX_KEY_CHARS}个可见 ASCII 字符"),
            &format!("The Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
        )));
    }
    let mut state = st.store().key_state(scoped_key(&kiosk, key)).await?;
    state.idempotency_key = unscoped_key(&kiosk, &state.idempotency_key);
    if let Some(c) = state.case.as_mut() {
        c.idempotency_key = unscoped_key(&kiosk, &c.idempotency_key);
    }
    Ok(Json(state))
}
