//! A sandbox on a SQLite file, stopped and started again: nothing is lost, not even a webhook that
//! was waiting to be delivered.

use axum::http::StatusCode;
use mobilepay_sandbox::{Config, Database};
use mobilepay_wire::api::{PaymentStatus, QrPayment};
use serde_json::json;

use crate::helpers::*;

fn on_file(path: &std::path::Path, webhook_url: Option<String>) -> Config {
    Config {
        database: Database::File(path.to_owned()),
        webhook_url,
        ..Config::default()
    }
}

/// The same local transfer every time, under the same `Idempotency-Key`.
async fn keyed_transfer(app: &TestApp) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/transfers/local"))
        .bearer_auth(MERCHANT_KEY)
        .header("Idempotency-Key", "restart-1")
        .json(&json!({"recipient_phone": CI_PHONE, "amount": 10000}))
        .send()
        .await
        .expect("the sandbox answers")
}

#[tokio::test]
async fn a_restart_loses_no_payment_balance_history_clock_or_pending_webhook() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("sandbox.sqlite3");
    let before = spawn_app_with(on_file(&path, None)).await;
    before.advance_clock(60).await;
    let open = before.create_payment(25_000).await;
    let paid = before.create_payment(7_000).await;
    let response = before.pay_with(&paid.payment_id, "success").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = keyed_transfer(&before).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let transfer_body = response.text().await.expect("a body");
    // No endpoint yet: both webhooks wait, each after one failed attempt.
    let waiting: Vec<String> = before
        .deliveries()
        .await
        .iter()
        .map(|d| d.delivery_id.clone())
        .collect();
    assert_eq!(waiting.len(), 2);
    for id in &waiting {
        before.delivery_when(id, |d| d.attempts.len() == 1).await;
    }
    let history = before.history().await;
    let balance = before.balance().await;
    assert_eq!(balance, OPENING_BALANCE as u64 + 7_000 - 10_000);
    before.stop().await;

    let mut receiver = spawn_receiver(0).await;
    let after = spawn_app_with(on_file(&path, Some(receiver.url.clone()))).await;

    assert_eq!(after.balance().await, balance);
    assert_eq!(after.history().await, history);
    let (all_entries, wallet) = after.ledger_sums().await;
    assert_eq!(
        (all_entries, wallet),
        (0, i64::try_from(balance).expect("fits"))
    );
    let clock: serde_json::Value = after
        .get("/sandbox/v1/clock")
        .await
        .json()
        .await
        .expect("the clock");
    assert_eq!(clock["offset_seconds"], 60);
    // The webhooks that waited are delivered, with their ids, once due (5 s ±10 % after their
    // failed attempt).
    after.advance_clock(6).await;
    let mut delivered = Vec::new();
    for _ in &waiting {
        delivered.push(
            receiver
                .next(PROMPTLY)
                .await
                .header("webhook-id")
                .to_owned(),
        );
    }
    delivered.sort();
    let mut expected = waiting.clone();
    expected.sort();
    assert_eq!(delivered, expected);
    // The open payment can still be paid; the settled one is still settled.
    let response = after.pay_with(&open.payment_id, "success").await;
    assert_eq!(response.status(), StatusCode::OK);
    let settled: QrPayment = response.json().await.expect("a QrPayment");
    assert_eq!(settled.status, PaymentStatus::Received);
    let again = after.pay_with(&paid.payment_id, "success").await;
    assert_error(again, StatusCode::CONFLICT, "PAYMENT_ALREADY_SETTLED").await;
    // An Idempotency-Key answered before the restart is still answered from its record.
    let replay = keyed_transfer(&after).await;
    assert_eq!(header_of(&replay, "idempotent-replayed"), Some("true"));
    assert_eq!(replay.text().await.expect("a body"), transfer_body);
    assert_eq!(after.balance().await, balance + 25_000);
}

#[tokio::test]
async fn a_restart_keeps_the_webhook_endpoint_set_through_the_api() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("sandbox.sqlite3");
    let before = spawn_app_with(on_file(&path, None)).await;
    before.set_webhook_url("http://127.0.0.1:9/hooks").await;
    before.stop().await;

    let after = spawn_app_with(on_file(&path, None)).await;

    let endpoint: serde_json::Value = after
        .get_as(MERCHANT_KEY, "/sandbox/v1/webhook-endpoint")
        .await
        .json()
        .await
        .expect("an endpoint");
    assert_eq!(endpoint["url"], "http://127.0.0.1:9/hooks");
}
