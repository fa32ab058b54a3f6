//! MOBILE-PAY's REST API (`/api/v1/…`) and the sandbox's shopper simulation (`/sandbox/v1/…`).

use serde::{Deserialize, Serialize};

/// `POST /api/v1/payments/qr`: the seed's body, `{"amount", "description", "merchant_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateQrPayment {
    /// Whole FCFA.
    pub amount: u64,
    pub description: String,
    pub merchant_id: String,
}

/// A QR payment as MOBILE-PAY answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Received,
    Failed,
    Expired,
}

/// `POST /sandbox/v1/payments/{payment_id}/pay`: plays the shopper's phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatePayment {
    pub outcome: PayOutcome,
    /// The shopper's phone, reported as `payer` in `payment.received`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
}

/// How a simulated shopper's payment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayOutcome {
    Success,
    InsufficientFunds,
}
