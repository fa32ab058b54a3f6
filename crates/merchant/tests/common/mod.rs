//! Helpers shared by the merchant backend's test binaries: a backend and its sandbox
//! in-process on `127.0.0.1:0` ([`App`] for the merchant API's calls, [`TestApp`] for the
//! checkout's surface and its event streams), and a PostgreSQL server of its own.
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

/// A backend and its sandbox, the sandbox's webhooks going to the backend.
pub struct App {
    pub merchant: Merchant,
    pub sandbox: String,
    pub http: reqwest::Client,
    _stop_sandbox: oneshot::Sender<()>,
}

pub async fn spawn_app() -> App {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> App {
    let (listener, address) = bind().await;
    let (sandbox, stop_sandbox) = start_sandbox(&format!("{address}/webhooks/mobilepay")).await;
    let mut config = config(&sandbox, "sqlite::memory:");
    adjust(&mut config);
    let merchant = start_merchant(listener, address, config).await;
    App {
        merchant,
        sandbox,
        http: reqwest::Client::new(),
        _stop_sandbox: stop_sandbox,
    }
}

/// A valid `POST /v1/checkouts` body.
pub fn checkout_body(reference: &str, amount: u64) -> Value {
    json!({"amount": amount, "description": "Pagne wax 6 yards", "reference": reference})
}

impl App {
    /// An `App` over a backend and a sandbox started apart (one of several instances).
    pub fn new(merchant: Merchant, sandbox: String, stop_sandbox: oneshot::Sender<()>) -> App {
        App {
            merchant,
            sandbox,
            http: reqwest::Client::new(),
            _stop_sandbox: stop_sandbox,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.merchant.address)
    }

    pub fn state(&self) -> &AppState {
        &self.merchant.state
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

    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the backend answers")
    }

    /// Creates a checkout through the API; it must be a new one.
    pub async fn create_checkout(&self, body: &Value) -> Value {
        let response = self.post("/v1/checkouts", Some(KEY), None, body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a checkout")
    }

    pub async fn checkout(&self, id: &str) -> Value {
        let response = self.get(&format!("/v1/checkouts/{id}"), Some(KEY)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a checkout")
    }

    /// What the widget does: `POST /checkout/sessions {"order_id": id}`.
    pub async fn start_session(&self, checkout_id: &str) -> reqwest::Response {
        self.post(
            "/checkout/sessions",
            None,
            None,
            &json!({"order_id": checkout_id}),
        )
        .await
    }

    /// Plays the shopper's phone: the sandbox settles the payment and sends its webhook.
    pub async fn pay(&self, payment_id: &str, outcome: &str) {
        pay_on(&self.http, &self.sandbox, payment_id, outcome).await;
    }

    /// Posts a webhook signed with the demo secret, as MOBILE-PAY would.
    pub async fn webhook(&self, webhook_id: &str, body: &str) -> reqwest::Response {
        self.http
            .post(self.url("/webhooks/mobilepay"))
            .headers(sign(DEMO_WEBHOOK_SECRET, webhook_id, body))
            .body(body.to_owned())
            .send()
            .await
            .expect("the backend answers")
    }

    /// The checkout's recorded events: (seq, type, data), in order.
    pub async fn events(&self, checkout_id: &str) -> Vec<(i64, String, Value)> {
        events_in(&self.state().sessions.db, checkout_id).await
    }

    /// Waits (bounded) until checkout `id` reads `status` through the API.
    pub async fn wait_for_checkout(&self, id: &str, status: &str) -> Value {
        let deadline = std::time::Instant::now() + PROMPTLY;
        loop {
            let checkout = self.checkout(id).await;
            if checkout["status"] == status {
                return checkout;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "checkout {id} never became {status}: {checkout}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) until the session of `payment_id` reaches `status` in the database.
    pub async fn wait_for_session(&self, payment_id: &str, status: &str) {
        let deadline = std::time::Instant::now() + PROMPTLY;
        loop {
            let stored = self
                .state()
                .sessions
                .for_payment(payment_id)
                .await
                .expect("the database answers")
                .expect("a session for the payment");
            if stored.current.event.status.as_str() == status {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "session of {payment_id} never became {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
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

// ---------------------------------------------------------------------------------------------
// TestApp: the checkout's surface a browser and MOBILE-PAY see (tests/api)
// ---------------------------------------------------------------------------------------------

/// A merchant backend and its sandbox, running in-process, the sandbox's webhooks going to the
/// backend: what `/checkout/sessions`, the status URL, the event stream and
/// `/webhooks/mobilepay` are tested against. Unlike [`App`], both configurations can be
/// adjusted, the backend can be stopped while the test goes on, and orders are placed through
/// the backend's store (the tests of `/v1` are elsewhere).
pub struct TestApp {
    /// The merchant backend, `http://127.0.0.1:<port>`.
    pub address: String,
    /// The sandbox, `http://127.0.0.1:<port>`.
    pub sandbox: String,
    /// The backend's state, shared with its router: tests create checkouts through its store.
    pub state: Arc<AppState>,
    pub http: reqwest::Client,
    /// Dropping it shuts the backend down (ending its open event streams).
    stop_merchant: Option<oneshot::Sender<()>>,
    _stop_sandbox: oneshot::Sender<()>,
}

impl TestApp {
    /// The default pairing: demo key, demo merchant, demo webhook secret.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}, |_| {}).await
    }

    /// The pairing with the configurations adjusted by `sandbox` and `merchant`.
    pub async fn spawn_with(
        sandbox: impl FnOnce(&mut mobilepay_sandbox::Config),
        merchant: impl FnOnce(&mut Config),
    ) -> TestApp {
        let (listener, address) = bind().await;
        let mut sandbox_config = mobilepay_sandbox::Config {
            webhook_url: Some(format!("{address}/webhooks/mobilepay")),
            ..mobilepay_sandbox::Config::default()
        };
        sandbox(&mut sandbox_config);
        let (sandbox, stop_sandbox) = start_sandbox_with(sandbox_config).await;
        let mut config = config(&sandbox, "sqlite::memory:");
        merchant(&mut config);
        let Merchant {
            address,
            state,
            _stop,
            ..
        } = start_merchant(listener, address, config).await;
        TestApp {
            address,
            sandbox,
            state,
            http: reqwest::Client::new(),
            stop_merchant: Some(_stop),
            _stop_sandbox: stop_sandbox,
        }
    }

    /// An open checkout of 25 000 FCFA, as a shop creates it through `/v1/checkouts`.
    pub async fn place_order(&self) -> Checkout {
        place_order_in(&self.state).await
    }

    pub async fn post_session(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/checkout/sessions", self.address))
            .json(body)
            .send()
            .await
            .expect("the backend answers")
    }

    /// Creates a fresh session for `order_id`; it must succeed.
    pub async fn create_session(&self, order_id: &str) -> CheckoutSession {
        let response = self.post_session(&json!({"order_id": order_id})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a CheckoutSession")
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

    /// `GET url`, a whole URL (capability URLs come whole from the backend).
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .send()
            .await
            .expect("the backend answers")
    }

    /// The session's status as its status URL tells it.
    pub async fn status(&self, session: &CheckoutSession) -> StatusEvent {
        let response = self.get(&session.status_url).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a StatusEvent")
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

    /// Opens the session's event stream; it must be one.
    pub async fn events(&self, session: &CheckoutSession) -> EventStream {
        let response = self.get(&session.events_url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = content_type(&response);
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream::of(response)
    }

    /// Posts a JSON `body` to `/webhooks/mobilepay` with `headers` (signed or not).
    pub async fn post_webhook(&self, mut headers: HeaderMap, body: &str) -> reqwest::Response {
        headers.insert(
            header::CONTENT_TYPE,
            "application/json".parse().expect("a header value"),
        );
        self.http
            .post(format!("{}/webhooks/mobilepay", self.address))
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

    /// Shuts the backend down, as `run` does when its shutdown future completes.
    pub fn stop_merchant(&mut self) {
        drop(self.stop_merchant.take());
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
    let response = http
        .post(format!("{sandbox}/sandbox/v1/payments/{payment_id}/pay"))
        .json(&json!({ "outcome": outcome }))
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
