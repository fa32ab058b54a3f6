//! Event streams answered without hyper (`connection`): a stream request that opens its
//! connection is answered exactly as one sent on a reused connection (through hyper) —
//! status, headers (CORS, request id, security headers, SSE), events, `204`, errors — and it
//! ends at a final status and at shutdown.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::{PROMPTLY, TestApp, checkout_body, payment_received};
use futures_util::StreamExt;
use serde_json::Value;

const ORIGIN: &str = "https://shop.example";

async fn app() -> TestApp {
    TestApp::with(|config| config.allowed_origins = vec![ORIGIN.to_owned()]).await
}

/// A client whose every request opens a new connection: its event stream requests are the
/// connection's first, answered without hyper.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client")
}

/// A client whose event stream request follows another on the same connection: hyper's.
async fn reused_client(app: &TestApp) -> reqwest::Client {
    let client = reqwest::Client::new();
    let warm = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(warm.status(), StatusCode::OK);
    warm.bytes().await.expect("its body");
    client
}

async fn open_session(app: &TestApp, reference: &str) -> Value {
    let checkout = app.create_checkout(&checkout_body(reference, 12_000)).await;
    let response = app
        .start_session(checkout["id"].as_str().expect("an id"))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("a session")
}

/// The answer's headers that do not vary between two answers (no date, no request id value).
fn stable_headers(response: &reqwest::Response) -> BTreeMap<String, String> {
    response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "date" | "x-request-id" | "connection" | "transfer-encoding" | "content-length"
            )
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().expect("ASCII").to_owned(),
            )
        })
        .collect()
}

async fn get_events(
    client: &reqwest::Client,
    url: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut request = client.get(url).header("origin", ORIGIN);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("the backend answers")
}

/// Reads `response` until `needle` (bounded); the text read so far.
async fn read_until(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    seen: &mut String,
    needle: &str,
) {
    let found = async {
        while !seen.contains(needle) {
            let chunk = body
                .next()
                .await
                .unwrap_or_else(|| panic!("the stream ended before {needle:?}: {seen}"))
                .expect("stream bytes");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(PROMPTLY, found)
        .await
        .unwrap_or_else(|_| panic!("{needle:?} in time"));
}

#[tokio::test]
async fn a_stream_on_a_new_connection_is_answered_as_on_a_reused_one_and_ends_after_paid() {
    let app = app().await;
    let session = open_session(&app, "lean-headers").await;
    let url = session["events_url"].as_str().expect("a stream");

    let through_hyper = get_events(&reused_client(&app).await, url, None).await;
    let lean = get_events(&fresh_client(), url, None).await;
    assert_eq!(lean.status(), StatusCode::OK);
    assert_eq!(lean.status(), through_hyper.status());
    assert_eq!(stable_headers(&lean), stable_headers(&through_hyper));
    // Which answered which: only the connection answered without hyper closes after it.
    assert_eq!(lean.headers()["connection"], "close");
    assert!(!through_hyper.headers().contains_key("connection"));
    let headers = lean.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(headers["x-accel-buffering"], "no");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers.contains_key("x-request-id"));
    assert!(headers.contains_key("date"));

    let mut body = lean.bytes_stream();
    let mut seen = String::new();
    read_until(&mut body, &mut seen, r#""status":"awaiting_payment""#).await;
    assert!(seen.starts_with("event: status\n"), "{seen}");
    assert!(
        seen.contains("id: 1\n") && seen.contains("retry: 2000"),
        "{seen}"
    );

    let paid = app
        .webhook(
            "msg_lean_paid",
            &payment_received(
                session["payment_id"].as_str().expect("a payment"),
                session["amount"].as_u64().expect("an amount"),
            ),
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    read_until(&mut body, &mut seen, r#""status":"paid""#).await;
    assert!(seen.contains("id: 2\n"), "{seen}");
    // A final status ends the stream: the body ends, cleanly.
    let end = tokio::time::timeout(PROMPTLY, body.next())
        .await
        .expect("the stream ends in time");
    assert!(end.is_none(), "nothing after the final status: {end:?}");

    // Reconnecting after the final status: 204 tells EventSource to stop, as hyper says it.
    let again = get_events(&fresh_client(), url, Some("2")).await;
    let again_hyper = get_events(&reused_client(&app).await, url, Some("2")).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(stable_headers(&again), stable_headers(&again_hyper));
    assert!(again.bytes().await.expect("no body").is_empty());
}

#[tokio::test]
async fn a_wrong_capability_on_a_new_connection_is_the_same_json_404() {
    let app = app().await;
    let session = open_session(&app, "lean-404").await;
    let url = format!(
        "{}/checkout/sessions/{}/events?token=wrong",
        app.address,
        session["session_id"].as_str().expect("an id")
    );
    let lean = get_events(&fresh_client(), &url, None).await;
    let through_hyper = get_events(&reused_client(&app).await, &url, None).await;
    assert_eq!(stable_headers(&lean), stable_headers(&through_hyper));
    let lean = common::assert_error(lean, StatusCode::NOT_FOUND, "SESSION_NOT_FOUND").await;
    let through_hyper =
        common::assert_error(through_hyper, StatusCode::NOT_FOUND, "SESSION_NOT_FOUND").await;
    assert_eq!(lean, through_hyper);
}

#[tokio::test]
async fn other_requests_on_a_new_connection_reach_hyper_with_nothing_lost() {
    let app = app().await;
    let client = fresh_client();
    let checkout = client
        .post(app.url("/v1/checkouts"))
        .bearer_auth(common::KEY)
        .json(&checkout_body("lean-post", 5_000))
        .send()
        .await
        .expect("the backend answers");
    assert_eq!(
        checkout.status(),
        StatusCode::CREATED,
        "the body was replayed"
    );
    let ready = client.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.text().await.expect("a body"), "ready");
}

#[tokio::test]
async fn shutdown_ends_a_stream_answered_without_hyper_and_waits_for_it() {
    let mut app = TestApp::spawn().await;
    // Each call on a client of its own, dropped with it: only the stream's connection is open
    // at shutdown.
    let checkout = common::create_checkout_at(
        &app.address,
        common::KEY,
        &checkout_body("lean-shutdown", 7_000),
    )
    .await;
    let session =
        common::create_session_at(&app.address, checkout["id"].as_str().expect("an id")).await;
    let lean = get_events(&fresh_client(), &session.events_url, None).await;
    assert_eq!(lean.status(), StatusCode::OK);
    let mut body = lean.bytes_stream();
    let mut seen = String::new();
    read_until(&mut body, &mut seen, "awaiting_payment").await;

    app.stop_merchant();
    let end = tokio::time::timeout(PROMPTLY, async {
        loop {
            match body.next().await {
                Some(Ok(_)) => {}
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends at shutdown");
    assert!(end.is_none(), "ended cleanly: {end:?}");
    tokio::time::timeout(PROMPTLY, app.stop())
        .await
        .expect("serve returns in time, without a panic or an error");
}
