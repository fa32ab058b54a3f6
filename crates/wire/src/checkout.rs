//! The protocol between the widget (in the shopper's browser) and the merchant backend.
//!
//! The widget sends only an order reference; the amount and description always come from the
//! merchant's server.

use serde::{Deserialize, Serialize};

/// `POST /checkout/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateSession {
    /// The checkout's id (`chk_…`), as the merchant API answered it.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")
    )]
    pub order_id: String,
}

/// Where a checkout session stands. Moves only forward: `awaiting_payment` → one final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    AwaitingPayment,
    Paid,
    Failed,
    Expired,
}

impl SessionStatus {
    /// A final status never changes again, and ends the event stream.
    pub fn is_final(self) -> bool {
        !matches!(self, SessionStatus::AwaitingPayment)
    }

    /// The wire name, also used as the widget's `status` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::AwaitingPayment => "awaiting_payment",
            SessionStatus::Paid => "paid",
            SessionStatus::Failed => "failed",
            SessionStatus::Expired => "expired",
        }
    }
}

/// Why a payment failed, as MOBILE-PAY reported it (`INSUFFICIENT_FUNDS`, "Solde insuffisant").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Failure {
    pub error_code: String,
    pub error_message: String,
}

/// The answer to `POST /checkout/sessions`: all the widget needs to show and follow a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutSession {
    pub session_id: String,
    pub order_id: String,
    pub status: SessionStatus,
    /// Whole FCFA, decided by the merchant's server.
    pub amount: u64,
    pub currency: String,
    pub description: String,
    pub payment_id: String,
    /// What the QR code encodes (and the deep link a phone opens).
    pub qr_payload: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// Server-Sent Events of [`StatusEvent`]s (event name `status`). Carries the session's
    /// capability: whoever has it may watch this session, nobody else.
    pub events_url: String,
    /// The current [`StatusEvent`] as JSON, for clients that cannot hold a stream. Same capability.
    pub status_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// One status of a session: the `data` of each `status` event on the stream, and the body of the
/// status URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusEvent {
    pub status: SessionStatus,
    pub payment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}
