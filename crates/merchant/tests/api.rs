//! The merchant backend wired to a real sandbox, both in-process on `127.0.0.1:0`: the sandbox's
//! webhooks go to the backend's `/webhooks/mobilepay`, the backend's API calls go to the sandbox.
//! Each test starts its own pair, so tests share nothing and run in parallel.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use futures_util::{Stream, StreamExt};
use mobilepay_client::ApiKey;
use mobilepay_client::webhook::Verifier;
use mobilepay_merchant::checkouts::{Checkout, Created, NewCheckout};
use mobilepay_merchant::{AppState, Config};
use mobilepay_sandbox::DEMO_WEBHOOK_SECRET;
use mobilepay_wire::checkout::{CheckoutSession, SessionStatus, StatusEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod common;
use common::{TestPostgres, eventually};

/// How long a test waits for something that should happen at once before failing.
const PROMPTLY: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A merchant backend and its sandbox, running in-process.
struct TestApp {
    /// The merchant backend, `http://127.0.0.1:<port>`.
    address: String,
    /// The sandbox, `http://127.0.0.1:<port>`.
    sandbox: String,
    /// The backend's state, shared with its router: tests create checkouts through its store.
    state: Arc<AppState>,
    http: reqwest::Client,
    /// Dropping it shuts the backend down (ending its open event streams).
    stop_merchant: Option<oneshot::Sender<()>>,
    _stop_sandbox: oneshot::Sender<()>,
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let url = format!(
        "http://{}",
        listener.local_addr().expect("the listener's address")
    );
    (listener, url)
}

/// The default pairing: demo key, demo merchant, demo webhook secret.
async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}, |_| {}).await
}

/// The pairing with the configurations adjusted by `sandbox` and `merchant`.
async fn spawn_app_with(
    sandbox: impl FnOnce(&mut mobilepay_sandbox::Config),
    merchant: impl FnOnce(&mut Config),
) -> TestApp {
    let (merchant_listener, address) = bind().await;
    let (sandbox_listener, sandbox_url) = bind().await;

    let mut sandbox_config = mobilepay_sandbox::Config {
        webhook_url: Some(format!("{address}/webhooks/mobilepay")),
        ..mobilepay_sandbox::Config::default()
    };
    sandbox(&mut sandbox_config);
    let (stop_sandbox, sandbox_stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(
        sandbox_listener,
        sandbox_config,
        async {
            let _ = sandbox_stopped.await;
        },
    ));

    let mut config = merchant_config(&sandbox_url);
    merchant(&mut config);
    let state = mobilepay_merchant::state(&merchant_listener, config)
        .await
        .expect("a merchant state");
    let (stop_merchant, merchant_stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_merchant::serve(
        merchant_listener,
        Arc::clone(&state),
        async move {
            let _ = merchant_stopped.await;
        },
    ));

    TestApp {
        address,
        sandbox: sandbox_url,
        state,
        http: reqwest::Client::new(),
        stop_merchant: Some(stop_merchant),
        _stop_sandbox: stop_sandbox,
    }
}

fn merchant_config(sandbox_url: &str) -> Config {
    Config::new(
        sandbox_url,
        ApiKey::new("sk_test_demo_merchant"),
        "MERCHANT123",
        Verifier::new(&[DEMO_WEBHOOK_SECRET]).expect("the demo secret is valid"),
    )
}

impl TestApp {
    /// An open checkout of 25 000 FCFA, as a shop creates it through `/v1/checkouts`.
    async fn place_order(&self) -> Checkout {
        place_order_in(&self.state).await
    }

    async fn post_session(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/checkout/sessions", self.address))
            .json(body)
            .send()
            .await
            .expect("the backend answers")
    }

    /// Creates a fresh session for `order_id`; it must succeed.
    async fn create_session(&self, order_id: &str) -> CheckoutSession {
        let response = self.post_session(&json!({"order_id": order_id})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a CheckoutSession")
    }

    /// An order and its session.
    async fn new_session(&self) -> CheckoutSession {
        let order = self.place_order().await;
        self.create_session(&order.id).await
    }

    /// Plays the shopper's phone: the sandbox settles the payment and sends its webhook.
    async fn pay(&self, payment_id: &str, outcome: &str) {
        let response = self
            .http
            .post(format!(
                "{}/sandbox/v1/payments/{payment_id}/pay",
                self.sandbox
            ))
            .json(&json!({"outcome": outcome}))
            .send()
            .await
            .expect("the sandbox answers");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the sandbox took the payment"
        );
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .send()
            .await
            .expect("the backend answers")
    }

    /// The session's status as its status URL tells it.
    async fn status(&self, session: &CheckoutSession) -> StatusEvent {
        let response = self.get(&session.status_url).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a StatusEvent")
    }

    /// The stored session of `payment_id`.
    async fn stored(&self, payment_id: &str) -> mobilepay_merchant::sessions::Session {
        self.state
            .sessions
            .for_payment(payment_id)
            .await
            .expect("the database answers")
            .expect("a session for the payment")
    }

    /// Waits (bounded) until the session of `payment_id` reaches `status`, woken by the
    /// backend's own wake-ups rather than polling.
    async fn wait_for(&self, payment_id: &str, status: SessionStatus) {
        let id = self.stored(payment_id).await.id;
        let mut subscription = self.state.sessions.hub.subscribe(&id);
        let reached = async {
            loop {
                if self.stored(payment_id).await.current.event.status == status {
                    return;
                }
                if subscription.rx.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(PROMPTLY, reached)
            .await
            .unwrap_or_else(|_| panic!("the session reached {status:?} in time"));
    }

    /// The session's sequence number: how many statuses it has had.
    async fn seq(&self, payment_id: &str) -> i64 {
        self.stored(payment_id).await.current.seq
    }

    async fn events(&self, session: &CheckoutSession) -> EventStream {
        let response = self.get(&session.events_url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = content_type(&response);
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream {
            stream: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
        }
    }

    async fn post_webhook(&self, headers: HeaderMap, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/webhooks/mobilepay", self.address))
            .headers(headers)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the backend answers")
    }

    /// Sends `body` signed as MOBILE-PAY signs it; the backend must acknowledge it.
    async fn send_signed_webhook(&self, body: &str) {
        let response = self
            .post_webhook(sign(DEMO_WEBHOOK_SECRET, body), body)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let ack: Value = response.json().await.expect("a JSON acknowledgement");
        assert_eq!(ack, json!({"received": true}));
    }

    /// Shuts the backend down, as `run` does when its shutdown future completes.
    fn stop_merchant(&mut self) {
        drop(self.stop_merchant.take());
    }
}

/// The Standard Webhooks headers for `body`, signed with `secret` now.
fn sign(secret: &str, body: &str) -> HeaderMap {
    let msg_id = format!("msg_test_{}", body.len());
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature = standardwebhooks::Webhook::new(secret)
        .expect("a valid secret")
        .sign(&msg_id, timestamp, body.as_bytes())
        .expect("a signature");
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", msg_id.parse().expect("a header value"));
    headers.insert(
        "webhook-timestamp",
        timestamp.to_string().parse().expect("a header value"),
    );
    headers.insert(
        "webhook-signature",
        signature.parse().expect("a header value"),
    );
    headers
}

fn payment_received(payment_id: &str, amount: u64) -> String {
    json!({
        "event": "payment.received",
        "timestamp": "2026-02-26T10:30:00Z",
        "data": {"payment_id": payment_id, "amount": amount, "payer": "+2250700000000", "status": "received"},
    })
    .to_string()
}

fn transaction_failed(payment_id: &str) -> String {
    json!({
        "event": "transaction.failed",
        "timestamp": "2026-02-26T10:30:00Z",
        "data": {"transaction_id": payment_id, "error_code": "INSUFFICIENT_FUNDS", "error_message": "Solde insuffisant"},
    })
    .to_string()
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Asserts that `response` is exactly `{error_code, error_message}` JSON, with `status` and
/// `code`; returns the body for comparisons.
async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status of a {code} error");
    let content_type = content_type(&response);
    assert!(
        content_type.starts_with("application/json"),
        "a {code} error is JSON, not {content_type:?}"
    );
    let body: Value = response.json().await.expect("a JSON error body");
    let keys: BTreeSet<&str> = body
        .as_object()
        .expect("an error body is a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["error_code", "error_message"]),
        "{body}"
    );
    assert_eq!(body["error_code"], code, "{body}");
    body
}

/// One Server-Sent Event.
#[derive(Debug, Default)]
struct SseEvent {
    event: String,
    id: String,
    data: String,
    retry: Option<String>,
}

impl SseEvent {
    fn status(&self) -> StatusEvent {
        assert_eq!(self.event, "status", "{self:?}");
        serde_json::from_str(&self.data).expect("a StatusEvent as data")
    }
}

/// Reads a `text/event-stream` body event by event.
struct EventStream {
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: Vec<u8>,
}

impl EventStream {
    /// The next event, or `None` once the server ended the stream; waits at most [`PROMPTLY`].
    async fn next(&mut self) -> Option<SseEvent> {
        self.next_within(PROMPTLY).await
    }

    async fn next_within(&mut self, within: Duration) -> Option<SseEvent> {
        tokio::time::timeout(within, self.read())
            .await
            .expect("an event, or the end of the stream, in time")
    }

    async fn read(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_event(&String::from_utf8_lossy(&block)) {
                    return Some(event);
                }
            }
            match self.stream.next().await {
                Some(chunk) => self
                    .buffer
                    .extend_from_slice(&chunk.expect("the stream reads")),
                None => return None,
            }
        }
    }
}

/// One event block; `None` for a block of comments only (keep-alives).
fn parse_event(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent::default();
    let mut fields = 0;
    for line in block
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(':'))
    {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        fields += 1;
        match field {
            "event" => event.event = value.to_owned(),
            "id" => event.id = value.to_owned(),
            "retry" => event.retry = Some(value.to_owned()),
            "data" if event.data.is_empty() => event.data = value.to_owned(),
            "data" => {
                event.data.push('\n');
                event.data.push_str(value);
            }
            _ => {}
        }
    }
    (fields > 0).then_some(event)
}

// ---------------------------------------------------------------------------------------------
// POST /checkout/sessions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_session_is_created_with_the_catalogs_amount_and_capability_urls() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    let order = app.place_order().await;
    let first = app.create_session(&order.id).await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let again: CheckoutSession = response.json().await.expect("a CheckoutSession");
    assert_eq!(again, first);
}

#[tokio::test]
async fn two_simultaneous_requests_for_one_order_share_one_session() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;

    let response = app
        .post_session(&json!({"order_id": "ord_doesnotexist"}))
        .await;

    assert_error(response, StatusCode::NOT_FOUND, "ORDER_NOT_FOUND").await;
}

#[tokio::test]
async fn a_malformed_body_is_invalid_json() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;

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
    let app = spawn_app().await;
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
async fn an_unreachable_payment_service_is_a_bad_gateway() {
    let (closed, url) = bind().await;
    drop(closed);
    let app = spawn_app_with(|_| {}, |config| config.mobilepay_url = url).await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_error(
        response,
        StatusCode::BAD_GATEWAY,
        "PAYMENT_PROVIDER_UNAVAILABLE",
    )
    .await;
}

#[tokio::test]
async fn a_key_refused_by_the_payment_service_is_a_provider_error_that_reveals_nothing() {
    let app = spawn_app_with(
        |_| {},
        |config| config.api_key = ApiKey::new("sk_test_revoked"),
    )
    .await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    let body = assert_error(response, StatusCode::BAD_GATEWAY, "PAYMENT_PROVIDER_ERROR").await;
    let text = body.to_string();
    assert!(!text.contains("sk_test"), "{text}");
    assert!(!text.contains("INVALID_API_KEY"), "{text}");
}

/// A fake MOBILE-PAY whose `POST /api/v1/payments/qr` always answers `answer()`; returns its URL.
/// It stops with the test's runtime.
async fn spawn_fake_mobilepay(answer: fn() -> axum::response::Response) -> String {
    let (listener, url) = bind().await;
    let app = axum::Router::new().route(
        "/api/v1/payments/qr",
        axum::routing::post(move || async move { answer() }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_rate_limited_payment_service_is_a_service_unavailable_with_retry_after() {
    use axum::response::IntoResponse;
    let fake = spawn_fake_mobilepay(|| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "3600")],
            axum::Json(json!({"error_code": "RATE_LIMITED", "error_message": "Trop de requêtes"})),
        )
            .into_response()
    })
    .await;
    let app = spawn_app_with(|_| {}, |config| config.mobilepay_url = fake).await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_eq!(
        response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("3600")
    );
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "PAYMENT_PROVIDER_BUSY",
    )
    .await;
}

#[tokio::test]
async fn a_payment_with_an_unreadable_expiry_is_a_provider_error() {
    use axum::response::IntoResponse;
    let fake = spawn_fake_mobilepay(|| {
        let payment = json!({
            "payment_id": "PAYFAKE", "status": "pending", "amount": 25000, "currency": "FCFA",
            "description": "Pagne wax 6 yards", "merchant_id": "MERCHANT123",
            "qr_code": "http://sandbox.test/wallet/PAYFAKE",
            "created_at": "2026-02-26T10:30:00Z", "expires_at": "bientôt",
        });
        (StatusCode::CREATED, axum::Json(payment)).into_response()
    })
    .await;
    let app = spawn_app_with(|_| {}, |config| config.mobilepay_url = fake).await;
    let order = app.place_order().await;

    let response = app.post_session(&json!({"order_id": order.id})).await;

    assert_error(response, StatusCode::BAD_GATEWAY, "PAYMENT_PROVIDER_ERROR").await;
    assert!(
        app.state
            .sessions
            .latest_for_checkout(&order.id)
            .await
            .expect("the database answers")
            .is_none(),
        "no session"
    );
}

// ---------------------------------------------------------------------------------------------
// Status URL and event stream
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_status_no_version_knows_in_the_database_is_an_error_never_awaiting_payment() {
    let app = spawn_app().await;
    let session = app.new_session().await;
    sqlx::query("UPDATE sessions SET status = 'refunded' WHERE id = $1")
        .bind(&session.session_id)
        .execute(&app.state.sessions.db.pool)
        .await
        .expect("updated");

    let response = app.get(&session.status_url).await;

    assert_error(
        response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
    )
    .await;
    let response = app.get(&format!("{}/metrics", app.address)).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "NOT_READY").await;
}

#[tokio::test]
async fn the_status_url_answers_the_current_status() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    let session = app.new_session().await;
    let base = format!("{}/checkout/sessions/{}", app.address, session.session_id);
    let unknown = format!("{}/checkout/sessions/cs_unknown", app.address);
    let token = session
        .status_url
        .split_once("?token=")
        .map(|(_, token)| token.to_owned())
        .expect("a token");

    let unknown_body = assert_error(
        app.get(&format!("{unknown}/status?token={token}")).await,
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
                app.get(&format!("{base}/{path}{query}")).await,
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
async fn a_failed_order_gets_a_new_payment_when_asked_again() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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

#[tokio::test]
async fn a_session_whose_payment_expired_reads_expired() {
    let app = spawn_app_with(|sandbox| sandbox.payment_ttl = Duration::ZERO, |_| {}).await;
    let session = app.new_session().await;

    assert_eq!(app.status(&session).await.status, SessionStatus::Expired);
    let mut events = app.events(&session).await;
    let first = events.next().await.expect("the current status");
    assert_eq!(first.status().status, SessionStatus::Expired);
    assert!(events.next().await.is_none(), "the stream ends");
}

#[tokio::test]
async fn the_event_stream_announces_the_expiry_when_it_comes() {
    let app = spawn_app_with(
        |sandbox| sandbox.payment_ttl = Duration::from_secs(3),
        |_| {},
    )
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
    let mut app = spawn_app().await;
    let session = app.new_session().await;
    let mut events = app.events(&session).await;
    events.next().await.expect("the current status");

    app.stop_merchant();

    assert!(events.next().await.is_none(), "the stream ends");
}

// ---------------------------------------------------------------------------------------------
// POST /webhooks/mobilepay
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unsigned_webhook_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    let session = app.new_session().await;
    let body = payment_received(&session.payment_id, 25_000);
    let forged = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &body);
    let signed_for_another_body = sign(DEMO_WEBHOOK_SECRET, &payment_received("PAYOTHER", 25_000));

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
    let app = spawn_app().await;
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
    let app = spawn_app_with(|sandbox| sandbox.payment_ttl = Duration::ZERO, |_| {}).await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    let body = r#"{"event":"payment.received","timestamp":"t","data":{"payment_id":1}}"#;

    let response = app
        .post_webhook(sign(DEMO_WEBHOOK_SECRET, body), body)
        .await;

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_WEBHOOK").await;
}

// ---------------------------------------------------------------------------------------------
// The rest of the surface
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_route_or_method_answers_json() {
    let app = spawn_app().await;

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
    let app = spawn_app().await;

    let response = app.get(&format!("{}/healthz", app.address)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "ok");
}

#[tokio::test]
async fn the_readiness_check_answers_ready_while_the_database_does_and_not_after() {
    let app = spawn_app().await;
    let response = app.get(&format!("{}/readyz", app.address)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "ready");

    app.state.sessions.db.pool.close().await;

    let response = app.get(&format!("{}/readyz", app.address)).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "NOT_READY").await;
}

#[tokio::test]
async fn metrics_fail_instead_of_answering_zeros_when_the_database_does_not_answer() {
    let app = spawn_app().await;
    let response = app.get(&format!("{}/metrics", app.address)).await;
    assert_eq!(response.status(), StatusCode::OK);

    app.state.sessions.db.pool.close().await;

    let response = app.get(&format!("{}/metrics", app.address)).await;
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "NOT_READY").await;
}

#[tokio::test]
async fn a_production_backend_serves_no_demo_store_page() {
    let app = spawn_app().await;

    let response = app.get(&format!("{}/", app.address)).await;

    assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn run_serves_the_backend_until_its_shutdown_future_completes() {
    let (sandbox_listener, sandbox_url) = bind().await;
    let (stop_sandbox, sandbox_stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(
        sandbox_listener,
        mobilepay_sandbox::Config::default(),
        async {
            let _ = sandbox_stopped.await;
        },
    ));
    let (listener, address) = bind().await;
    let mut config = merchant_config(&sandbox_url);
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
    let mut events = EventStream {
        stream: Box::pin(response.bytes_stream()),
        buffer: Vec::new(),
    };
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

// ---------------------------------------------------------------------------------------------
// Durability: reconnections, restarts, several instances on PostgreSQL
// ---------------------------------------------------------------------------------------------

/// Opens `events_url`, sending `Last-Event-ID` when given.
async fn open_events(url: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("the backend answers")
}

fn event_stream(response: reqwest::Response) -> EventStream {
    assert_eq!(response.status(), StatusCode::OK);
    EventStream {
        stream: Box::pin(response.bytes_stream()),
        buffer: Vec::new(),
    }
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_what_it_missed_then_ends() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
async fn a_webhook_delivered_twice_is_stored_once_and_applied_once() {
    let app = spawn_app().await;
    let session = app.new_session().await;
    let body = payment_received(&session.payment_id, 25_000);
    let headers = sign(DEMO_WEBHOOK_SECRET, &body);

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

/// A merchant backend on `database_url`, on `listener`, against the sandbox at `sandbox_url`.
async fn start_merchant(
    listener: TcpListener,
    sandbox_url: &str,
    database_url: &str,
) -> (
    Arc<AppState>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let mut config = merchant_config(sandbox_url);
    config.database_url = database_url.into();
    let state = mobilepay_merchant::state(&listener, config)
        .await
        .expect("a merchant state");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(mobilepay_merchant::serve(
        listener,
        Arc::clone(&state),
        async move {
            let _ = stopped.await;
        },
    ));
    (state, stop, server)
}

/// A sandbox delivering its webhooks to `webhook_url`.
async fn start_sandbox(webhook_url: &str) -> (String, oneshot::Sender<()>) {
    let (listener, url) = bind().await;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(
        listener,
        mobilepay_sandbox::Config {
            webhook_url: Some(webhook_url.to_owned()),
            ..mobilepay_sandbox::Config::default()
        },
        async {
            let _ = stopped.await;
        },
    ));
    (url, stop)
}

async fn create_session_at(address: &str, order_id: &str) -> CheckoutSession {
    let response = reqwest::Client::new()
        .post(format!("{address}/checkout/sessions"))
        .json(&json!({ "order_id": order_id }))
        .send()
        .await
        .expect("the backend answers");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("a CheckoutSession")
}

async fn pay_at(sandbox: &str, payment_id: &str) {
    let response = reqwest::Client::new()
        .post(format!("{sandbox}/sandbox/v1/payments/{payment_id}/pay"))
        .json(&json!({ "outcome": "success" }))
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(response.status(), StatusCode::OK);
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

async fn place_order_in(state: &AppState) -> Checkout {
    let new = NewCheckout::parse(mobilepay_wire::merchant::CreateCheckout {
        amount: 25_000,
        description: "Pagne wax 6 yards".to_owned(),
        reference: mobilepay_merchant::ids::random_token("order-", 8),
        metadata: None,
        expires_in: Some(3600),
        return_url: None,
    })
    .expect("a valid checkout");
    match state
        .checkouts
        .create(new)
        .await
        .expect("the checkout is stored")
    {
        Created::New(checkout) => checkout,
        Created::Existing(checkout) => panic!("a fresh reference had a checkout: {checkout:?}"),
    }
}

/// Reads `status` events until one is final, waiting at most [`PROMPTLY`] for each.
async fn final_status(stream: &mut EventStream) -> SseEvent {
    loop {
        let event = stream.next().await.expect("a final status in time");
        if event.status().status != SessionStatus::AwaitingPayment {
            return event;
        }
    }
}

/// A SQLite database file in a temporary folder (removed with it), and its URL.
fn sqlite_file() -> (tempfile::TempDir, String) {
    let data = tempfile::tempdir().expect("a temporary folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("m.sqlite3").display()
    );
    (data, url)
}

#[tokio::test]
async fn a_restart_mid_payment_loses_nothing() {
    let (_data, database_url) = sqlite_file();
    let (listener, address) = bind().await;
    let (sandbox, _stop_sandbox) = start_sandbox(&format!("{address}/webhooks/mobilepay")).await;
    let (state, stop, server) = start_merchant(listener, &sandbox, &database_url).await;
    let order = place_order_in(&state).await;
    let session = create_session_at(&address, &order.id).await;

    // The backend goes down; the shopper pays meanwhile; the webhook finds nobody.
    drop(stop);
    server.await.expect("joins").expect("stops cleanly");
    drop(state);
    pay_at(&sandbox, &session.payment_id).await;
    until_a_delivery_found_nobody(&sandbox).await;

    // Up again on the same address and database, the session and its capability are intact.
    let listener = TcpListener::bind(address.trim_start_matches("http://"))
        .await
        .expect("the same address again");
    let (_state, _stop, _server) = start_merchant(listener, &sandbox, &database_url).await;
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

/// Two instances on one database: the lease lets one reconcile, and the other take over only
/// once it has lapsed.
async fn one_instance_at_a_time_holds_the_reconciliation_lease(url: &str) {
    use mobilepay_merchant::db::Db;
    use mobilepay_merchant::lease::try_acquire as lease;
    let (a, b) = (
        Db::connect(url).await.expect("instance A's database"),
        Db::connect(url).await.expect("instance B's database"),
    );
    assert!(lease(&a, "reconcile", "A", 60).await.expect("read"));
    assert!(!lease(&b, "reconcile", "B", 60).await.expect("read"));
    assert!(lease(&a, "reconcile", "A", 60).await.expect("renewed"));
    // A stops renewing (it died); once its lease lapses, B takes over, and A is then refused.
    sqlx::query("UPDATE leases SET held_until = 0 WHERE name = 'reconcile'")
        .execute(&a.pool)
        .await
        .expect("lapsed");
    assert!(lease(&b, "reconcile", "B", 60).await.expect("read"));
    assert!(!lease(&a, "reconcile", "A", 60).await.expect("read"));
}

#[tokio::test]
async fn one_instance_at_a_time_reconciles_on_sqlite() {
    let (_data, url) = sqlite_file();
    one_instance_at_a_time_holds_the_reconciliation_lease(&url).await;
}

#[tokio::test]
async fn an_instance_that_stops_gives_the_reconciliation_lease_up() {
    let (_data, url) = sqlite_file();
    let (listener, _address) = bind().await;
    let (sandbox, _stop_sandbox) = start_sandbox("http://127.0.0.1:9/unused").await;
    let (state, stop, server) = start_merchant(listener, &sandbox, &url).await;
    // Its reconciler takes the lease at start.
    eventually(Duration::from_secs(10), async || {
        let holder: String =
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = 'reconcile'")
                .fetch_one(&state.sessions.db.pool)
                .await
                .expect("the lease");
        (holder == state.instance)
            .then_some(())
            .ok_or(format!("the lease was never taken: {holder} holds it"))
    })
    .await;
    let other = mobilepay_merchant::db::Db::connect(&url)
        .await
        .expect("another instance's database");
    assert!(
        !mobilepay_merchant::lease::try_acquire(&other, "reconcile", "B", 60)
            .await
            .expect("read")
    );

    drop(stop);
    server.await.expect("joins").expect("stops cleanly");

    assert!(
        mobilepay_merchant::lease::try_acquire(&other, "reconcile", "B", 60)
            .await
            .expect("read")
    );
}

#[tokio::test]
async fn two_instances_on_postgresql_share_sessions_and_events_across_restarts() {
    let pg = TestPostgres::start();
    let (listener_a, a) = bind().await;
    let (listener_b, b) = bind().await;
    // MOBILE-PAY's webhooks reach instance A only.
    let (sandbox, _stop_sandbox) = start_sandbox(&format!("{a}/webhooks/mobilepay")).await;
    let (state_a, stop_a, server_a) = start_merchant(listener_a, &sandbox, &pg.url()).await;
    let (state_b, stop_b, server_b) = start_merchant(listener_b, &sandbox, &pg.url()).await;

    // The order is placed through A, its session created through B, and followed on B.
    let order = place_order_in(&state_a).await;
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
    let order = place_order_in(&state_b).await;
    let session = create_session_at(&a, &order.id).await;
    drop(stop_b);
    server_b.await.expect("joins").expect("stops cleanly");
    drop(state_b);
    let listener_b = TcpListener::bind(b.trim_start_matches("http://"))
        .await
        .expect("B's address again");
    let (_state_b, _stop_b, _server_b) = start_merchant(listener_b, &sandbox, &pg.url()).await;
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
    let order = place_order_in(&state_a).await;
    let session = create_session_at(&b, &order.id).await;
    let mut on_b = event_stream(open_events(&session.events_url, None).await);
    assert_eq!(on_b.next().await.expect("the status").id, "1");
    drop(stop_a);
    server_a.await.expect("joins").expect("stops cleanly");
    drop(state_a);
    let listener_a = TcpListener::bind(a.trim_start_matches("http://"))
        .await
        .expect("A's address again");
    let (_state_a, _stop_a, _server_a) = start_merchant(listener_a, &sandbox, &pg.url()).await;
    pay_at(&sandbox, &session.payment_id).await;
    assert_eq!(
        final_status(&mut on_b).await.status().status,
        SessionStatus::Paid
    );
}

#[tokio::test]
async fn a_lost_webhook_is_made_up_for_by_reconciliation_with_the_history() {
    // MOBILE-PAY's webhooks go nowhere: every one of them is lost.
    let app = spawn_app_with(
        |sandbox| sandbox.webhook_url = Some("http://127.0.0.1:9/lost".to_owned()),
        |_| {},
    )
    .await;
    let paid = app.new_session().await;
    let failed = app.new_session().await;
    let waiting = app.new_session().await;
    app.pay(&paid.payment_id, "success").await;
    app.pay(&failed.payment_id, "insufficient_funds").await;

    let settled = mobilepay_merchant::reconcile::pass(&app.state, 0)
        .await
        .expect("the pass runs");

    assert_eq!(settled, 2);
    assert_eq!(app.status(&paid).await.status, SessionStatus::Paid);
    let status = app.status(&failed).await;
    assert_eq!(status.status, SessionStatus::Failed);
    let failure = status.failure.expect("the reason");
    assert_eq!(failure.error_code, "INSUFFICIENT_FUNDS");
    assert_eq!(failure.error_message, "Solde insuffisant");
    assert_eq!(
        app.status(&waiting).await.status,
        SessionStatus::AwaitingPayment
    );
    // A second pass finds nothing more to do.
    assert_eq!(
        mobilepay_merchant::reconcile::pass(&app.state, 0)
            .await
            .expect("the pass runs"),
        0
    );
}

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
    let app = spawn_app().await;
    let scrape = || async {
        let response = app.get(&format!("{}/metrics", app.address)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("the metrics")
    };
    let before = scrape().await;
    let session = app.new_session().await;
    let mut events = app.events(&session).await;
    events.next().await.expect("the current status");
    let forged = app
        .post_webhook(sign("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "{}"), "{}")
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
async fn many_streams_of_one_session_all_get_every_status_from_one_shared_read() {
    let app = spawn_app().await;
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

#[tokio::test]
async fn one_address_asking_for_too_many_sessions_is_slowed_down() {
    let app = spawn_app_with(|_| {}, |config| config.sessions_per_minute = 2).await;
    let order = app.place_order().await;
    for _ in 0..2 {
        let response = app.post_session(&json!({ "order_id": order.id })).await;
        assert!(response.status().is_success(), "{}", response.status());
    }

    let response = app.post_session(&json!({ "order_id": order.id })).await;

    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS").await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_shopper_has_a_limit_of_their_own() {
    // The tests connect from 127.0.0.1: here that is the proxy.
    let app = spawn_app_with(
        |_| {},
        |config| {
            config.sessions_per_minute = 2;
            config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a network")];
        },
    )
    .await;
    let order = app.place_order().await;
    let from = |shopper: &'static str| {
        app.http
            .post(format!("{}/checkout/sessions", app.address))
            .header("x-forwarded-for", shopper)
            .json(&json!({ "order_id": order.id }))
            .send()
    };
    for _ in 0..2 {
        let response = from("203.0.113.1").await.expect("the backend answers");
        assert!(response.status().is_success(), "{}", response.status());
    }
    let response = from("203.0.113.1").await.expect("the backend answers");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS").await;

    // Another shopper behind the same proxy is not slowed down by the first.
    let response = from("203.0.113.2").await.expect("the backend answers");
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit() {
    let app = spawn_app_with(|_| {}, |config| config.sessions_per_minute = 2).await;
    let order = app.place_order().await;
    for n in 0..3 {
        let response = app
            .http
            .post(format!("{}/checkout/sessions", app.address))
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .json(&json!({ "order_id": order.id }))
            .send()
            .await
            .expect("the backend answers");
        if n < 2 {
            assert!(response.status().is_success(), "{}", response.status());
        } else {
            assert_error(response, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS").await;
        }
    }
}

#[tokio::test]
async fn requests_abandoned_mid_way_lose_no_data() {
    // sqlx closes a connection whose query is cancelled; the database must outlive it.
    let app = spawn_app().await;
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

#[tokio::test]
async fn one_instance_at_a_time_reconciles_on_postgresql() {
    let pg = TestPostgres::start();
    one_instance_at_a_time_holds_the_reconciliation_lease(&pg.url()).await;
}
