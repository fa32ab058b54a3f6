//! MOBILE-PAY's REST API (`/api/v1/…`) and the sandbox's shopper simulation (`/sandbox/v1/…`).

use serde::{Deserialize, Deserializer, Serialize};

/// A whole number in a request body: `25000`, or `25000.0`, which JSON (and JSON Schema's
/// `integer`, what the OpenAPI document says) counts as the same number. `25000.5`, a negative
/// number or one past `u64` is refused.
pub(crate) fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        Float(f64),
    }
    match Number::deserialize(deserializer) {
        Ok(Number::Whole(n)) => Ok(n),
        // 2^64 is exactly representable: anything below it and whole fits in a u64.
        Ok(Number::Float(f))
            if f >= 0.0 && f.fract() == 0.0 && f < 18_446_744_073_709_551_616.0 =>
        {
            Ok(f as u64)
        }
        _ => Err(serde::de::Error::custom("expected a whole number")),
    }
}

/// [`whole_number`] for an optional field (absent or `null`: `None`).
pub(crate) fn optional_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] u64);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
}

/// `POST /api/v1/payments/qr`: the seed's body, `{"amount", "description", "merchant_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateQrPayment {
    /// Whole FCFA, 1 to 5,000,000.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5_000_000))]
    #[serde(deserialize_with = "whole_number")]
    pub amount: u64,
    /// 1 to 255 characters, not only blanks; kept without the blanks around it.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 255, pattern = r"[^\t\n\f\r ]")
    )]
    pub description: String,
    /// The API key's account's (`MERCHANT123` for the demo); another is `403 MERCHANT_MISMATCH`.
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

wire_names!(PaymentStatus {
    Pending => "pending",
    Received => "received",
    Failed => "failed",
    Expired => "expired",
});

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
    /// An Ivorian phone in E.164 (`+2250701020304`); the document's pattern is generated from
    /// the sandbox's table of countries.
    pub recipient_phone: String,
    /// Whole FCFA, 100 to 2,000,000.
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 2_000_000))]
    #[serde(deserialize_with = "whole_number")]
    pub amount: u64,
    /// 255 characters at most; only blanks is the same as none.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 255))]
    pub description: Option<String>,
}

/// `POST /api/v1/transfers/international`: the seed's
/// `{"recipient_country", "recipient_phone", "amount"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InternationalTransfer {
    /// ISO 3166-1 alpha-2, upper case, of the zone but Côte d'Ivoire, e.g. `SN`.
    pub recipient_country: String,
    /// E.164, of `recipient_country`.
    pub recipient_phone: String,
    /// Whole FCFA, 500 to 1,000,000.
    #[cfg_attr(feature = "openapi", schema(minimum = 500, maximum = 1_000_000))]
    #[serde(deserialize_with = "whole_number")]
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
    /// An absolute `http://` or `https://` URL, 2,048 characters at most.
    #[cfg_attr(feature = "openapi", schema(format = "uri", max_length = 2048))]
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

/// Where a sandbox webhook delivery stands: `pending` until an attempt is answered `2xx`
/// (`delivered`) or the retry schedule runs out (`failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

wire_names!(DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
});

/// One webhook and its delivery attempts (`GET /sandbox/v1/webhook-deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// The `webhook-id` header: the same for every attempt and replay of this event.
    pub delivery_id: String,
    pub event: String,
    /// `pending` (an attempt is due), `delivered`, or `failed` (attempts exhausted): a
    /// [`DeliveryStatus`]'s name.
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
    /// 1 to 2,592,000 (30 days).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2_592_000))]
    #[serde(deserialize_with = "whole_number")]
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
