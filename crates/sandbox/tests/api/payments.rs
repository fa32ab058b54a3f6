//! `POST /api/v1/payments/qr`, and the shopper paying it through
//! `POST /sandbox/v1/payments/{payment_id}/pay`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use mobilepay_sandbox::Config;
use mobilepay_wire::api::{PaymentStatus, QrPayment};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::helpers::*;

#[tokio::test]
async fn creating_a_qr_payment_with_the_seed_body_answers_a_pending_payment() {
    let app = spawn_app().await;

    let response = app.post_qr(Some(MERCHANT_KEY), &seed_body()).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let payment: QrPayment = response.json().await.expect("a QrPayment");
    assert!(payment.payment_id.starts_with("PAY"), "{payment:?}");
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.amount, 25_000);
    assert_eq!(payment.currency, "FCFA");
    assert_eq!(payment.description, "Purchase");
    assert_eq!(payment.merchant_id, "MERCHANT123");
    assert_eq!(
        payment.qr_code,
        format!("{}/wallet/{}", app.address, payment.payment_id)
    );
    assert!(parse_time(&payment.expires_at) > parse_time(&payment.created_at));
}

#[tokio::test]
async fn every_payment_gets_its_own_id() {
    let app = spawn_app().await;

    let first = app.create_payment(1_000).await;
    let second = app.create_payment(1_000).await;

    assert_ne!(first.payment_id, second.payment_id);
}

#[tokio::test]
async fn the_free_tier_key_of_the_demo_account_can_create_payments_too() {
    let app = spawn_app().await;

    let response = app.post_qr(Some("sk_test_demo_free"), &seed_body()).await;

    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_qr_code_points_at_the_configured_public_url() {
    let app = spawn_app_with(Config {
        public_url: Some("http://192.168.1.20:8090/".to_owned()),
        ..Config::default()
    })
    .await;

    let payment = app.create_payment(25_000).await;

    assert_eq!(
        payment.qr_code,
        format!("http://192.168.1.20:8090/wallet/{}", payment.payment_id)
    );
}

#[tokio::test]
async fn a_request_without_authorization_is_unauthenticated() {
    let app = spawn_app().await;

    let response = app.post_qr(None, &seed_body()).await;

    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn an_authorization_header_that_is_not_a_bearer_token_is_unauthenticated() {
    let app = spawn_app().await;

    let response = app
        .http
        .post(format!("{}/api/v1/payments/qr", app.address))
        .header(header::AUTHORIZATION, "Basic ZGVtbzpwYXNzd29yZDEyMw==")
        .json(&seed_body())
        .send()
        .await
        .expect("the sandbox answers");

    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn an_unknown_api_key_is_refused() {
    let app = spawn_app().await;

    let response = app.post_qr(Some("sk_test_nobody"), &seed_body()).await;

    assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_API_KEY").await;
}

#[tokio::test]
async fn a_live_key_is_refused_by_the_sandbox() {
    let app = spawn_app().await;

    let response = app
        .post_qr(Some("sk_live_abc123def456"), &seed_body())
        .await;

    assert_error(response, StatusCode::UNAUTHORIZED, "LIVE_KEY_REFUSED").await;
}

#[tokio::test]
async fn a_malformed_json_body_is_invalid_json() {
    let app = spawn_app().await;

    let response = app
        .http
        .post(format!("{}/api/v1/payments/qr", app.address))
        .bearer_auth(MERCHANT_KEY)
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"amount": 25000, "description": "#)
        .send()
        .await
        .expect("the sandbox answers");

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

#[tokio::test]
async fn a_body_with_missing_or_mistyped_fields_is_invalid_json() {
    let app = spawn_app().await;

    for body in [
        json!({"amount": 25000, "merchant_id": "MERCHANT123"}),
        json!({"amount": -5, "description": "x", "merchant_id": "MERCHANT123"}),
        json!({"amount": "25000", "description": "x", "merchant_id": "MERCHANT123"}),
        json!({"amount": 25000.5, "description": "x", "merchant_id": "MERCHANT123"}),
    ] {
        let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    }
}

#[tokio::test]
async fn an_amount_of_zero_or_above_the_maximum_is_an_invalid_parameter() {
    let app = spawn_app().await;

    for amount in [0, mobilepay_sandbox::payments::MAX_AMOUNT + 1, u64::MAX] {
        let body = json!({"amount": amount, "description": "Panier", "merchant_id": "MERCHANT123"});
        let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    }
}

#[tokio::test]
async fn the_smallest_and_largest_amounts_are_accepted() {
    let app = spawn_app().await;

    for amount in [1, mobilepay_sandbox::payments::MAX_AMOUNT] {
        let payment = app.create_payment(amount).await;
        assert_eq!(payment.amount, amount);
    }
}

#[tokio::test]
async fn an_empty_or_overlong_description_is_an_invalid_parameter() {
    let app = spawn_app().await;

    for description in [String::new(), "   ".to_owned(), "é".repeat(256)] {
        let body = json!({"amount": 100, "description": description, "merchant_id": "MERCHANT123"});
        let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    }
}

#[tokio::test]
async fn another_merchants_id_is_forbidden() {
    let app = spawn_app().await;

    let body = json!({"amount": 25000, "description": "Purchase", "merchant_id": "MERCHANT999"});
    let response = app.post_qr(Some(MERCHANT_KEY), &body).await;

    assert_error(response, StatusCode::FORBIDDEN, "MERCHANT_MISMATCH").await;
}

#[tokio::test]
async fn an_unknown_route_is_a_json_not_found() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/nothing-here").await;

    assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_json_method_not_allowed() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/payments/qr").await;

    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    )
    .await;
}

#[tokio::test]
async fn the_router_answers_errors_in_the_same_shape_without_a_server() {
    // The router alone, driven with `oneshot`: the listener only gives the state its public URL.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let state = mobilepay_sandbox::state(&listener, Config::default())
        .await
        .expect("a sandbox state");
    let router = mobilepay_sandbox::router(state);

    let request = Request::post("/api/v1/payments/qr")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(seed_body().to_string()))
        .expect("a request");
    let response = router.oneshot(request).await.expect("infallible");

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert_error_body(&body, "UNAUTHENTICATED");
}

// ---------------------------------------------------------------------------------------------
// POST /sandbox/v1/payments/{payment_id}/pay, and webhooks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_successful_payment_settles_it_and_sends_a_signed_payment_received_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;

    let response = app.pay_with(&payment.payment_id, "success").await;

    assert_eq!(response.status(), StatusCode::OK);
    let settled: QrPayment = response.json().await.expect("a QrPayment");
    assert_eq!(settled.status, PaymentStatus::Received);
    assert_eq!(settled.payment_id, payment.payment_id);

    let delivery = receiver.next(PROMPTLY).await;
    assert!(delivery.header("webhook-id").starts_with("msg_"));
    assert!(
        delivery
            .header("content-type")
            .starts_with("application/json")
    );
    let body = delivery.verified_json();
    assert_eq!(body["event"], "payment.received");
    parse_time(body["timestamp"].as_str().expect("a timestamp"));
    assert_eq!(
        body["data"],
        json!({
            "payment_id": payment.payment_id,
            "amount": 25000,
            "payer": mobilepay_sandbox::payments::DEFAULT_PAYER,
            "status": "received",
        })
    );
    // The seed's field order: event, timestamp, data.
    let text = std::str::from_utf8(&delivery.body).expect("UTF-8");
    assert!(
        text.starts_with(r#"{"event":"payment.received","timestamp":""#),
        "{text}"
    );
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn the_payer_named_by_the_simulation_is_reported_in_the_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(5_000).await;

    let response = app.paid_by(&payment.payment_id, "+2250102030405").await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["data"]["payer"], "+2250102030405");
    assert_eq!(body["data"]["amount"], 5000);
}

/// Pays a new payment of 25 000 FCFA with `outcome`, which must fail it: the answer says
/// failed, and a `transaction.failed` webhook carries `code` and `message`.
async fn fails_with(
    app: &TestApp,
    receiver: &mut WebhookReceiver,
    outcome: &str,
    code: &str,
    message: &str,
) -> QrPayment {
    let payment = app.create_payment(25_000).await;
    let response = app.pay_with(&payment.payment_id, outcome).await;
    assert_eq!(response.status(), StatusCode::OK);
    let settled: QrPayment = response.json().await.expect("a QrPayment");
    assert_eq!(settled.status, PaymentStatus::Failed);
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["event"], "transaction.failed");
    assert_eq!(
        body["data"],
        json!({
            "transaction_id": payment.payment_id,
            "error_code": code,
            "error_message": message,
        })
    );
    payment
}

#[tokio::test]
async fn insufficient_funds_fail_the_payment_with_a_transaction_failed_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    fails_with(
        &app,
        &mut receiver,
        "insufficient_funds",
        "INSUFFICIENT_FUNDS",
        "Solde insuffisant",
    )
    .await;
}

#[tokio::test]
async fn paying_a_payment_twice_is_a_conflict_and_sends_no_second_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;
    let first = app.pay_with(&payment.payment_id, "success").await;
    assert_eq!(first.status(), StatusCode::OK);
    receiver.next(PROMPTLY).await;

    for outcome in ["success", "insufficient_funds"] {
        let again = app.pay_with(&payment.payment_id, outcome).await;
        assert_error(again, StatusCode::CONFLICT, "PAYMENT_ALREADY_SETTLED").await;
    }
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn paying_an_unknown_payment_is_not_found() {
    let app = spawn_app().await;

    let response = app
        .pay("PAYDOESNOTEXIST", &json!({"outcome": "success"}))
        .await;

    assert_error(response, StatusCode::NOT_FOUND, "PAYMENT_NOT_FOUND").await;
}

#[tokio::test]
async fn an_unknown_outcome_is_invalid_json() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;

    let response = app.pay_with(&payment.payment_id, "maybe").await;

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

#[tokio::test]
async fn an_expired_payment_can_no_longer_be_paid() {
    let mut receiver = spawn_receiver(0).await;
    let app = spawn_app_with(Config {
        webhook_url: Some(receiver.url.clone()),
        payment_ttl: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;

    let response = app.pay_with(&payment.payment_id, "success").await;

    assert_error(response, StatusCode::CONFLICT, "PAYMENT_EXPIRED").await;
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn a_payment_cannot_be_paid_once_its_announced_expiry_has_passed() {
    let app = spawn_app_with(Config {
        payment_ttl: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;
    // Rather than sleep until then: the sandbox's clock moved to the very second the merchant
    // was told the payment expires, no later.
    app.advance_clock(1).await;

    let response = app.pay_with(&payment.payment_id, "success").await;

    assert_error(response, StatusCode::CONFLICT, "PAYMENT_EXPIRED").await;
}

#[tokio::test]
async fn a_declined_or_cancelled_payment_fails_with_its_code_in_the_webhook_and_the_history() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;

    for (outcome, code, message) in [
        ("declined", "TRANSACTION_DECLINED", "Transaction refusée"),
        (
            "cancelled",
            "PAYMENT_CANCELLED",
            "Paiement annulé par le client",
        ),
        (
            "insufficient_funds",
            "INSUFFICIENT_FUNDS",
            "Solde insuffisant",
        ),
    ] {
        let payment = fails_with(&app, &mut receiver, outcome, code, message).await;
        let entry = app.history().await.remove(0);
        assert_eq!(entry.transaction_id, payment.payment_id);
        assert_eq!(entry.kind, mobilepay_wire::api::TransactionKind::QrPayment);
        assert_eq!(entry.status, "failed");
        assert_eq!(entry.amount, 0);
        assert_eq!(entry.error_code.as_deref(), Some(code));
    }
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn a_received_payment_credits_the_wallet_and_is_in_the_history() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;

    let response = app.paid_by(&payment.payment_id, "+2250102030405").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.balance().await, OPENING_BALANCE as u64 + 25_000);
    let entry = app.history().await.remove(0);
    assert_eq!(entry.transaction_id, payment.payment_id);
    assert_eq!(entry.kind, mobilepay_wire::api::TransactionKind::QrPayment);
    assert_eq!(entry.status, "completed");
    assert_eq!(entry.amount, 25_000);
    assert_eq!(entry.counterparty.as_deref(), Some("+2250102030405"));
    assert_eq!(entry.description.as_deref(), Some("Panier"));
}

#[tokio::test]
async fn a_payer_that_is_not_a_valid_phone_is_refused() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;

    let response = app.paid_by(&payment.payment_id, "+225XXXXXXXXX").await;

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
}

#[tokio::test]
async fn a_login_token_creates_payments_for_its_account() {
    let app = spawn_app().await;
    let token = app.login_token().await;

    let response = app.post_qr(Some(&token.token), &seed_body()).await;

    assert_eq!(response.status(), StatusCode::CREATED);
}
