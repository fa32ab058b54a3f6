//! Nothing is lost across restarts, instances and abandoned requests: a backend restarted
//! mid-payment on its SQLite file, two instances on one PostgreSQL database restarting in turn,
//! requests cut off mid-way.

use std::time::Duration;

use axum::http::StatusCode;
use mobilepay_wire::checkout::{CheckoutSession, SessionStatus};
use serde_json::json;
use tokio::net::TcpListener;

use crate::common::*;

#[tokio::test]
async fn a_restart_mid_payment_loses_nothing() {
    let (_data, database_url) = sqlite_file();
    let (listener, address) = bind().await;
    let (sandbox, _stop_sandbox) = start_sandbox(&format!("{address}/webhooks/mobilepay")).await;
    let merchant = start_merchant(listener, address.clone(), config(&sandbox, &database_url)).await;
    let order = place_order_in(&merchant.state).await;
    let session = create_session_at(&address, &order.id).await;

    // The backend goes down; the shopper pays meanwhile; the webhook finds nobody.
    merchant.stop().await;
    pay_at(&sandbox, &session.payment_id).await;
    until_a_delivery_found_nobody(&sandbox).await;

    // Up again on the same address and database, the session and its capability are intact.
    let listener = TcpListener::bind(address.trim_start_matches("http://"))
        .await
        .expect("the same address again");
    let _merchant = start_merchant(listener, address, config(&sandbox, &database_url)).await;
    let mut stream = event_stream(open_events(&session.events_url, None).await);
    assert_eq!(
        stream.next().await.expect("the status").status().status,
        SessionStatus::AwaitingPayment
    );
    // MOBILE-PAY retries (5 s later on its clock): the true status arrives.
    advance_sandbox_clock(&sandbox, 10).await;
    let paid = final_status(&mut stream).await;
    assert_eq!(paid.status().status, SessionStatus::Paid);
    assert_eq!(paid.id, "2");
}

/// Waits until the sandbox has tried to deliver a webhook and found nobody listening.
async fn until_a_delivery_found_nobody(sandbox: &str) {
    eventually(Duration::from_secs(10), async || {
        let list: mobilepay_wire::api::WebhookDeliveryList = reqwest::Client::new()
            .get(format!("{sandbox}/sandbox/v1/webhook-deliveries"))
            .bearer_auth("sk_test_demo_merchant")
            .send()
            .await
            .expect("the sandbox answers")
            .json()
            .await
            .expect("a delivery list");
        let unreachable = list
            .deliveries
            .iter()
            .flat_map(|d| &d.attempts)
            .any(|attempt| attempt.http_status.is_none());
        unreachable
            .then_some(())
            .ok_or("the sandbox never tried to deliver the webhook")
    })
    .await;
}

async fn advance_sandbox_clock(sandbox: &str, seconds: u64) {
    let response = reqwest::Client::new()
        .post(format!("{sandbox}/sandbox/v1/clock/advance"))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_instances_on_postgresql_share_sessions_and_events_across_restarts() {
    let pg = TestPostgres::start();
    let (listener_a, a) = bind().await;
    let (listener_b, b) = bind().await;
    // MOBILE-PAY's webhooks reach instance A only.
    let (sandbox, _stop_sandbox) = start_sandbox(&format!("{a}/webhooks/mobilepay")).await;
    let merchant_a = start_merchant(listener_a, a.clone(), config(&sandbox, &pg.url())).await;
    let merchant_b = start_merchant(listener_b, b.clone(), config(&sandbox, &pg.url())).await;

    // The order is placed through A, its session created through B, and followed on B.
    let order = place_order_in(&merchant_a.state).await;
    let session = create_session_at(&b, &order.id).await;
    let again = create_session_at(&a, &order.id).await;
    assert_eq!(
        again.session_id, session.session_id,
        "one session, whichever instance"
    );
    let mut on_b = event_stream(open_events(&session.events_url, None).await);
    assert_eq!(on_b.next().await.expect("the status").id, "1");

    pay_at(&sandbox, &session.payment_id).await;
    let paid = final_status(&mut on_b).await;
    assert_eq!(
        paid.status().status,
        SessionStatus::Paid,
        "A's webhook reached B's stream"
    );

    // A second payment: B restarts while it is pending, and still hears of it.
    let order = place_order_in(&merchant_b.state).await;
    let session = create_session_at(&a, &order.id).await;
    merchant_b.stop().await;
    let listener_b = TcpListener::bind(b.trim_start_matches("http://"))
        .await
        .expect("B's address again");
    let _merchant_b = start_merchant(listener_b, b.clone(), config(&sandbox, &pg.url())).await;
    let follow_url = session.events_url.replace(&a, &b);
    let mut on_b = event_stream(open_events(&follow_url, None).await);
    assert_eq!(on_b.next().await.expect("the status").id, "1");
    pay_at(&sandbox, &session.payment_id).await;
    assert_eq!(
        final_status(&mut on_b).await.status().status,
        SessionStatus::Paid
    );

    // A browser that lost B reconnects to A with its Last-Event-ID: the table has it all.
    let mut on_a = event_stream(open_events(&session.events_url, Some("1")).await);
    assert_eq!(on_a.next().await.expect("the missed status").id, "2");
    assert!(on_a.next().await.is_none());

    // Now A, the one MOBILE-PAY's webhooks reach, restarts mid-payment; B's stream hears it.
    let order = place_order_in(&merchant_a.state).await;
    let session = create_session_at(&b, &order.id).await;
    let mut on_b = event_stream(open_events(&session.events_url, None).await);
    assert_eq!(on_b.next().await.expect("the status").id, "1");
    merchant_a.stop().await;
    let listener_a = TcpListener::bind(a.trim_start_matches("http://"))
        .await
        .expect("A's address again");
    let _merchant_a = start_merchant(listener_a, a, config(&sandbox, &pg.url())).await;
    pay_at(&sandbox, &session.payment_id).await;
    assert_eq!(
        final_status(&mut on_b).await.status().status,
        SessionStatus::Paid
    );
}

#[tokio::test]
async fn requests_abandoned_mid_way_lose_no_data() {
    // sqlx closes a connection whose query is cancelled; the database must outlive it.
    let app = TestApp::spawn().await;
    let order = app.place_order().await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_micros(500))
        .build()
        .expect("a client");
    for _ in 0..40 {
        let _ = impatient
            .post(format!("{}/checkout/sessions", app.address))
            .json(&json!({ "order_id": order.id }))
            .send()
            .await;
        let _ = impatient.get(format!("{}/", app.address)).send().await;
    }

    // An abandoned request may still have created the order's session: it is resumed (200).
    let response = app.post_session(&json!({ "order_id": order.id })).await;
    assert!(response.status().is_success(), "{}", response.status());
    let session: CheckoutSession = response.json().await.expect("a CheckoutSession");
    assert_eq!(session.amount, 25_000);
    assert_eq!(
        app.status(&session).await.status,
        SessionStatus::AwaitingPayment
    );
}
