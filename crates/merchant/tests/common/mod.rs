//! Helpers shared by the merchant backend's test binaries: [`TestApp`], the one test app — a
//! backend and its sandbox in-process on `127.0.0.1:0`, built with the configuration, the
//! database and the console operators a binary needs —, [`eventually`] and its variants, the
//! one way to wait for a condition, and a PostgreSQL server of a test's own ([`TestPostgres`]).
//! Each binary uses part of it.
#![allow(dead_code)]

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
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// How long a test waits for something that should happen at once before failing.
pub const PROMPTLY: Duration = Duration::from_secs(5);

/// Asks `check` every 20 ms until it answers `Ok`, for at most `timeout`; fails the test with
/// the last `Err` after that. The one way these tests wait for a condition.
pub async fn eventually<T, E: std::fmt::Debug>(
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match check().await {
            Ok(found) => return found,
            Err(last) => assert!(
                tokio::time::Instant::now() < deadline,
                "not so within {timeout:?}: {last:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`eventually`] for a yes-or-no condition: fails the test with `what` when it never holds.
pub async fn eventually_true(timeout: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    eventually(
        timeout,
        async || if check().await { Ok(()) } else { Err(what) },
    )
    .await;
}

/// [`eventually`] for a condition that changes only when `notify` is notified (through
/// `notify_waiters`): asks `check` at once and after each notification, for at most `timeout`;
/// fails the test with the last `Err` after that.
pub async fn eventually_notified<T, E: std::fmt::Debug>(
    timeout: Duration,
    notify: &tokio::sync::Notify,
    mut check: impl FnMut() -> Result<T, E>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        // Made before the check, so that a notification between the two is not missed.
        let notified = notify.notified();
        match check() {
            Ok(found) => return found,
            Err(last) => assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok(),
                "not so within {timeout:?}: {last:?}"
            ),
        }
    }
}

/// The merchant API keys every test backend is configured with (two: a rotation).
pub const KEY: &str = "mk_test_first_key_of_two";
pub const OTHER_KEY: &str = "mk_test_second_key_of_two";

pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let url = format!(
        "http://{}",
        listener.local_addr().expect("the listener's address")
    );
    (listener, url)
}

/// A backend of the demo MOBILE-PAY merchant on `sandbox`, on `database_url`, with [`KEY`] and
/// [`OTHER_KEY`] configured.
pub fn config(sandbox: &str, database_url: &str) -> Config {
    let mut config = Config::new(
        sandbox,
        ApiKey::new("sk_test_demo_merchant"),
        "MERCHANT123",
        Verifier::new(&[DEMO_WEBHOOK_SECRET]).expect("the demo secret is valid"),
    );
    config.database_url = database_url.into();
    config.merchant_api_keys =
        mobilepay_merchant::keys::ConfiguredKeys::new(&[KEY, OTHER_KEY]).expect("valid keys");
    config
}

/// A running merchant backend. Dropping it stops it.
pub struct Merchant {
    pub address: String,
    pub state: Arc<AppState>,
    /// The server's task: it ends once the backend has stopped.
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _stop: oneshot::Sender<()>,
}

impl Merchant {
    /// Shuts the backend down, waits until it has stopped, cleanly, then drops its state (and
    /// its database pool with it), as a process that exits would.
    pub async fn stop(self) {
        let Merchant {
            state,
            server,
            _stop,
            ..
        } = self;
        drop(_stop);
        server.await.expect("joins").expect("stops cleanly");
        drop(state);
    }
}

pub async fn start_merchant(listener: TcpListener, address: String, config: Config) -> Merchant {
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
    Merchant {
        address,
        state,
        server,
        _stop: stop,
    }
}

/// A sandbox delivering its webhooks to `webhook_url`; it stops when the sender drops.
pub async fn start_sandbox(webhook_url: &str) -> (String, oneshot::Sender<()>) {
    start_sandbox_with(mobilepay_sandbox::Config {
        webhook_url: Some(webhook_url.to_owned()),
        ..mobilepay_sandbox::Config::default()
    })
    .await
}

/// A sandbox configured by `config`; it stops when the sender drops.
pub async fn start_sandbox_with(
    config: mobilepay_sandbox::Config,
) -> (String, oneshot::Sender<()>) {
    let (listener, url) = bind().await;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(listener, config, async {
        let _ = stopped.await;
    }));
    (url, stop)
}

// ---------------------------------------------------------------------------------------------
// TestApp: the one test app of every binary
// ---------------------------------------------------------------------------------------------

/// A merchant backend and its sandbox, running in-process on `127.0.0.1:0`, the sandbox's
/// webhooks going to the backend: what every test binary runs against — `/v1` with [`KEY`],
/// `/checkout/sessions`, the status URL, the event stream, `/webhooks/mobilepay`, the console.
/// Built by [`TestApp::spawn`] (the defaults), [`TestApp::with`] (an adjusted backend),
/// [`TestApp::build`] (both configurations, a database such as a [`sqlite_file`], console
/// operators), [`TestApp::on_postgres`] (a PostgreSQL server of its own), or [`TestApp::of`]
/// (a backend started apart, one of several instances).
pub struct TestApp {
    /// The merchant backend, `http://127.0.0.1:<port>`.
    pub address: String,
    /// The sandbox, `http://127.0.0.1:<port>`.
    pub sandbox: String,
    /// The backend's state, shared with its router.
    pub state: Arc<AppState>,
    pub http: reqwest::Client,
    /// The server's task: it ends once the backend has stopped.
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Dropping it shuts the backend down (ending its open event streams).
    stop_merchant: Option<oneshot::Sender<()>>,
    _stop_sandbox: oneshot::Sender<()>,
}

/// One adjustment of a configuration, applied before it is used.
type Adjust<'a, C> = Box<dyn FnOnce(&mut C) + 'a>;

/// How a [`TestApp`] is configured before it starts: see [`TestApp::build`].
#[must_use = "a builder starts nothing until `spawn`"]
pub struct Builder<'a> {
    sandbox: Vec<Adjust<'a, mobilepay_sandbox::Config>>,
    merchant: Vec<Adjust<'a, Config>>,
    /// The console's operators to create: (email, password).
    operators: Vec<(&'a str, &'a str)>,
}

impl<'a> Builder<'a> {
    /// Adjusts the sandbox's configuration (its webhooks already go to the backend).
    pub fn sandbox(mut self, adjust: impl FnOnce(&mut mobilepay_sandbox::Config) + 'a) -> Self {
        self.sandbox.push(Box::new(adjust));
        self
    }

    /// Adjusts the backend's configuration (see [`config`] for where it starts from).
    pub fn merchant(mut self, adjust: impl FnOnce(&mut Config) + 'a) -> Self {
        self.merchant.push(Box::new(adjust));
        self
    }

    /// An operator of the console, to sign in as with `email` and `password`.
    pub fn operator(mut self, email: &'a str, password: &'a str) -> Self {
        self.operators.push((email, password));
        self
    }

    /// The backend on `database_url` rather than an in-memory SQLite database.
    pub fn database(self, database_url: &str) -> Self {
        let database_url = database_url.to_owned();
        self.merchant(move |config| config.database_url = database_url.into())
    }

    pub async fn spawn(self) -> TestApp {
        let (listener, address) = bind().await;
        let mut sandbox_config = mobilepay_sandbox::Config {
            webhook_url: Some(format!("{address}/webhooks/mobilepay")),
            ..mobilepay_sandbox::Config::default()
        };
        for adjust in self.sandbox {
            adjust(&mut sandbox_config);
        }
        let (sandbox, stop_sandbox) = start_sandbox_with(sandbox_config).await;
        let mut config = config(&sandbox, "sqlite::memory:");
        for adjust in self.merchant {
            adjust(&mut config);
        }
        let merchant = start_merchant(listener, address, config).await;
        for (email, password) in self.operators {
            mobilepay_merchant::console::operators::create(
                &merchant.state.console.db,
                email,
                password,
            )
            .await
            .expect("the operator is created");
        }
        TestApp::of(merchant, sandbox, stop_sandbox)
    }
}

impl TestApp {
    /// The default pairing: demo key, demo merchant, demo webhook secret, [`KEY`] and
    /// [`OTHER_KEY`] for `/v1`, an in-memory SQLite database.
    pub async fn spawn() -> TestApp {
        TestApp::build().spawn().await
    }

    /// The pairing with the backend's configuration adjusted by `merchant`.
    pub async fn with(merchant: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::build().merchant(merchant).spawn().await
    }

    /// A pairing to configure: `TestApp::build().sandbox(…).merchant(…).database(…).spawn()`.
    pub fn build<'a>() -> Builder<'a> {
        Builder {
            sandbox: Vec::new(),
            merchant: Vec::new(),
            operators: Vec::new(),
        }
    }

    /// The pairing on a PostgreSQL server of its own, kept by the caller.
    pub async fn on_postgres() -> (TestPostgres, TestApp) {
        let pg = TestPostgres::start();
        let app = TestApp::build().database(&pg.url()).spawn().await;
        (pg, app)
    }

    /// An app over a backend and a sandbox started apart (one of several instances).
    pub fn of(merchant: Merchant, sandbox: String, stop_sandbox: oneshot::Sender<()>) -> TestApp {
        let Merchant {
            address,
            state,
            server,
            _stop,
        } = merchant;
        TestApp {
            address,
            sandbox,
            state,
            http: reqwest::Client::new(),
            server: Some(server),
            stop_merchant: Some(_stop),
            _stop_sandbox: stop_sandbox,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Another instance of this app's deployment: a second backend on this one's database
    /// (a PostgreSQL server's, for them to share it) and on its sandbox, whose webhooks still
    /// go to this one.
    pub async fn another_instance(&self) -> Merchant {
        let (listener, address) = bind().await;
        let database_url = secrecy::ExposeSecret::expose_secret(&self.state.sessions.db.url);
        start_merchant(listener, address, config(&self.sandbox, database_url)).await
    }

    /// The sandbox as the demo merchant's key sees it, to check what really moved.
    pub fn mobilepay(&self) -> mobilepay_client::Client {
        mobilepay_client::Client::new(&self.sandbox, ApiKey::new("sk_test_demo_merchant"))
            .expect("a client of the sandbox")
    }

    /// `POST path` with `key` (if any), `Idempotency-Key` (if any) and `body`.
    pub async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        idempotency_key: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(idempotency_key) = idempotency_key {
            request = request.header("idempotency-key", idempotency_key);
        }
        request.send().await.expect("the backend answers")
    }

    /// `GET path` with `key` (if any).
    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the backend answers")
    }

    /// `DELETE path` with `key`.
    pub async fn delete(&self, path: &str, key: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("the backend answers")
    }

    /// `POST path` with [`KEY`] and `body`, as a shop's server calls `/v1`.
    pub async fn v1_post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post(path, Some(KEY), None, body).await
    }

    /// `GET path` with [`KEY`], as a shop's server calls `/v1`.
    pub async fn v1_get(&self, path: &str) -> reqwest::Response {
        self.get(path, Some(KEY)).await
    }

    /// [`TestApp::v1_post`]: the answer's status and JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        json_of(self.v1_post(path, body).await).await
    }

    /// [`TestApp::v1_get`]: the answer's status and JSON body.
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        json_of(self.v1_get(path).await).await
    }

    /// `GET url`, a whole URL (capability URLs come whole from the backend).
    pub async fn fetch(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .send()
            .await
            .expect("the backend answers")
    }

    /// Creates a checkout through the API; it must be a new one.
    pub async fn create_checkout(&self, body: &Value) -> Value {
        let (status, checkout) = self.post_json("/v1/checkouts", body).await;
        assert_eq!(status, StatusCode::CREATED, "{checkout}");
        checkout
    }

    pub async fn checkout(&self, id: &str) -> Value {
        let (status, checkout) = self.get_json(&format!("/v1/checkouts/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{checkout}");
        checkout
    }

    /// An open checkout of 25 000 FCFA, as a shop creates it through `/v1/checkouts`.
    pub async fn place_order(&self) -> Checkout {
        place_order_in(&self.state).await
    }

    /// What the widget does: `POST /checkout/sessions` with `body`.
    pub async fn post_session(&self, body: &Value) -> reqwest::Response {
        self.post("/checkout/sessions", None, None, body).await
    }

    /// What the widget does: `POST /checkout/sessions {"order_id": id}`.
    pub async fn start_session(&self, checkout_id: &str) -> reqwest::Response {
        self.post_session(&json!({"order_id": checkout_id})).await
    }

    /// Creates a fresh session for `order_id`; it must succeed.
    pub async fn create_session(&self, order_id: &str) -> CheckoutSession {
        let response = self.start_session(order_id).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a CheckoutSession")
    }

    /// A checkout of `body` created through `/v1`, and the session the widget opens for it
    /// (its `order_id` is the checkout's id).
    pub async fn checkout_session(&self, body: &Value) -> CheckoutSession {
        let checkout = self.create_checkout(body).await;
        self.create_session(checkout["id"].as_str().expect("an id"))
            .await
    }

    /// An order and its session.
    pub async fn new_session(&self) -> CheckoutSession {
        let order = self.place_order().await;
        self.create_session(&order.id).await
    }

    /// Plays the shopper's phone: the sandbox settles the payment and sends its webhook.
    pub async fn pay(&self, payment_id: &str, outcome: &str) {
        pay_on(&self.http, &self.sandbox, payment_id, outcome).await;
    }

    /// Posts a webhook signed with the demo secret, as MOBILE-PAY would.
    pub async fn webhook(&self, webhook_id: &str, body: &str) -> reqwest::Response {
        self.post_webhook(sign(DEMO_WEBHOOK_SECRET, webhook_id, body), body)
            .await
    }

    /// Posts a JSON `body` to `/webhooks/mobilepay` with `headers` (signed or not).
    pub async fn post_webhook(&self, mut headers: HeaderMap, body: &str) -> reqwest::Response {
        headers.insert(
            header::CONTENT_TYPE,
            "application/json".parse().expect("a header value"),
        );
        self.http
            .post(self.url("/webhooks/mobilepay"))
            .headers(headers)
            .body(body.to_owned())
            .send()
            .await
            .expect("the backend answers")
    }

    /// Sends `body` signed as MOBILE-PAY signs it; the backend must acknowledge it.
    pub async fn send_signed_webhook(&self, body: &str) {
        let response = self
            .post_webhook(sign_body(DEMO_WEBHOOK_SECRET, body), body)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let ack: Value = response.json().await.expect("a JSON acknowledgement");
        assert_eq!(ack, json!({"received": true}));
    }

    /// The checkout's recorded events (its rows of `events`): (seq, type, data), in order.
    pub async fn checkout_events(&self, checkout_id: &str) -> Vec<(i64, String, Value)> {
        events_in(&self.state.sessions.db, checkout_id).await
    }

    /// A checkout of `amount` under `reference`, created through `/v1`, its session opened as
    /// the widget does and paid from `payer` (the sandbox's default phone if `None`); its id,
    /// once the backend has it paid (within 10 s: a webhook's way, on a loaded machine).
    pub async fn paid_checkout(&self, reference: &str, amount: u64, payer: Option<&str>) -> String {
        let checkout = self
            .create_checkout(&checkout_body(reference, amount))
            .await;
        let id = checkout["id"].as_str().expect("an id").to_owned();
        let session = self.create_session(&id).await;
        let mut outcome = json!({"outcome": "success"});
        if let Some(payer) = payer {
            outcome["payer"] = json!(payer);
        }
        settle_on(&self.http, &self.sandbox, &session.payment_id, &outcome).await;
        self.wait_for_checkout_within(&id, "paid", Duration::from_secs(10))
            .await;
        id
    }

    /// Waits (bounded) until checkout `id` reads `status` through the API.
    pub async fn wait_for_checkout(&self, id: &str, status: &str) -> Value {
        self.wait_for_checkout_within(id, status, PROMPTLY).await
    }

    /// [`TestApp::wait_for_checkout`], for at most `timeout`.
    pub async fn wait_for_checkout_within(
        &self,
        id: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        eventually(timeout, async || {
            let checkout = self.checkout(id).await;
            if checkout["status"] == status {
                Ok(checkout)
            } else {
                Err(format!("checkout {id} never became {status}: {checkout}"))
            }
        })
        .await
    }

    /// Waits (bounded) until the session of `payment_id` reaches `status` in the database,
    /// polling (a session expires without anything waking its subscribers).
    pub async fn wait_for_session(&self, payment_id: &str, status: &str) {
        eventually(PROMPTLY, async || {
            let stored = self.stored(payment_id).await;
            if stored.current.event.status.as_str() == status {
                Ok(())
            } else {
                Err(format!("session of {payment_id} never became {status}"))
            }
        })
        .await;
    }

    /// The stored session of `payment_id`.
    pub async fn stored(&self, payment_id: &str) -> mobilepay_merchant::sessions::Session {
        self.state
            .sessions
            .for_payment(payment_id)
            .await
            .expect("the database answers")
            .expect("a session for the payment")
    }

    /// Waits (bounded) until the session of `payment_id` reaches `status`, woken by the
    /// backend's own wake-ups rather than polling.
    pub async fn wait_for(&self, payment_id: &str, status: SessionStatus) {
        let id = self.stored(payment_id).await.id;
        let mut subscription = self.state.sessions.hub.subscribe(&id);
        let reached = async {
            loop {
                if self.stored(payment_id).await.current.event.status == status {
                    return;
                }
                if subscription.rx.changed().await.is_err() {
                    // The hub dropped the session's channel: no change can come any more, so
                    // what is stored now is its last word.
                    let last = self.stored(payment_id).await.current.event.status;
                    assert_eq!(
                        last, status,
                        "the session's updates ended before it reached {status:?}"
                    );
                    return;
                }
            }
        };
        tokio::time::timeout(PROMPTLY, reached)
            .await
            .unwrap_or_else(|_| panic!("the session reached {status:?} in time"));
    }

    /// The session's sequence number: how many statuses it has had.
    pub async fn seq(&self, payment_id: &str) -> i64 {
        self.stored(payment_id).await.current.seq
    }

    /// The session's status as its status URL tells it.
    pub async fn status(&self, session: &CheckoutSession) -> StatusEvent {
        let response = self.fetch(&session.status_url).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a StatusEvent")
    }

    /// Opens the session's event stream; it must be one.
    pub async fn events(&self, session: &CheckoutSession) -> EventStream {
        let response = self.fetch(&session.events_url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = content_type(&response);
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream::of(response)
    }

    /// Shuts the backend down, as `run` does when its shutdown future completes; the test
    /// goes on (the sandbox too).
    pub fn stop_merchant(&mut self) {
        drop(self.stop_merchant.take());
    }

    /// Shuts the backend down and waits until it has stopped, cleanly.
    pub async fn stop(&mut self) {
        self.stop_merchant();
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task ends")
                .expect("the server stops cleanly");
        }
    }
}

/// `response`'s status and JSON body.
pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

/// A valid `POST /v1/checkouts` body.
pub fn checkout_body(reference: &str, amount: u64) -> Value {
    json!({"amount": amount, "description": "Pagne wax 6 yards", "reference": reference})
}

pub async fn events_in(
    db: &mobilepay_merchant::db::Db,
    checkout_id: &str,
) -> Vec<(i64, String, Value)> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT seq, type, data FROM events WHERE checkout_id = $1 ORDER BY seq")
            .bind(checkout_id)
            .fetch_all(&db.pool)
            .await
            .expect("the events");
    rows.into_iter()
        .map(|(seq, kind, data)| (seq, kind, serde_json::from_str(&data).expect("JSON data")))
        .collect()
}

/// The Standard Webhooks headers for `body`, signed with `secret` now.
pub fn sign(secret: &str, webhook_id: &str, body: &str) -> HeaderMap {
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let signature = standardwebhooks::Webhook::new(secret)
        .expect("a valid secret")
        .sign(webhook_id, timestamp, body.as_bytes())
        .expect("a signature");
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", webhook_id.parse().expect("a header value"));
    headers.insert(
        "webhook-timestamp",
        timestamp.to_string().parse().expect("a header value"),
    );
    headers.insert(
        "webhook-signature",
        signature.parse().expect("a header value"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("a header value"),
    );
    headers
}

pub fn payment_received(payment_id: &str, amount: u64) -> String {
    json!({
        "event": "payment.received",
        "timestamp": "2026-02-26T10:30:00Z",
        "data": {"payment_id": payment_id, "amount": amount, "payer": "+2250700000001", "status": "received"},
    })
    .to_string()
}

/// Asserts that `response` is exactly `{error_code, error_message}` JSON, with `status` and
/// `code`; returns the body.
pub async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
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
    let keys: BTreeSet<&str> = body
        .as_object()
        .expect("an error body is a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["error_code", "error_message"]));
    assert_eq!(body["error_code"], code, "{body}");
    body
}

/// A database of the release before (migrations 0001 and 0002, an open and a paid order) at
/// `url` migrates forward, its orders becoming checkouts.
pub async fn an_old_database_migrates_forward(url: &str) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // The release before had migrations 0001 and 0002 only.
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).expect("a folder");
    let ours = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in ["0001_initial.sql", "0002_leases.sql"] {
        std::fs::copy(ours.join(name), old.join(name)).expect("copied");
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("the old database");
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("the old migrations")
        .run(&pool)
        .await
        .expect("migrated the old way");
    for statement in [
        "INSERT INTO orders (id, amount, description, created_at) VALUES ('ord_paid', 25000, 'Pagne', 1700000000)",
        "INSERT INTO orders (id, amount, description, created_at) VALUES ('ord_open', 9000, 'Foulard', 1700000100)",
        "INSERT INTO sessions (id, token, order_id, amount, description, payment_id, qr_payload, expires_at, status, seq, created_at)
         VALUES ('cs_old', 'tok', 'ord_paid', 25000, 'Pagne', 'PAY1', 'qr', 1700000900, 'paid', 2, 1700000000)",
    ] {
        sqlx::query(statement).execute(&pool).await.expect("old rows");
    }
    pool.close().await;

    let db = mobilepay_merchant::db::Db::connect(url)
        .await
        .expect("the old database migrates forward");

    let rows: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT id, status, reference, expires_at FROM checkouts ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("the checkouts");
    assert_eq!(
        rows,
        [
            (
                "ord_open".to_owned(),
                "open".to_owned(),
                "ord_open".to_owned(),
                1_700_086_500
            ),
            (
                "ord_paid".to_owned(),
                "paid".to_owned(),
                "ord_paid".to_owned(),
                1_700_086_400
            ),
        ]
    );
    let session: String =
        sqlx::query_scalar("SELECT checkout_id FROM sessions WHERE id = 'cs_old'")
            .fetch_one(&db.pool)
            .await
            .expect("the session");
    assert_eq!(session, "ord_paid");
}

/// A PostgreSQL server of its own in a temporary folder, stopped on drop.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl TestPostgres {
    pub fn start() -> TestPostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .filter_map(Result::ok)
                    .map(|v| v.path().join("bin"))
                    .filter(|bin| bin.join("initdb").exists())
                    .max()
            })
            .expect(
                "PostgreSQL's server (Debian's postgresql package; `cargo xtask test` installs it)",
            );
        let dir = tempfile::tempdir().expect("a temporary folder");
        // initdb refuses to run as root: run the server as `postgres` then.
        let as_postgres_user = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let pg = TestPostgres {
            dir,
            bin,
            port,
            as_postgres_user,
        };
        if as_postgres_user {
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-A",
                "trust",
                "-U",
                "postgres",
                "-D",
                &data.display().to_string(),
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.dir.path().display()
        );
        // `-l`: the server writes its log there, not into our pipes (which would never close).
        let log = pg.dir.path().join("log").display().to_string();
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-s",
                "start",
            ],
        );
        pg
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let output = if self.as_postgres_user {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            std::process::Command::new(&program).args(args).output()
        }
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = std::panic::catch_unwind(|| {
            self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-s", "stop"]);
        });
    }
}

/// [`sign`] with the `webhook-id` `msg_test_<the body's length>`: one body sent twice is one
/// webhook delivered twice.
pub fn sign_body(secret: &str, body: &str) -> HeaderMap {
    sign(secret, &format!("msg_test_{}", body.len()), body)
}

pub fn transaction_failed(payment_id: &str) -> String {
    json!({
        "event": "transaction.failed",
        "timestamp": "2026-02-26T10:30:00Z",
        "data": {"transaction_id": payment_id, "error_code": "INSUFFICIENT_FUNDS", "error_message": "Solde insuffisant"},
    })
    .to_string()
}

pub fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// An open checkout of 25 000 FCFA for "Pagne wax 6 yards", created in `state`'s store as
/// `/v1/checkouts` creates it, under a fresh reference.
pub async fn place_order_in(state: &AppState) -> Checkout {
    let new = NewCheckout::parse(mobilepay_wire::merchant::CreateCheckout {
        amount: mobilepay_wire::Amount::new(25_000),
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

/// What a shop's server does on the backend at `address` with `key`: a new checkout of `body`.
pub async fn create_checkout_at(address: &str, key: &str, body: &Value) -> Value {
    let (status, checkout) = json_of(
        reqwest::Client::new()
            .post(format!("{address}/v1/checkouts"))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("the backend answers"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{checkout}");
    checkout
}

/// What the widget does on the backend at `address`; the answer must be a session, new or
/// resumed.
pub async fn create_session_at(address: &str, order_id: &str) -> CheckoutSession {
    let response = reqwest::Client::new()
        .post(format!("{address}/checkout/sessions"))
        .json(&json!({ "order_id": order_id }))
        .send()
        .await
        .expect("the backend answers");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("a CheckoutSession")
}

/// Pays `payment_id` successfully on the sandbox at `sandbox`.
pub async fn pay_at(sandbox: &str, payment_id: &str) {
    pay_on(&reqwest::Client::new(), sandbox, payment_id, "success").await;
}

/// Plays the shopper's phone on the sandbox at `sandbox`: it settles `payment_id` with
/// `outcome` (`success`, `insufficient_funds`, …) and sends its webhook.
pub async fn pay_on(http: &reqwest::Client, sandbox: &str, payment_id: &str, outcome: &str) {
    settle_on(http, sandbox, payment_id, &json!({ "outcome": outcome })).await;
}

/// [`pay_on`] with the sandbox's whole `body`: `{"outcome": …, "payer": …}`.
pub async fn settle_on(http: &reqwest::Client, sandbox: &str, payment_id: &str, body: &Value) {
    let response = http
        .post(format!("{sandbox}/sandbox/v1/payments/{payment_id}/pay"))
        .json(body)
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the sandbox took the payment"
    );
}

/// Opens `events_url`, sending `Last-Event-ID` when given.
pub async fn open_events(url: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("the backend answers")
}

/// The events of `response`, which must be a `200`.
pub fn event_stream(response: reqwest::Response) -> EventStream {
    assert_eq!(response.status(), StatusCode::OK);
    EventStream::of(response)
}

/// Reads `status` events until one is final, waiting at most [`PROMPTLY`] for each.
pub async fn final_status(stream: &mut EventStream) -> SseEvent {
    loop {
        let event = stream.next().await.expect("a final status in time");
        if event.status().status != SessionStatus::AwaitingPayment {
            return event;
        }
    }
}

/// A SQLite database file in a temporary folder (removed with it), and its URL.
pub fn sqlite_file() -> (tempfile::TempDir, String) {
    let data = tempfile::tempdir().expect("a temporary folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("m.sqlite3").display()
    );
    (data, url)
}

/// One Server-Sent Event.
#[derive(Debug, Default)]
pub struct SseEvent {
    pub event: String,
    pub id: String,
    pub data: String,
    pub retry: Option<String>,
}

impl SseEvent {
    /// The event's `StatusEvent`; it must be a `status` event.
    pub fn status(&self) -> StatusEvent {
        assert_eq!(self.event, "status", "{self:?}");
        serde_json::from_str(&self.data).expect("a StatusEvent as data")
    }
}

/// Reads a `text/event-stream` body event by event.
pub struct EventStream {
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: Vec<u8>,
}

impl EventStream {
    /// The events of `response`'s body, whatever its status.
    pub fn of(response: reqwest::Response) -> EventStream {
        EventStream {
            stream: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
        }
    }

    /// The next event, or `None` once the server ended the stream; waits at most [`PROMPTLY`].
    pub async fn next(&mut self) -> Option<SseEvent> {
        self.next_within(PROMPTLY).await
    }

    pub async fn next_within(&mut self, within: Duration) -> Option<SseEvent> {
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
