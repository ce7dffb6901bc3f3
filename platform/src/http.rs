//! The HTTP face of the platform: routes, extractors and the mapping to API types.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use hall_domain::api::{
    self, ApplicationCreated, ApplicationRequest, CaseView, FeeNotice, Item, Node, NoticeStatus,
    Order, OrderRequest, OrderStatus, OrganizationInfo, ProjectInfo,
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

use crate::AppState;
use crate::application::{self, Registry};
use crate::payment::{PayMethod, PaymentRequest, Poll, SimulatedProvider};
use crate::problem::{
    APPROVAL_CODE, ApiError, CREDIT_CODE, PAYMENT_CODE, PROJECT_CODE, WALLET_CODE, code_error,
    field_error,
};
use crate::store::{
    CaseRecord, Idempotent, NewOrder, NodeRecord, NoticeBlock, NoticeRecord, OrderRecord,
    Settlement,
};
use crate::workdays::overdue_days;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;
const MAX_KEY_CHARS: usize = 128;
const MAX_ORDER_ID_CHARS: usize = 64;

/// The platform API as an axum router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route(api::ITEMS, get(items))
        .route("/api/v1/projects/{code}", get(project))
        .route("/api/v1/organizations/{credit_code}", get(organization))
        .route(api::APPLICATIONS, post(create_application))
        .route("/api/v1/cases/{approval_code}", get(case))
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
        decode_json(&bytes).map(ApiJson)
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

fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
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

async fn health(State(st): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let store = st.store().clone();
    let version = tokio::task::spawn_blocking(move || store.schema_version())
        .await
        .map_err(|_| ApiError::internal())??;
    Ok(Json(
        serde_json::json!({ "status": "ok", "schema_version": version }),
    ))
}

async fn items(State(st): State<AppState>) -> Result<Json<Vec<Item>>, ApiError> {
    let items = st.store().items().await?;
    Ok(Json(items.into_iter().map(|c| c.item).collect()))
}

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

async fn create_application(
    State(st): State<AppState>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<ApplicationRequest>,
) -> Result<(StatusCode, Json<ApplicationCreated>), ApiError> {
    let item = if req.item_id.chars().count() <= application::MAX_ID_CHARS {
        st.store().item(req.item_id.clone()).await?
    } else {
        None
    };
    let mut registry = Registry::default();
    if let Some(code) = application::project_code_of(&req) {
        registry.project_name = st.store().project(code).await?.map(|p| p.name);
    }
    if let Some(code) = application::credit_code_of(&req) {
        registry.organization_name = st.store().organization(code).await?.map(|o| o.name);
    }
    let valid =
        application::validate(&req, item.as_ref(), &registry).map_err(ApiError::validation)?;
    // The request as parsed, re-serialised: the same content hashes the same whatever its
    // spacing or field order.
    let canonical = serde_json::to_vec(&req).map_err(|e| {
        tracing::error!(error = %e, "a request could not be serialised");
        ApiError::internal()
    })?;
    let hash = sha256_hex(&canonical);
    let today = st.clock().today();
    let now = st.clock().now();
    let cal = st.calendar_arc();
    let outcome = st
        .store()
        .create_application(key, hash, move |serial| {
            application::build_case(&valid, serial, today, now, &cal)
        })
        .await?;
    match outcome {
        Idempotent::Created(c) => {
            tracing::info!(approval_code = %c.approval_code, item = %c.item_id,
                status = c.status.code(), "application accepted");
            Ok((StatusCode::CREATED, Json(c)))
        }
        Idempotent::Replayed(c) => {
            tracing::info!(approval_code = %c.approval_code, "application replayed for a retried key");
            Ok((StatusCode::CREATED, Json(c)))
        }
        Idempotent::KeyReused => Err(ApiError::conflict(
            api::IDEMPOTENCY_HEADER,
            "idempotency_key_reused",
            "这个 Idempotency-Key 已用于另一份不同的申请，请为新申请使用新的键",
            "This Idempotency-Key was already used for a different application; use a new key",
        )),
    }
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
        opinion: n.opinion,
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
        applicant: mask_name(&c.applicant_name),
        project_name: c.project_name,
        project_code: c.project_code,
        nodes: c
            .nodes
            .into_iter()
            .map(|n| node_view(n, today, st))
            .collect(),
        fee_notices: c.fee_notices,
    }
}

async fn case(
    State(st): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CaseView>, ApiError> {
    let raw = path_param(code)?;
    let code = ApprovalCode::parse(&raw)
        .map_err(|e| ApiError::bad_code("approval_code", APPROVAL_CODE, &e))?;
    let rec = st.store().case(code.as_str().to_string()).await?;
    rec.map(|c| Json(case_view(c, &st))).ok_or_else(|| {
        ApiError::not_found(
            "approval_code",
            "未找到该审批码对应的办件，请核对审批码",
            "No case has this approval code; please check it",
        )
    })
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

/// Brings a pending order up to date with its provider: paid, failed, or expired.
async fn refresh(st: &AppState, order: OrderRecord) -> Result<OrderRecord, ApiError> {
    if order.status != OrderStatus::Pending || order.provider != st.provider().name() {
        return Ok(order);
    }
    let now = st.clock().millis();
    let expired = now >= order.expires_ms;
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
    let id = order.order_id.clone();
    let rec = st
        .store()
        .settle_order(id, settlement)
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
) -> Result<OrderRecord, ApiError> {
    let id = path_param(id)?;
    if id.is_empty() || id.chars().count() > MAX_ORDER_ID_CHARS {
        return Err(order_not_found());
    }
    let rec = st.store().order(id).await?.ok_or_else(order_not_found)?;
    refresh(st, rec).await
}

async fn order(
    State(st): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(order_view(load_order(&st, id).await?)))
}

/// Withdraws a pending order at the provider and records it cancelled. An order that turns out
/// to be paid (or otherwise final) is returned as it is.
async fn withdraw(st: &AppState, order: OrderRecord) -> Result<OrderRecord, ApiError> {
    let rec = refresh(st, order).await?;
    if rec.status != OrderStatus::Pending {
        return Ok(rec);
    }
    if let Err(e) = st.provider().cancel(&rec).await {
        tracing::warn!(order_id = %rec.order_id, error = %e,
            "the payment service did not withdraw an order");
    }
    st.store()
        .settle_order(rec.order_id.clone(), Settlement::Cancelled)
        .await?
        .ok_or_else(ApiError::internal)
}

async fn cancel_order(
    State(st): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let rec = load_order(&st, id).await?;
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
async fn sim_pay(
    State(st): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let rec = load_order(&st, id).await?;
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
    st.store()
        .set_provider_state(
            rec.order_id.clone(),
            SimulatedProvider::QR_CONFIRMED.to_string(),
        )
        .await?;
    let rec = st
        .store()
        .order(rec.order_id)
        .await?
        .ok_or_else(order_not_found)?;
    Ok(Json(order_view(refresh(&st, rec).await?)))
}
