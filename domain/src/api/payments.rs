//! Fee notices and payment orders.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    Unpaid,
    Paid,
    Cancelled,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeNoticeSummary {
    pub payment_code: String,
    pub total_fen: i64,
    pub status: NoticeStatus,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeNotice {
    pub payment_code: String,
    pub agency: String,
    #[serde(default)]
    pub approval_code: Option<String>,
    /// Masked payer name.
    #[serde(default)]
    pub payer: String,
    pub items: Vec<FeeLine>,
    pub total_fen: i64,
    pub status: NoticeStatus,
    #[serde(default)]
    pub receipt_no: Option<String>,
    #[serde(default, with = "crate::api::time::local_opt")]
    pub paid_at: Option<NaiveDateTime>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeLine {
    pub name: String,
    pub amount_fen: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum OrderRequest {
    /// The kiosk shows a QR for the payer's phone.
    Qr,
    /// The scanner read the payer's phone payment code.
    Scan {
        /// WeChat: 18 digits from 10 to 15; Alipay: 16 to 24 digits from 25 to 30.
        #[cfg_attr(
            feature = "openapi",
            schema(pattern = r"^(1[0-5][0-9]{16}|(2[5-9]|30)[0-9]{14,22})$")
        )]
        auth_code: String,
    },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for the payer (scan the QR, or confirm on the phone).
    Pending,
    Paid,
    Failed,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Pending)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub payment_code: String,
    pub status: OrderStatus,
    pub amount_fen: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_payload: Option<String>,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub receipt_no: Option<String>,
    #[serde(default, with = "crate::api::time::local_opt")]
    pub paid_at: Option<NaiveDateTime>,
    #[serde(default, with = "crate::api::time::local_opt")]
    pub expires_at: Option<NaiveDateTime>,
    /// Why it failed, in words (Chinese).
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// A cancellation was asked for and is being carried out: a scanned payment code is never
    /// reversed within 15 s of its debit attempt, so the order stays pending until then (and may
    /// still turn out paid).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelling: bool,
}
