//! The protocol between the widget (in the shopper's browser) and the merchant backend.
//!
//! The widget sends only an order reference; the amount and description always come from the
//! merchant's server.

use serde::{Deserialize, Serialize};

use crate::Amount;

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

/// Where a checkout session stands: `awaiting_payment` → `paid` | `failed` | `expired`, and
/// `expired` → `paid` for a payment made in time whose webhook came late (a payment MOBILE-PAY
/// confirms is never hidden). [`SessionStatus::can_become`] is that rule, the one every side
/// follows: the backend's state machine, the event stream and the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    AwaitingPayment,
    Paid,
    Failed,
    Expired,
}

wire_names!(SessionStatus {
    AwaitingPayment => "awaiting_payment",
    Paid => "paid",
    Failed => "failed",
    Expired => "expired",
});

impl SessionStatus {
    /// Whether the session's outcome is known: every status but `awaiting_payment`. The event
    /// stream ends after it and the widget stops following; the shopper is told the outcome.
    /// Final is not [terminal](SessionStatus::is_terminal): an `expired` session can still
    /// become `paid`.
    pub fn is_final(self) -> bool {
        self != SessionStatus::AwaitingPayment
    }

    /// Whether nothing can follow it: `paid` and `failed`.
    pub fn is_terminal(self) -> bool {
        !SessionStatus::ALL.iter().any(|&next| self.can_become(next))
    }

    /// Whether a session at `self` may move to `next`: forward only, from `awaiting_payment` to
    /// an outcome, or from `expired` to `paid`.
    pub fn can_become(self, next: SessionStatus) -> bool {
        use SessionStatus::*;
        matches!(
            (self, next),
            (AwaitingPayment, Paid | Failed | Expired) | (Expired, Paid)
        )
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
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub amount: Amount,
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

#[cfg(test)]
mod tests {
    use super::SessionStatus::{self, *};

    #[test]
    fn every_status_reads_back_from_its_wire_name_which_is_serdes() {
        for &status in SessionStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
            let json = serde_json::to_string(&status).expect("serializes");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }

    #[test]
    fn an_unknown_status_name_is_an_error_never_a_default() {
        for name in ["", "Paid", "awaiting", "canceled", " paid"] {
            let err = name.parse::<SessionStatus>().expect_err(name);
            assert_eq!(err.to_string(), "not a SessionStatus name");
        }
    }

    #[test]
    fn a_status_moves_only_forward_and_expired_may_still_become_paid() {
        let allowed: Vec<_> = SessionStatus::ALL
            .iter()
            .flat_map(|&from| SessionStatus::ALL.iter().map(move |&to| (from, to)))
            .filter(|&(from, to)| from.can_become(to))
            .collect();
        assert_eq!(
            allowed,
            [
                (AwaitingPayment, Paid),
                (AwaitingPayment, Failed),
                (AwaitingPayment, Expired),
                (Expired, Paid),
            ]
        );
    }

    #[test]
    fn final_means_the_outcome_is_known_and_terminal_that_nothing_follows() {
        let finals: Vec<_> = SessionStatus::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [&Paid, &Failed, &Expired]);
        let terminals: Vec<_> = SessionStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminals, [&Paid, &Failed]);
        // Nothing moves back to awaiting the payment.
        assert!(
            SessionStatus::ALL
                .iter()
                .all(|s| !s.can_become(AwaitingPayment))
        );
    }
}
