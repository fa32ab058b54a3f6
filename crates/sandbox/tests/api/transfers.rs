//! `POST /api/v1/transfers/local` and `/international`: validation, magic recipients, the balance,
//! the history and the webhooks.

use axum::http::StatusCode;
use mobilepay_wire::api::{Transaction, TransactionKind, Transfer};
use serde_json::{Value, json};

use crate::helpers::*;

/// A local transfer of `amount` to [`CI_PHONE`] with `description`.
async fn with_description(app: &TestApp, amount: u64, description: &str) -> reqwest::Response {
    let body = json!({"recipient_phone": CI_PHONE, "amount": amount, "description": description});
    app.local_transfer(&body).await
}

async fn created_transfer(response: reqwest::Response) -> Transfer {
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("a Transfer")
}

#[tokio::test]
async fn a_local_transfer_debits_the_wallet_and_answers_the_balance_after() {
    let app = spawn_app().await;

    let transfer = created_transfer(with_description(&app, 10000, "Payment").await).await;

    assert!(transfer.transfer_id.starts_with("TRF"), "{transfer:?}");
    assert_eq!(transfer.status, "completed");
    assert_eq!(transfer.amount, 10_000);
    assert_eq!(transfer.currency, "FCFA");
    assert_eq!(transfer.recipient_phone, CI_PHONE);
    assert_eq!(transfer.recipient_country, "CI");
    assert_eq!(transfer.description.as_deref(), Some("Payment"));
    assert_eq!(transfer.balance_after, OPENING_BALANCE as u64 - 10_000);
    parse_time(&transfer.created_at);
    assert_eq!(app.balance().await, transfer.balance_after);
}

#[tokio::test]
async fn a_phone_is_e164_exactly_as_the_document_says_and_a_country_upper_case() {
    let app = spawn_app().await;

    for phone in ["+225 07 01 02 03 04", " +2250701020304", "+225-0701020304"] {
        let response = app.local(phone, 100).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
    }
    let response = app.international("sn", SN_PHONE, 500).await;
    assert_error(response, StatusCode::BAD_REQUEST, "UNSUPPORTED_COUNTRY").await;
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn a_description_of_blanks_is_none_and_its_length_counts_as_sent() {
    let app = spawn_app().await;

    let transfer = created_transfer(with_description(&app, 100, " \t ").await).await;
    assert_eq!(transfer.description, None);

    let padded = format!(" {} ", "a".repeat(254));
    let response = with_description(&app, 100, &padded).await;
    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
}

#[tokio::test]
async fn an_international_transfer_to_senegal_completes() {
    let app = spawn_app().await;

    let transfer = created_transfer(app.international("SN", SN_PHONE, 50000).await).await;

    assert_eq!(transfer.recipient_country, "SN");
    assert_eq!(transfer.recipient_phone, SN_PHONE);
    assert_eq!(transfer.balance_after, OPENING_BALANCE as u64 - 50_000);
    assert_eq!(app.balance().await, transfer.balance_after);
}

#[tokio::test]
async fn every_country_of_the_zone_but_ivory_coast_takes_international_transfers() {
    let app = spawn_app().await;

    for (country, phone) in [
        ("BJ", "+2290197000001"),
        ("BF", "+22670000001"),
        ("GW", "+245955000001"),
        ("ML", "+22370000001"),
        ("NE", "+22790000001"),
        ("SN", SN_PHONE),
        ("TG", "+22890000001"),
    ] {
        let response = app.international(country, phone, 500).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{country} {phone}");
    }
}

#[tokio::test]
async fn a_completed_transfer_is_in_the_history_and_announced_by_a_signed_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;

    let transfer = created_transfer(app.international("SN", SN_PHONE, 50000).await).await;

    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["event"], "transfer.completed");
    parse_time(body["timestamp"].as_str().expect("a timestamp"));
    assert_eq!(
        body["data"],
        json!({
            "transfer_id": transfer.transfer_id,
            "amount": 50000,
            "currency": "FCFA",
            "status": "completed",
        })
    );
    let history = app.history().await;
    let entry = &history[0];
    assert_eq!(entry.transaction_id, transfer.transfer_id);
    assert_eq!(entry.kind, TransactionKind::TransferInternational);
    assert_eq!(entry.status, "completed");
    assert_eq!(entry.amount, -50_000);
    assert_eq!(entry.counterparty.as_deref(), Some(SN_PHONE));
    assert_eq!(entry.error_code, None);
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn the_seeds_placeholder_phones_and_malformed_numbers_are_invalid_phones() {
    let app = spawn_app().await;

    for phone in [
        "+225XXXXXXXXX",
        "0701020304",
        "2250701020304",
        "+225070102030",
        "+22507010203045",
        "",
    ] {
        let response = app.local(phone, 10000).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
    }
    for phone in ["+221XXXXXXXXX", "+22177123456", "+2217712345678"] {
        let response = app.international("SN", phone, 50000).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
    }
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn a_phone_or_country_outside_the_uemoa_zone_is_unsupported() {
    let app = spawn_app().await;

    let response = app.local("+33612345678", 10000).await;
    assert_error(response, StatusCode::BAD_REQUEST, "UNSUPPORTED_COUNTRY").await;
    for country in ["FR", "GH", "", "SEN"] {
        let response = app.international(country, SN_PHONE, 50000).await;
        assert_error(response, StatusCode::BAD_REQUEST, "UNSUPPORTED_COUNTRY").await;
    }
}

#[tokio::test]
async fn a_phone_whose_prefix_is_not_the_transfers_country_is_a_country_mismatch() {
    let app = spawn_app().await;

    let response = app.local(SN_PHONE, 10000).await;
    assert_error(response, StatusCode::BAD_REQUEST, "COUNTRY_MISMATCH").await;
    let response = app.international("ML", SN_PHONE, 50000).await;
    assert_error(response, StatusCode::BAD_REQUEST, "COUNTRY_MISMATCH").await;
}

#[tokio::test]
async fn an_international_transfer_to_ivory_coast_is_an_invalid_parameter() {
    let app = spawn_app().await;

    let response = app.international("CI", CI_PHONE, 50000).await;

    let message = assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    assert!(message.contains("recipient_country"), "{message}");
}

#[tokio::test]
async fn amounts_outside_the_documented_limits_are_invalid_parameters() {
    let app = spawn_app().await;

    for amount in [0, 99, 2_000_001, u64::MAX] {
        let response = app.local(CI_PHONE, amount).await;
        let message = assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
        assert!(message.contains("amount"), "{message}");
    }
    for amount in [0, 499, 1_000_001] {
        let response = app.international("SN", SN_PHONE, amount).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    }
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn the_smallest_amounts_are_accepted() {
    let app = spawn_app().await;

    created_transfer(app.local(CI_PHONE, 100).await).await;
    created_transfer(app.international("SN", SN_PHONE, 500).await).await;

    assert_eq!(app.balance().await, OPENING_BALANCE as u64 - 600);
}

#[tokio::test]
async fn an_overlong_description_is_an_invalid_parameter() {
    let app = spawn_app().await;

    let response = with_description(&app, 1000, &"é".repeat(256)).await;

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
}

#[tokio::test]
async fn a_fractional_negative_textual_or_missing_amount_is_invalid_json() {
    let app = spawn_app().await;

    for body in [
        json!({"recipient_phone": CI_PHONE, "amount": 10000.5}),
        json!({"recipient_phone": CI_PHONE, "amount": -10000}),
        json!({"recipient_phone": CI_PHONE, "amount": "10000"}),
        json!({"recipient_phone": CI_PHONE}),
        json!({"amount": 10000}),
    ] {
        let response = app.local_transfer(&body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    }
    let response = app
        .international_transfer(&json!({"recipient_phone": SN_PHONE, "amount": 50000}))
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

#[tokio::test]
async fn a_transfer_without_a_key_is_unauthenticated() {
    let app = spawn_app().await;

    for path in ["/api/v1/transfers/local", "/api/v1/transfers/international"] {
        let response = app
            .http
            .post(app.url(path))
            .json(&json!({"recipient_phone": CI_PHONE, "amount": 1000}))
            .send()
            .await
            .expect("the sandbox answers");
        assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED").await;
    }
}

/// Checks the refusal of a transfer: its answer, its `transaction.failed` webhook, the failed
/// entry in the history, and an untouched balance.
async fn assert_refused(
    app: &TestApp,
    receiver: &mut WebhookReceiver,
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
    fr: &str,
    kind: TransactionKind,
) {
    assert_error(response, status, code).await;
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["event"], "transaction.failed");
    assert_eq!(body["data"]["error_code"], code);
    assert_eq!(body["data"]["error_message"], fr);
    let id = body["data"]["transaction_id"]
        .as_str()
        .expect("a transaction id");
    let history = app.history().await;
    let entry: &Transaction = history
        .iter()
        .find(|t| t.transaction_id == id)
        .unwrap_or_else(|| panic!("{id} in the history: {history:?}"));
    assert_eq!(entry.kind, kind);
    assert_eq!(entry.status, "failed");
    assert_eq!(entry.amount, 0);
    assert_eq!(entry.error_code.as_deref(), Some(code));
}

#[tokio::test]
async fn magic_recipients_are_refused_each_with_its_code_and_a_transaction_failed_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let magic = [
        (
            "0402",
            StatusCode::PAYMENT_REQUIRED,
            "INSUFFICIENT_FUNDS",
            "Solde insuffisant",
        ),
        (
            "0403",
            StatusCode::UNPROCESSABLE_ENTITY,
            "TRANSACTION_DECLINED",
            "Transaction refusée",
        ),
        (
            "0404",
            StatusCode::UNPROCESSABLE_ENTITY,
            "RECIPIENT_NOT_FOUND",
            "Destinataire introuvable",
        ),
    ];

    for (suffix, status, code, fr) in magic {
        let local = json!({"recipient_phone": format!("+225070000{suffix}"), "amount": 10000});
        let response = app.local_transfer(&local).await;
        assert_refused(
            &app,
            &mut receiver,
            response,
            status,
            code,
            fr,
            TransactionKind::TransferLocal,
        )
        .await;
        let international = json!({
            "recipient_country": "SN",
            "recipient_phone": format!("+22177000{suffix}"),
            "amount": 50000,
        });
        let response = app.international_transfer(&international).await;
        assert_refused(
            &app,
            &mut receiver,
            response,
            status,
            code,
            fr,
            TransactionKind::TransferInternational,
        )
        .await;
    }

    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn a_transfer_above_the_balance_is_refused_and_the_balance_never_goes_negative() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;

    let response = app.local(CI_PHONE, 1_500_000).await;
    assert_refused(
        &app,
        &mut receiver,
        response,
        StatusCode::PAYMENT_REQUIRED,
        "INSUFFICIENT_FUNDS",
        "Solde insuffisant",
        TransactionKind::TransferLocal,
    )
    .await;

    let everything = created_transfer(app.local(CI_PHONE, OPENING_BALANCE as u64).await).await;
    assert_eq!(everything.balance_after, 0);
    receiver.next(PROMPTLY).await;
    let response = app.international("SN", SN_PHONE, 500).await;
    assert_refused(
        &app,
        &mut receiver,
        response,
        StatusCode::PAYMENT_REQUIRED,
        "INSUFFICIENT_FUNDS",
        "Solde insuffisant",
        TransactionKind::TransferInternational,
    )
    .await;
    assert_eq!(app.balance().await, 0);
}

#[tokio::test]
async fn a_payment_received_can_be_spent_again() {
    let app = spawn_app().await;
    created_transfer(app.local(CI_PHONE, OPENING_BALANCE as u64).await).await;
    let payment = app.create_payment(25_000).await;
    let paid = app.pay_with(&payment.payment_id, "success").await;
    assert_eq!(paid.status(), StatusCode::OK);

    assert_eq!(app.balance().await, 25_000);
    let transfer = created_transfer(app.local(CI_PHONE, 25000).await).await;

    assert_eq!(transfer.balance_after, 0);
    let history: Vec<Value> = app
        .history()
        .await
        .iter()
        .map(|t| json!([t.kind, t.amount]))
        .collect();
    assert_eq!(
        history,
        [
            json!(["transfer_local", -25000]),
            json!(["qr_payment", 25000]),
            json!(["transfer_local", -OPENING_BALANCE]),
            json!(["funding", OPENING_BALANCE]),
        ]
    );
}
