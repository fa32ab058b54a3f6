//! Properties of the wire types: every value survives a JSON round trip unchanged; webhook
//! bodies of event types MOBILE-PAY may add are kept as `Unknown` with their data, and
//! re-serialize to the same JSON; no input makes a parser panic.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default; `cargo xtask proptest-long` runs
//! 100,000).

use mobilepay_wire::api::{
    AdvanceClock, CreateQrPayment, InternationalTransfer, LocalTransfer, Login, PayOutcome,
    SimulatePayment, Transaction, TransactionKind, TransactionPage, WebhookEndpoint,
};
use mobilepay_wire::checkout::CreateSession;
use mobilepay_wire::strategies::webhook_event;
use mobilepay_wire::webhook::{
    EventKind, PAYMENT_RECEIVED, TRANSACTION_FAILED, TRANSFER_COMPLETED, WebhookEvent,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,30}"
}

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(value).expect("serializable");
    let back: T = serde_json::from_str(&json).expect("what was written parses");
    prop_assert_eq!(&back, value, "{}", json);
    Ok(())
}

/// Any JSON value, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e15f64..1e15).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn outcome() -> impl Strategy<Value = PayOutcome> {
    prop_oneof![
        Just(PayOutcome::Success),
        Just(PayOutcome::InsufficientFunds),
        Just(PayOutcome::Declined),
        Just(PayOutcome::Cancelled),
    ]
}

fn transaction() -> impl Strategy<Value = Transaction> {
    (
        text(),
        prop_oneof![
            Just(TransactionKind::TransferLocal),
            Just(TransactionKind::TransferInternational),
            Just(TransactionKind::QrPayment),
            Just(TransactionKind::Funding),
        ],
        text(),
        any::<i64>(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        text(),
    )
        .prop_map(
            |(id, kind, status, amount, counterparty, description, error_code, created_at)| {
                Transaction {
                    transaction_id: id,
                    kind,
                    status,
                    amount,
                    currency: "FCFA".to_owned(),
                    counterparty,
                    description,
                    error_code,
                    created_at,
                }
            },
        )
}

proptest! {
    #[test]
    fn a_webhook_of_a_known_type_round_trips(event in webhook_event(text)) {
        round_trips(&event)?;
    }

    #[test]
    fn a_webhook_of_an_unknown_type_is_kept_as_unknown_with_its_data(
        event in "[a-z_]{1,12}\\.[a-z_]{1,12}",
        timestamp in text(),
        data in json(),
    ) {
        prop_assume!(![TRANSFER_COMPLETED, PAYMENT_RECEIVED, TRANSACTION_FAILED].contains(&event.as_str()));
        let body = serde_json::json!({"event": event, "timestamp": timestamp, "data": data});

        let parsed: WebhookEvent = serde_json::from_value(body.clone()).expect("an unknown type parses");

        prop_assert_eq!(parsed.kind.name(), event.as_str());
        let EventKind::Unknown { data: kept, .. } = &parsed.kind else {
            return Err(TestCaseError::fail("not Unknown"));
        };
        prop_assert_eq!(kept, &data);
        prop_assert_eq!(serde_json::to_value(&parsed).expect("serializable"), body);
    }

    #[test]
    fn any_json_parsed_as_a_webhook_or_a_request_body_never_panics(value in json(), text in "\\PC{0,60}") {
        // Errors are expected; a panic fails the test.
        let _ = serde_json::from_value::<WebhookEvent>(value.clone());
        let _ = serde_json::from_value::<CreateQrPayment>(value.clone());
        let _ = serde_json::from_value::<LocalTransfer>(value.clone());
        let _ = serde_json::from_value::<InternationalTransfer>(value.clone());
        let _ = serde_json::from_value::<SimulatePayment>(value.clone());
        let _ = serde_json::from_value::<CreateSession>(value);
        let _ = serde_json::from_str::<WebhookEvent>(&text);
        let _ = serde_json::from_str::<CreateQrPayment>(&text);
    }

    #[test]
    fn every_request_body_round_trips(
        amount in any::<u64>(),
        a in text(),
        b in text(),
        c in text(),
        description in proptest::option::of(text()),
        outcome in outcome(),
        payer in proptest::option::of(text()),
    ) {
        round_trips(&CreateQrPayment { amount, description: a.clone(), merchant_id: b.clone() })?;
        round_trips(&LocalTransfer { recipient_phone: a.clone(), amount, description })?;
        round_trips(&InternationalTransfer {
            recipient_country: a.clone(),
            recipient_phone: b.clone(),
            amount,
        })?;
        round_trips(&SimulatePayment { outcome, payer })?;
        round_trips(&Login { email: a.clone(), password: c })?;
        round_trips(&WebhookEndpoint { url: b })?;
        round_trips(&AdvanceClock { seconds: amount })?;
        round_trips(&CreateSession { order_id: a })?;
    }

    #[test]
    fn a_page_of_transactions_round_trips(
        transactions in proptest::collection::vec(transaction(), 0..5),
        total in any::<u64>(),
        limit in any::<u32>(),
        offset in any::<u64>(),
    ) {
        round_trips(&TransactionPage { transactions, total, limit, offset })?;
    }
}

proptest! {
    #[test]
    fn an_amount_is_a_whole_number_written_with_or_without_a_zero_fraction(
        // Where a thousandth is still seen in an f64 (far beyond every bound of the API).
        amount in 0u64..(1 << 33),
        fraction in 1u32..1000,
    ) {
        let body = |amount: &str| format!(r#"{{"recipient_phone":"+2250701020304","amount":{amount}}}"#);

        for written in [amount.to_string(), format!("{amount}.0"), format!("{amount}e0")] {
            let parsed: LocalTransfer = serde_json::from_str(&body(&written)).expect("a whole number");
            prop_assert_eq!(parsed.amount, amount);
        }
        let fractional = format!("{amount}.{fraction:03}");
        prop_assert!(serde_json::from_str::<LocalTransfer>(&body(&fractional)).is_err(), "{}", fractional);
        let negative = body(&(-i128::from(amount) - 1).to_string());
        prop_assert!(serde_json::from_str::<LocalTransfer>(&negative).is_err(), "{}", negative);
    }
}
