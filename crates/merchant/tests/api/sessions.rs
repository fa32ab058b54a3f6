//! `POST /checkout/sessions`: what the widget asks for an order — a new session with the
//! catalog's amount and its capability URLs, the same one again while it can still be paid, a new
//! one after a failure — and the requests it refuses.

use axum::http::{StatusCode, header};
use mobilepay_wire::checkout::{CheckoutSession, SessionStatus};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::*;

#[tokio::test]
async fn a_session_is_created_with_the_catalogs_amount_and_capability_urls() {
    let app = TestApp::spawn().await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let session: CheckoutSession = response.json().await.expect("a CheckoutSession");
    assert_eq!(session.order_id, order.id);
    assert_eq!(session.status, SessionStatus::AwaitingPayment);
    assert_eq!(session.amount, 25_000);
    assert_eq!(session.currency, "FCFA");
    assert_eq!(session.description, "Pagne wax 6 yards");
    assert!(session.payment_id.starts_with("PAY"), "{session:?}");
    assert_eq!(
        session.qr_payload,
        format!("{}/wallet/{}", app.sandbox, session.payment_id)
    );
    assert!(OffsetDateTime::parse(&session.expires_at, &Rfc3339).is_ok());
    let base = format!("{}/checkout/sessions/{}", app.address, session.session_id);
    assert!(
        session
            .events_url
            .starts_with(&format!("{base}/events?token=")),
        "{}",
        session.events_url
    );
    assert!(
        session
            .status_url
            .starts_with(&format!("{base}/status?token=")),
        "{}",
        session.status_url
    );
    let token = session
        .status_url
        .split_once("?token=")
        .map(|(_, token)| token)
        .unwrap_or_default();
    assert!(token.len() >= 32, "an unguessable capability: {token:?}");
    assert!(session.events_url.ends_with(token));
    assert_eq!(session.failure, None);
}

#[tokio::test]
async fn the_payment_is_created_with_the_sandbox_for_the_orders_amount() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;

    let wallet = app
        .http
        .get(&session.qr_payload)
        .send()
        .await
        .expect("the sandbox answers")
        .text()
        .await
        .expect("the wallet page");

    assert!(wallet.contains("25\u{202f}000\u{a0}FCFA"), "{wallet}");
    assert!(wallet.contains("Pagne wax 6 yards"));
}

#[tokio::test]
async fn asking_again_for_the_same_order_resumes_the_same_session() {
    let app = TestApp::spawn().await;
    let order = app.place_order().await;
    let first = app.create_session(&order.id).await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let again: CheckoutSession = response.json().await.expect("a CheckoutSession");
    assert_eq!(again, first);
}

#[tokio::test]
async fn two_simultaneous_requests_for_one_order_share_one_session() {
    let app = TestApp::spawn().await;
    let order = app.place_order().await;
    let body = json!({"order_id": order.id});

    let (a, b) = tokio::join!(app.post_session(&body), app.post_session(&body));

    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
    let a: CheckoutSession = a.json().await.expect("a CheckoutSession");
    let b: CheckoutSession = b.json().await.expect("a CheckoutSession");
    assert_eq!(a.session_id, b.session_id);
    assert_eq!(a.payment_id, b.payment_id);
}

#[tokio::test]
async fn an_amount_sent_by_the_browser_changes_nothing() {
    let app = TestApp::spawn().await;
    let order = app.place_order().await;

    let response = app
        .post_session(&json!({"order_id": order.id, "amount": 1, "description": "Gratuit"}))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let session: CheckoutSession = response.json().await.expect("a CheckoutSession");
    assert_eq!(session.amount, 25_000);
    assert_eq!(session.description, "Pagne wax 6 yards");
}

#[tokio::test]
async fn an_unknown_order_is_not_found() {
    let app = TestApp::spawn().await;

    let response = app
        .post_session(&json!({"order_id": "ord_doesnotexist"}))
        .await;

    assert_error(response, StatusCode::NOT_FOUND, "ORDER_NOT_FOUND").await;
}

#[tokio::test]
async fn a_malformed_body_is_invalid_json() {
    let app = TestApp::spawn().await;
    let send = |body: &'static str| {
        app.http
            .post(format!("{}/checkout/sessions", app.address))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
    };

    for body in [r#"{"order_id": "#, "{}", r#"{"order_id": 42}"#, "[]"] {
        let response = send(body).await.expect("the backend answers");
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    }
}

#[tokio::test]
async fn an_order_id_that_is_not_a_plain_reference_is_invalid() {
    let app = TestApp::spawn().await;

    for order_id in [
        String::new(),
        "../../etc/passwd".to_owned(),
        "ord 1".to_owned(),
        "ord_<script>".to_owned(),
        "ordé".to_owned(),
        "a".repeat(65),
    ] {
        let response = app.post_session(&json!({"order_id": order_id})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_ORDER_ID").await;
    }
}

#[tokio::test]
async fn session_answers_tell_browsers_not_to_send_referers() {
    let app = TestApp::spawn().await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_eq!(
        response
            .headers()
            .get(header::REFERRER_POLICY)
            .and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
}

#[tokio::test]
async fn a_failed_order_gets_a_new_payment_when_asked_again() {
    let app = TestApp::spawn().await;
    let order = app.place_order().await;
    let first = app.create_session(&order.id).await;
    app.pay(&first.payment_id, "insufficient_funds").await;
    app.wait_for(&first.payment_id, SessionStatus::Failed).await;

    let second = app.create_session(&order.id).await;

    assert_ne!(second.session_id, first.session_id);
    assert_ne!(second.payment_id, first.payment_id);
    assert_eq!(second.status, SessionStatus::AwaitingPayment);
    assert_eq!(second.amount, 25_000);
    // The first session still tells its own, final, story.
    assert_eq!(app.status(&first).await.status, SessionStatus::Failed);
}

#[tokio::test]
async fn a_paid_order_resumes_its_paid_session_rather_than_charging_again() {
    let app = TestApp::spawn().await;
    let order = app.place_order().await;
    let first = app.create_session(&order.id).await;
    app.pay(&first.payment_id, "success").await;
    app.wait_for(&first.payment_id, SessionStatus::Paid).await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let again: CheckoutSession = response.json().await.expect("a CheckoutSession");
    assert_eq!(again.session_id, first.session_id);
    assert_eq!(again.status, SessionStatus::Paid);
}
