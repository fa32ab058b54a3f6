//! MOBILE-PAY's REST API (`/api/v1/…`) and the sandbox's shopper simulation (`/sandbox/v1/…`).

use serde::{Deserialize, Serialize};

/// `POST /api/v1/payments/qr`: the seed's body, `{"amount", "description", "merchant_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateQrPayment {
    /// Whole FCFA.
    pub amount: u64,
    pub description: String,
    pub merchant_id: String,
}

/// A QR payment as MOBILE-PAY answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QrPayment {
    pub payment_id: String,
    pub status: PaymentStatus,
    pub amount: u64,
    pub currency: String,
    pub description: String,
    pub merchant_id: String,
    /// What the QR code encodes. For the sandbox, a URL of its wallet page for this payment, so a
    /// phone that scans it (or a test) can open it and pay.
    pub qr_code: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC. After it, the payment can no longer be paid.
    pub expires_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Received,
    Failed,
    Expired,
}

/// `POST /sandbox/v1/payments/{payment_id}/pay`: plays the shopper's phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimulatePayment {
    pub outcome: PayOutcome,
    /// The shopper's phone, reported as `payer` in `payment.received`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
}

/// How a simulated shopper's payment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayOutcome {
    Success,
    /// `INSUFFICIENT_FUNDS`, "Solde insuffisant".
    InsufficientFunds,
    /// `TRANSACTION_DECLINED`: the shopper's wallet refused it.
    Declined,
    /// `PAYMENT_CANCELLED`: the shopper cancelled on the phone.
    Cancelled,
}

/// `POST /api/v1/auth/login`: the seed's `{"email", "password"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// A login token, used as a Bearer token like an API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginToken {
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// `POST /api/v1/transfers/local`: the seed's `{"recipient_phone", "amount", "description"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocalTransfer {
    pub recipient_phone: String,
    pub amount: u64,
    #[serde(default)]
    pub description: Option<String>,
}

/// `POST /api/v1/transfers/international`: the seed's
/// `{"recipient_country", "recipient_phone", "amount"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InternationalTransfer {
    /// ISO 3166-1 alpha-2, e.g. `SN`.
    pub recipient_country: String,
    pub recipient_phone: String,
    pub amount: u64,
}

/// A completed transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    pub transfer_id: String,
    /// `completed`.
    pub status: String,
    pub amount: u64,
    pub currency: String,
    pub recipient_phone: String,
    pub recipient_country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The account's balance after the transfer.
    pub balance_after: u64,
    pub created_at: String,
}

/// `GET /api/v1/balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Balance {
    /// Whole FCFA; always the sum of the account's ledger entries, never negative.
    pub balance: u64,
    pub currency: String,
    /// RFC 3339, UTC: the time of the answer.
    pub as_of: String,
}

/// `GET /api/v1/transactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransactionPage {
    /// Newest first.
    pub transactions: Vec<Transaction>,
    /// How many transactions match the dates, all pages together.
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// One movement of the account, or an attempt that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    /// The transfer's or payment's id.
    pub transaction_id: String,
    #[serde(rename = "type")]
    pub kind: TransactionKind,
    /// `completed` or `failed`.
    pub status: String,
    /// Positive for money in, negative for money out; 0 for a failed attempt.
    pub amount: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    TransferLocal,
    TransferInternational,
    QrPayment,
    Funding,
}

/// `PUT /sandbox/v1/webhook-endpoint` `{"url"}`: where the account's webhooks go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub url: String,
}

/// The account's webhook endpoint and its signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpointConfig {
    pub url: Option<String>,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks).
    pub secret: String,
}

/// One webhook and its delivery attempts (`GET /sandbox/v1/webhook-deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// The `webhook-id` header: the same for every attempt and replay of this event.
    pub delivery_id: String,
    pub event: String,
    /// `pending` (an attempt is due), `delivered`, or `failed` (attempts exhausted).
    pub status: String,
    pub url: Option<String>,
    pub attempts: Vec<DeliveryAttempt>,
    /// RFC 3339: when the next attempt is due, while `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    pub at: String,
    /// The endpoint's HTTP status, or none when it could not be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /sandbox/v1/webhook-deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDeliveryList {
    pub deliveries: Vec<WebhookDelivery>,
}

/// `POST /sandbox/v1/clock/advance` `{"seconds"}`: moves the sandbox's clock forward, so that
/// expiries and webhook retries can be tested without waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdvanceClock {
    pub seconds: u64,
}

/// The sandbox's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clock {
    /// RFC 3339, UTC, as the sandbox sees it.
    pub now: String,
    /// How far ahead of the real time the sandbox's clock is.
    pub offset_seconds: u64,
}
