//! The HTTP face of the platform: routes, extractors and the mapping to API types.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use hall_domain::api::{
    self, ApplicationRequest, CaseDetails, CaseDetailsRequest, CaseView, FeeNotice, Item, Node,
    NoticeStatus, Order, OrderRequest, OrderStatus, OrganizationInfo, ProjectInfo,
};
use hall_domain::codes::{
    mask_name, normalize_project_code, validate_credit_code, validate_payment_code,
    validate_project_code, validate_wallet_auth_code,
};
use hall_domain::{ApprovalCode, Blzt};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::application::{self, Extras, Registry};
use crate::audit::Actor;
use crate::payment::{
    CALLBACK_WINDOW_MS, Callback, PayMethod, PaymentRequest, Poll, SIGNATURE_HEADER,
    SimulatedProvider,
};
use crate::problem::{
    APPROVAL_CODE, ApiError, CREDIT_CODE, PAYMENT_CODE, PROJECT_CODE, WALLET_CODE, code_error,
    field_error,
};
use crate::staff::{NodeAction, Refusal};
use crate::state::AppState;
use crate::store::{
    CaseRecord, Created, DetailsOutcome, Idempotent, KeyState, NewOrder, NodeActionRequest,
    NodeRecord, NoticeBlock, NoticeRecord, OrderRecord, Settlement, Withdrawal,
};
use crate::workdays::overdue_days;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;
pub(crate) const MAX_KEY_CHARS: usize = 128;
const MAX_ORDER_ID_CHARS: usize = 64;

/// The platform API as an axum router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route(api::ITEMS, get(items))
        .route("/api/v1/projects/{code}", get(project))
        .route("/api/v1/organizations/{credit_code}", get(organization))
        .route(api::APPLICATIONS, post(create_application))
        .route("/api/v1/applications/withdraw", post(withdraw_application))
        .route("/api/v1/applications/by-key/{key}", get(application_by_key))
        .route("/api/v1/cases/{approval_code}", get(case))
        .route("/api/v1/cases/{approval_code}/details", post(case_details))
        .route(api::CASES_BY_APPLICANT, post(cases_by_applicant))
        .route(
            "/api/v1/cases/by-reference/{reference}",
            get(case_by_reference),
        )
        .merge(crate::fleet_api::routes())
        .route("/api/v1/staff/me", get(staff_me))
        .route("/api/v1/staff/cases/{approval_code}", get(staff_case))
        .route(
            "/api/v1/staff/cases/{approval_code}/actions",
            post(staff_action),
        )
        .route("/api/v1/payments/simulated/callback", post(sim_callback))
        .route("/api/v1/fee-notices/{payment_code}", get(notice))
        .route(
            "/api/v1/fee-notices/{payment_code}/orders",
            post(create_order),
        )
        .route("/api/v1/orders/{order_id}", get(order))
        .route("/api/v1/orders/{order_id}/cancel", post(cancel_order))
        .route("/api/v1/sim/orders/{order_id}/pay", post(sim_pay))
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                ApiError::internal().into_response()
            },
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Extractors

/// A JSON body whose every rejection is a problem+json answer: 415 for another media type,
/// 413 past [`BODY_LIMIT`], 400 for malformed JSON, 422 (with the field path) for JSON of the
/// wrong shape.
pub struct ApiJson<T>(pub T);

fn is_json(parts_ct: Option<&header::HeaderValue>) -> bool {
    let Some(ct) = parts_ct.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// A JSON body not yet decoded (media type and size checked), for handlers that read it twice
/// or verify its signature first.
pub struct JsonBytes(pub Bytes);

impl<S> FromRequest<S> for JsonBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(BODY_LIMIT)
            } else {
                ApiError::bad_request(field_error(
                    "body",
                    "read",
                    "请求内容未能完整接收，请重试",
                    "The request body could not be read; please try again",
                ))
            }
        })?;
        Ok(JsonBytes(bytes))
    }
}

fn malformed_json() -> ApiError {
    ApiError::bad_request(field_error(
        "body",
        "json",
        "请求内容不是有效的 JSON",
        "The request body is not valid JSON",
    ))
}

/// Decodes JSON, naming the field whose value does not fit.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.classify() != serde_json::error::Category::Data {
            return malformed_json();
        }
        let text = inner.to_string();
        let base = if path == "." { String::new() } else { path };
        // serde names a missing field in its message and the path stops at its parent.
        if let Some(name) = text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            let field = if base.is_empty() {
                name.to_string()
            } else {
                format!("{base}.{name}")
            };
            return ApiError::validation(vec![field_error(
                &field,
                "missing",
                &format!("缺少字段“{field}”"),
                &format!("The field {field} is missing"),
            )]);
        }
        let field = if base.is_empty() {
            "body".to_string()
        } else {
            base
        };
        // Kept short and without the position; it goes back only to the sender, never to logs.
        let kind = text
            .split(" at line ")
            .next()
            .and_then(|t| t.split(':').next())
            .unwrap_or("invalid value")
            .trim();
        ApiError::validation(vec![field_error(
            &field,
            "type",
            &format!("字段“{field}”的值不符合要求"),
            &format!("The field {field} has an unexpected value ({kind})"),
        )])
    })?;
    de.end().map_err(|_| malformed_json())?;
    Ok(value)
}

/// The `Idempotency-Key` header, required on applications.
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(api::IDEMPOTENCY_HEADER) else {
            return Err(ApiError::bad_request(field_error(
                api::IDEMPOTENCY_HEADER,
                "missing",
                "缺少 Idempotency-Key 请求头：每次提交须带一个唯一的键，重试时使用同一个键",
                "The Idempotency-Key header is missing: send a unique key with each \
                 submission and the same key when retrying",
            )));
        };
        let key = value.to_str().map(str::trim).unwrap_or_default();
        let valid = !key.is_empty()
            && key.len() <= MAX_KEY_CHARS
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(ApiError::bad_request(field_error(
                api::IDEMPOTENCY_HEADER,
                "invalid",
                &format!("Idempotency-Key 须为1至{MAX_KEY_CHARS}个可见 ASCII 字符"),
                &format!(
                    "The Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
                ),
            )));
        }
        Ok(IdempotencyKey(key.to_string()))
    }
}

pub(crate) fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(v)| v).map_err(|_| {
        ApiError::bad_request(field_error(
            "path",
            "path",
            "请求路径中的参数无法识别",
            "A parameter in the request path cannot be read",
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Catalogue and registries

#[utoipa::path(get, path = "/api/v1/health", tag = "platform",
    responses((status = 200, description = "Serving; the database's schema version", body = crate::openapi::Health)))]
async fn health(State(st): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let store = st.store().clone();
    let version = tokio::task::spawn_blocking(move || store.schema_version())
        .await
        .map_err(|_| ApiError::internal())??;
    Ok(Json(
        serde_json::json!({ "status": "ok", "schema_version": version }),
    ))
}

#[utoipa::path(get, path = "/api/v1/items", tag = "catalogue",
    responses((status = 200, description = "The catalogue in force, by stage then id", body = Vec<Item>)))]
async fn items(State(st): State<AppState>) -> Result<Json<Vec<Item>>, ApiError> {
    let items = st.store().items().await?;
    Ok(Json(items.into_iter().map(|c| c.item).collect()))
}

#[utoipa::path(get, path = "/api/v1/projects/{code}", tag = "registries",
    params(("code" = String, Path, description = "Investment project code, with or without dashes")),
    responses((status = 200, body = ProjectInfo), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
async fn project(
    State(st): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<ProjectInfo>, ApiError> {
    let code = path_param(code)?;
    let code = code.trim();
    validate_project_code(code).map_err(|e| ApiError::bad_code("code", PROJECT_CODE, &e))?;
    st.store()
        .project(normalize_project_code(code))
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(
                "code",
                "未找到该项目代码登记的项目，请核对项目代码",
                "No project is registered under this project code; please check it",
            )
        })
}

#[utoipa::path(get, path = "/api/v1/organizations/{credit_code}", tag = "registries",
    params(("credit_code" = String, Path, description = "Unified social credit code (GB 32100)")),
    responses((status = 200, body = OrganizationInfo), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
async fn organization(
    State(st): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<OrganizationInfo>, ApiError> {
    let code = path_param(code)?.trim().to_ascii_uppercase();
    validate_credit_code(&code).map_err(|e| ApiError::bad_code("credit_code", CREDIT_CODE, &e))?;
    st.store()
        .organization(code)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(
                "credit_code",
                "未找到该统一社会信用代码登记的单位，请核对",
                "No organisation is registered under this credit code; please check it",
            )
        })
}

// ---------------------------------------------------------------------------------------------
// Applications and cases

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[utoipa::path(post, path = "/api/v1/applications", tag = "cases",
    params(("Idempotency-Key" = String, Header, description = "Unique per submission; the same on retries (1-128 visible ASCII)")),
    request_body = crate::openapi::ApplicationBody,
    responses((status = 201, description = "The case (or, for a retried key, the first answer)", body = Created),
        (status = 400, body = crate::problem::ProblemDoc), (status = 409, description = "Key reused for another body, or local reference taken", body = crate::problem::ProblemDoc),
        (status = 413, body = crate::problem::ProblemDoc), (status = 415, body = crate::problem::ProblemDoc), (status = 422, description = "Field errors", body = crate::problem::ProblemDoc)))]
async fn create_application(
    State(st): State<AppState>,
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
    let valid = application::validate(
        &req,
        &extras,
        item.as_ref(),
        catalogue.version,
        &registry,
        today,
    )
    .map_err(ApiError::validation)?;
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
    let actor = Actor::Kiosk(valid.kiosk_id.clone());
    let outcome = st
        .store()
        .create_application(key, hash, actor, move |serial| {
            application::build_case(&valid, serial, today, now, &cal)
        })
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

fn key_withdrawn() -> ApiError {
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
#[utoipa::path(post, path = "/api/v1/applications/withdraw", tag = "cases",
    params(("Idempotency-Key" = String, Header, description = "The key the submission was (or would have been) sent with")),
    responses((status = 200, description = "withdrawn: true when a case had arrived and is now withdrawn (status 2, audited); false when none had arrived, and the key is refused from now on. Repeating the call answers the same.", body = WithdrawAnswer),
        (status = 400, body = crate::problem::ProblemDoc),
        (status = 409, description = "A department already acted on the case (beyond received/accepted): it cannot be withdrawn by a kiosk", body = crate::problem::ProblemDoc)))]
async fn withdraw_application(
    State(st): State<AppState>,
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
            key,
            Actor::Kiosk(None),
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
#[utoipa::path(get, path = "/api/v1/applications/by-key/{key}", tag = "cases",
    params(("key" = String, Path, description = "The Idempotency-Key a submission was sent with")),
    responses((status = 200, description = "The case under the key, if any, and whether the key was withdrawn", body = KeyState),
        (status = 400, body = crate::problem::ProblemDoc)))]
async fn application_by_key(
    State(st): State<AppState>,
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
    Ok(Json(st.store().key_state(key.to_string()).await?))
}

/// A node as shown: lateness counts working days after the due date, for nodes whose time
/// limit still runs (not finished, not waiting for the applicant's corrections).
fn node_view(n: NodeRecord, today: chrono::NaiveDate, st: &AppState) -> Node {
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

fn case_view(c: CaseRecord, st: &AppState) -> CaseView {
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

fn case_answer(c: CaseRecord, st: &AppState) -> CaseAnswer {
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

#[utoipa::path(get, path = "/api/v1/cases/{approval_code}", tag = "cases",
    params(("approval_code" = String, Path, description = "16-digit approval code")),
    responses((status = 200, body = CaseAnswer), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
async fn case(
    State(st): State<AppState>,
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
fn details_view(c: CaseRecord, st: &AppState) -> CaseDetails {
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

/// The kiosk id a request names, when it is a plausible one (it goes into the audit log).
fn kiosk_label(id: Option<&str>) -> Option<String> {
    let id = id?.trim();
    (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| id.to_string())
}

#[utoipa::path(post, path = "/api/v1/cases/{approval_code}/details", tag = "cases",
    params(("approval_code" = String, Path, description = "16-digit approval code")),
    request_body = CaseDetailsRequest,
    responses(
        (status = 200, description = "The ID number is the applicant's: the case with its applicant (masked), project and the departments' opinions", body = CaseDetails),
        (status = 400, body = crate::problem::ProblemDoc),
        (status = 403, description = "The ID number is not the applicant's", body = crate::problem::ProblemDoc),
        (status = 404, body = crate::problem::ProblemDoc),
        (status = 422, description = "The ID number is not a valid one", body = crate::problem::ProblemDoc),
        (status = 429, description = "Too many refused attempts for this case lately", body = crate::problem::ProblemDoc)))]
async fn case_details(
    State(st): State<AppState>,
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
    let digest = crate::store::id_number_sha256(&id_number);
    drop(id_number);
    let actor = Actor::Kiosk(kiosk_label(req.kiosk_id.as_deref()));
    let outcome = st
        .store()
        .case_details(code.as_str().to_string(), digest, actor, st.clock().now())
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
            ))
        }
        DetailsOutcome::NotFound => Err(ApiError::not_found(
            "approval_code",
            "未找到该审批码对应的办件，请核对审批码",
            "No case has this approval code; please check it",
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/cases/by-applicant", tag = "cases",
    request_body = CaseDetailsRequest,
    responses(
        (status = 200, description = "The card holder's own cases (not withdrawn), newest first: status only; open one with its details endpoint", body = Vec<api::CaseSummary>),
        (status = 422, description = "Not an ID number", body = crate::problem::ProblemDoc),
        (status = 429, description = "Too many lists asked by this kiosk lately", body = crate::problem::ProblemDoc)))]
async fn cases_by_applicant(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<CaseDetailsRequest>,
) -> Result<Json<Vec<api::CaseSummary>>, ApiError> {
    let id_number = zeroize::Zeroizing::new(req.id_number);
    hall_domain::codes::validate_id_number(&id_number).map_err(|e| {
        ApiError::validation(vec![code_error("id_number", crate::problem::ID_NUMBER, &e)])
    })?;
    let actor = Actor::Kiosk(kiosk_label(req.kiosk_id.as_deref()));
    match st
        .store()
        .cases_by_applicant(id_number, actor, st.clock().now())
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

#[utoipa::path(get, path = "/api/v1/cases/by-reference/{reference}", tag = "cases",
    params(("reference" = String, Path, description = "The kiosk's local reference of an offline submission")),
    responses((status = 200, body = CaseAnswer), (status = 404, body = crate::problem::ProblemDoc)))]
async fn case_by_reference(
    State(st): State<AppState>,
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

// ---------------------------------------------------------------------------------------------
// Department staff

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

#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", security(("staff_token" = [])),
    responses((status = 200, description = "The token's department", body = crate::openapi::StaffMe), (status = 401, body = crate::problem::ProblemDoc)))]
async fn staff_me(StaffDepartment(department): StaffDepartment) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "department": department }))
}

#[utoipa::path(get, path = "/api/v1/staff/cases/{approval_code}", tag = "staff", security(("staff_token" = [])),
    params(("approval_code" = String, Path)),
    responses((status = 200, body = CaseDetails), (status = 401, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
async fn staff_case(
    State(st): State<AppState>,
    StaffDepartment(_): StaffDepartment,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CaseDetails>, ApiError> {
    let raw = path_param(code)?;
    let code = ApprovalCode::parse(&raw)
        .map_err(|e| ApiError::bad_code("approval_code", APPROVAL_CODE, &e))?;
    let rec = st.store().case(code.as_str().to_string()).await?;
    rec.map(|c| Json(details_view(c, &st))).ok_or_else(|| {
        ApiError::not_found(
            "approval_code",
            "未找到该审批码对应的办件，请核对审批码",
            "No case has this approval code; please check it",
        )
    })
}

/// What a department does to its node: `{"action": "accept", "opinion": "…"}`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffActionRequest {
    /// accept, refuse, ask_corrections, answer_corrections, start, approve, approve_pending,
    /// reject or withdraw.
    pub action: String,
    #[serde(default)]
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

#[utoipa::path(post, path = "/api/v1/staff/cases/{approval_code}/actions", tag = "staff", security(("staff_token" = [])),
    params(("approval_code" = String, Path)), request_body = StaffActionRequest,
    responses((status = 200, description = "The case after the action", body = CaseDetails), (status = 401, body = crate::problem::ProblemDoc),
        (status = 403, description = "The department does not review the case", body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc),
        (status = 409, description = "Not a BLZT transition from the node's status", body = crate::problem::ProblemDoc), (status = 422, body = crate::problem::ProblemDoc)))]
async fn staff_action(
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

// ---------------------------------------------------------------------------------------------
// Fee notices and orders

fn notice_view(n: NoticeRecord) -> FeeNotice {
    FeeNotice {
        payment_code: n.payment_code,
        agency: n.agency,
        approval_code: n.approval_code,
        payer: if n.payer_is_person {
            mask_name(&n.payer)
        } else {
            n.payer
        },
        items: n.lines,
        total_fen: n.total_fen,
        status: n.status,
        receipt_no: n.receipt_no,
        paid_at: n.paid_at,
    }
}

fn order_view(o: OrderRecord) -> Order {
    Order {
        order_id: o.order_id,
        payment_code: o.payment_code,
        status: o.status,
        amount_fen: o.amount_fen,
        qr_payload: o.qr_payload,
        transaction_id: o.transaction_id,
        receipt_no: o.receipt_no,
        paid_at: o.paid_at,
        expires_at: Some(o.expires_at),
        failure_reason: o.failure_reason,
    }
}

fn payment_code_param(code: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let raw = path_param(code)?;
    validate_payment_code(&raw).map_err(|e| ApiError::bad_code("payment_code", PAYMENT_CODE, &e))
}

fn notice_not_found() -> ApiError {
    ApiError::not_found(
        "payment_code",
        "未找到该缴款码对应的缴款通知，请核对缴款码",
        "No fee notice has this payment code; please check it",
    )
}

fn already_paid() -> ApiError {
    ApiError::conflict(
        "payment_code",
        "already_paid",
        "该缴款通知已缴清，无需重复缴费",
        "This fee notice has already been paid; there is nothing more to pay",
    )
}

fn notice_cancelled() -> ApiError {
    ApiError::conflict(
        "payment_code",
        "cancelled",
        "该缴款通知已撤销，请咨询窗口工作人员",
        "This fee notice has been cancelled; please ask at the counter",
    )
}

#[utoipa::path(get, path = "/api/v1/fee-notices/{payment_code}", tag = "payments",
    params(("payment_code" = String, Path, description = "20-digit payment code")),
    responses((status = 200, body = FeeNotice), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
async fn notice(
    State(st): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<FeeNotice>, ApiError> {
    let code = payment_code_param(code)?;
    st.store()
        .notice(code)
        .await?
        .map(|n| Json(notice_view(n)))
        .ok_or_else(notice_not_found)
}

#[utoipa::path(post, path = "/api/v1/fee-notices/{payment_code}/orders", tag = "payments",
    params(("payment_code" = String, Path)), request_body = OrderRequest,
    responses((status = 201, body = Order), (status = 404, body = crate::problem::ProblemDoc), (status = 409, description = "Already paid or cancelled", body = crate::problem::ProblemDoc), (status = 422, body = crate::problem::ProblemDoc)))]
async fn create_order(
    State(st): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<OrderRequest>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let code = payment_code_param(code)?;
    let (method, auth_code) = match &req {
        OrderRequest::Qr => (PayMethod::Qr, None),
        OrderRequest::Scan { auth_code } => {
            let auth = auth_code.trim();
            validate_wallet_auth_code(auth).map_err(|e| {
                let mut fe = code_error("auth_code", WALLET_CODE, &e);
                if e == hall_domain::CodeError::BadShape {
                    fe.message = "付款码无法识别：请出示微信或支付宝的付款码".to_string();
                    fe.message_en =
                        "The payment code is not recognised: please show a WeChat Pay or Alipay payment code"
                            .to_string();
                }
                ApiError::validation(vec![fe])
            })?;
            (PayMethod::Scan, Some(auth))
        }
    };
    let notice = st
        .store()
        .notice(code.clone())
        .await?
        .ok_or_else(notice_not_found)?;
    match notice.status {
        NoticeStatus::Unpaid => {}
        NoticeStatus::Paid => return Err(already_paid()),
        NoticeStatus::Cancelled => return Err(notice_cancelled()),
    }
    // A new order means the payer chose anew: the notice's other pending orders are withdrawn
    // first, unless one of them was paid meanwhile.
    for pending in st.store().pending_orders(code.clone()).await? {
        let rec = withdraw(&st, pending).await?;
        if rec.status == OrderStatus::Paid {
            return Err(already_paid());
        }
    }
    let order_id = uuid::Uuid::new_v4().simple().to_string();
    let started = st
        .provider()
        .start(PaymentRequest {
            order_id: &order_id,
            amount_fen: notice.total_fen,
            method,
            auth_code,
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the payment service refused a new order");
            ApiError::unavailable(
                "支付服务暂时不可用，请稍后再试",
                "The payment service is unavailable; please try again later",
            )
        })?;
    let ttl = st.order_ttl();
    let created_ms = st.clock().millis();
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let created_at = st.clock().now();
    let expires_at = created_at
        .checked_add_signed(chrono::TimeDelta::milliseconds(ttl_ms))
        .unwrap_or(created_at);
    let (status, failure_reason) = match started.outcome {
        Poll::Failed { reason } => (OrderStatus::Failed, Some(reason)),
        _ => (OrderStatus::Pending, None),
    };
    let new = NewOrder {
        order_id,
        payment_code: code,
        method,
        status,
        amount_fen: notice.total_fen,
        qr_payload: started.qr_payload,
        provider: st.provider().name().to_string(),
        provider_state: started.state,
        created_ms,
        expires_ms: created_ms.saturating_add(ttl_ms),
        created_at,
        expires_at,
        failure_reason,
    };
    let rec = match st.store().create_order(new).await? {
        Ok(rec) => rec,
        Err(NoticeBlock::NotFound) => return Err(notice_not_found()),
        Err(NoticeBlock::AlreadyPaid) => return Err(already_paid()),
        Err(NoticeBlock::Cancelled) => return Err(notice_cancelled()),
    };
    tracing::info!(order_id = %rec.order_id, method = method.as_str(),
        amount_fen = rec.amount_fen, status = ?rec.status, "payment order created");
    Ok((StatusCode::CREATED, Json(order_view(rec))))
}

/// How urgently the payment service is asked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// A kiosk's poll: at the service's rhythm (a recent answer stands).
    Routine,
    /// Before the order is withdrawn or replaced: always.
    Now,
}

/// Brings a pending order up to date with its provider: paid, failed, or expired.
async fn refresh(st: &AppState, order: OrderRecord, ask: Ask) -> Result<OrderRecord, ApiError> {
    if order.status != OrderStatus::Pending || order.provider != st.provider().name() {
        return Ok(order);
    }
    let now = st.clock().millis();
    // A scanned payment code waits for its payer a short while only: then it is reversed.
    let scanned = order.method == PayMethod::Scan;
    let confirm_ms = i64::try_from(st.payer_confirm_limit().as_millis()).unwrap_or(i64::MAX);
    let expired =
        now >= order.expires_ms || (scanned && now >= order.created_ms.saturating_add(confirm_ms));
    // The service is asked at its own rhythm, whatever the kiosk's; at the end, once more.
    let due = st.wallet_query_due(&order.order_id, now);
    if ask == Ask::Routine && !expired && !due {
        return Ok(order);
    }
    let settlement = match st.provider().poll(&order, now).await {
        Ok(Poll::Paid { transaction_id }) => Some(Settlement::Paid {
            transaction_id,
            paid_at: st.clock().now(),
            receipt_prefix: format!("4206{}", st.clock().today().format("%Y")),
        }),
        Ok(Poll::Failed { reason }) => Some(Settlement::Failed { reason }),
        Ok(Poll::Pending) if expired => {
            if let Err(e) = st.provider().cancel(&order).await {
                tracing::warn!(order_id = %order.order_id, error = %e,
                    "the payment service did not withdraw an expired order");
            }
            Some(Settlement::Expired)
        }
        Ok(Poll::Pending) => None,
        Err(e) => {
            tracing::warn!(order_id = %order.order_id, error = %e, "the payment service did not answer a query");
            None
        }
    };
    let Some(settlement) = settlement else {
        return Ok(order);
    };
    st.forget_query(&order.order_id);
    let id = order.order_id.clone();
    let actor = match settlement {
        Settlement::Expired => Actor::System,
        _ => Actor::Provider(order.provider.clone()),
    };
    let rec = st
        .store()
        .settle_order(id, settlement, actor, st.clock().now())
        .await?
        .ok_or_else(ApiError::internal)?;
    if rec.status == OrderStatus::Paid {
        tracing::info!(order_id = %rec.order_id, amount_fen = rec.amount_fen, "payment received");
    }
    Ok(rec)
}

fn order_not_found() -> ApiError {
    ApiError::not_found(
        "order_id",
        "未找到该支付订单",
        "There is no payment order with this id",
    )
}

async fn load_order(
    st: &AppState,
    id: Result<Path<String>, PathRejection>,
    ask: Ask,
) -> Result<OrderRecord, ApiError> {
    let id = path_param(id)?;
    if id.is_empty() || id.chars().count() > MAX_ORDER_ID_CHARS {
        return Err(order_not_found());
    }
    let rec = st.store().order(id).await?.ok_or_else(order_not_found)?;
    refresh(st, rec, ask).await
}

#[utoipa::path(get, path = "/api/v1/orders/{order_id}", tag = "payments",
    params(("order_id" = String, Path)),
    responses((status = 200, description = "The order, brought up to date with the provider", body = Order), (status = 404, body = crate::problem::ProblemDoc)))]
async fn order(
    State(st): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(order_view(load_order(&st, id, Ask::Routine).await?)))
}

/// Withdraws a pending order at the provider and records it cancelled. An order that turns out
/// to be paid (or otherwise final) is returned as it is.
async fn withdraw(st: &AppState, order: OrderRecord) -> Result<OrderRecord, ApiError> {
    let rec = refresh(st, order, Ask::Now).await?;
    if rec.status != OrderStatus::Pending {
        return Ok(rec);
    }
    if let Err(e) = st.provider().cancel(&rec).await {
        tracing::warn!(order_id = %rec.order_id, error = %e,
            "the payment service did not withdraw an order");
    }
    st.store()
        .settle_order(
            rec.order_id.clone(),
            Settlement::Cancelled,
            Actor::Kiosk(None),
            st.clock().now(),
        )
        .await?
        .ok_or_else(ApiError::internal)
}

#[utoipa::path(post, path = "/api/v1/orders/{order_id}/cancel", tag = "payments",
    params(("order_id" = String, Path)),
    responses((status = 200, body = Order), (status = 404, body = crate::problem::ProblemDoc), (status = 409, description = "Paid", body = crate::problem::ProblemDoc)))]
async fn cancel_order(
    State(st): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let rec = load_order(&st, id, Ask::Now).await?;
    let rec = withdraw(&st, rec).await?;
    if rec.status == OrderStatus::Paid {
        return Err(ApiError::conflict(
            "order_id",
            "already_paid",
            "该订单已支付成功，不能取消",
            "This order has been paid and cannot be cancelled",
        ));
    }
    Ok(Json(order_view(rec)))
}

/// The demo "phone": the payer confirms a QR order.
#[utoipa::path(post, path = "/api/v1/sim/orders/{order_id}/pay", tag = "payments",
    params(("order_id" = String, Path)),
    responses((status = 200, description = "The demo phone confirmed; paid through a signed callback", body = Order), (status = 409, body = crate::problem::ProblemDoc)))]
async fn sim_pay(
    State(st): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let rec = load_order(&st, id, Ask::Routine).await?;
    if rec.provider != SimulatedProvider::NAME || rec.method != PayMethod::Qr {
        return Err(ApiError::conflict(
            "order_id",
            "not_qr",
            "只有模拟支付的二维码订单可以在模拟手机上确认",
            "Only QR orders of the simulated provider can be confirmed on the demo phone",
        ));
    }
    match rec.status {
        OrderStatus::Paid => return Ok(Json(order_view(rec))),
        OrderStatus::Pending => {}
        _ => {
            return Err(ApiError::conflict(
                "order_id",
                "not_pending",
                "该订单已取消、失败或过期，不能再支付",
                "This order was cancelled, failed or expired and can no longer be paid",
            ));
        }
    }
    // The payer confirmed on the phone: the service calls the platform back, signed.
    let (body, signature) = st.sim_provider().paid_callback(&rec, st.clock().millis());
    let rec = accept_callback(&st, &body, Some(&signature)).await?;
    Ok(Json(order_view(rec)))
}

/// A payment service's callback: verified (signature, freshness, amount), then the order is
/// settled. Settling is idempotent, so a repeated callback changes nothing.
async fn accept_callback(
    st: &AppState,
    body: &[u8],
    signature: Option<&str>,
) -> Result<OrderRecord, ApiError> {
    let unauthorised = || {
        ApiError::unauthorized(
            "signature",
            "回调签名无效",
            "The callback's signature is missing or does not match",
        )
    };
    let Some(signature) = signature else {
        return Err(unauthorised());
    };
    if !st.callback_key().verify(body, signature) {
        tracing::warn!("a payment callback with a bad signature was refused");
        return Err(unauthorised());
    }
    let cb: Callback = decode_json(body)?;
    let now_ms = st.clock().millis();
    if (now_ms - cb.sent_ms).abs() > CALLBACK_WINDOW_MS {
        return Err(ApiError::unauthorized(
            "sent_ms",
            "回调已过期",
            "The callback is too old (or from the future) to be accepted",
        ));
    }
    if cb.order_id.is_empty() || cb.order_id.chars().count() > MAX_ORDER_ID_CHARS {
        return Err(order_not_found());
    }
    let order = st
        .store()
        .order(cb.order_id.clone())
        .await?
        .ok_or_else(order_not_found)?;
    if order.provider != SimulatedProvider::NAME {
        return Err(ApiError::conflict(
            "order_id",
            "wrong_provider",
            "该订单不属于此支付服务",
            "This order belongs to another payment service",
        ));
    }
    if cb.amount_fen != order.amount_fen {
        tracing::warn!(order_id = %order.order_id, "a payment callback named another amount");
        return Err(ApiError::conflict(
            "amount_fen",
            "amount_mismatch",
            "回调金额与订单金额不符",
            "The callback's amount differs from the order's",
        ));
    }
    let settlement = match cb.outcome.as_str() {
        "paid" => Settlement::Paid {
            transaction_id: cb
                .transaction_id
                .filter(|t| !t.is_empty() && t.len() <= 64)
                .ok_or_else(|| {
                    ApiError::validation(vec![field_error(
                        "transaction_id",
                        "missing",
                        "缺少交易号",
                        "The transaction id is missing",
                    )])
                })?,
            paid_at: st.clock().now(),
            receipt_prefix: format!("4206{}", st.clock().today().format("%Y")),
        },
        "failed" => Settlement::Failed {
            reason: cb
                .reason
                .map(|r| r.chars().take(100).collect())
                .unwrap_or_else(|| "支付未成功".to_string()),
        },
        _ => {
            return Err(ApiError::validation(vec![field_error(
                "outcome",
                "value",
                "回调结果只能是 paid 或 failed",
                "outcome must be paid or failed",
            )]));
        }
    };
    let rec = st
        .store()
        .settle_order(
            order.order_id,
            settlement,
            Actor::Provider(SimulatedProvider::NAME.to_string()),
            st.clock().now(),
        )
        .await?
        .ok_or_else(order_not_found)?;
    if rec.status == OrderStatus::Paid {
        tracing::info!(order_id = %rec.order_id, amount_fen = rec.amount_fen, "payment received");
    }
    Ok(rec)
}

#[utoipa::path(post, path = "/api/v1/payments/simulated/callback", tag = "payments",
    params(("X-Hall-Signature" = String, Header, description = "sha256= and the hex HMAC-SHA256 of the body")),
    request_body = Callback,
    responses((status = 200, description = "The order, settled", body = Order), (status = 401, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc), (status = 409, body = crate::problem::ProblemDoc)))]
async fn sim_callback(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Order>, ApiError> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let rec = accept_callback(&st, &body, signature).await?;
    Ok(Json(order_view(rec)))
}
