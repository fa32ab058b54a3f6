//! Notifications to the shop, through HTTP: webhook endpoints, events delivered to a real
//! receiver (an axum server of the test on `127.0.0.1:0`), retries, redelivery, restarts and
//! two instances on PostgreSQL. Events are inserted as rows of `events`, as the checkout code
//! writes them, by one helper ([`insert_event`]).
//!
//! Retry schedules here are milliseconds long, so that a retry is waited for, not slept for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mobilepay_merchant::AppState;
use mobilepay_merchant::outbox::Settings;
use serde_json::{Value, json};
use tokio::sync::Notify;

mod common;
use common::{
    KEY, TestApp, TestPostgres, assert_error, eventually, eventually_notified, sqlite_file,
};

/// How long a test waits for something that should happen at once before failing.
const PROMPTLY: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The backend
// ---------------------------------------------------------------------------------------------

/// Retries after 50, 100, 200, 400 ms; a 2 s timeout.
fn fast() -> Settings {
    Settings {
        retry_schedule: [50, 100, 200, 400]
            .into_iter()
            .map(Duration::from_millis)
            .collect(),
        timeout: Duration::from_secs(2),
        concurrency: 16,
        poll: Duration::from_millis(200),
    }
}

/// A backend on `database_url` delivering by `settings`; it never reconciles (these tests make
/// no payment).
async fn start(database_url: &str, settings: Settings) -> TestApp {
    TestApp::build()
        .database(database_url)
        .merchant(|config| {
            config.reconcile_every = None;
            config.notifications = settings;
        })
        .spawn()
        .await
}

async fn start_fresh() -> (tempfile::TempDir, TestApp) {
    let (dir, url) = sqlite_file();
    (dir, start(&url, fast()).await)
}

impl TestApp {
    /// Creates an endpoint; returns its id and secret.
    async fn endpoint(&self, url: &str, events: &[&str]) -> (String, String) {
        let (status, body) = self
            .post_json(
                "/v1/webhook-endpoints",
                &json!({"url": url, "events": events}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        (
            body["id"].as_str().expect("an id").to_owned(),
            body["secret"].as_str().expect("a secret").to_owned(),
        )
    }

    /// The event as `GET /v1/events/{id}` answers it.
    async fn event(&self, id: &str) -> Value {
        let (status, event) = self.get_json(&format!("/v1/events/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        event
    }

    /// Waits (bounded) until the event's first delivery satisfies `done`; returns the event.
    async fn wait_delivery(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        eventually(PROMPTLY, async || {
            let event = self.event(id).await;
            if event["deliveries"].get(0).is_some_and(&done) {
                Ok(event)
            } else {
                Err(format!("the delivery never got there: {event:#}"))
            }
        })
        .await
    }
}

/// The status codes of the attempts of `event`'s first delivery, in order.
fn attempt_codes(event: &Value) -> Vec<Value> {
    event["deliveries"][0]["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status_code"].clone())
        .collect()
}

/// Inserts an event as the checkout code does (a row of `events`), and wakes the worker.
async fn insert_event(state: &AppState, checkout_id: &str, seq: i64, kind: &str) -> String {
    let id = mobilepay_merchant::ids::random_token("evt_", 12);
    let data = json!({
        "id": checkout_id, "status": kind.trim_start_matches("checkout."), "amount": 25000,
        "currency": "FCFA", "reference": format!("order-{checkout_id}"),
    });
    sqlx::query(
        "INSERT INTO events (id, checkout_id, seq, type, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(checkout_id)
    .bind(seq)
    .bind(kind)
    .bind(data.to_string())
    .bind(mobilepay_merchant::db::now())
    .execute(&state.sessions.db.pool)
    .await
    .expect("the event is stored");
    state.outbox.wake();
    id
}

// ---------------------------------------------------------------------------------------------
// The receiver: the shop's webhook endpoint
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn webhook_id(&self) -> String {
        self.headers["webhook-id"]
            .to_str()
            .expect("ASCII")
            .to_owned()
    }
}

/// How the receiver answers a body, given how many times it already received this event.
type Answer = Arc<dyn Fn(&Value, usize) -> Response + Send + Sync>;

#[derive(Clone)]
struct Receiver {
    url: String,
    log: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    answer: Arc<Mutex<Answer>>,
}

impl Receiver {
    async fn start(answer: impl Fn(&Value, usize) -> Response + Send + Sync + 'static) -> Self {
        let (listener, base) = common::bind().await;
        let receiver = Receiver {
            url: format!("{base}/hooks"),
            log: Arc::default(),
            arrived: Arc::default(),
            answer: Arc::new(Mutex::new(Arc::new(answer))),
        };
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn answer_with(&self, answer: impl Fn(&Value, usize) -> Response + Send + Sync + 'static) {
        *self.answer.lock().expect("not poisoned") = Arc::new(answer);
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().expect("not poisoned").clone()
    }

    fn of(&self, event_id: &str) -> Vec<Received> {
        self.log
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|r| r.webhook_id() == event_id)
            .cloned()
            .collect()
    }

    fn count(&self) -> usize {
        self.log.lock().expect("not poisoned").len()
    }

    /// Waits (bounded) until `n` requests for `event_id` have arrived; returns them.
    async fn wait_for(&self, event_id: &str, n: usize) -> Vec<Received> {
        eventually_notified(PROMPTLY, &self.arrived, || match self.of(event_id) {
            got if got.len() >= n => Ok(got),
            got => Err(format!(
                "{n} requests for {event_id} never came (got {})",
                got.len()
            )),
        })
        .await
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let received = Received {
        at: Instant::now(),
        headers,
        body: String::from_utf8(body.to_vec()).expect("UTF-8"),
    };
    let json = received.json();
    let before = {
        let mut log = receiver.log.lock().expect("not poisoned");
        let id = received.webhook_id();
        let before = log.iter().filter(|r| r.webhook_id() == id).count();
        log.push(received);
        before
    };
    receiver.arrived.notify_waiters();
    let answer = Arc::clone(&*receiver.answer.lock().expect("not poisoned"));
    answer(&json, before)
}

fn ok(_: &Value, _: usize) -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------------------------------------
// Webhook endpoints
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_endpoint_is_created_with_its_secret_shown_once_listed_without_it_and_deleted() {
    let (_dir, app) = start_fresh().await;
    let response = app.v1_post("/v1/webhook-endpoints", &json!({"url": "https://shop.example/hooks", "events": ["checkout.paid", "checkout.expired"]}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("JSON");
    let id = created["id"].as_str().expect("an id");
    assert!(id.starts_with("we_"));
    assert_eq!(created["url"], "https://shop.example/hooks");
    assert_eq!(
        created["events"],
        json!(["checkout.paid", "checkout.expired"])
    );
    let secret = created["secret"].as_str().expect("a secret");
    assert!(secret.starts_with("whsec_"));
    assert!(standardwebhooks::Webhook::new(secret).is_ok());

    let (_, listed) = app.get_json("/v1/webhook-endpoints").await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["data"][0]["id"], id);
    assert!(listed["data"][0].get("secret").is_none(), "never listed");
    assert!(!listed.to_string().contains(secret));

    let deleted = app
        .delete(&format!("/v1/webhook-endpoints/{id}"), KEY)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (_, listed) = app.get_json("/v1/webhook-endpoints").await;
    assert_eq!(listed["data"], json!([]));
    assert_error(
        app.delete(&format!("/v1/webhook-endpoints/{id}"), KEY)
            .await,
        StatusCode::NOT_FOUND,
        "WEBHOOK_ENDPOINT_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn endpoints_with_a_bad_url_unknown_events_or_beyond_the_limit_are_refused() {
    let (_dir, app) = start_fresh().await;
    for body in [
        json!({"url": "ftp://shop.example/hooks", "events": ["checkout.paid"]}),
        json!({"url": "not a url", "events": ["checkout.paid"]}),
        json!({"url": "https://shop.example/hooks", "events": ["checkout.refunded"]}),
        json!({"url": "https://shop.example/hooks", "events": []}),
        json!({"url": "https://shop.example/hooks", "events": ["*", "checkout.paid"]}),
        json!({"url": "https://shop.example/hooks", "events": ["checkout.paid", "checkout.paid"]}),
    ] {
        assert_error(
            app.v1_post("/v1/webhook-endpoints", &body).await,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
        )
        .await;
    }
    assert_error(
        app.v1_post(
            "/v1/webhook-endpoints",
            &json!({"url": "https://shop.example/hooks"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_JSON",
    )
    .await;
    for n in 0..16 {
        app.endpoint(&format!("https://shop.example/hooks/{n}"), &["*"])
            .await;
    }
    assert_error(
        app.v1_post(
            "/v1/webhook-endpoints",
            &json!({"url": "https://shop.example/one-too-many", "events": ["*"]}),
        )
        .await,
        StatusCode::CONFLICT,
        "TOO_MANY_WEBHOOK_ENDPOINTS",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

/// Verifies a delivery with the official Node library (npm `standardwebhooks`, pinned by
/// tests/node/package-lock.json), installed under the target folder on first use.
fn verify_with_node(secret: &str, received: &Received) -> Value {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-standardwebhooks");
    std::fs::create_dir_all(&dir).expect("a folder for the Node check");
    for file in ["package.json", "package-lock.json", "verify.mjs"] {
        std::fs::copy(source.join(file), dir.join(file)).expect("copied");
    }
    if !dir.join("node_modules/standardwebhooks").exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (Node and npm are needed by this test)");
        assert!(status.success(), "npm ci installed standardwebhooks");
    }
    let headers: HashMap<&str, &str> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .map(|name| (name, received.headers[name].to_str().expect("ASCII")))
        .collect();
    let input = json!({"secret": secret, "headers": headers, "body": received.body});
    let mut child = std::process::Command::new("node")
        .arg("verify.mjs")
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("written");
    let output = child.wait_with_output().expect("node ends");
    assert!(
        output.status.success(),
        "the Node library refused it: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the payload it verified")
}

#[tokio::test]
async fn an_event_reaches_the_endpoints_that_want_it_signed_for_the_rust_and_node_libraries() {
    let (_dir, app) = start_fresh().await;
    let shop = Receiver::start(ok).await;
    let other = Receiver::start(ok).await;
    let (_, secret) = app.endpoint(&shop.url, &["checkout.paid"]).await;
    app.endpoint(&other.url, &["checkout.expired"]).await;

    let event_id = insert_event(&app.state, "chk_1", 2, "checkout.paid").await;
    let received = shop.wait_for(&event_id, 1).await.remove(0);

    let body = received.json();
    assert_eq!(body["id"], event_id.as_str());
    assert_eq!(body["type"], "checkout.paid");
    assert_eq!(body["sequence"], 2);
    assert_eq!(body["data"]["id"], "chk_1");
    assert_eq!(body["data"]["amount"], 25000);
    let created = body["created_at"].as_str().expect("created_at");
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "RFC 3339: {created}"
    );
    assert_eq!(received.headers["content-type"], "application/json");

    standardwebhooks::Webhook::new(&secret)
        .expect("the secret")
        .verify(received.body.as_bytes(), &received.headers)
        .expect("the Rust library verifies it");
    assert!(
        standardwebhooks::Webhook::new(&standardwebhooks_other_secret())
            .expect("a secret")
            .verify(received.body.as_bytes(), &received.headers)
            .is_err(),
        "another endpoint's secret does not"
    );
    assert_eq!(verify_with_node(&secret, &received), body);

    let event = app
        .wait_delivery(&event_id, |d| d["status"] == "succeeded")
        .await;
    assert_eq!(event["deliveries"].as_array().map(Vec::len), Some(1));
    assert!(other.received().is_empty(), "not wanted there");
}

fn standardwebhooks_other_secret() -> String {
    mobilepay_merchant::outbox::Secret::generate()
        .expose()
        .to_owned()
}

#[tokio::test]
async fn a_failing_delivery_is_retried_with_backoff_until_it_succeeds_and_every_attempt_is_recorded()
 {
    let (_dir, app) = start_fresh().await;
    let shop = Receiver::start(|_, before| {
        if before < 2 {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await;
    app.endpoint(&shop.url, &["*"]).await;
    let event_id = insert_event(&app.state, "chk_1", 1, "checkout.paid").await;

    let got = shop.wait_for(&event_id, 3).await;
    // The schedule waits 50 ms then 100 ms, with ±25 % jitter.
    assert!(got[1].at - got[0].at >= Duration::from_millis(37));
    assert!(got[2].at - got[1].at >= Duration::from_millis(75));
    assert!(
        got.iter().all(|r| r.webhook_id() == event_id),
        "one webhook-id"
    );

    let event = app
        .wait_delivery(&event_id, |d| d["status"] == "succeeded")
        .await;
    let attempts = event["deliveries"][0]["attempts"]
        .as_array()
        .expect("attempts");
    let codes: Vec<&Value> = attempts.iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(503), &json!(503), &json!(200)]);
    for attempt in attempts {
        assert!(attempt["latency_ms"].as_i64().is_some_and(|l| l >= 0));
        assert!(attempt["attempted_at"].as_str().is_some());
        assert!(attempt["error"].is_null());
    }
    assert!(event["deliveries"][0]["next_attempt_at"].is_null());
}

/// Retries every 100 ms for 5 s: a delivery stays pending through a slow test's checks.
fn patient() -> Settings {
    Settings {
        retry_schedule: vec![Duration::from_millis(100); 50],
        ..fast()
    }
}

#[tokio::test]
async fn one_failing_event_never_holds_up_another_to_the_same_endpoint() {
    let (_dir, url) = sqlite_file();
    let app = start(&url, patient()).await;
    // Fails every delivery of checkout A, takes those of B.
    let shop = Receiver::start(|body, _| {
        if body["data"]["id"] == "chk_A" {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await;
    app.endpoint(&shop.url, &["*"]).await;
    let a = insert_event(&app.state, "chk_A", 1, "checkout.paid").await;
    shop.wait_for(&a, 1).await;
    let b = insert_event(&app.state, "chk_B", 1, "checkout.paid").await;

    shop.wait_for(&b, 1).await;
    let a_now = app.event(&a).await;
    assert_eq!(
        a_now["deliveries"][0]["status"], "pending",
        "A still retries while B is delivered: {a_now:#}"
    );
    app.wait_delivery(&b, |d| d["status"] == "succeeded").await;
    // A keeps being retried on its own schedule after B went through.
    shop.wait_for(&a, 3).await;
}

#[tokio::test]
async fn a_refusal_other_than_408_429_or_5xx_fails_for_good_after_one_attempt() {
    let (_dir, app) = start_fresh().await;
    let shop = Receiver::start(|_, _| StatusCode::GONE.into_response()).await;
    app.endpoint(&shop.url, &["*"]).await;
    let event_id = insert_event(&app.state, "chk_1", 1, "checkout.expired").await;
    let event = app
        .wait_delivery(&event_id, |d| d["status"] == "failed")
        .await;
    let attempts = event["deliveries"][0]["attempts"]
        .as_array()
        .expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 410);
    // Once the worker has delivered another event since, still one.
    let later = insert_event(&app.state, "chk_2", 1, "checkout.expired").await;
    app.wait_delivery(&later, |d| d["status"] == "failed").await;
    assert_eq!(shop.of(&event_id).len(), 1, "never retried");
}

#[tokio::test]
async fn a_429_is_retried_no_sooner_than_its_retry_after() {
    let (_dir, app) = start_fresh().await;
    let shop = Receiver::start(|_, before| {
        if before == 0 {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response()
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await;
    app.endpoint(&shop.url, &["*"]).await;
    let event_id = insert_event(&app.state, "chk_1", 1, "checkout.paid").await;
    let got = shop.wait_for(&event_id, 2).await;
    assert!(
        got[1].at - got[0].at >= Duration::from_secs(1),
        "waited {:?}, not the schedule's 50 ms",
        got[1].at - got[0].at
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_in_time_is_retried_then_failed_when_the_schedule_ends() {
    let (_dir, url) = sqlite_file();
    let settings = Settings {
        retry_schedule: vec![Duration::from_millis(20), Duration::from_millis(20)],
        timeout: Duration::from_millis(200),
        ..fast()
    };
    let app = start(&url, settings).await;
    // A receiver that holds every request past the timeout.
    let slow = {
        let (listener, base) = common::bind().await;
        let url = format!("{base}/");
        let router = axum::Router::new().fallback(|| async {
            // Deliberately late (what this test is about): an answer 25 times the timeout.
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        url
    };
    app.endpoint(&slow, &["*"]).await;
    let event_id = insert_event(&app.state, "chk_1", 1, "checkout.paid").await;
    let event = app
        .wait_delivery(&event_id, |d| d["status"] == "failed")
        .await;
    let attempts = event["deliveries"][0]["attempts"]
        .as_array()
        .expect("attempts");
    assert_eq!(attempts.len(), 3, "the first and the two retries");
    for attempt in attempts {
        assert_eq!(attempt["error"], "timeout");
        assert!(attempt["status_code"].is_null());
        assert!(attempt["latency_ms"].as_i64().is_some_and(|l| l >= 200));
    }
}

#[tokio::test]
async fn redelivering_sends_an_event_again_with_the_same_webhook_id_even_after_it_failed_for_good()
{
    let (_dir, app) = start_fresh().await;
    let shop = Receiver::start(ok).await;
    app.endpoint(&shop.url, &["*"]).await;
    let event_id = insert_event(&app.state, "chk_1", 1, "checkout.paid").await;
    shop.wait_for(&event_id, 1).await;
    app.wait_delivery(&event_id, |d| d["status"] == "succeeded")
        .await;

    let response = app
        .v1_post(&format!("/v1/events/{event_id}/redeliver"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let got = shop.wait_for(&event_id, 2).await;
    assert_eq!(got[0].body, got[1].body, "the same event");
    assert_eq!(got[0].webhook_id(), got[1].webhook_id());

    // Failed for good, then redelivered: a new attempt too.
    shop.answer_with(|_, _| StatusCode::BAD_REQUEST.into_response());
    let refused = insert_event(&app.state, "chk_2", 1, "checkout.paid").await;
    app.wait_delivery(&refused, |d| d["status"] == "failed")
        .await;
    shop.answer_with(ok);
    app.v1_post(&format!("/v1/events/{refused}/redeliver"), &json!({}))
        .await;
    let event = app
        .wait_delivery(&refused, |d| d["status"] == "succeeded")
        .await;
    let codes = attempt_codes(&event);
    assert_eq!(codes, [json!(400), json!(204)]);

    assert_error(
        app.v1_post("/v1/events/evt_unknown/redeliver", &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "EVENT_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn deleting_an_endpoint_cancels_its_pending_deliveries() {
    let (_dir, url) = sqlite_file();
    let app = start(&url, patient()).await;
    let shop = Receiver::start(|_, _| StatusCode::BAD_GATEWAY.into_response()).await;
    let (endpoint, _) = app.endpoint(&shop.url, &["*"]).await;
    let event_id = insert_event(&app.state, "chk_1", 1, "checkout.paid").await;
    shop.wait_for(&event_id, 2).await;
    assert_eq!(
        app.delete(&format!("/v1/webhook-endpoints/{endpoint}"), KEY)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let event = app
        .wait_delivery(&event_id, |d| d["status"] == "canceled")
        .await;
    let tried = event["deliveries"][0]["attempts"]
        .as_array()
        .map(Vec::len)
        .expect("attempts");
    assert!(event["deliveries"][0]["next_attempt_at"].is_null());
    // Once the worker has delivered other events for longer than several retry periods
    // (100 ms), no attempt came after the one that may have been in flight.
    let marker = Receiver::start(ok).await;
    app.endpoint(&marker.url, &["*"]).await;
    let started = Instant::now();
    let mut seq = 0;
    while started.elapsed() < Duration::from_millis(800) {
        seq += 1;
        let again = insert_event(&app.state, "chk_marker", seq, "checkout.paid").await;
        marker.wait_for(&again, 1).await;
    }
    assert!(shop.of(&event_id).len() <= tried + 1, "no more attempts");
}

// ---------------------------------------------------------------------------------------------
// Events through the API
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn events_are_listed_newest_first_by_checkout_a_page_at_a_time_with_their_deliveries() {
    let (_dir, app) = start_fresh().await;
    let shop = Receiver::start(ok).await;
    app.endpoint(&shop.url, &["*"]).await;
    let mut ids = Vec::new();
    for seq in 1..=5 {
        ids.push(insert_event(&app.state, "chk_list", seq, "checkout.payment_failed").await);
    }
    insert_event(&app.state, "chk_other", 1, "checkout.paid").await;
    for id in &ids {
        app.wait_delivery(id, |d| d["status"] == "succeeded").await;
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/v1/events?checkout_id=chk_list&limit=2".to_owned(),
            Some(c) => format!("/v1/events?checkout_id=chk_list&limit=2&cursor={c}"),
        };
        let (_, page) = app.get_json(&path).await;
        let data = page["data"].as_array().expect("data");
        assert!(data.len() <= 2);
        for event in data {
            assert_eq!(event["checkout_id"], "chk_list");
            assert_eq!(event["deliveries"][0]["status"], "succeeded");
            assert_eq!(event["deliveries"][0]["attempts"][0]["status_code"], 204);
            seen.push(event["id"].as_str().expect("an id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once");

    let (_, all) = app.get_json("/v1/events").await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(6));
    assert!(all["next_cursor"].is_null());
    let (_, paid) = app.get_json("/v1/events?type=checkout.paid").await;
    assert_eq!(paid["data"].as_array().map(Vec::len), Some(1));

    assert_error(
        app.v1_get("/v1/events/evt_nope").await,
        StatusCode::NOT_FOUND,
        "EVENT_NOT_FOUND",
    )
    .await;
    for bad in ["limit=0", "limit=101", "limit=ten", "cursor=evt_nope"] {
        assert_error(
            app.v1_get(&format!("/v1/events?{bad}")).await,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
        )
        .await;
    }
}

#[test]
fn every_notification_route_is_in_the_openapi_document_with_its_error_codes() {
    let doc = mobilepay_merchant::routes::notifications::routes().into_openapi();
    let doc = serde_json::to_value(&doc).expect("JSON");
    let paths = &doc["paths"];
    for (path, method, codes) in [
        (
            "/v1/webhook-endpoints",
            "post",
            &["201", "400", "409", "500"][..],
        ),
        ("/v1/webhook-endpoints", "get", &["200", "500"]),
        (
            "/v1/webhook-endpoints/{id}",
            "delete",
            &["204", "404", "500"],
        ),
        ("/v1/events", "get", &["200", "400", "500"]),
        ("/v1/events/{id}", "get", &["200", "404", "500"]),
        ("/v1/events/{id}/redeliver", "post", &["202", "404", "500"]),
    ] {
        let responses = &paths[path][method]["responses"];
        for code in codes {
            assert!(
                responses.get(*code).is_some(),
                "{method} {path} documents {code}"
            );
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["NewEndpoint"]["properties"]["url"]["maxLength"],
        2048
    );
    assert!(schemas["Endpoint"]["properties"].get("secret").is_none());
    assert!(schemas["CreatedEndpoint"].to_string().contains("secret"));
}

// ---------------------------------------------------------------------------------------------
// Durability
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_delivery_is_sent_by_the_next_process_after_a_restart() {
    let (_dir, url) = sqlite_file();
    let mut first = start(
        &url,
        Settings {
            // Long enough that the first process is gone before the retry is due (2.25 s at
            // the shortest jitter).
            retry_schedule: vec![Duration::from_secs(3)],
            ..fast()
        },
    )
    .await;
    let shop = Receiver::start(|_, _| StatusCode::SERVICE_UNAVAILABLE.into_response()).await;
    first.endpoint(&shop.url, &["*"]).await;
    let event_id = insert_event(&first.state, "chk_1", 1, "checkout.paid").await;
    shop.wait_for(&event_id, 1).await;
    first
        .wait_delivery(&event_id, |d| {
            d["attempts"].as_array().map(Vec::len) == Some(1)
        })
        .await;
    first.stop().await;
    shop.answer_with(ok);

    let second = start(&url, fast()).await;
    shop.wait_for(&event_id, 2).await;
    let event = second
        .wait_delivery(&event_id, |d| d["status"] == "succeeded")
        .await;
    let codes = attempt_codes(&event);
    assert_eq!(codes, [json!(503), json!(204)]);
}

#[tokio::test]
async fn two_instances_on_postgresql_never_both_send_one_delivery() {
    let pg = TestPostgres::start();
    let a = start(&pg.url(), fast()).await;
    let b = start(&pg.url(), fast()).await;
    // Slow answers widen the window in which both instances look at the same due rows; one in
    // three events fails once, so retries are claimed too.
    let shop = Receiver::start(|body, before| {
        let seq = body["sequence"].as_i64().unwrap_or(0);
        if before == 0 && seq % 3 == 0 {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await;
    a.endpoint(&shop.url, &["*"]).await;
    let mut ids = Vec::new();
    for n in 0..120 {
        // Written through both instances, each waking its own worker.
        let through = if n % 2 == 0 { &a.state } else { &b.state };
        ids.push((
            n,
            insert_event(through, &format!("chk_{n}"), n, "checkout.paid").await,
        ));
    }
    for (n, id) in &ids {
        let wanted = if n % 3 == 0 { 2 } else { 1 };
        shop.wait_for(id, wanted).await;
    }
    for (n, id) in &ids {
        app_settled(&a, id).await;
        let wanted = if n % 3 == 0 { 2 } else { 1 };
        assert_eq!(
            shop.of(id).len(),
            wanted,
            "event {n} was sent {wanted} time(s)"
        );
    }
    let senders: std::collections::BTreeSet<String> = sqlx::query_as::<_, (String,)>(
        "SELECT DISTINCT claimed_by FROM webhook_deliveries WHERE claimed_by IS NOT NULL",
    )
    .fetch_all(&a.state.sessions.db.pool)
    .await
    .expect("read")
    .into_iter()
    .map(|(s,)| s)
    .collect();
    assert!(
        senders.is_empty(),
        "no claim outlives its attempt: {senders:?}"
    );
}

async fn app_settled(app: &TestApp, id: &str) {
    app.wait_delivery(id, |d| d["status"] == "succeeded").await;
}

// ---------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------

/// Not a pass/fail figure: prints events delivered per second by one instance (SQLite) to a
/// receiver on loopback, for the notes. `NOTIFY_BENCH_EVENTS` sets the count (default 300).
#[tokio::test]
async fn one_instance_delivers_a_burst_of_events_to_a_loopback_receiver() {
    let count: usize = std::env::var("NOTIFY_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let (_dir, app) = start_fresh().await;
    let shop = Receiver::start(ok).await;
    app.endpoint(&shop.url, &["*"]).await;
    // Written first, in one transaction, then the worker is woken: what is measured is the
    // delivery alone.
    let mut tx = app
        .state
        .sessions
        .db
        .pool
        .begin()
        .await
        .expect("a transaction");
    for n in 0..count {
        sqlx::query(
            "INSERT INTO events (id, checkout_id, seq, type, data, created_at)
             VALUES ($1, $2, 1, 'checkout.paid', '{}', $3)",
        )
        .bind(format!("evt_bench_{n}"))
        .bind(format!("chk_{n}"))
        .bind(mobilepay_merchant::db::now())
        .execute(&mut *tx)
        .await
        .expect("stored");
    }
    tx.commit().await.expect("committed");
    let started = Instant::now();
    app.state.outbox.wake();
    eventually_notified(Duration::from_secs(120), &shop.arrived, || {
        match shop.count() {
            arrived if arrived >= count => Ok(()),
            arrived => Err(format!("only {arrived} of {count} arrived")),
        }
    })
    .await;
    let elapsed = started.elapsed();
    let ids: std::collections::BTreeSet<String> =
        shop.received().iter().map(Received::webhook_id).collect();
    assert_eq!(ids.len(), count, "each event once");
    println!(
        "notify bench: {count} events delivered in {elapsed:?}: {:.0} events/s",
        count as f64 / elapsed.as_secs_f64()
    );
}
