//! What every test needs: a sandbox in-process on `127.0.0.1:0` ([`spawn_app`]), a merchant's
//! webhook endpoint that records deliveries ([`spawn_receiver`]), and assertions on the error
//! shape.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use mobilepay_sandbox::{AppState, Config, DEMO_WEBHOOK_SECRET};
use mobilepay_wire::api::{
    Balance, QrPayment, Transaction, TransactionPage, WebhookDelivery, WebhookDeliveryList,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use mobilepay_sandbox::accounts::{
    DEMO_ENTERPRISE_KEY as ENTERPRISE_KEY, DEMO_FREE_KEY as FREE_KEY,
    DEMO_MERCHANT_KEY as MERCHANT_KEY, DEMO_OPENING_BALANCE as OPENING_BALANCE,
};

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

/// A valid Ivorian number that no magic suffix touches.
pub const CI_PHONE: &str = "+2250701020304";
/// A valid Senegalese number (9 national digits).
pub const SN_PHONE: &str = "+221771234567";

/// A sandbox running in-process, and the ways a test talks to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, also the sandbox's public URL.
    pub address: String,
    pub http: reqwest::Client,
    /// The sandbox's own state, to look at its database the way no client can.
    pub state: Arc<AppState>,
    /// Dropping it shuts the sandbox down.
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// A sandbox with the default configuration and no webhook endpoint.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default()).await
}

/// A sandbox wired as [`mobilepay_sandbox::run`] wires it (router, client addresses, webhook
/// worker), keeping a handle on its state.
pub async fn spawn_app_with(config: Config) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let address = format!(
        "http://{}",
        listener.local_addr().expect("the listener's address")
    );
    let state = mobilepay_sandbox::state(&listener, config)
        .await
        .expect("a sandbox state");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(mobilepay_sandbox::webhooks::worker(Arc::clone(&state)));
    let router = mobilepay_sandbox::router(Arc::clone(&state));
    let server = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await;
        worker.abort();
        served
    });
    TestApp {
        address,
        http: reqwest::Client::new(),
        state,
        shutdown,
        server,
    }
}

/// The seed's example body.
pub fn seed_body() -> Value {
    json!({"amount": 25000, "description": "Purchase", "merchant_id": "MERCHANT123"})
}

impl TestApp {
    /// Shuts the sandbox down as a stopped process would, database closed.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        tokio::time::timeout(PROMPTLY, self.server)
            .await
            .expect("the sandbox stops in time")
            .expect("the server task ends normally")
            .expect("the server ends without an error");
        self.state.db.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_qr(&self, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.http.post(self.url("/api/v1/payments/qr")).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("the sandbox answers")
    }

    /// Creates a payment of `amount` with the demo merchant key; it must succeed.
    pub async fn create_payment(&self, amount: u64) -> QrPayment {
        let body = json!({"amount": amount, "description": "Panier", "merchant_id": "MERCHANT123"});
        let response = self.post_qr(Some(MERCHANT_KEY), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a QrPayment")
    }

    /// Plays the shopper's phone through the simulation API.
    pub async fn pay(&self, payment_id: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/sandbox/v1/payments/{payment_id}/pay")))
            .json(body)
            .send()
            .await
            .expect("the sandbox answers")
    }

    /// The shopper's phone answering `outcome` (`success`, `declined`, …).
    pub async fn pay_with(&self, payment_id: &str, outcome: &str) -> reqwest::Response {
        self.pay(payment_id, &json!({ "outcome": outcome })).await
    }

    /// The shopper's phone paying, as `payer`.
    pub async fn paid_by(&self, payment_id: &str, payer: &str) -> reqwest::Response {
        let body = json!({"outcome": "success", "payer": payer});
        self.pay(payment_id, &body).await
    }

    /// The wallet page of a payment, as the shopper's phone opens it.
    pub async fn wallet_page(&self, payment_id: &str) -> String {
        self.get(&format!("/wallet/{payment_id}"))
            .await
            .text()
            .await
            .expect("a page")
    }

    /// `POST /sandbox/v1/webhook-deliveries/{id}/replay` with the merchant key.
    pub async fn replay(&self, delivery_id: &str) -> reqwest::Response {
        let path = format!("/sandbox/v1/webhook-deliveries/{delivery_id}/replay");
        self.post_as(MERCHANT_KEY, &path, &json!({})).await
    }

    /// An unauthenticated GET.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("the sandbox answers")
    }

    /// A GET with `key` as the Bearer token.
    pub async fn get_as(&self, key: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("the sandbox answers")
    }

    /// A JSON POST with `key` as the Bearer token.
    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("the sandbox answers")
    }

    /// `POST /api/v1/transfers/local` with the merchant key.
    pub async fn local_transfer(&self, body: &Value) -> reqwest::Response {
        self.post_as(MERCHANT_KEY, "/api/v1/transfers/local", body)
            .await
    }

    /// `POST /api/v1/transfers/international` with the merchant key.
    pub async fn international_transfer(&self, body: &Value) -> reqwest::Response {
        self.post_as(MERCHANT_KEY, "/api/v1/transfers/international", body)
            .await
    }

    /// A local transfer of `amount` to `phone`, with no description.
    pub async fn local(&self, phone: &str, amount: u64) -> reqwest::Response {
        self.local_transfer(&json!({"recipient_phone": phone, "amount": amount}))
            .await
    }

    /// An international transfer of `amount` to `phone` in `country`.
    pub async fn international(
        &self,
        country: &str,
        phone: &str,
        amount: u64,
    ) -> reqwest::Response {
        let body =
            json!({"recipient_country": country, "recipient_phone": phone, "amount": amount});
        self.international_transfer(&body).await
    }

    /// The account's balance, read through the API.
    pub async fn balance(&self) -> u64 {
        let response = self.get_as(MERCHANT_KEY, "/api/v1/balance").await;
        assert_eq!(response.status(), StatusCode::OK);
        let balance: Balance = response.json().await.expect("a Balance");
        assert_eq!(balance.currency, "FCFA");
        balance.balance
    }

    /// `GET /api/v1/transactions?{query}`; it must succeed.
    pub async fn transactions(&self, query: &[(&str, &str)]) -> TransactionPage {
        let response = self
            .http
            .get(self.url("/api/v1/transactions"))
            .bearer_auth(MERCHANT_KEY)
            .query(query)
            .send()
            .await
            .expect("the sandbox answers");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a TransactionPage")
    }

    /// The whole history, newest first.
    pub async fn history(&self) -> Vec<Transaction> {
        self.transactions(&[("limit", "100")]).await.transactions
    }

    /// Moves the sandbox's clock forward.
    pub async fn advance_clock(&self, seconds: u64) {
        let response = self
            .http
            .post(self.url("/sandbox/v1/clock/advance"))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .expect("the sandbox answers");
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// The account's webhook deliveries, newest first.
    pub async fn deliveries(&self) -> Vec<WebhookDelivery> {
        let response = self
            .get_as(MERCHANT_KEY, "/sandbox/v1/webhook-deliveries")
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let list: WebhookDeliveryList = response.json().await.expect("a delivery list");
        list.deliveries
    }

    /// The delivery `id` once `ready` holds for it, polling the delivery log (the sandbox records
    /// an attempt a moment after the receiver has seen it).
    pub async fn delivery_when(
        &self,
        id: &str,
        ready: impl Fn(&WebhookDelivery) -> bool,
    ) -> WebhookDelivery {
        eventually(PROMPTLY, async || {
            let found = self
                .deliveries()
                .await
                .into_iter()
                .find(|d| d.delivery_id == id);
            match found {
                Some(delivery) if ready(&delivery) => Ok(delivery),
                other => Err(format!("delivery {id}: {other:?}")),
            }
        })
        .await
    }

    /// Sets where the demo account's webhooks go.
    pub async fn set_webhook_url(&self, url: &str) {
        let response = self
            .http
            .put(self.url("/sandbox/v1/webhook-endpoint"))
            .bearer_auth(MERCHANT_KEY)
            .json(&json!({ "url": url }))
            .send()
            .await
            .expect("the sandbox answers");
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// The sum of every ledger entry (zero in a double-entry ledger), and the demo wallet's sum.
    pub async fn ledger_sums(&self) -> (i64, i64) {
        let total: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(amount), 0) FROM ledger_entries")
            .fetch_one(&self.state.db)
            .await
            .expect("the ledger's sum");
        let wallet: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE ledger_account = ?",
        )
        .bind(mobilepay_sandbox::ledger::wallet(
            mobilepay_sandbox::accounts::DEMO_ACCOUNT_ID,
        ))
        .fetch_one(&self.state.db)
        .await
        .expect("the wallet's sum");
        (total, wallet)
    }
}

/// Asserts that `response` is the product's error shape, exactly `{error_code, error_message}`,
/// with `status` and `code`; returns the message.
pub async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status, "status of a {code} error");
    let content_type = content_type(&response);
    assert!(
        content_type.starts_with("application/json"),
        "a {code} error is JSON, not {content_type:?}"
    );
    let body: Value = response.json().await.expect("a JSON error body");
    assert_error_body(&body, code);
    body["error_message"]
        .as_str()
        .expect("a string message")
        .to_owned()
}

pub fn assert_error_body(body: &Value, code: &str) {
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

pub fn parse_time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("an RFC 3339 timestamp")
}

/// The answer's `Content-Type`, empty if it has none.
pub fn content_type(response: &reqwest::Response) -> String {
    header_of(response, header::CONTENT_TYPE.as_str())
        .unwrap_or_default()
        .to_owned()
}

pub fn header_of<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// One webhook delivery, as the receiver saw it.
#[derive(Debug)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Delivery {
    /// Checks the Standard Webhooks signature with the demo secret, and returns the JSON body.
    pub fn verified_json(&self) -> Value {
        standardwebhooks::Webhook::new(DEMO_WEBHOOK_SECRET)
            .expect("the demo secret is valid")
            .verify(&self.body, &self.headers)
            .expect("the delivery is signed with the account's secret");
        serde_json::from_slice(&self.body).expect("a JSON webhook body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("the {name} header"))
    }
}

/// A merchant's webhook endpoint on `127.0.0.1:0` that records every delivery.
pub struct WebhookReceiver {
    pub url: String,
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

/// A receiver that answers 500 to its first `refuse_first` deliveries, then 200.
pub async fn spawn_receiver(refuse_first: usize) -> WebhookReceiver {
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

impl WebhookReceiver {
    /// The next delivery, waiting at most `within`.
    pub async fn next(&mut self, within: Duration) -> Delivery {
        tokio::time::timeout(within, self.deliveries.recv())
            .await
            .expect("a webhook delivery in time")
            .expect("the receiver is still running")
    }

    /// Asserts nothing more arrives for a short while (a negative can only be checked this way).
    pub async fn assert_nothing_more(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(300), self.deliveries.recv()).await;
        assert!(more.is_err(), "no further delivery: {more:?}");
    }
}

/// A sandbox whose webhooks go to a fresh receiver.
pub async fn spawn_app_with_receiver(refuse_first: usize) -> (TestApp, WebhookReceiver) {
    let receiver = spawn_receiver(refuse_first).await;
    let app = spawn_app_with(Config {
        webhook_url: Some(receiver.url.clone()),
        ..Config::default()
    })
    .await;
    (app, receiver)
}
