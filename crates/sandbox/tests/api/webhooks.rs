//! Webhooks: the endpoint (`/sandbox/v1/webhook-endpoint`), delivery and its retry schedule on
//! the sandbox's clock, the delivery log and replay.

use axum::http::StatusCode;
use mobilepay_sandbox::webhooks::RETRY_SCHEDULE;
use mobilepay_sandbox::{Config, DEMO_WEBHOOK_SECRET};
use mobilepay_wire::api::{WebhookDelivery, WebhookEndpointConfig};
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::*;

#[tokio::test]
async fn a_refused_webhook_is_retried_with_the_same_id_and_body() {
    let (app, mut receiver) = spawn_app_with_receiver(1).await;
    let payment = app.create_payment(25_000).await;

    let response = app.pay_with(&payment.payment_id, "success").await;
    assert_eq!(response.status(), StatusCode::OK);

    let refused = receiver.next(PROMPTLY).await;
    // Advance only once the refusal is recorded: the retry is due 5 s (±10 %) after it.
    app.delivery_when(refused.header("webhook-id"), |d| d.attempts.len() == 1)
        .await;
    app.advance_clock(6).await;
    let retried = receiver.next(PROMPTLY).await;
    assert_eq!(refused.header("webhook-id"), retried.header("webhook-id"));
    assert_eq!(refused.body, retried.body);
    assert_eq!(retried.verified_json()["event"], "payment.received");
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn an_unreachable_webhook_endpoint_does_not_fail_the_payment() {
    // A port that was free a moment ago: nothing listens there any more.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let url = format!(
        "http://{}/webhooks",
        closed.local_addr().expect("the listener's address")
    );
    drop(closed);
    let app = spawn_app_with(Config {
        webhook_url: Some(url.clone()),
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;

    let response = app.pay_with(&payment.payment_id, "success").await;

    assert_eq!(response.status(), StatusCode::OK);
    let id = app.deliveries().await[0].delivery_id.clone();
    let delivery = app.delivery_when(&id, |d| !d.attempts.is_empty()).await;
    assert_eq!(delivery.status, "pending");
    assert_eq!(delivery.url.as_deref(), Some(url.as_str()));
    assert_eq!(delivery.attempts[0].http_status, None);
    assert_eq!(
        delivery.attempts[0].error.as_deref(),
        Some("could not connect")
    );
}

#[tokio::test]
async fn the_webhook_endpoint_starts_unset_and_shows_the_accounts_whsec_secret() {
    let app = spawn_app().await;

    let response = app
        .get_as(MERCHANT_KEY, "/sandbox/v1/webhook-endpoint")
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let endpoint: WebhookEndpointConfig = response.json().await.expect("an endpoint");
    assert_eq!(endpoint.url, None);
    assert_eq!(endpoint.secret, DEMO_WEBHOOK_SECRET);
    assert!(endpoint.secret.starts_with("whsec_"));
}

#[tokio::test]
async fn setting_the_webhook_endpoint_is_read_back_and_receives_the_next_webhook() {
    let app = spawn_app().await;
    let mut receiver = spawn_receiver(0).await;

    app.set_webhook_url(&receiver.url).await;

    let endpoint: WebhookEndpointConfig = app
        .get_as(MERCHANT_KEY, "/sandbox/v1/webhook-endpoint")
        .await
        .json()
        .await
        .expect("an endpoint");
    assert_eq!(endpoint.url.as_deref(), Some(receiver.url.as_str()));
    let response = app.local(CI_PHONE, 1000).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["event"], "transfer.completed");
}

#[tokio::test]
async fn a_webhook_endpoint_that_is_not_an_http_url_is_an_invalid_parameter() {
    let app = spawn_app().await;

    for url in ["", "not a url", "ftp://example.com/hook", "http://"] {
        let response = app
            .http
            .put(app.url("/sandbox/v1/webhook-endpoint"))
            .bearer_auth(MERCHANT_KEY)
            .json(&json!({ "url": url }))
            .send()
            .await
            .expect("the sandbox answers");
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    }
    let response = app
        .http
        .put(app.url("/sandbox/v1/webhook-endpoint"))
        .bearer_auth(MERCHANT_KEY)
        .json(&json!({}))
        .send()
        .await
        .expect("the sandbox answers");
    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

#[tokio::test]
async fn the_webhook_endpoint_and_delivery_log_need_an_api_key() {
    let app = spawn_app().await;

    for path in [
        "/sandbox/v1/webhook-endpoint",
        "/sandbox/v1/webhook-deliveries",
    ] {
        assert_error(
            app.get(path).await,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        )
        .await;
    }
}

#[tokio::test]
async fn without_an_endpoint_a_webhook_waits_and_is_delivered_once_one_is_set() {
    let app = spawn_app().await;
    let mut receiver = spawn_receiver(0).await;
    let payment = app.create_payment(25_000).await;
    let response = app.pay_with(&payment.payment_id, "success").await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = app.deliveries().await[0].delivery_id.clone();
    let waiting = app.delivery_when(&id, |d| d.attempts.len() == 1).await;
    assert_eq!(waiting.status, "pending");
    assert_eq!(
        waiting.attempts[0].error.as_deref(),
        Some("no webhook endpoint configured")
    );

    app.set_webhook_url(&receiver.url).await;
    app.advance_clock(6).await;

    let delivery = receiver.next(PROMPTLY).await;
    assert_eq!(delivery.header("webhook-id"), id);
    assert_eq!(delivery.verified_json()["event"], "payment.received");
    app.delivery_when(&id, |d| d.status == "delivered").await;
}

#[tokio::test]
async fn the_delivery_log_lists_each_webhook_newest_first_with_its_attempts_and_payload() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;
    app.pay_with(&payment.payment_id, "success").await;
    let first = receiver.next(PROMPTLY).await;
    app.local(CI_PHONE, 1000).await;
    let second = receiver.next(PROMPTLY).await;
    app.delivery_when(second.header("webhook-id"), |d| d.status == "delivered")
        .await;

    let deliveries = app.deliveries().await;

    assert_eq!(deliveries.len(), 2);
    let [newest, oldest] = [&deliveries[0], &deliveries[1]];
    assert_eq!(newest.delivery_id, second.header("webhook-id"));
    assert_eq!(newest.event, "transfer.completed");
    assert_eq!(oldest.delivery_id, first.header("webhook-id"));
    assert_eq!(oldest.event, "payment.received");
    assert_eq!(oldest.payload, first.verified_json());
    assert_eq!(newest.url.as_deref(), Some(receiver.url.as_str()));
    assert_eq!(newest.attempts.len(), 1);
    assert_eq!(newest.attempts[0].http_status, Some(200));
    assert_eq!(newest.attempts[0].error, None);
    assert_eq!(newest.next_attempt_at, None);
    parse_time(&newest.attempts[0].at);
    parse_time(&newest.created_at);
}

#[tokio::test]
async fn a_webhook_refused_every_time_follows_the_retry_schedule_then_is_abandoned() {
    let (app, mut receiver) = spawn_app_with_receiver(usize::MAX).await;
    let payment = app.create_payment(25_000).await;
    app.pay_with(&payment.payment_id, "success").await;
    let first = receiver.next(PROMPTLY).await;
    let id = first.header("webhook-id").to_owned();

    for (failed, delay) in RETRY_SCHEDULE.iter().enumerate() {
        let delivery = app
            .delivery_when(&id, |d| d.attempts.len() == failed + 1)
            .await;
        assert_eq!(delivery.status, "pending");
        let last = parse_time(&delivery.attempts[failed].at);
        let next = parse_time(delivery.next_attempt_at.as_deref().expect("a next attempt"));
        let wait = (next - last).whole_seconds();
        let delay = delay.as_secs_f64();
        let (earliest, latest) = ((delay * 0.9).round() as i64, (delay * 1.1).round() as i64);
        assert!(
            (earliest..=latest).contains(&wait),
            "retry {} due {wait} s after the failure, not within {earliest}–{latest} s",
            failed + 1
        );
        // Due exactly then, with the same id and body.
        app.advance_clock(u64::try_from(wait).expect("a positive delay"))
            .await;
        let retried = receiver.next(PROMPTLY).await;
        assert_eq!(retried.header("webhook-id"), id);
        assert_eq!(retried.body, first.body);
    }

    let abandoned = app.delivery_when(&id, |d| d.status == "failed").await;
    assert_eq!(abandoned.attempts.len(), RETRY_SCHEDULE.len() + 1);
    assert_eq!(abandoned.next_attempt_at, None);
    for attempt in &abandoned.attempts {
        assert_eq!(attempt.http_status, Some(500));
        assert_eq!(attempt.error.as_deref(), Some("endpoint answered 500"));
    }
    app.advance_clock(30 * 86_400).await;
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn a_retry_is_not_sent_before_it_is_due() {
    let (app, mut receiver) = spawn_app_with_receiver(usize::MAX).await;
    app.local(CI_PHONE, 1000).await;
    let first = receiver.next(PROMPTLY).await;
    app.delivery_when(first.header("webhook-id"), |d| d.attempts.len() == 1)
        .await;

    // The first retry is due at least 4.5 s later, on the sandbox's clock.
    app.advance_clock(3).await;

    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn replaying_a_delivery_sends_it_again_with_the_same_webhook_id() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    app.local(CI_PHONE, 1000).await;
    let original = receiver.next(PROMPTLY).await;
    let id = original.header("webhook-id").to_owned();
    app.delivery_when(&id, |d| d.status == "delivered").await;

    let response = app.replay(&id).await;

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let queued: WebhookDelivery = response.json().await.expect("a delivery");
    assert_eq!(queued.delivery_id, id);
    let replayed = receiver.next(PROMPTLY).await;
    assert_eq!(replayed.header("webhook-id"), id);
    assert_eq!(replayed.body, original.body);
    replayed.verified_json();
    let logged = app.delivery_when(&id, |d| d.attempts.len() == 2).await;
    assert_eq!(logged.status, "delivered");
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn a_failed_delivery_can_be_replayed_once_the_endpoint_is_fixed() {
    let app = spawn_app().await;
    let mut receiver = spawn_receiver(0).await;
    app.local(CI_PHONE, 1000).await;
    let id = app.deliveries().await[0].delivery_id.clone();
    app.delivery_when(&id, |d| d.attempts.len() == 1).await;
    app.set_webhook_url(&receiver.url).await;

    let response = app.replay(&id).await;

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let delivery = receiver.next(PROMPTLY).await;
    assert_eq!(delivery.header("webhook-id"), id);
    app.delivery_when(&id, |d| d.status == "delivered").await;
}

#[tokio::test]
async fn replaying_an_unknown_delivery_is_not_found() {
    let app = spawn_app().await;

    let response = app
        .post_as(
            MERCHANT_KEY,
            "/sandbox/v1/webhook-deliveries/msg_DOESNOTEXIST/replay",
            &json!({}),
        )
        .await;

    assert_error(response, StatusCode::NOT_FOUND, "DELIVERY_NOT_FOUND").await;
}
