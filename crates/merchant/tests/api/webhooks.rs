//! `POST /webhooks/mobilepay`: only a verified webhook changes a session, it is stored once and
//! applied once, and a late, duplicate, mismatched or unknown one changes nothing it should not.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use mobilepay_sandbox::DEMO_WEBHOOK_SECRET;
use mobilepay_wire::checkout::SessionStatus;

use crate::common::*;

#[tokio::test]
async fn an_unsigned_webhook_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let body = payment_received(&session.payment_id, 25_000);

    let response = app.post_webhook(HeaderMap::new(), &body).await;

    assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE").await;
    assert_eq!(
        app.status(&session).await.status,
        SessionStatus::AwaitingPayment
    );
}

#[tokio::test]
async fn a_webhook_with_a_wrong_signature_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let body = payment_received(&session.payment_id, 25_000);
    let forged = sign_body("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &body);
    let signed_for_another_body =
        sign_body(DEMO_WEBHOOK_SECRET, &payment_received("PAYOTHER", 25_000));

    for headers in [forged, signed_for_another_body] {
        let response = app.post_webhook(headers, &body).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE").await;
    }
    assert_eq!(
        app.status(&session).await.status,
        SessionStatus::AwaitingPayment
    );
}

#[tokio::test]
async fn a_duplicate_or_late_webhook_leaves_a_paid_session_paid() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    app.pay(&session.payment_id, "success").await;
    app.wait_for(&session.payment_id, SessionStatus::Paid).await;

    app.send_signed_webhook(&payment_received(&session.payment_id, 25_000))
        .await;
    app.send_signed_webhook(&transaction_failed(&session.payment_id))
        .await;

    let status = app.status(&session).await;
    assert_eq!(status.status, SessionStatus::Paid);
    assert_eq!(status.failure, None);
    assert_eq!(app.seq(&session.payment_id).await, 2, "no further status");
}

#[tokio::test]
async fn a_payment_whose_webhook_arrives_after_the_expiry_still_ends_paid() {
    let app = TestApp::build()
        .sandbox(|sandbox| sandbox.payment_ttl = Duration::ZERO)
        .spawn()
        .await;
    let session = app.new_session().await;
    assert_eq!(app.status(&session).await.status, SessionStatus::Expired);

    // Paid just before the expiry, delivered just after it: the money decides.
    app.send_signed_webhook(&payment_received(&session.payment_id, 25_000))
        .await;
    assert_eq!(app.status(&session).await.status, SessionStatus::Paid);

    // And a late failure changes nothing after that.
    app.send_signed_webhook(&transaction_failed(&session.payment_id))
        .await;
    assert_eq!(app.status(&session).await.status, SessionStatus::Paid);
}

#[tokio::test]
async fn a_payment_received_for_another_amount_does_not_mark_the_session_paid() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;

    app.send_signed_webhook(&payment_received(&session.payment_id, 1))
        .await;

    assert_eq!(
        app.status(&session).await.status,
        SessionStatus::AwaitingPayment
    );
    // The true payment still goes through.
    app.pay(&session.payment_id, "success").await;
    app.wait_for(&session.payment_id, SessionStatus::Paid).await;
}

#[tokio::test]
async fn a_signed_webhook_about_something_unknown_is_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;

    app.send_signed_webhook(&payment_received("PAYUNKNOWN", 25_000))
        .await;
    app.send_signed_webhook(&transaction_failed("PAYUNKNOWN"))
        .await;
    app.send_signed_webhook(
        r#"{"event":"transfer.completed","timestamp":"2026-02-26T10:30:00Z","data":{"transfer_id":"TRF123456","amount":10000,"currency":"FCFA","status":"completed"}}"#,
    )
    .await;
    app.send_signed_webhook(
        r#"{"event":"refund.created","timestamp":"2026-02-26T10:30:00Z","data":{"payment_id":"x"}}"#,
    )
    .await;

    assert_eq!(
        app.status(&session).await.status,
        SessionStatus::AwaitingPayment
    );
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_mobilepay_event_is_an_invalid_webhook() {
    let app = TestApp::spawn().await;
    let body = r#"{"event":"payment.received","timestamp":"t","data":{"payment_id":1}}"#;

    let response = app
        .post_webhook(sign_body(DEMO_WEBHOOK_SECRET, body), body)
        .await;

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_WEBHOOK").await;
}

#[tokio::test]
async fn a_webhook_delivered_twice_is_stored_once_and_applied_once() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let body = payment_received(&session.payment_id, 25_000);
    let headers = sign_body(DEMO_WEBHOOK_SECRET, &body);

    for _ in 0..2 {
        let response = app.post_webhook(headers.clone(), &body).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM received_webhooks")
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("the database answers");
    assert_eq!(stored, 1);
    assert_eq!(app.seq(&session.payment_id).await, 2);
}
