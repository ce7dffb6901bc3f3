//! Fee notices and payment orders: creating, following, cancelling and settling an order, and
//! the simulated provider's payer and callbacks.

use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use hall_domain::api::{self, FeeNotice, NoticeStatus, Order, OrderRequest, OrderStatus};
use hall_domain::codes::{mask_name, validate_payment_code, validate_wallet_auth_code};

use super::auth::KioskAuth;
use super::extract::{ApiJson, JsonBytes, decode_json, path_param};
use crate::audit::Actor;
use crate::payment::{
    CALLBACK_WINDOW_MS, Callback, PayMethod, PaymentRequest, Poll, SIGNATURE_HEADER,
    SimulatedProvider,
};
use crate::problem::{ApiError, PAYMENT_CODE, WALLET_CODE, code_error, field_error};
use crate::state::AppState;
use crate::store::{NewOrder, NoticeBlock, NoticeRecord, OrderRecord, Settlement};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(api::FEE_NOTICE, get(notice))
        .route(api::FEE_NOTICE_ORDERS, post(create_order))
        .route(api::ORDER, get(order))
        .route(api::ORDER_CANCEL, post(cancel_order))
        .route(api::SIM_ORDER_PAY, post(sim_pay))
        .route(api::SIM_CALLBACK, post(sim_callback))
}

pub(super) const MAX_ORDER_ID_CHARS: usize = 64;

/// The simulated provider's routes outside the demo hall: as if they did not exist.
fn demo_only() -> ApiError {
    ApiError::not_found("path", "没有这个地址", "No such path")
}

pub(super) fn notice_view(n: NoticeRecord) -> FeeNotice {
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

pub(super) fn order_view(o: OrderRecord) -> Order {
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
        cancelling: o.status == OrderStatus::Pending && o.cancel_wanted_ms.is_some(),
    }
}

/// When a pending order may be withdrawn at the earliest (ms since the epoch): a scanned payment
/// code is never reversed within 15 s of its debit attempt (opening the order); a QR order at once.
pub(super) fn withdrawable_from(o: &OrderRecord) -> i64 {
    match o.method {
        PayMethod::Scan => {
            let hold = i64::try_from(crate::state::MIN_PAYER_CONFIRM.as_millis()).unwrap_or(15_000);
            o.created_ms.saturating_add(hold)
        }
        PayMethod::Qr => i64::MIN,
    }
}

fn another_kiosk_is_paying() -> ApiError {
    ApiError::conflict(
        "payment_code",
        "paying_elsewhere",
        "该缴款通知正在另一台自助终端上缴费，请稍后再试",
        "This fee notice is being paid at another kiosk; please try again later",
    )
}

fn previous_payment_being_reversed(wait_ms: i64) -> ApiError {
    ApiError::conflict(
        "payment_code",
        "reversal_pending",
        "上一笔扫码支付正在撤销，请稍候再试",
        "The previous scanned payment is being cancelled; please try again shortly",
    )
    .retry_after(std::time::Duration::from_millis(
        u64::try_from(wait_ms).unwrap_or(1000),
    ))
}

pub(super) fn payment_code_param(
    code: Result<Path<String>, PathRejection>,
) -> Result<String, ApiError> {
    let raw = path_param(code)?;
    validate_payment_code(&raw).map_err(|e| ApiError::bad_code("payment_code", PAYMENT_CODE, &e))
}

pub(super) fn notice_not_found() -> ApiError {
    ApiError::not_found(
        "payment_code",
        "未找到该缴款码对应的缴款通知，请核对缴款码",
        "No fee notice has this payment code; please check it",
    )
}

pub(super) fn already_paid() -> ApiError {
    ApiError::conflict(
        "payment_code",
        "already_paid",
        "该缴款通知已缴清，无需重复缴费",
        "This fee notice has already been paid; there is nothing more to pay",
    )
}

pub(super) fn notice_cancelled() -> ApiError {
    ApiError::conflict(
        "payment_code",
        "cancelled",
        "该缴款通知已撤销，请咨询窗口工作人员",
        "This fee notice has been cancelled; please ask at the counter",
    )
}

#[utoipa::path(get, path = api::FEE_NOTICE, tag = "payments", security(("kiosk_credential" = [])),
    params(("payment_code" = String, Path, description = "20-digit payment code")),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, body = FeeNotice), (status = 400, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc)))]
pub(super) async fn notice(
    State(st): State<AppState>,
    _kiosk: KioskAuth,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<FeeNotice>, ApiError> {
    let code = payment_code_param(code)?;
    st.store()
        .notice(code)
        .await?
        .map(|n| Json(notice_view(n)))
        .ok_or_else(notice_not_found)
}

#[utoipa::path(post, path = api::FEE_NOTICE_ORDERS, tag = "payments", security(("kiosk_credential" = [])),
    params(("payment_code" = String, Path)), request_body = OrderRequest,
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 201, body = Order), (status = 404, body = crate::problem::ProblemDoc), (status = 409, description = "The notice is already paid or cancelled, is being paid at another kiosk (`paying_elsewhere`), or this kiosk's previous scanned payment is still being reversed (`reversal_pending`, with Retry-After)", body = crate::problem::ProblemDoc), (status = 422, body = crate::problem::ProblemDoc)))]
pub(super) async fn create_order(
    State(st): State<AppState>,
    kiosk: KioskAuth,
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
    // Refused before anything changes (the notice's pending orders stay as they are).
    let provider = st.provider().ok_or_else(|| {
        ApiError::unavailable(
            "本平台尚未接入支付服务，暂不能缴费",
            "No payment service is configured on this platform; fees cannot be paid here yet",
        )
    })?;
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
    // A new order means the payer chose anew: this kiosk's other pending orders on the notice
    // are withdrawn first, unless one of them was paid meanwhile. Another kiosk's pending order
    // is that kiosk's payer at work: refused (409) until it ends.
    for pending in st.store().pending_orders(code.clone()).await? {
        if pending.kiosk_id.as_deref().is_some_and(|k| k != kiosk.0) {
            let rec = refresh(&st, pending, Ask::Routine).await?;
            match rec.status {
                OrderStatus::Pending => return Err(another_kiosk_is_paying()),
                OrderStatus::Paid => return Err(already_paid()),
                _ => continue,
            }
        }
        let rec = withdraw(&st, pending, kiosk.actor()).await?;
        match rec.status {
            OrderStatus::Paid => return Err(already_paid()),
            // A scanned code within its 15 s: its reversal waits, and so does a new order.
            OrderStatus::Pending => {
                let wait = withdrawable_from(&rec).saturating_sub(st.clock().millis());
                return Err(previous_payment_being_reversed(wait));
            }
            _ => {}
        }
    }
    let order_id = uuid::Uuid::new_v4().simple().to_string();
    let started = provider
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
        provider: provider.name().to_string(),
        provider_state: started.state,
        created_ms,
        expires_ms: created_ms.saturating_add(ttl_ms),
        created_at,
        expires_at,
        failure_reason,
        kiosk_id: kiosk.0.clone(),
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
pub(super) enum Ask {
    /// A kiosk's poll: at the service's rhythm (a recent answer stands).
    Routine,
    /// Before the order is withdrawn or replaced: always.
    Now,
}

/// Brings a pending order up to date with its provider: paid, failed, or expired.
pub(super) async fn refresh(
    st: &AppState,
    order: OrderRecord,
    ask: Ask,
) -> Result<OrderRecord, ApiError> {
    let Some(provider) = st.provider() else {
        return Ok(order);
    };
    if order.status != OrderStatus::Pending || order.provider != provider.name() {
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
    let settlement = match provider.poll(&order, now).await {
        Ok(Poll::Paid { transaction_id }) => Some(Settlement::Paid {
            transaction_id,
            paid_at: st.clock().now(),
            receipt_prefix: format!("4206{}", st.clock().today().format("%Y")),
        }),
        Ok(Poll::Failed { reason }) => Some(Settlement::Failed { reason }),
        Ok(Poll::Pending) if expired => {
            if let Err(e) = provider.cancel(&order).await {
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

pub(super) fn order_not_found() -> ApiError {
    ApiError::not_found(
        "order_id",
        "未找到该支付订单",
        "There is no payment order with this id",
    )
}

/// An order as its kiosk sees it: another kiosk's order answers 404, as one that does not exist.
/// (`None`: the demo's simulated payer, who is no kiosk.)
pub(super) async fn load_order(
    st: &AppState,
    kiosk: Option<&KioskAuth>,
    id: Result<Path<String>, PathRejection>,
    ask: Ask,
) -> Result<OrderRecord, ApiError> {
    let id = path_param(id)?;
    if id.is_empty() || id.chars().count() > MAX_ORDER_ID_CHARS {
        return Err(order_not_found());
    }
    let rec = st.store().order(id).await?.ok_or_else(order_not_found)?;
    if let Some(kiosk) = kiosk
        && rec.kiosk_id.as_deref().is_some_and(|k| k != kiosk.0)
    {
        tracing::warn!(kiosk = %kiosk.0, "a kiosk asked for another kiosk's payment order");
        return Err(order_not_found());
    }
    refresh(st, rec, ask).await
}

#[utoipa::path(get, path = api::ORDER, tag = "payments", security(("kiosk_credential" = [])),
    params(("order_id" = String, Path)),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, description = "The order, brought up to date with the provider", body = Order), (status = 404, body = crate::problem::ProblemDoc)))]
pub(super) async fn order(
    State(st): State<AppState>,
    kiosk: KioskAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let rec = load_order(&st, Some(&kiosk), id, Ask::Routine).await?;
    let rec = carry_out_wanted_cancel(&st, rec).await?;
    Ok(Json(order_view(rec)))
}

/// A cancellation that waited (a scanned payment code's 15 s) is carried out once it may be.
pub(super) async fn carry_out_wanted_cancel(
    st: &AppState,
    rec: OrderRecord,
) -> Result<OrderRecord, ApiError> {
    if rec.status == OrderStatus::Pending
        && rec.cancel_wanted_ms.is_some()
        && st.clock().millis() >= withdrawable_from(&rec)
    {
        return withdraw(st, rec, Actor::System).await;
    }
    Ok(rec)
}

/// Withdraws a pending order at the provider and records it cancelled. An order that turns out
/// to be paid (or otherwise final) is returned as it is. A scanned payment code within 15 s of
/// its debit attempt is not reversed yet: the cancellation is recorded as wanted and the order,
/// still pending, is returned; the follow-up pass (or the kiosk's next poll) carries it out.
pub(super) async fn withdraw(
    st: &AppState,
    order: OrderRecord,
    actor: Actor,
) -> Result<OrderRecord, ApiError> {
    let rec = refresh(st, order, Ask::Now).await?;
    if rec.status != OrderStatus::Pending {
        return Ok(rec);
    }
    let now_ms = st.clock().millis();
    if now_ms < withdrawable_from(&rec) {
        tracing::info!(order_id = %rec.order_id,
            "a scanned payment code is reversed 15 s after its debit attempt at the earliest: the cancellation waits");
        return st
            .store()
            .want_cancel(rec.order_id.clone(), actor, now_ms, st.clock().now())
            .await?
            .ok_or_else(ApiError::internal);
    }
    if let Some(provider) = st.provider()
        && let Err(e) = provider.cancel(&rec).await
    {
        tracing::warn!(order_id = %rec.order_id, error = %e,
            "the payment service did not withdraw an order");
    }
    st.store()
        .settle_order(
            rec.order_id.clone(),
            Settlement::Cancelled,
            actor,
            st.clock().now(),
        )
        .await?
        .ok_or_else(ApiError::internal)
}

#[utoipa::path(post, path = api::ORDER_CANCEL, tag = "payments", security(("kiosk_credential" = [])),
    params(("order_id" = String, Path)),
    responses((status = 401, description = "No valid kiosk credential (Authorization: Bearer hkc_…)", body = crate::problem::ProblemDoc), (status = 200, description = "Cancelled (or already ended otherwise)", body = Order), (status = 202, description = "A scanned payment code within 15 s of its debit attempt: the cancellation is recorded and carried out once the 15 s have passed; the order stays pending (`cancelling`) until then and may still turn out paid", body = Order), (status = 404, body = crate::problem::ProblemDoc), (status = 409, description = "Paid", body = crate::problem::ProblemDoc)))]
pub(super) async fn cancel_order(
    State(st): State<AppState>,
    kiosk: KioskAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let rec = load_order(&st, Some(&kiosk), id, Ask::Now).await?;
    let rec = withdraw(&st, rec, kiosk.actor()).await?;
    if rec.status == OrderStatus::Paid {
        return Err(ApiError::conflict(
            "order_id",
            "already_paid",
            "该订单已支付成功，不能取消",
            "This order has been paid and cannot be cancelled",
        ));
    }
    let status = if rec.status == OrderStatus::Pending {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(order_view(rec))))
}

/// The demo "phone": the payer confirms a QR order.
#[utoipa::path(post, path = api::SIM_ORDER_PAY, tag = "payments",
    params(("order_id" = String, Path)),
    responses((status = 200, description = "The demo phone confirmed; paid through a signed callback", body = Order),
        (status = 404, description = "No such order; and on a platform started without --demo, this route does not exist", body = crate::problem::ProblemDoc),
        (status = 409, body = crate::problem::ProblemDoc)))]
pub(super) async fn sim_pay(
    State(st): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let Some(sim) = st.sim_provider() else {
        return Err(demo_only());
    };
    let rec = load_order(&st, None, id, Ask::Routine).await?;
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
    let (body, signature) = sim.paid_callback(&rec, st.clock().millis());
    let rec = accept_callback(&st, sim, &body, Some(&signature)).await?;
    Ok(Json(order_view(rec)))
}

/// A payment service's callback: verified (signature, freshness, amount), then the order is
/// settled. Settling is idempotent, so a repeated callback changes nothing.
pub(super) async fn accept_callback(
    st: &AppState,
    sim: &SimulatedProvider,
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
    if !sim.key().verify(body, signature) {
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

#[utoipa::path(post, path = api::SIM_CALLBACK, tag = "payments",
    params(("X-Hall-Signature" = String, Header, description = "sha256= and the hex HMAC-SHA256 of the body")),
    request_body = Callback,
    responses((status = 200, description = "The order, settled", body = Order), (status = 401, body = crate::problem::ProblemDoc), (status = 404, body = crate::problem::ProblemDoc), (status = 409, body = crate::problem::ProblemDoc)))]
pub(super) async fn sim_callback(
    State(st): State<AppState>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Order>, ApiError> {
    let Some(sim) = st.sim_provider() else {
        return Err(demo_only());
    };
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let rec = accept_callback(&st, sim, &body, signature).await?;
    Ok(Json(order_view(rec)))
}
