//! The rest of the surface and the server's life: JSON for unknown routes, health and readiness,
//! no demo page in production, and `run` serving until its shutdown future completes.

use axum::http::StatusCode;
use serde_json::json;
use tokio::sync::oneshot;

use crate::common::*;

#[tokio::test]
async fn an_unknown_route_or_method_answers_json() {
    let app = TestApp::spawn().await;

    assert_error(
        app.get("/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        app.get("/checkout/sessions", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    )
    .await;
}

#[tokio::test]
async fn the_health_check_answers_ok() {
    let app = TestApp::spawn().await;

    let response = app.get("/healthz", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "ok");
}

#[tokio::test]
async fn the_readiness_check_answers_ready_while_the_database_does_and_not_after() {
    let app = TestApp::spawn().await;
    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "ready");

    app.state.sessions.db.pool.close().await;

    let response = app.get("/readyz", None).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "NOT_READY").await;
}

#[tokio::test]
async fn a_production_backend_serves_no_demo_store_page() {
    let app = TestApp::spawn().await;

    let response = app.get("/", None).await;

    assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn run_serves_the_backend_until_its_shutdown_future_completes() {
    let (sandbox_url, stop_sandbox) =
        start_sandbox_with(mobilepay_sandbox::Config::default()).await;
    let (listener, address) = bind().await;
    let mut config = config(&sandbox_url, "sqlite::memory:");
    config.merchant_api_keys =
        mobilepay_merchant::keys::ConfiguredKeys::new(&["mk_test_run_serves"]).expect("a key");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(mobilepay_merchant::run(listener, config, async {
        let _ = stopped.await;
    }));
    let checkout = create_checkout_at(
        &address,
        "mk_test_run_serves",
        &json!({"amount": 25_000, "description": "Pagne", "reference": "order-run"}),
    )
    .await;
    let session = create_session_at(
        &address,
        checkout["id"].as_str().expect("the checkout's id"),
    )
    .await;
    let http = reqwest::Client::new();
    let response = http
        .get(&session.events_url)
        .send()
        .await
        .expect("the backend answers");
    let mut events = EventStream::of(response);
    events.next().await.expect("the current status");

    drop(stop);

    assert!(events.next().await.is_none(), "the open stream ends");
    tokio::time::timeout(PROMPTLY, server)
        .await
        .expect("run returns in time")
        .expect("the task did not panic")
        .expect("run ends without error");
    drop(stop_sandbox);
}
