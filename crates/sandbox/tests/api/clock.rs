//! The sandbox's clock: `GET /sandbox/v1/clock` and `POST /sandbox/v1/clock/advance`.

use axum::http::StatusCode;
use mobilepay_wire::api::Clock;
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    async fn clock(&self) -> Clock {
        let response = self.get("/sandbox/v1/clock").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a Clock")
    }

    async fn try_advance(&self, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url("/sandbox/v1/clock/advance"))
            .json(&body)
            .send()
            .await
            .expect("the sandbox answers")
    }
}

#[tokio::test]
async fn the_clock_starts_at_real_time_and_moves_forward_by_what_is_asked() {
    let app = spawn_app().await;
    let start = app.clock().await;
    assert_eq!(start.offset_seconds, 0);
    let drift = (parse_time(&start.now) - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!(drift.abs() <= 2, "{start:?}");

    let response = app.try_advance(json!({"seconds": 3600})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let advanced: Clock = response.json().await.expect("a Clock");
    assert_eq!(advanced.offset_seconds, 3600);
    let moved = (parse_time(&advanced.now) - parse_time(&start.now)).whole_seconds();
    assert!((3600..=3602).contains(&moved), "{moved}");
    app.advance_clock(60).await;
    assert_eq!(app.clock().await.offset_seconds, 3660);
}

#[tokio::test]
async fn the_clock_moves_at_least_a_second_and_at_most_thirty_days_and_never_back() {
    let app = spawn_app().await;

    for seconds in [0, 30 * 86_400 + 1] {
        let response = app.try_advance(json!({ "seconds": seconds })).await;
        let message = assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
        assert!(message.contains("seconds"), "{message}");
    }
    for body in [json!({"seconds": -60}), json!({"seconds": 1.5}), json!({})] {
        let response = app.try_advance(body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    }
    assert_eq!(app.clock().await.offset_seconds, 0);
    let response = app.try_advance(json!({"seconds": 30 * 86_400})).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn advancing_past_a_payments_expiry_makes_it_unpayable() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;
    let ttl = (parse_time(&payment.expires_at) - parse_time(&payment.created_at)).whole_seconds();
    assert_eq!(ttl, 15 * 60, "the default time to pay");

    app.advance_clock(15 * 60).await;

    let response = app.pay_with(&payment.payment_id, "success").await;
    assert_error(response, StatusCode::CONFLICT, "PAYMENT_EXPIRED").await;
    let html = app.wallet_page(&payment.payment_id).await;
    assert!(html.contains("Expiré"), "{html}");
}

#[tokio::test]
async fn a_payment_is_still_payable_just_before_its_expiry() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;

    // The clock may tick a second between creating and paying: stay two short.
    app.advance_clock(15 * 60 - 2).await;

    let response = app.pay_with(&payment.payment_id, "success").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn what_happens_after_an_advance_is_stamped_with_the_sandbox_time() {
    let app = spawn_app().await;
    app.advance_clock(10 * 86_400).await;

    let payment = app.create_payment(25_000).await;

    let ahead = parse_time(&payment.created_at) - time::OffsetDateTime::now_utc();
    assert!(
        ahead >= time::Duration::days(10) - time::Duration::seconds(2),
        "{ahead}"
    );
}
