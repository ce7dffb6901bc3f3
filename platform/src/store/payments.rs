//! Fee notices and payment orders: an order per attempt, a notice paid once, by one order.

use chrono::NaiveDateTime;
use hall_domain::api::{FeeLine, NoticeStatus, OrderStatus};
use serde_json::json;

use super::audit;
use super::handle::Store;
use super::handle::next_in_sequence;
use crate::audit::Actor;
use crate::db::Conn;
use crate::error::StoreError;
use crate::params;

/// How the payer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayMethod {
    /// The kiosk shows a QR code that the payer's phone scans.
    Qr,
    /// The kiosk's scanner reads the payment code (付款码) on the payer's phone.
    Scan,
}

impl PayMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PayMethod::Qr => "qr",
            PayMethod::Scan => "scan",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "qr" => Some(PayMethod::Qr),
            "scan" => Some(PayMethod::Scan),
            _ => None,
        }
    }
}

/// A fee notice to insert.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub payment_code: String,
    pub agency: String,
    pub approval_code: Option<String>,
    pub payer: String,
    /// A person's name is masked wherever it is shown; an organisation's is not.
    pub payer_is_person: bool,
    pub lines: Vec<FeeLine>,
}

/// A fee notice as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRecord {
    pub payment_code: String,
    pub agency: String,
    pub approval_code: Option<String>,
    pub payer: String,
    pub payer_is_person: bool,
    pub lines: Vec<FeeLine>,
    pub total_fen: i64,
    pub status: NoticeStatus,
    pub receipt_no: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
}

/// A payment order to insert.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order_id: String,
    pub payment_code: String,
    pub method: PayMethod,
    pub status: OrderStatus,
    pub amount_fen: i64,
    pub qr_payload: Option<String>,
    pub provider: String,
    pub provider_state: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub failure_reason: Option<String>,
    /// The kiosk whose credential opened it.
    pub kiosk_id: String,
}

/// A payment order as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub order_id: String,
    pub payment_code: String,
    pub method: PayMethod,
    pub status: OrderStatus,
    pub amount_fen: i64,
    pub qr_payload: Option<String>,
    pub provider: String,
    pub provider_state: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub expires_at: NaiveDateTime,
    pub transaction_id: Option<String>,
    pub receipt_no: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub failure_reason: Option<String>,
    /// The kiosk that opened it (none for orders from before kiosks authenticated).
    pub kiosk_id: Option<String>,
    /// When a cancellation was asked for that could not be carried out yet (a scanned payment
    /// code within 15 s of its debit attempt), in ms since the epoch.
    pub cancel_wanted_ms: Option<i64>,
}

/// How a pending order ends.
#[derive(Debug, Clone)]
pub enum Settlement {
    Paid {
        transaction_id: String,
        paid_at: NaiveDateTime,
        /// Prefix of the e-receipt number; a serial from the database follows it.
        receipt_prefix: String,
    },
    Failed {
        reason: String,
    },
    Cancelled,
    Expired,
}

/// Why an order cannot be created for a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeBlock {
    NotFound,
    AlreadyPaid,
    Cancelled,
}

pub(super) fn settle_order(
    c: &mut dyn Conn,
    order_id: &str,
    settlement: &Settlement,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Option<OrderRecord>, StoreError> {
    // Lock the order first, then its notice: every writer takes them in this order.
    let Some(locked) = c.query_opt(
        "SELECT status, payment_code FROM orders WHERE order_id = $1 FOR UPDATE",
        params![order_id],
    )?
    else {
        return Ok(None);
    };
    if locked.text(0)? != "pending" {
        return load_order(c, order_id);
    }
    let payment_code = locked.text(1)?;
    let (action, detail) = match settlement {
        Settlement::Paid {
            transaction_id,
            paid_at,
            receipt_prefix,
        } => {
            let serial = next_in_sequence(c, "receipt")?;
            let receipt_no = format!("{receipt_prefix}{serial:010}");
            let n = c.execute(
                "UPDATE fee_notices SET status = 'paid', receipt_no = $2, paid_at = $3,
                   paid_order_id = $4
                 WHERE payment_code = $1 AND status = 'unpaid'",
                params![payment_code, receipt_no, paid_at, order_id],
            )?;
            if n == 1 {
                c.execute(
                    "UPDATE orders SET status = 'paid', transaction_id = $2, receipt_no = $3,
                       paid_at = $4
                     WHERE order_id = $1 AND status = 'pending'",
                    params![order_id, transaction_id, receipt_no, paid_at],
                )?;
                audit::append(
                    c,
                    now,
                    actor,
                    "notice.paid",
                    &payment_code,
                    json!({ "order_id": order_id, "receipt_no": receipt_no, "state": "paid" }),
                )?;
                (
                    "order.paid",
                    json!({ "transaction_id": transaction_id, "receipt_no": receipt_no }),
                )
            } else {
                let reason = "该缴款通知已缴清或已撤销，本笔款项将原路退回";
                c.execute(
                    "UPDATE orders SET status = 'failed', failure_reason = $2
                     WHERE order_id = $1 AND status = 'pending'",
                    params![order_id, reason],
                )?;
                (
                    "order.failed",
                    json!({ "transaction_id": transaction_id, "reason": "notice no longer unpaid; refund" }),
                )
            }
        }
        Settlement::Failed { reason } => {
            c.execute(
                "UPDATE orders SET status = 'failed', failure_reason = $2
                 WHERE order_id = $1 AND status = 'pending'",
                params![order_id, reason],
            )?;
            ("order.failed", json!({ "reason": reason }))
        }
        Settlement::Cancelled => {
            c.execute(
                "UPDATE orders SET status = 'cancelled' WHERE order_id = $1 AND status = 'pending'",
                params![order_id],
            )?;
            ("order.cancelled", json!({}))
        }
        Settlement::Expired => {
            c.execute(
                "UPDATE orders SET status = 'expired' WHERE order_id = $1 AND status = 'pending'",
                params![order_id],
            )?;
            ("order.expired", json!({}))
        }
    };
    let mut detail = detail;
    if let Some(state) = action.strip_prefix("order.") {
        detail["state"] = json!(state);
    }
    audit::append(c, now, actor, action, order_id, detail)?;
    load_order(c, order_id)
}

pub(super) fn notice_status(s: &str) -> Result<NoticeStatus, StoreError> {
    match s {
        "unpaid" => Ok(NoticeStatus::Unpaid),
        "paid" => Ok(NoticeStatus::Paid),
        "cancelled" => Ok(NoticeStatus::Cancelled),
        other => Err(StoreError::Corrupt(format!("notice status {other:?}"))),
    }
}

pub(super) fn order_status_str(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "pending",
        OrderStatus::Paid => "paid",
        OrderStatus::Failed => "failed",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Expired => "expired",
    }
}

pub(super) fn order_status(s: &str) -> Result<OrderStatus, StoreError> {
    match s {
        "pending" => Ok(OrderStatus::Pending),
        "paid" => Ok(OrderStatus::Paid),
        "failed" => Ok(OrderStatus::Failed),
        "cancelled" => Ok(OrderStatus::Cancelled),
        "expired" => Ok(OrderStatus::Expired),
        other => Err(StoreError::Corrupt(format!("order status {other:?}"))),
    }
}

pub(super) fn insert_notice(
    c: &mut dyn Conn,
    sealer: &crate::seal::Sealer,
    n: &NewNotice,
) -> Result<(), StoreError> {
    let total: i64 = n.lines.iter().map(|l| l.amount_fen).sum();
    c.execute(
        "INSERT INTO fee_notices (payment_code, agency, approval_code, payer, payer_is_person,
           total_fen, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'unpaid')",
        params![
            n.payment_code,
            n.agency,
            n.approval_code,
            super::sealing::seal_payer(sealer, &n.payment_code, &n.payer)?,
            n.payer_is_person,
            total
        ],
    )?;
    for (seq, l) in n.lines.iter().enumerate() {
        c.execute(
            "INSERT INTO fee_lines (payment_code, seq, name, amount_fen) VALUES ($1, $2, $3, $4)",
            params![n.payment_code, seq, l.name, l.amount_fen],
        )?;
    }
    Ok(())
}

pub(super) fn load_notice(
    c: &mut dyn Conn,
    code: &str,
) -> Result<Option<NoticeRecord>, StoreError> {
    let Some(h) = c.query_opt(
        "SELECT payment_code, agency, approval_code, payer, payer_is_person, total_fen,
           status, receipt_no, paid_at
         FROM fee_notices WHERE payment_code = $1",
        params![code],
    )?
    else {
        return Ok(None);
    };
    let payment_code = h.text(0)?;
    let lines = c
        .query(
            "SELECT name, amount_fen FROM fee_lines WHERE payment_code = $1 ORDER BY seq",
            params![payment_code],
        )?
        .iter()
        .map(|r| {
            Ok(FeeLine {
                name: r.text(0)?,
                amount_fen: r.i64(1)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(NoticeRecord {
        payment_code,
        agency: h.text(1)?,
        approval_code: h.opt_text(2)?,
        payer: h.text(3)?,
        payer_is_person: h.bool(4)?,
        lines,
        total_fen: h.i64(5)?,
        status: notice_status(&h.text(6)?)?,
        receipt_no: h.opt_text(7)?,
        paid_at: h.opt_datetime(8)?,
    }))
}

pub(super) fn load_order(
    c: &mut dyn Conn,
    order_id: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT order_id, payment_code, method, status, amount_fen, qr_payload, provider,
           provider_state, created_ms, expires_ms, expires_at, transaction_id, receipt_no,
           paid_at, failure_reason, kiosk_id, cancel_wanted_ms
         FROM orders WHERE order_id = $1",
        params![order_id],
    )?
    else {
        return Ok(None);
    };
    let method = r.text(2)?;
    Ok(Some(OrderRecord {
        order_id: r.text(0)?,
        payment_code: r.text(1)?,
        method: PayMethod::parse(&method)
            .ok_or_else(|| StoreError::Corrupt(format!("payment method {method:?}")))?,
        status: order_status(&r.text(3)?)?,
        amount_fen: r.i64(4)?,
        qr_payload: r.opt_text(5)?,
        provider: r.text(6)?,
        provider_state: r.text(7)?,
        created_ms: r.i64(8)?,
        expires_ms: r.i64(9)?,
        expires_at: r.datetime(10)?,
        transaction_id: r.opt_text(11)?,
        receipt_no: r.opt_text(12)?,
        paid_at: r.opt_datetime(13)?,
        failure_reason: r.opt_text(14)?,
        kiosk_id: r.opt_text(15)?,
        cancel_wanted_ms: r.opt_i64(16)?,
    }))
}

impl Store {
    // --- fee notices and orders ----------------------------------------------------------------

    pub async fn notice(&self, payment_code: String) -> Result<Option<NoticeRecord>, StoreError> {
        self.read(move |s, c| {
            let Some(mut n) = load_notice(c, &payment_code)? else {
                return Ok(None);
            };
            n.payer = super::sealing::open_payer(s, &n.payment_code, &n.payer)?;
            Ok(Some(n))
        })
        .await
    }

    /// Inserts an order for a notice that is still unpaid (checked in the same transaction).
    pub async fn create_order(
        &self,
        order: NewOrder,
    ) -> Result<Result<OrderRecord, NoticeBlock>, StoreError> {
        self.write(move |_, c| {
            let status = c
                .query_opt(
                    "SELECT status FROM fee_notices WHERE payment_code = $1 FOR UPDATE",
                    params![order.payment_code],
                )?
                .map(|r| r.text(0))
                .transpose()?;
            match status.as_deref() {
                None => return Ok(Err(NoticeBlock::NotFound)),
                Some("unpaid") => {}
                Some("paid") => return Ok(Err(NoticeBlock::AlreadyPaid)),
                Some(_) => return Ok(Err(NoticeBlock::Cancelled)),
            }
            c.execute(
                "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, qr_payload,
                   provider, provider_state, created_ms, expires_ms, created_at, expires_at,
                   failure_reason, kiosk_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                params![
                    order.order_id,
                    order.payment_code,
                    order.method.as_str(),
                    order_status_str(order.status),
                    order.amount_fen,
                    order.qr_payload,
                    order.provider,
                    order.provider_state,
                    order.created_ms,
                    order.expires_ms,
                    order.created_at,
                    order.expires_at,
                    order.failure_reason,
                    order.kiosk_id,
                ],
            )?;
            audit::append(
                c,
                order.created_at,
                &Actor::Kiosk(Some(order.kiosk_id.clone())),
                "order.created",
                &order.order_id,
                json!({
                    "payment_code": order.payment_code,
                    "method": order.method.as_str(),
                    "amount_fen": order.amount_fen,
                    "status": order_status_str(order.status),
                    "provider": order.provider,
                    "state": order_status_str(order.status),
                }),
            )?;
            let rec = load_order(c, &order.order_id)?
                .ok_or_else(|| StoreError::Corrupt("an inserted order vanished".into()))?;
            Ok(Ok(rec))
        })
        .await
    }

    /// The pending orders of a notice, oldest first.
    pub async fn pending_orders(
        &self,
        payment_code: String,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        self.read(move |_, c| {
            let ids = c.query(
                "SELECT order_id FROM orders WHERE payment_code = $1 AND status = 'pending'
                 ORDER BY created_ms, order_id",
                params![payment_code],
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for r in ids {
                if let Some(o) = load_order(c, &r.text(0)?)? {
                    out.push(o);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Records that a pending order is to be cancelled as soon as it may be (the first request
    /// stands). Answers the order as it is now.
    pub async fn want_cancel(
        &self,
        order_id: String,
        actor: Actor,
        now_ms: i64,
        now: NaiveDateTime,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.write(move |_, c| {
            let n = c.execute(
                "UPDATE orders SET cancel_wanted_ms = $2
                 WHERE order_id = $1 AND status = 'pending' AND cancel_wanted_ms IS NULL",
                params![order_id, now_ms],
            )?;
            if n == 1 {
                audit::append(
                    c,
                    now,
                    &actor,
                    "order.cancel_wanted",
                    &order_id,
                    json!({ "state": "pending" }),
                )?;
            }
            load_order(c, &order_id)
        })
        .await
    }

    /// Pending orders that a background pass looks at: those whose cancellation is waiting, and
    /// scanned payment codes opened at or before `scans_before_ms` (past their payer's window).
    pub async fn orders_to_follow_up(
        &self,
        scans_before_ms: i64,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        self.read(move |_, c| {
            let ids = c.query(
                "SELECT order_id FROM orders WHERE status = 'pending'
                   AND (cancel_wanted_ms IS NOT NULL OR (method = 'scan' AND created_ms <= $1))
                 ORDER BY created_ms, order_id LIMIT 500",
                params![scans_before_ms],
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for r in ids {
                if let Some(o) = load_order(c, &r.text(0)?)? {
                    out.push(o);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn order(&self, order_id: String) -> Result<Option<OrderRecord>, StoreError> {
        self.read(move |_, c| load_order(c, &order_id)).await
    }

    /// Records the provider's state of a pending order (e.g. the payer confirmed).
    pub async fn set_provider_state(
        &self,
        order_id: String,
        state: String,
    ) -> Result<bool, StoreError> {
        self.write(move |_, c| {
            let n = c.execute(
                "UPDATE orders SET provider_state = $2 WHERE order_id = $1 AND status = 'pending'",
                params![order_id, state],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Ends a pending order. A payment marks the notice paid in the same transaction; when the
    /// notice was paid meanwhile by another order, this order fails instead. An order that is no
    /// longer pending is returned unchanged.
    pub async fn settle_order(
        &self,
        order_id: String,
        settlement: Settlement,
        actor: Actor,
        now: NaiveDateTime,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.write(move |_, c| settle_order(c, &order_id, &settlement, &actor, now))
            .await
    }
}
