//! A session's status URL and its event stream (Server-Sent Events): the current status then
//! each new one until a final one, expiry, capabilities, reconnections with `Last-Event-ID`,
//! many streams of one session, and shutdown.

use std::time::Duration;

use axum::http::StatusCode;
use mobilepay_wire::checkout::{SessionStatus, StatusEvent};

use crate::common::*;

#[tokio::test]
async fn a_status_no_version_knows_in_the_database_is_an_error_never_awaiting_payment() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    sqlx::query("UPDATE sessions SET status = 'refunded' WHERE id = $1")
        .bind(&session.session_id)
        .execute(&app.state.sessions.db.pool)
        .await
        .expect("updated");

    let response = app.fetch(&session.status_url).await;

    assert_error(
        response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
    )
    .await;
    let response = app.get("/metrics", None).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "NOT_READY").await;
}

#[tokio::test]
async fn the_status_url_answers_the_current_status() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;

    let status = app.status(&session).await;

    assert_eq!(
        status,
        StatusEvent {
            status: SessionStatus::AwaitingPayment,
            payment_id: session.payment_id.clone(),
            failure: None,
        }
    );
}

#[tokio::test]
async fn a_wrong_or_missing_capability_reads_like_an_unknown_session() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let base = format!("{}/checkout/sessions/{}", app.address, session.session_id);
    let unknown = format!("{}/checkout/sessions/cs_unknown", app.address);
    let token = session
        .status_url
        .split_once("?token=")
        .map(|(_, token)| token.to_owned())
        .expect("a token");

    let unknown_body = assert_error(
        app.fetch(&format!("{unknown}/status?token={token}")).await,
        StatusCode::NOT_FOUND,
        "SESSION_NOT_FOUND",
    )
    .await;
    for path in ["status", "events"] {
        for query in [
            String::new(),
            "?token=".to_owned(),
            "?token=0000".to_owned(),
            format!("?token={}", "0".repeat(token.len())),
        ] {
            let body = assert_error(
                app.fetch(&format!("{base}/{path}{query}")).await,
                StatusCode::NOT_FOUND,
                "SESSION_NOT_FOUND",
            )
            .await;
            assert_eq!(body, unknown_body, "{path}{query}");
        }
    }
}

#[tokio::test]
async fn the_event_stream_sends_the_current_status_then_paid_and_ends() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let mut events = app.events(&session).await;

    let first = events.next().await.expect("the current status");
    assert_eq!(first.id, "1");
    assert!(first.retry.is_some(), "a reconnection hint");
    assert_eq!(first.status().status, SessionStatus::AwaitingPayment);
    assert_eq!(first.status().payment_id, session.payment_id);

    app.pay(&session.payment_id, "success").await;

    let paid = events.next().await.expect("the new status");
    assert_eq!(paid.id, "2");
    assert_eq!(paid.status().status, SessionStatus::Paid);
    assert_eq!(paid.status().failure, None);
    assert!(events.next().await.is_none(), "the stream ends");
    assert_eq!(app.status(&session).await.status, SessionStatus::Paid);
}

#[tokio::test]
async fn a_stream_opened_after_the_payment_starts_with_the_final_status_and_ends() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    app.pay(&session.payment_id, "success").await;
    app.wait_for(&session.payment_id, SessionStatus::Paid).await;

    let mut events = app.events(&session).await;

    let first = events.next().await.expect("the current status");
    assert_eq!(first.id, "2");
    assert_eq!(first.status().status, SessionStatus::Paid);
    assert!(events.next().await.is_none(), "the stream ends");
}

#[tokio::test]
async fn a_failed_payment_shows_failed_with_the_providers_reason() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let mut events = app.events(&session).await;
    assert_eq!(events.next().await.expect("the current status").id, "1");

    app.pay(&session.payment_id, "insufficient_funds").await;

    let failed = events.next().await.expect("the new status");
    assert_eq!(failed.id, "2");
    let status = failed.status();
    assert_eq!(status.status, SessionStatus::Failed);
    let failure = status.failure.as_ref().expect("a failure");
    assert_eq!(failure.error_code, "INSUFFICIENT_FUNDS");
    assert_eq!(failure.error_message, "Solde insuffisant");
    assert!(events.next().await.is_none(), "the stream ends");
    assert_eq!(app.status(&session).await, status);
}

#[tokio::test]
async fn a_session_whose_payment_expired_reads_expired() {
    let app = TestApp::build()
        .sandbox(|sandbox| sandbox.payment_ttl = Duration::ZERO)
        .spawn()
        .await;
    let session = app.new_session().await;

    assert_eq!(app.status(&session).await.status, SessionStatus::Expired);
    let mut events = app.events(&session).await;
    let first = events.next().await.expect("the current status");
    assert_eq!(first.status().status, SessionStatus::Expired);
    assert!(events.next().await.is_none(), "the stream ends");
}

#[tokio::test]
async fn the_event_stream_announces_the_expiry_when_it_comes() {
    let app = TestApp::build()
        .sandbox(|sandbox| sandbox.payment_ttl = Duration::from_secs(3))
        .spawn()
        .await;
    let session = app.new_session().await;
    let mut events = app.events(&session).await;
    let first = events.next().await.expect("the current status");
    assert_eq!(first.status().status, SessionStatus::AwaitingPayment);

    let expired = events.next().await.expect("the expiry");

    assert_eq!(expired.id, "2");
    assert_eq!(expired.status().status, SessionStatus::Expired);
    assert!(events.next().await.is_none(), "the stream ends");
}

#[tokio::test]
async fn stopping_the_backend_ends_open_event_streams() {
    let mut app = TestApp::spawn().await;
    let session = app.new_session().await;
    let mut events = app.events(&session).await;
    events.next().await.expect("the current status");

    app.stop_merchant();

    assert!(events.next().await.is_none(), "the stream ends");
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_what_it_missed_then_ends() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let mut first = app.events(&session).await;
    assert_eq!(first.next().await.expect("the current status").id, "1");
    drop(first);

    // Paid while the browser was away.
    app.pay(&session.payment_id, "success").await;
    app.wait_for(&session.payment_id, SessionStatus::Paid).await;

    let mut again = event_stream(open_events(&session.events_url, Some("1")).await);
    let missed = again.next().await.expect("the missed status");
    assert_eq!(missed.id, "2");
    assert_eq!(missed.status().status, SessionStatus::Paid);
    assert!(
        again.next().await.is_none(),
        "the stream ends after the final status"
    );
}

#[tokio::test]
async fn a_reconnect_with_nothing_left_to_send_is_told_to_stop() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    app.pay(&session.payment_id, "success").await;
    app.wait_for(&session.payment_id, SessionStatus::Paid).await;

    // 204 is what makes EventSource stop reconnecting.
    let response = open_events(&session.events_url, Some("2")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // A Last-Event-ID beyond the history is clamped, not trusted.
    let response = open_events(&session.events_url, Some("99")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Without one, a new subscriber still gets the final status.
    let mut fresh = event_stream(open_events(&session.events_url, None).await);
    assert_eq!(fresh.next().await.expect("the final status").id, "2");
}

#[tokio::test]
async fn many_streams_of_one_session_all_get_every_status_from_one_shared_read() {
    let app = TestApp::spawn().await;
    let session = app.new_session().await;
    let mut streams = Vec::new();
    for _ in 0..25 {
        let mut stream = app.events(&session).await;
        assert_eq!(stream.next().await.expect("the current status").id, "1");
        streams.push(stream);
    }

    app.pay(&session.payment_id, "success").await;

    for stream in &mut streams {
        let paid = stream.next().await.expect("paid, on every stream");
        assert_eq!(paid.id, "2");
        assert_eq!(paid.status().status, SessionStatus::Paid);
        assert!(stream.next().await.is_none());
    }
}
