//! What a shopper asking for a session gets when MOBILE-PAY fails the backend: unreachable,
//! refusing the key, rate limiting, answering what cannot be read. A fake MOBILE-PAY plays the
//! last two.

use axum::http::{StatusCode, header};
use mobilepay_client::ApiKey;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn an_unreachable_payment_service_is_a_bad_gateway() {
    let (closed, url) = bind().await;
    drop(closed);
    let app = TestApp::with(|config| config.mobilepay_url = url).await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_error(
        response,
        StatusCode::BAD_GATEWAY,
        "PAYMENT_PROVIDER_UNAVAILABLE",
    )
    .await;
}

#[tokio::test]
async fn a_key_refused_by_the_payment_service_is_a_provider_error_that_reveals_nothing() {
    let app = TestApp::with(|config| config.api_key = ApiKey::new("sk_test_revoked")).await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    let body = assert_error(response, StatusCode::BAD_GATEWAY, "PAYMENT_PROVIDER_ERROR").await;
    let text = body.to_string();
    assert!(!text.contains("sk_test"), "{text}");
    assert!(!text.contains("INVALID_API_KEY"), "{text}");
}

/// A fake MOBILE-PAY whose `POST /api/v1/payments/qr` always answers `answer()`; returns its URL.
/// It stops with the test's runtime.
async fn spawn_fake_mobilepay(answer: fn() -> axum::response::Response) -> String {
    let (listener, url) = bind().await;
    let app = axum::Router::new().route(
        "/api/v1/payments/qr",
        axum::routing::post(move || async move { answer() }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_rate_limited_payment_service_is_a_service_unavailable_with_retry_after() {
    use axum::response::IntoResponse;
    let fake = spawn_fake_mobilepay(|| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "3600")],
            axum::Json(json!({"error_code": "RATE_LIMITED", "error_message": "Trop de requêtes"})),
        )
            .into_response()
    })
    .await;
    let app = TestApp::with(|config| config.mobilepay_url = fake).await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_eq!(
        response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("3600")
    );
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "PAYMENT_PROVIDER_BUSY",
    )
    .await;
}

#[tokio::test]
async fn a_payment_with_an_unreadable_expiry_is_a_provider_error() {
    use axum::response::IntoResponse;
    let fake = spawn_fake_mobilepay(|| {
        let payment = json!({
            "payment_id": "PAYFAKE", "status": "pending", "amount": 25000, "currency": "FCFA",
            "description": "Pagne wax 6 yards", "merchant_id": "MERCHANT123",
            "qr_code": "http://sandbox.test/wallet/PAYFAKE",
            "created_at": "2026-02-26T10:30:00Z", "expires_at": "bientôt",
        });
        (StatusCode::CREATED, axum::Json(payment)).into_response()
    })
    .await;
    let app = TestApp::with(|config| config.mobilepay_url = fake).await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_error(response, StatusCode::BAD_GATEWAY, "PAYMENT_PROVIDER_ERROR").await;
    assert!(
        app.state
            .sessions
            .latest_for_checkout(&order.id)
            .await
            .expect("the database answers")
            .is_none(),
        "no session"
    );
}
