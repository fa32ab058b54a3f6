//! The rest of the surface and the server's life: JSON for unknown routes, health and readiness,
//! no demo page in production, and `run` serving until its shutdown future completes.

use axum::http::StatusCode;
use mobilepay_wire::checkout::CheckoutSession;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::common::*;

#[tokio::test]
async fn an_unknown_route_or_method_answers_json() {
    let app = TestApp::spawn().await;

    assert_error(
        app.get(&format!("{}/nothing-here", app.address)).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        app.get(&format!("{}/checkout/sessions", app.address)).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    )
    .await;
}

#[tokio::test]
async fn the_health_check_answers_ok() {
    let app = TestApp::spawn().await;

    let response = app.get(&format!("{}/healthz", app.address)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "ok");
}

#[tokio::test]
async fn the_readiness_check_answers_ready_while_the_database_does_and_not_after() {
    let app = TestApp::spawn().await;
    let response = app.get(&format!("{}/readyz", app.address)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "ready");

    app.state.sessions.db.pool.close().await;

    let response = app.get(&format!("{}/readyz", app.address)).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "NOT_READY").await;
}

#[tokio::test]
async fn a_production_backend_serves_no_demo_store_page() {
    let app = TestApp::spawn().await;

    let response = app.get(&format!("{}/", app.address)).await;

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
    let http = reqwest::Client::new();
    let checkout: Value = http
        .post(format!("{address}/v1/checkouts"))
        .bearer_auth("mk_test_run_serves")
        .json(&json!({"amount": 25_000, "description": "Pagne", "reference": "order-run"}))
        .send()
        .await
        .expect("the backend answers")
        .json()
        .await
        .expect("a checkout");
    let order_id = checkout["id"].as_str().expect("the checkout's id");
    let session: CheckoutSession = http
        .post(format!("{address}/checkout/sessions"))
        .json(&json!({"order_id": order_id}))
        .send()
        .await
        .expect("the backend answers")
        .json()
        .await
        .expect("a CheckoutSession");
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
