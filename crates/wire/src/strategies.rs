//! proptest strategies for the wire types, written once for every crate whose property tests
//! generate them (the wire's own round trips, the client's webhook verifier).
//!
//! Behind the `proptest` feature, which only dev-dependencies enable: the widget and the servers
//! never build it. Each strategy takes the maker of its free text's strategy, so that each test
//! keeps the characters it is about (any printable text for JSON, a narrower set elsewhere).

use proptest::prelude::*;

use crate::webhook::{
    EventKind, PaymentReceived, TransactionFailed, TransferCompleted, WebhookEvent,
};

/// A webhook event of one of the types MOBILE-PAY sends today (never `Unknown`).
pub fn known_kind<S>(text: impl Fn() -> S) -> impl Strategy<Value = EventKind>
where
    S: Strategy<Value = String>,
{
    prop_oneof![
        (text(), any::<u64>(), text(), text()).prop_map(|(id, amount, currency, status)| {
            EventKind::TransferCompleted(TransferCompleted {
                transfer_id: id,
                amount,
                currency,
                status,
            })
        }),
        (text(), any::<u64>(), text(), text()).prop_map(|(id, amount, payer, status)| {
            EventKind::PaymentReceived(PaymentReceived {
                payment_id: id,
                amount,
                payer,
                status,
            })
        }),
        (text(), text(), text()).prop_map(|(id, code, message)| {
            EventKind::TransactionFailed(TransactionFailed {
                transaction_id: id,
                error_code: code,
                error_message: message,
            })
        }),
    ]
}

/// A whole webhook body of a known type: its timestamp and its event.
pub fn webhook_event<S>(text: impl Fn() -> S) -> impl Strategy<Value = WebhookEvent>
where
    S: Strategy<Value = String>,
{
    (text(), known_kind(text)).prop_map(|(timestamp, kind)| WebhookEvent { timestamp, kind })
}
