//! The pay journey: a payment code or an approval code → the fee notice → a QR for the phone, or
//! the phone's payment code on the scanner → waiting → paid (receipt) or not (what to do).

use std::time::{Duration, Instant};

use hall_domain::api::{FeeNotice, NoticeStatus, Order, OrderRequest, OrderStatus};
use hall_domain::codes::{self, PayKey};
use hall_domain::money;
use kiosk_drivers::printer::receipt::PaymentReceipt;

use super::field::{Field, FieldKind};
use super::submit::field_view;
use super::view::{
    Busy, FeeRow, Field as Focus, PayError, PayFailure, PayMethod, ReceiptState, Screen, ViewModel,
};
use super::{Ctx, Effect, Input, Intent, Receipt, SessionConfig, Step, extract_code};
use crate::client::ApiError;

#[derive(Debug)]
pub(super) struct Pay {
    pub(super) code: Field,
    error: PayError,
    notice: Option<FeeNotice>,
    /// How the person pays, once chosen.
    method: PayMethod,
    order: Option<Order>,
    order_started: Option<Instant>,
    next_poll: Option<Instant>,
    cancelling: bool,
    failure: PayFailure,
    failure_detail: String,
    receipt_state: ReceiptState,
    unsent: Option<Effect>,
    seconds_left: i32,
    /// How many times the payer asked for more time on this order.
    extensions: u32,
    /// The payer's time is nearly up and more can still be asked for.
    time_warning: bool,
}

impl Default for Pay {
    fn default() -> Self {
        Pay {
            code: Field::new(FieldKind::PayCode),
            error: PayError::None,
            notice: None,
            method: PayMethod::None,
            order: None,
            order_started: None,
            next_poll: None,
            cancelling: false,
            failure: PayFailure::None,
            failure_detail: String::new(),
            receipt_state: ReceiptState::None,
            unsent: None,
            seconds_left: 0,
            extensions: 0,
            time_warning: false,
        }
    }
}

/// How long a QR order stays payable on screen, per period.
const QR_LIMIT: Duration = Duration::from_secs(120);

/// How many more periods a payer may ask for ("more time"). The platform keeps an order for
/// ten minutes, longer than the four QR periods together.
pub(super) const MAX_EXTENSIONS: u32 = 3;

impl Pay {
    pub(super) fn pending_order_id(&self) -> Option<String> {
        self.order
            .as_ref()
            .filter(|o| o.status == OrderStatus::Pending)
            .map(|o| o.order_id.clone())
    }

    /// The payer's time is nearly up and "more time" is offered.
    pub(super) fn time_warning(&self) -> bool {
        self.time_warning
    }

    /// A payment is under way: the session must not time out under the payer.
    pub(super) fn waiting_on_platform(&self) -> bool {
        self.pending_order_id().is_some()
    }

    fn send(&mut self, effect: Effect, fx: &mut Vec<Effect>) {
        self.unsent = Some(effect.clone());
        fx.push(effect);
    }

    fn find(&mut self, fx: &mut Vec<Effect>) -> Option<Step> {
        self.error = PayError::None;
        if !self.code.insist() {
            return None;
        }
        match codes::parse_pay_key(self.code.value()) {
            Ok(PayKey::PaymentCode(c)) => self.send(Effect::FetchNotice(c), fx),
            Ok(PayKey::Approval(a)) => self.send(Effect::LookupCase(a.to_string()), fx),
            Err(_) => return None,
        }
        Some(Step::Busy(Busy::FindingNotice))
    }

    pub(super) fn on_intent(
        &mut self,
        screen: Screen,
        intent: Intent,
        ctx: &Ctx,
        fx: &mut Vec<Effect>,
    ) -> Option<Step> {
        match (screen, intent) {
            (Screen::PayEntry, Intent::Back) => Some(Step::Home),
            (Screen::PayEntry, i @ (Intent::Key(_) | Intent::Backspace | Intent::Clear)) => {
                self.code.edit(&i);
                self.error = PayError::None;
                None
            }
            (Screen::PayEntry, Intent::Next) => self.find(fx),
            (Screen::Payment, Intent::Back) => {
                self.notice = None;
                Some(Step::Screen(Screen::PayEntry))
            }
            (Screen::Payment, Intent::PayQr) => {
                let code = self.notice.as_ref()?.payment_code.clone();
                self.method = PayMethod::Qr;
                self.send(
                    Effect::CreateOrder {
                        payment_code: code,
                        request: OrderRequest::Qr,
                    },
                    fx,
                );
                Some(Step::Busy(Busy::CreatingOrder))
            }
            (Screen::Payment, Intent::PayScan) => {
                self.method = PayMethod::Scan;
                self.order = None;
                self.error = PayError::None;
                Some(Step::Screen(Screen::Paying))
            }
            (Screen::Paying, Intent::MoreTime) => {
                // Offered only while the warning shows (the time is nearly up).
                if self.time_warning && self.pending_order_id().is_some() {
                    self.extensions += 1;
                    self.time_warning = false;
                }
                None
            }
            (Screen::Paying, Intent::CancelPayment | Intent::Back) => {
                match self.pending_order_id() {
                    Some(id) if !self.cancelling => {
                        self.cancelling = true;
                        fx.push(Effect::CancelOrder(id));
                        None
                    }
                    Some(_) => None,
                    None => Some(Step::Screen(Screen::Payment)),
                }
            }
            (Screen::PayFailed, Intent::Retry | Intent::Back) => {
                self.order = None;
                self.failure = PayFailure::None;
                Some(Step::Screen(Screen::Payment))
            }
            (Screen::Paid, Intent::Reprint) => self.print(ctx, fx),
            _ => None,
        }
    }

    pub(super) fn on_code(
        &mut self,
        screen: Screen,
        payload: &str,
        fx: &mut Vec<Effect>,
    ) -> Option<Step> {
        match screen {
            Screen::PayEntry => {
                let code = extract_code(payload)?;
                self.code.set(&code);
                self.find(fx)
            }
            Screen::Paying if self.method == PayMethod::Scan && self.order.is_none() => {
                let auth = payload.trim();
                if codes::validate_wallet_auth_code(auth).is_err() {
                    self.error = PayError::NotAWalletCode;
                    return None;
                }
                self.error = PayError::None;
                let code = self.notice.as_ref()?.payment_code.clone();
                self.send(
                    Effect::CreateOrder {
                        payment_code: code,
                        request: OrderRequest::Scan {
                            auth_code: auth.to_string(),
                        },
                    },
                    fx,
                );
                Some(Step::Busy(Busy::CreatingOrder))
            }
            _ => None,
        }
    }

    pub(super) fn tick(&mut self, cfg: &SessionConfig, now: Instant, fx: &mut Vec<Effect>) {
        let Some(id) = self.pending_order_id() else {
            self.seconds_left = 0;
            self.time_warning = false;
            return;
        };
        let started = *self.order_started.get_or_insert(now);
        let period = if self.method == PayMethod::Scan {
            cfg.scan_confirm_limit
        } else {
            QR_LIMIT
        };
        let limit = period.saturating_mul(1 + self.extensions);
        let elapsed = now.saturating_duration_since(started);
        let left = limit.saturating_sub(elapsed);
        self.seconds_left = left.as_secs_f32().ceil() as i32;
        // A scanned payment code's window is the wallet's (queried, then reversed at the end):
        // it is shown counting down but cannot be extended.
        let extendable = self.method != PayMethod::Scan;
        self.time_warning = extendable
            && !self.cancelling
            && self.extensions < MAX_EXTENSIONS
            && left <= cfg.warn_before;
        if elapsed >= limit && !self.cancelling {
            self.time_warning = false;
            // The payer did not finish in time: cancel (reverse) so it cannot go through later.
            self.cancelling = true;
            fx.push(Effect::CancelOrder(id));
            return;
        }
        if self.next_poll.is_none_or(|t| now >= t) {
            self.next_poll = Some(now + cfg.poll_every);
            fx.push(Effect::PollOrder(id));
        }
    }

    pub(super) fn retry(&mut self, fx: &mut Vec<Effect>) -> Option<Step> {
        let effect = self.unsent.clone()?;
        fx.push(effect);
        Some(Step::Busy(Busy::FindingNotice))
    }

    fn print(&mut self, ctx: &Ctx, fx: &mut Vec<Effect>) -> Option<Step> {
        let (notice, order) = (self.notice.as_ref()?, self.order.as_ref()?);
        if !ctx.avail.printer {
            self.receipt_state = ReceiptState::Failed;
            return Some(Step::Error(Screen::PrinterError));
        }
        let receipt_no = order.receipt_no.clone().unwrap_or_default();
        let receipt = PaymentReceipt {
            payment_code: notice.payment_code.clone(),
            agency: notice.agency.clone(),
            lines: notice
                .items
                .iter()
                .map(|l| (l.name.clone(), l.amount_fen))
                .collect(),
            total_fen: notice.total_fen,
            transaction_id: order.transaction_id.clone().unwrap_or_default(),
            e_receipt_url: format!("https://pay.hall.example/r/{receipt_no}"),
            receipt_no,
            paid_at: order
                .paid_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
        };
        self.receipt_state = ReceiptState::Printing;
        fx.push(Effect::Print(Box::new(Receipt::Payment(receipt))));
        Some(Step::Busy(Busy::Printing))
    }

    pub(super) fn on_reply(
        &mut self,
        screen: Screen,
        input: Input,
        ctx: &Ctx,
        fx: &mut Vec<Effect>,
    ) -> Option<Step> {
        match input {
            Input::Case(Ok(case)) => {
                let unpaid = case
                    .fee_notices
                    .iter()
                    .find(|n| n.status == NoticeStatus::Unpaid);
                match unpaid {
                    Some(n) => {
                        let code = n.payment_code.clone();
                        self.send(Effect::FetchNotice(code), fx);
                        Some(Step::Busy(Busy::FindingNotice))
                    }
                    None if case.fee_notices.is_empty() => {
                        self.error = PayError::NoFee;
                        None
                    }
                    None => {
                        self.error = PayError::AlreadyPaid;
                        None
                    }
                }
            }
            Input::Case(Err(e)) | Input::Notice(Err(e)) => self.refused(e),
            Input::Notice(Ok(notice)) => {
                self.unsent = None;
                match notice.status {
                    NoticeStatus::Unpaid => {
                        self.notice = Some(notice);
                        Some(Step::Screen(Screen::Payment))
                    }
                    NoticeStatus::Paid => {
                        self.error = PayError::AlreadyPaid;
                        Some(Step::Screen(Screen::PayEntry))
                    }
                    NoticeStatus::Cancelled => {
                        self.error = PayError::Cancelled;
                        Some(Step::Screen(Screen::PayEntry))
                    }
                }
            }
            Input::Order(Ok(order)) => self.on_order(order, ctx, fx),
            Input::Order(Err(e)) => {
                if self.pending_order_id().is_some() {
                    // A poll failed; the order may still be paid. Keep asking.
                    tracing::warn!(error = %e, "payment query failed, will ask again");
                    return None;
                }
                if e.is_unreachable() {
                    return Some(Step::Error(Screen::Offline));
                }
                self.unsent = None;
                self.failure = match &e {
                    ApiError::Refused(p) if p.errors.iter().any(|f| f.code == "already_paid") => {
                        PayFailure::AlreadyPaid
                    }
                    _ => PayFailure::Failed,
                };
                self.failure_detail = match e {
                    ApiError::Refused(p) => p.detail.unwrap_or(p.title),
                    other => other.to_string(),
                };
                Some(Step::Screen(Screen::PayFailed))
            }
            Input::Printed(Ok(())) => {
                self.receipt_state = ReceiptState::Printed;
                None
            }
            Input::Printed(Err(_)) => {
                self.receipt_state = ReceiptState::Failed;
                (screen == Screen::Paid).then_some(Step::Error(Screen::PrinterError))
            }
            _ => None,
        }
    }

    fn refused(&mut self, e: ApiError) -> Option<Step> {
        if e.is_unreachable() {
            return Some(Step::Error(Screen::Offline));
        }
        self.unsent = None;
        self.error = PayError::NotFound;
        Some(Step::Screen(Screen::PayEntry))
    }

    fn on_order(&mut self, order: Order, ctx: &Ctx, fx: &mut Vec<Effect>) -> Option<Step> {
        self.unsent = None;
        let first = self
            .order
            .as_ref()
            .is_none_or(|o| o.order_id != order.order_id);
        let status = order.status;
        if first {
            self.order_started = None;
            self.next_poll = None;
            self.cancelling = false;
            self.extensions = 0;
            self.time_warning = false;
        }
        self.failure_detail = order.failure_reason.clone().unwrap_or_default();
        self.order = Some(order);
        match status {
            OrderStatus::Pending => Some(Step::Screen(Screen::Paying)),
            OrderStatus::Paid => {
                if let Some(n) = &mut self.notice {
                    n.status = NoticeStatus::Paid;
                }
                match self.print(ctx, fx) {
                    Some(Step::Busy(b)) => Some(Step::ScreenBusy(Screen::Paid, b)),
                    Some(Step::Error(e)) => Some(Step::ScreenThenError(Screen::Paid, e)),
                    _ => Some(Step::Screen(Screen::Paid)),
                }
            }
            OrderStatus::Failed => {
                self.failure = PayFailure::Failed;
                Some(Step::Screen(Screen::PayFailed))
            }
            OrderStatus::Cancelled => {
                self.failure = PayFailure::Cancelled;
                Some(Step::Screen(Screen::PayFailed))
            }
            OrderStatus::Expired => {
                self.failure = PayFailure::Expired;
                Some(Step::Screen(Screen::PayFailed))
            }
        }
    }

    pub(super) fn view(&self, vm: &mut ViewModel) {
        vm.pay.pay_code = field_view(&self.code, true);
        vm.entry.focus = Focus::PayCode;
        vm.pay.pay_error = self.error;
        if let Some(n) = &self.notice {
            vm.pay.notice_code_grouped = codes::group_by_four(&n.payment_code);
            vm.pay.notice_agency = n.agency.clone();
            vm.pay.notice_payer = n.payer.clone();
            vm.pay.notice_lines = n
                .items
                .iter()
                .map(|l| FeeRow {
                    name: l.name.clone(),
                    amount: money::yuan(l.amount_fen),
                })
                .collect();
            vm.pay.notice_total = money::yuan(n.total_fen);
            vm.pay.notice_total_capitals = money::capitals(n.total_fen);
        }
        vm.pay.pay_method = self.method;
        if let Some(o) = &self.order {
            vm.pay.pay_qr_payload = o.qr_payload.clone().unwrap_or_default();
            vm.pay.paid_transaction = o.transaction_id.clone().unwrap_or_default();
            vm.pay.paid_receipt_no = o.receipt_no.clone().unwrap_or_default();
            vm.pay.paid_time = o
                .paid_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
        }
        vm.pay.pay_seconds_left = self.seconds_left;
        vm.pay.pay_time_warning = self.time_warning;
        vm.pay.pay_cancelling = self.cancelling;
        vm.pay.pay_failure = self.failure;
        vm.pay.pay_failure_detail = self.failure_detail.clone();
        vm.submit.receipt_state = self.receipt_state;
    }
}
