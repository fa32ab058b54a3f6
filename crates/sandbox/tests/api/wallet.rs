//! The wallet page a sandbox QR code points at.

use std::time::Duration;

use axum::http::{StatusCode, header};
use mobilepay_sandbox::Config;
use mobilepay_wire::api::QrPayment;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_wallet_page_shows_the_amount_as_french_speakers_read_it() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .http
        .get(&payment.qr_code)
        .send()
        .await
        .expect("the sandbox answers");

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = content_type(&response);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.expect("a page");
    assert!(html.contains("25\u{202f}000\u{a0}FCFA"), "{html}");
    assert!(html.contains("MERCHANT123"));
    assert!(html.contains("En attente de paiement"));
    assert!(html.contains(r#"value="success""#));
}

#[tokio::test]
async fn the_wallet_page_escapes_the_description() {
    let app = spawn_app().await;
    let body = json!({
        "amount": 100,
        "description": "<script>alert('x')</script>",
        "merchant_id": "MERCHANT123",
    });
    let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
    let payment: QrPayment = response.json().await.expect("a QrPayment");

    let html = app.wallet_page(&payment.payment_id).await;

    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn paying_from_the_wallet_page_settles_the_payment_and_sends_the_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .http
        .post(format!("{}/wallet/{}/pay", app.address, payment.payment_id))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("outcome=success")
        .send()
        .await
        .expect("the sandbox answers");

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("a page");
    assert!(html.contains("Payé"), "{html}");
    assert!(!html.contains(r#"value="success""#), "no more pay buttons");
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["event"], "payment.received");
    assert_eq!(body["data"]["payment_id"], payment.payment_id.as_str());
    let again = app.pay_with(&payment.payment_id, "success").await;
    assert_error(again, StatusCode::CONFLICT, "PAYMENT_ALREADY_SETTLED").await;
}

#[tokio::test]
async fn paying_twice_from_the_wallet_page_shows_why_it_was_refused() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;
    let pay = || {
        app.http
            .post(format!("{}/wallet/{}/pay", app.address, payment.payment_id))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("outcome=insufficient_funds")
            .send()
    };
    pay().await.expect("the sandbox answers");

    let html = pay()
        .await
        .expect("the sandbox answers")
        .text()
        .await
        .expect("a page");

    assert!(html.contains("Échoué"), "{html}");
    assert!(html.contains("Ce paiement est déjà réglé"), "{html}");
}

#[tokio::test]
async fn the_wallet_page_of_an_expired_payment_says_so() {
    let app = spawn_app_with(Config {
        payment_ttl: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;

    let html = app.wallet_page(&payment.payment_id).await;

    assert!(html.contains("Expiré"), "{html}");
    assert!(!html.contains(r#"value="success""#));
}

#[tokio::test]
async fn the_wallet_page_of_an_unknown_payment_is_not_found() {
    let app = spawn_app().await;

    let response = app.get("/wallet/PAYDOESNOTEXIST").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.expect("a page");
    assert!(html.contains("Paiement introuvable"));
}

#[tokio::test]
async fn every_failure_outcome_can_be_chosen_on_the_wallet_page() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;

    for (outcome, code) in [
        ("insufficient_funds", "INSUFFICIENT_FUNDS"),
        ("declined", "TRANSACTION_DECLINED"),
        ("cancelled", "PAYMENT_CANCELLED"),
    ] {
        let payment = app.create_payment(25_000).await;
        let page = app.wallet_page(&payment.payment_id).await;
        assert!(page.contains(&format!(r#"value="{outcome}""#)), "{page}");

        let response = app
            .http
            .post(app.url(&format!("/wallet/{}/pay", payment.payment_id)))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("outcome={outcome}"))
            .send()
            .await
            .expect("the sandbox answers");

        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.expect("a page");
        assert!(html.contains("Échoué"), "{html}");
        let body = receiver.next(PROMPTLY).await.verified_json();
        assert_eq!(body["event"], "transaction.failed");
        assert_eq!(body["data"]["error_code"], code);
        assert_eq!(body["data"]["transaction_id"], payment.payment_id.as_str());
    }
}
