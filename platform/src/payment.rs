//! Payment providers. The platform talks to a provider only through [`PaymentProvider`]; the
//! built-in [`SimulatedProvider`] stands in for a wallet service in demos and tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::store::OrderRecord;

/// How the payer pays (kept with the order records it is stored in).
pub use crate::store::PayMethod;

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

/// The key a provider signs its callbacks with (HMAC-SHA256), shared with the platform.
#[derive(Clone)]
pub struct CallbackKey(Arc<Vec<u8>>);

impl std::fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackKey(…)")
    }
}

/// The header that carries a callback's signature: `sha256=` and the hex HMAC of the body.
pub const SIGNATURE_HEADER: &str = "X-Hall-Signature";
/// How far a callback's `sent_ms` may be from the platform's clock.
pub const CALLBACK_WINDOW_MS: i64 = 5 * 60 * 1000;

impl CallbackKey {
    pub fn new(key: &[u8]) -> Self {
        Self(Arc::new(key.to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
    }

    /// The signature header's value for a body.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        format!(
            "sha256={}",
            tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }

    /// Whether a signature header's value signs the body (compared in constant time).
    pub fn verify(&self, body: &[u8], header: &str) -> bool {
        let Some(hex) = header.trim().strip_prefix("sha256=") else {
            return false;
        };
        let Some(tag) = unhex(hex) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(&tag).is_ok()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// A new random key, as hex.
pub fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a provider tells the platform about an order, signed with the [`CallbackKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    pub order_id: String,
    /// `paid` or `failed`.
    pub outcome: String,
    pub amount_fen: i64,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// When the provider sent it (epoch milliseconds).
    pub sent_ms: i64,
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
    key: CallbackKey,
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

    pub fn new(payer_delay: Duration, key: CallbackKey) -> Self {
        Self { payer_delay, key }
    }

    /// The callback the service sends when the payer confirms a QR order on the phone: the
    /// body and its signature header.
    pub fn paid_callback(&self, order: &OrderRecord, now_ms: i64) -> (Vec<u8>, String) {
        let cb = Callback {
            order_id: order.order_id.clone(),
            outcome: "paid".into(),
            amount_fen: order.amount_fen,
            transaction_id: Some(Self::transaction_id()),
            reason: None,
            sent_ms: now_ms,
        };
        // A struct of strings and integers always serialises.
        let body = serde_json::to_vec(&cb).unwrap_or_default();
        let sig = self.key.sign(&body);
        (body, sig)
    }

    pub fn payer_delay(&self) -> Duration {
        self.payer_delay
    }

    /// The key its callbacks are signed with.
    pub fn key(&self) -> &CallbackKey {
        &self.key
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
