//! Payment providers. The platform talks to a provider only through [`PaymentProvider`]; the
//! built-in [`SimulatedProvider`] stands in for a wallet service in demos and tests.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rand::Rng;

use crate::store::OrderRecord;

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

/// What the provider is asked to collect.
#[derive(Debug, Clone, Copy)]
pub struct PaymentRequest<'a> {
    pub order_id: &'a str,
    pub amount_fen: i64,
    pub method: PayMethod,
    /// The scanned payment code, for [`PayMethod::Scan`]. Never stored or logged.
    pub auth_code: Option<&'a str>,
}

/// The provider's answer to a new order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// What the kiosk shows as a QR code, for [`PayMethod::Qr`].
    pub qr_payload: Option<String>,
    /// Opaque state the provider wants back when the order is polled.
    pub state: String,
    /// `Pending`, or `Failed` when the provider refused at once.
    pub outcome: Poll,
}

/// Where a pending order stands at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    Pending,
    Paid { transaction_id: String },
    Failed { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment service did not answer: {0}")]
    Unavailable(String),
    #[error("the payment service refused the request: {0}")]
    Refused(String),
}

pub type ProviderFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// A payment service.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Stored with every order, so an order is always polled by the provider that started it.
    fn name(&self) -> &'static str;
    /// Starts collecting an order.
    fn start<'a>(&'a self, request: PaymentRequest<'a>) -> ProviderFuture<'a, Started>;
    /// Asks where a pending order stands; `now_ms` is the current epoch time in milliseconds.
    fn poll<'a>(&'a self, order: &'a OrderRecord, now_ms: i64) -> ProviderFuture<'a, Poll>;
    /// Withdraws a pending order (cancelled by the kiosk, or expired).
    fn cancel<'a>(&'a self, order: &'a OrderRecord) -> ProviderFuture<'a, ()>;
}

/// The built-in stand-in for a wallet service.
///
/// - QR orders are paid when the demo "phone" confirms them (`POST /api/v1/sim/orders/{id}/pay`).
/// - Scanned payment codes ending `0000` are declined at once (余额不足); codes ending `9999`
///   stay pending (the payer never confirms); any other code is paid once
///   [`SimulatedProvider::payer_delay`] has passed since the order was made.
#[derive(Debug, Clone)]
pub struct SimulatedProvider {
    payer_delay: Duration,
}

impl SimulatedProvider {
    pub const NAME: &'static str = "simulated";
    /// Where a QR payload points; the order id follows.
    pub const QR_BASE: &'static str = "https://pay.hall.example/q/";
    pub const QR_WAITING: &'static str = "qr:waiting";
    pub const QR_CONFIRMED: &'static str = "qr:confirmed";
    const SCAN_CONFIRMS: &'static str = "scan:confirms";
    const SCAN_SILENT: &'static str = "scan:silent";
    const SCAN_DECLINED: &'static str = "scan:declined";
    pub const DECLINED_REASON: &'static str = "余额不足";

    pub fn new(payer_delay: Duration) -> Self {
        Self { payer_delay }
    }

    pub fn payer_delay(&self) -> Duration {
        self.payer_delay
    }

    fn transaction_id() -> String {
        let mut rng = rand::rng();
        let digits: String = (0..20)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        format!("SIM{digits}")
    }
}

impl PaymentProvider for SimulatedProvider {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn start<'a>(&'a self, request: PaymentRequest<'a>) -> ProviderFuture<'a, Started> {
        Box::pin(async move {
            Ok(match request.method {
                PayMethod::Qr => Started {
                    qr_payload: Some(format!("{}{}", Self::QR_BASE, request.order_id)),
                    state: Self::QR_WAITING.to_string(),
                    outcome: Poll::Pending,
                },
                PayMethod::Scan => {
                    let code = request.auth_code.unwrap_or_default();
                    let (state, outcome) = if code.ends_with("0000") {
                        (
                            Self::SCAN_DECLINED,
                            Poll::Failed {
                                reason: Self::DECLINED_REASON.to_string(),
                            },
                        )
                    } else if code.ends_with("9999") {
                        (Self::SCAN_SILENT, Poll::Pending)
                    } else {
                        (Self::SCAN_CONFIRMS, Poll::Pending)
                    };
                    Started {
                        qr_payload: None,
                        state: state.to_string(),
                        outcome,
                    }
                }
            })
        })
    }

    fn poll<'a>(&'a self, order: &'a OrderRecord, now_ms: i64) -> ProviderFuture<'a, Poll> {
        Box::pin(async move {
            let delay_ms = i64::try_from(self.payer_delay.as_millis()).unwrap_or(i64::MAX);
            Ok(match order.provider_state.as_str() {
                Self::QR_CONFIRMED => Poll::Paid {
                    transaction_id: Self::transaction_id(),
                },
                Self::SCAN_CONFIRMS if now_ms.saturating_sub(order.created_ms) >= delay_ms => {
                    Poll::Paid {
                        transaction_id: Self::transaction_id(),
                    }
                }
                Self::SCAN_DECLINED => Poll::Failed {
                    reason: Self::DECLINED_REASON.to_string(),
                },
                _ => Poll::Pending,
            })
        })
    }

    fn cancel<'a>(&'a self, _order: &'a OrderRecord) -> ProviderFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}
