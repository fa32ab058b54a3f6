//! The sandbox's HTTP API, exercised from outside: every test starts its own sandbox on
//! `127.0.0.1:0` (and, when it needs webhooks, its own receiver), so tests share nothing and run in
//! parallel.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use mobilepay_sandbox::{Config, DEMO_WEBHOOK_SECRET};
use mobilepay_wire::api::{PaymentStatus, QrPayment};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tower::ServiceExt;

const MERCHANT_KEY: &str = "sk_test_demo_merchant";
/// How long a test waits for something that should happen at once before failing.
const PROMPTLY: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A sandbox running in-process, and the ways a test talks to it.
struct TestApp {
    /// `http://127.0.0.1:<port>`, also the sandbox's public URL.
    address: String,
    http: reqwest::Client,
    /// Dropping it shuts the sandbox down.
    _shutdown: oneshot::Sender<()>,
}

/// A sandbox with the default configuration and no webhook endpoint.
async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default()).await
}

async fn spawn_app_with(config: Config) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let address = format!(
        "http://{}",
        listener.local_addr().expect("the listener's address")
    );
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(listener, config, async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::new(),
        _shutdown: shutdown,
    }
}

/// The seed's example body.
fn seed_body() -> Value {
    json!({"amount": 25000, "description": "Purchase", "merchant_id": "MERCHANT123"})
}

impl TestApp {
    async fn post_qr(&self, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/api/v1/payments/qr", self.address))
            .json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the sandbox answers")
    }

    /// Creates a payment of `amount` with the demo merchant key; it must succeed.
    async fn create_payment(&self, amount: u64) -> QrPayment {
        let body = json!({"amount": amount, "description": "Panier", "merchant_id": "MERCHANT123"});
        let response = self.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a QrPayment")
    }

    /// Plays the shopper's phone through the simulation API.
    async fn pay(&self, payment_id: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!(
                "{}/sandbox/v1/payments/{payment_id}/pay",
                self.address
            ))
            .json(body)
            .send()
            .await
            .expect("the sandbox answers")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the sandbox answers")
    }
}

/// Asserts that `response` is the product's error shape, exactly `{error_code, error_message}`,
/// with `status` and `code`.
async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status, "status of a {code} error");
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "a {code} error is JSON, not {content_type:?}"
    );
    let body: Value = response.json().await.expect("a JSON error body");
    assert_error_body(&body, code);
}

fn assert_error_body(body: &Value, code: &str) {
    let object = body.as_object().expect("an error body is a JSON object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["error_code", "error_message"]),
        "{body}"
    );
    assert_eq!(body["error_code"], code, "{body}");
    let message = body["error_message"].as_str().expect("a string message");
    assert!(!message.is_empty(), "a {code} error explains itself");
}

fn parse_time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("an RFC 3339 timestamp")
}

/// One webhook delivery, as the receiver saw it.
#[derive(Debug)]
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    /// Checks the Standard Webhooks signature with the demo secret, and returns the JSON body.
    fn verified_json(&self) -> Value {
        standardwebhooks::Webhook::new(DEMO_WEBHOOK_SECRET)
            .expect("the demo secret is valid")
            .verify(&self.body, &self.headers)
            .expect("the delivery is signed with the account's secret");
        serde_json::from_slice(&self.body).expect("a JSON webhook body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("the {name} header"))
    }
}

/// A merchant's webhook endpoint on `127.0.0.1:0` that records every delivery.
struct WebhookReceiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    _shutdown: oneshot::Sender<()>,
}

struct Recorder {
    deliveries: mpsc::UnboundedSender<Delivery>,
    /// How many deliveries to refuse with a 500 before accepting.
    refuse_first: usize,
    seen: AtomicUsize,
}

async fn record(
    State(recorder): State<Arc<Recorder>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let seen = recorder.seen.fetch_add(1, Ordering::SeqCst);
    let _ = recorder.deliveries.send(Delivery { headers, body });
    if seen < recorder.refuse_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn spawn_receiver(refuse_first: usize) -> WebhookReceiver {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let url = format!(
        "http://{}/webhooks",
        listener.local_addr().expect("the listener's address")
    );
    let (tx, deliveries) = mpsc::unbounded_channel();
    let recorder = Arc::new(Recorder {
        deliveries: tx,
        refuse_first,
        seen: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .route("/webhooks", axum::routing::post(record))
        .with_state(recorder);
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    WebhookReceiver {
        url,
        deliveries,
        _shutdown: shutdown,
    }
}

impl TestApp {
    /// Moves the sandbox's clock forward.
    async fn advance_clock(&self, seconds: u64) {
        let response = self
            .http
            .post(format!("{}/sandbox/v1/clock/advance", self.address))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .expect("the sandbox answers");
        assert_eq!(response.status(), StatusCode::OK);
    }
}

impl WebhookReceiver {
    /// The next delivery, waiting at most `within`.
    async fn next(&mut self, within: Duration) -> Delivery {
        tokio::time::timeout(within, self.deliveries.recv())
            .await
            .expect("a webhook delivery in time")
            .expect("the receiver is still running")
    }

    /// Asserts nothing more arrives for a short while (a negative can only be checked this way).
    async fn assert_nothing_more(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(300), self.deliveries.recv()).await;
        assert!(more.is_err(), "no further delivery: {more:?}");
    }
}

/// A sandbox whose webhooks go to a fresh receiver.
async fn spawn_app_with_receiver(refuse_first: usize) -> (TestApp, WebhookReceiver) {
    let receiver = spawn_receiver(refuse_first).await;
    let app = spawn_app_with(Config {
        webhook_url: Some(receiver.url.clone()),
        ..Config::default()
    })
    .await;
    (app, receiver)
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/payments/qr
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_qr_payment_with_the_seed_body_answers_a_pending_payment() {
    let app = spawn_app().await;

    let response = app.post_qr(Some(MERCHANT_KEY), &seed_body()).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let payment: QrPayment = response.json().await.expect("a QrPayment");
    assert!(payment.payment_id.starts_with("PAY"), "{payment:?}");
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.amount, 25_000);
    assert_eq!(payment.currency, "FCFA");
    assert_eq!(payment.description, "Purchase");
    assert_eq!(payment.merchant_id, "MERCHANT123");
    assert_eq!(
        payment.qr_code,
        format!("{}/wallet/{}", app.address, payment.payment_id)
    );
    assert!(parse_time(&payment.expires_at) > parse_time(&payment.created_at));
}

#[tokio::test]
async fn every_payment_gets_its_own_id() {
    let app = spawn_app().await;

    let first = app.create_payment(1_000).await;
    let second = app.create_payment(1_000).await;

    assert_ne!(first.payment_id, second.payment_id);
}

#[tokio::test]
async fn the_free_tier_key_of_the_demo_account_can_create_payments_too() {
    let app = spawn_app().await;

    let response = app.post_qr(Some("sk_test_demo_free"), &seed_body()).await;

    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_qr_code_points_at_the_configured_public_url() {
    let app = spawn_app_with(Config {
        public_url: Some("http://192.168.1.20:8090/".to_owned()),
        ..Config::default()
    })
    .await;

    let payment = app.create_payment(25_000).await;

    assert_eq!(
        payment.qr_code,
        format!("http://192.168.1.20:8090/wallet/{}", payment.payment_id)
    );
}

#[tokio::test]
async fn a_request_without_authorization_is_unauthenticated() {
    let app = spawn_app().await;

    let response = app.post_qr(None, &seed_body()).await;

    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn an_authorization_header_that_is_not_a_bearer_token_is_unauthenticated() {
    let app = spawn_app().await;

    let response = app
        .http
        .post(format!("{}/api/v1/payments/qr", app.address))
        .header(header::AUTHORIZATION, "Basic ZGVtbzpwYXNzd29yZDEyMw==")
        .json(&seed_body())
        .send()
        .await
        .expect("the sandbox answers");

    assert_error(response, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn an_unknown_api_key_is_refused() {
    let app = spawn_app().await;

    let response = app.post_qr(Some("sk_test_nobody"), &seed_body()).await;

    assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_API_KEY").await;
}

#[tokio::test]
async fn a_live_key_is_refused_by_the_sandbox() {
    let app = spawn_app().await;

    let response = app
        .post_qr(Some("sk_live_abc123def456"), &seed_body())
        .await;

    assert_error(response, StatusCode::UNAUTHORIZED, "LIVE_KEY_REFUSED").await;
}

#[tokio::test]
async fn a_malformed_json_body_is_invalid_json() {
    let app = spawn_app().await;

    let response = app
        .http
        .post(format!("{}/api/v1/payments/qr", app.address))
        .bearer_auth(MERCHANT_KEY)
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"amount": 25000, "description": "#)
        .send()
        .await
        .expect("the sandbox answers");

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

#[tokio::test]
async fn a_body_with_missing_or_mistyped_fields_is_invalid_json() {
    let app = spawn_app().await;

    for body in [
        json!({"amount": 25000, "merchant_id": "MERCHANT123"}),
        json!({"amount": -5, "description": "x", "merchant_id": "MERCHANT123"}),
        json!({"amount": "25000", "description": "x", "merchant_id": "MERCHANT123"}),
        json!({"amount": 25000.5, "description": "x", "merchant_id": "MERCHANT123"}),
    ] {
        let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    }
}

#[tokio::test]
async fn an_amount_of_zero_or_above_the_maximum_is_an_invalid_parameter() {
    let app = spawn_app().await;

    for amount in [0, mobilepay_sandbox::payments::MAX_AMOUNT + 1, u64::MAX] {
        let body = json!({"amount": amount, "description": "Panier", "merchant_id": "MERCHANT123"});
        let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    }
}

#[tokio::test]
async fn the_smallest_and_largest_amounts_are_accepted() {
    let app = spawn_app().await;

    for amount in [1, mobilepay_sandbox::payments::MAX_AMOUNT] {
        let payment = app.create_payment(amount).await;
        assert_eq!(payment.amount, amount);
    }
}

#[tokio::test]
async fn an_empty_or_overlong_description_is_an_invalid_parameter() {
    let app = spawn_app().await;

    for description in [String::new(), "   ".to_owned(), "é".repeat(256)] {
        let body = json!({"amount": 100, "description": description, "merchant_id": "MERCHANT123"});
        let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    }
}

#[tokio::test]
async fn another_merchants_id_is_forbidden() {
    let app = spawn_app().await;

    let body = json!({"amount": 25000, "description": "Purchase", "merchant_id": "MERCHANT999"});
    let response = app.post_qr(Some(MERCHANT_KEY), &body).await;

    assert_error(response, StatusCode::FORBIDDEN, "MERCHANT_MISMATCH").await;
}

#[tokio::test]
async fn an_unknown_route_is_a_json_not_found() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/nothing-here").await;

    assert_error(response, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_json_method_not_allowed() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/payments/qr").await;

    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    )
    .await;
}

#[tokio::test]
async fn the_router_answers_errors_in_the_same_shape_without_a_server() {
    // The router alone, driven with `oneshot`: the listener only gives the state its public URL.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let state = mobilepay_sandbox::state(&listener, Config::default())
        .await
        .expect("a sandbox state");
    let router = mobilepay_sandbox::router(state);

    let request = Request::post("/api/v1/payments/qr")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(seed_body().to_string()))
        .expect("a request");
    let response = router.oneshot(request).await.expect("infallible");

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert_error_body(&body, "UNAUTHENTICATED");
}

// ---------------------------------------------------------------------------------------------
// POST /sandbox/v1/payments/{payment_id}/pay, and webhooks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_successful_payment_settles_it_and_sends_a_signed_payment_received_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .pay(&payment.payment_id, &json!({"outcome": "success"}))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let settled: QrPayment = response.json().await.expect("a QrPayment");
    assert_eq!(settled.status, PaymentStatus::Received);
    assert_eq!(settled.payment_id, payment.payment_id);

    let delivery = receiver.next(PROMPTLY).await;
    assert!(delivery.header("webhook-id").starts_with("msg_"));
    assert!(
        delivery
            .header("content-type")
            .starts_with("application/json")
    );
    let body = delivery.verified_json();
    assert_eq!(body["event"], "payment.received");
    parse_time(body["timestamp"].as_str().expect("a timestamp"));
    assert_eq!(
        body["data"],
        json!({
            "payment_id": payment.payment_id,
            "amount": 25000,
            "payer": mobilepay_sandbox::payments::DEFAULT_PAYER,
            "status": "received",
        })
    );
    // The seed's field order: event, timestamp, data.
    let text = std::str::from_utf8(&delivery.body).expect("UTF-8");
    assert!(
        text.starts_with(r#"{"event":"payment.received","timestamp":""#),
        "{text}"
    );
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn the_payer_named_by_the_simulation_is_reported_in_the_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(5_000).await;

    let response = app
        .pay(
            &payment.payment_id,
            &json!({"outcome": "success", "payer": "+2250102030405"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["data"]["payer"], "+2250102030405");
    assert_eq!(body["data"]["amount"], 5000);
}

#[tokio::test]
async fn insufficient_funds_fail_the_payment_with_a_transaction_failed_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .pay(
            &payment.payment_id,
            &json!({"outcome": "insufficient_funds"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let settled: QrPayment = response.json().await.expect("a QrPayment");
    assert_eq!(settled.status, PaymentStatus::Failed);
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["event"], "transaction.failed");
    assert_eq!(
        body["data"],
        json!({
            "transaction_id": payment.payment_id,
            "error_code": "INSUFFICIENT_FUNDS",
            "error_message": "Solde insuffisant",
        })
    );
}

#[tokio::test]
async fn paying_a_payment_twice_is_a_conflict_and_sends_no_second_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;
    let first = app
        .pay(&payment.payment_id, &json!({"outcome": "success"}))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    receiver.next(PROMPTLY).await;

    for outcome in ["success", "insufficient_funds"] {
        let again = app
            .pay(&payment.payment_id, &json!({"outcome": outcome}))
            .await;
        assert_error(again, StatusCode::CONFLICT, "PAYMENT_ALREADY_SETTLED").await;
    }
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn paying_an_unknown_payment_is_not_found() {
    let app = spawn_app().await;

    let response = app
        .pay("PAYDOESNOTEXIST", &json!({"outcome": "success"}))
        .await;

    assert_error(response, StatusCode::NOT_FOUND, "PAYMENT_NOT_FOUND").await;
}

#[tokio::test]
async fn an_unknown_outcome_is_invalid_json() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .pay(&payment.payment_id, &json!({"outcome": "maybe"}))
        .await;

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

#[tokio::test]
async fn an_expired_payment_can_no_longer_be_paid() {
    let mut receiver = spawn_receiver(0).await;
    let app = spawn_app_with(Config {
        webhook_url: Some(receiver.url.clone()),
        payment_ttl: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .pay(&payment.payment_id, &json!({"outcome": "success"}))
        .await;

    assert_error(response, StatusCode::CONFLICT, "PAYMENT_EXPIRED").await;
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn a_payment_cannot_be_paid_once_its_announced_expiry_has_passed() {
    let app = spawn_app_with(Config {
        payment_ttl: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;
    // The sandbox reads the wall clock, which a test cannot pause: wait for the very instant the
    // merchant was told the payment expires, no longer.
    let until_expiry = parse_time(&payment.expires_at) - OffsetDateTime::now_utc();
    let until_expiry: Duration = until_expiry.try_into().unwrap_or(Duration::ZERO);
    tokio::time::sleep(until_expiry + Duration::from_millis(5)).await;

    let response = app
        .pay(&payment.payment_id, &json!({"outcome": "success"}))
        .await;

    assert_error(response, StatusCode::CONFLICT, "PAYMENT_EXPIRED").await;
}

#[tokio::test]
async fn a_refused_webhook_is_retried_with_the_same_id_and_body() {
    let (app, mut receiver) = spawn_app_with_receiver(1).await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .pay(&payment.payment_id, &json!({"outcome": "success"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let refused = receiver.next(PROMPTLY).await;
    // The first retry is due 5 s (±10 %) after the refusal, on the sandbox's clock.
    app.advance_clock(6).await;
    let retried = receiver.next(PROMPTLY).await;
    assert_eq!(refused.header("webhook-id"), retried.header("webhook-id"));
    assert_eq!(refused.body, retried.body);
    assert_eq!(retried.verified_json()["event"], "payment.received");
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn an_unreachable_webhook_endpoint_does_not_fail_the_payment() {
    // A port that was free a moment ago: nothing listens there any more.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let url = format!(
        "http://{}/webhooks",
        closed.local_addr().expect("the listener's address")
    );
    drop(closed);
    let app = spawn_app_with(Config {
        webhook_url: Some(url),
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .pay(&payment.payment_id, &json!({"outcome": "success"}))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// The wallet page
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_wallet_page_shows_the_amount_as_french_speakers_read_it() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .http
        .get(&payment.qr_code)
        .send()
        .await
        .expect("the sandbox answers");

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.expect("a page");
    assert!(html.contains("25\u{202f}000\u{a0}FCFA"), "{html}");
    assert!(html.contains("MERCHANT123"));
    assert!(html.contains("En attente de paiement"));
    assert!(html.contains(r#"value="success""#));
}

#[tokio::test]
async fn the_wallet_page_escapes_the_description() {
    let app = spawn_app().await;
    let body = json!({
        "amount": 100,
        "description": "<script>alert('x')</script>",
        "merchant_id": "MERCHANT123",
    });
    let response = app.post_qr(Some(MERCHANT_KEY), &body).await;
    let payment: QrPayment = response.json().await.expect("a QrPayment");

    let html = app
        .get(&format!("/wallet/{}", payment.payment_id))
        .await
        .text()
        .await
        .expect("a page");

    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn paying_from_the_wallet_page_settles_the_payment_and_sends_the_webhook() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;
    let payment = app.create_payment(25_000).await;

    let response = app
        .http
        .post(format!("{}/wallet/{}/pay", app.address, payment.payment_id))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("outcome=success")
        .send()
        .await
        .expect("the sandbox answers");

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("a page");
    assert!(html.contains("Payé"), "{html}");
    assert!(!html.contains(r#"value="success""#), "no more pay buttons");
    let body = receiver.next(PROMPTLY).await.verified_json();
    assert_eq!(body["event"], "payment.received");
    assert_eq!(body["data"]["payment_id"], payment.payment_id.as_str());
    let again = app
        .pay(&payment.payment_id, &json!({"outcome": "success"}))
        .await;
    assert_error(again, StatusCode::CONFLICT, "PAYMENT_ALREADY_SETTLED").await;
}

#[tokio::test]
async fn paying_twice_from_the_wallet_page_shows_why_it_was_refused() {
    let app = spawn_app().await;
    let payment = app.create_payment(25_000).await;
    let pay = || {
        app.http
            .post(format!("{}/wallet/{}/pay", app.address, payment.payment_id))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("outcome=insufficient_funds")
            .send()
    };
    pay().await.expect("the sandbox answers");

    let html = pay()
        .await
        .expect("the sandbox answers")
        .text()
        .await
        .expect("a page");

    assert!(html.contains("Échoué"), "{html}");
    assert!(html.contains("Ce paiement est déjà réglé"), "{html}");
}

#[tokio::test]
async fn the_wallet_page_of_an_expired_payment_says_so() {
    let app = spawn_app_with(Config {
        payment_ttl: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let payment = app.create_payment(25_000).await;

    let html = app
        .get(&format!("/wallet/{}", payment.payment_id))
        .await
        .text()
        .await
        .expect("a page");

    assert!(html.contains("Expiré"), "{html}");
    assert!(!html.contains(r#"value="success""#));
}

#[tokio::test]
async fn the_wallet_page_of_an_unknown_payment_is_not_found() {
    let app = spawn_app().await;

    let response = app.get("/wallet/PAYDOESNOTEXIST").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.expect("a page");
    assert!(html.contains("Paiement introuvable"));
}
