//! `/metrics` (Prometheus): what it counts, and that it fails rather than answer zeros.

use axum::http::StatusCode;

use crate::common::*;

/// The value of the first sample of `name` in a Prometheus text.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(name) && !line.starts_with('#'))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_sessions_webhooks_streams_and_delivery_latency() {
    let app = TestApp::spawn().await;
    let scrape = || async {
        let response = app.get("/metrics", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("the metrics")
    };
    let before = scrape().await;
    let session = app.new_session().await;
    let mut events = app.events(&session).await;
    events.next().await.expect("the current status");
    let forged = app
        .post_webhook(sign_body("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "{}"), "{}")
        .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    app.pay(&session.payment_id, "success").await;
    events.next().await.expect("paid");

    let after = scrape().await;
    for name in [
        "mobilepay_sessions{status=\"paid\"}",
        "mobilepay_open_streams",
        "mobilepay_status_delivery_seconds_bucket",
        "mobilepay_webhooks_total",
    ] {
        assert!(after.contains(name), "{name} in:\n{after}");
    }
    // Other tests share the process's recorder: counters only ever grow.
    let verify = "mobilepay_webhook_verify_failures_total";
    assert!(sample(&after, verify) >= sample(&before, verify) + 1.0);
    let created = "mobilepay_sessions_created_total";
    assert!(sample(&after, created) >= sample(&before, created) + 1.0);
}

#[tokio::test]
async fn metrics_fail_instead_of_answering_zeros_when_the_database_does_not_answer() {
    let app = TestApp::spawn().await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);

    app.state.sessions.db.pool.close().await;

    let response = app.get("/metrics", None).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "NOT_READY").await;
}
