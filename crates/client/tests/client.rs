//! The client against the real sandbox, and against tiny fake servers for what the sandbox does
//! not do on demand (rate limits, broken answers); then webhook verification. Every server runs
//! in-process on `127.0.0.1:0`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mobilepay_client::webhook::{Verifier, VerifyError};
use mobilepay_client::{ApiKey, Client, Error, TransactionQuery, parse_retry_after};
use mobilepay_sandbox::accounts::{DEMO_EMAIL, DEMO_FREE_KEY, DEMO_OPENING_BALANCE, DEMO_PASSWORD};
use mobilepay_wire::api::{
    CreateQrPayment, InternationalTransfer, LocalTransfer, PayOutcome, PaymentStatus, QrPayment,
    SimulatePayment, TransactionKind,
};
use mobilepay_wire::webhook::EventKind;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

const MERCHANT_KEY: &str = "sk_test_demo_merchant";
/// The longest a call that should answer at once (or after its own short retries) may take.
const PROMPTLY: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A server running in-process until this is dropped.
struct Running {
    url: String,
    _shutdown: oneshot::Sender<()>,
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

/// Serves `app` on `listener` until the returned [`Running`] is dropped; `url` is what it is
/// reached at.
fn serve(listener: TcpListener, url: String, app: axum::Router) -> Running {
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Running {
        url,
        _shutdown: shutdown,
    }
}

/// The real sandbox, with its default configuration.
async fn spawn_sandbox() -> Running {
    let (listener, url) = bind().await;
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(
        listener,
        mobilepay_sandbox::Config::default(),
        async {
            let _ = stopped.await;
        },
    ));
    Running {
        url,
        _shutdown: shutdown,
    }
}

/// A fake MOBILE-PAY whose `POST /api/v1/payments/qr` answers `answer(n)` to its `n`th call
/// (from 0), and records the headers of every call.
struct FakeApi {
    server: Running,
    calls: Arc<Mutex<Vec<HeaderMap>>>,
}

async fn spawn_fake(answer: impl Fn(usize) -> Response + Send + Sync + 'static) -> FakeApi {
    spawn_fake_or_silent(move |n| Some(answer(n))).await
}

/// A fake whose first call is answered `first()` and every later one [`created`].
async fn spawn_fake_then_created(first: impl Fn() -> Response + Send + Sync + 'static) -> FakeApi {
    spawn_fake(move |n| if n == 0 { first() } else { created() }).await
}

/// Like [`spawn_fake`], but `None` leaves that call without an answer, as a server that hangs.
async fn spawn_fake_or_silent(
    answer: impl Fn(usize) -> Option<Response> + Send + Sync + 'static,
) -> FakeApi {
    let (listener, url) = bind().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&calls);
    let answer = Arc::new(answer);
    let app = axum::Router::new().route(
        "/api/v1/payments/qr",
        axum::routing::post(move |headers: HeaderMap| {
            let n = {
                let mut calls = recorded.lock().expect("the fake's lock");
                calls.push(headers);
                calls.len() - 1
            };
            let answer = Arc::clone(&answer);
            async move {
                match answer(n) {
                    Some(response) => response,
                    None => std::future::pending().await,
                }
            }
        }),
    );
    FakeApi {
        server: serve(listener, url, app),
        calls,
    }
}

impl FakeApi {
    fn client(&self) -> Client {
        client(&self.server.url, MERCHANT_KEY)
    }

    /// The seed's QR payment, asked for once by the client (which may retry).
    async fn create_qr_payment(&self) -> Result<QrPayment, Error> {
        promptly(self.client().create_qr_payment(&seed_request())).await
    }

    fn calls(&self) -> Vec<HeaderMap> {
        self.calls.lock().expect("the fake's lock").clone()
    }
}

fn client(url: &str, key: &str) -> Client {
    Client::new(url, ApiKey::new(key)).expect("an HTTP client")
}

fn header_of<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("the {name} header"))
}

fn seed_request() -> CreateQrPayment {
    CreateQrPayment {
        amount: 25_000,
        description: "Purchase".to_owned(),
        merchant_id: "MERCHANT123".to_owned(),
    }
}

fn created() -> Response {
    let payment = QrPayment {
        payment_id: "PAYFAKE".to_owned(),
        status: PaymentStatus::Pending,
        amount: 25_000,
        currency: "FCFA".to_owned(),
        description: "Purchase".to_owned(),
        merchant_id: "MERCHANT123".to_owned(),
        qr_code: "http://sandbox.test/wallet/PAYFAKE".to_owned(),
        created_at: "2026-02-26T10:30:00Z".to_owned(),
        expires_at: "2026-02-26T10:45:00Z".to_owned(),
    };
    (StatusCode::CREATED, Json(payment)).into_response()
}

fn too_many_requests(retry_after: Option<&str>) -> Response {
    let body = Json(json!({"error_code": "RATE_LIMITED", "error_message": "Trop de requêtes"}));
    let mut response = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            seconds.parse().expect("a header value"),
        );
    }
    response
}

/// The sandbox and a client of it with the demo merchant's key.
async fn sandbox_and_client() -> (Running, Client) {
    let sandbox = spawn_sandbox().await;
    let client = client(&sandbox.url, MERCHANT_KEY);
    (sandbox, client)
}

/// The seed's QR payment asked of a fresh sandbox with `key`.
async fn create_in_sandbox_with_key(key: &str) -> Result<QrPayment, Error> {
    let sandbox = spawn_sandbox().await;
    promptly(client(&sandbox.url, key).create_qr_payment(&seed_request())).await
}

/// The shopper's phone paying, as the sandbox's controls take it.
fn paid_in_full() -> SimulatePayment {
    SimulatePayment {
        outcome: PayOutcome::Success,
        payer: None,
    }
}

/// `error` is [`Error::Api`] with this status and code.
fn assert_api_error(error: &Error, status: u16, code: &str) {
    assert!(
        matches!(error, Error::Api { status: s, error_code, .. } if *s == status && error_code == code),
        "{error:?}"
    );
}

/// `error` is [`Error::Unauthorized`] with this code.
fn assert_unauthorized(error: &Error, code: &str) {
    assert!(
        matches!(error, Error::Unauthorized { error_code } if error_code == code),
        "{error:?}"
    );
}

/// Bounds a call that must end by itself.
async fn promptly<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PROMPTLY, call)
        .await
        .expect("the call ended in time")
}

// ---------------------------------------------------------------------------------------------
// Against the sandbox
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_qr_payment_returns_the_pending_payment() {
    let (sandbox, client) = sandbox_and_client().await;

    let payment = promptly(client.create_qr_payment(&seed_request()))
        .await
        .expect("the payment is created");

    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.amount, 25_000);
    assert_eq!(payment.currency, "FCFA");
    assert_eq!(payment.merchant_id, "MERCHANT123");
    assert_eq!(
        payment.qr_code,
        format!("{}/wallet/{}", sandbox.url, payment.payment_id)
    );
}

#[tokio::test]
async fn a_base_url_with_a_trailing_slash_works_the_same() {
    let sandbox = spawn_sandbox().await;
    let client = client(&format!("{}/", sandbox.url), MERCHANT_KEY);

    let payment = promptly(client.create_qr_payment(&seed_request())).await;

    assert!(payment.is_ok(), "{payment:?}");
}

#[tokio::test]
async fn an_unknown_key_is_unauthorized() {
    let error = create_in_sandbox_with_key("sk_test_wrong")
        .await
        .expect_err("the key is refused");

    assert_unauthorized(&error, "INVALID_API_KEY");
}

#[tokio::test]
async fn a_live_key_is_unauthorized_by_the_sandbox() {
    let error = create_in_sandbox_with_key("sk_live_abc123def456")
        .await
        .expect_err("the key is refused");

    assert_unauthorized(&error, "LIVE_KEY_REFUSED");
    assert!(!format!("{error} {error:?}").contains("abc123def456"));
}

#[tokio::test]
async fn another_merchants_id_is_an_api_error_with_status_403() {
    let (_sandbox, client) = sandbox_and_client().await;
    let request = CreateQrPayment {
        merchant_id: "MERCHANT999".to_owned(),
        ..seed_request()
    };

    let error = promptly(client.create_qr_payment(&request))
        .await
        .expect_err("the merchant_id is refused");

    assert_api_error(&error, 403, "MERCHANT_MISMATCH");
}

#[tokio::test]
async fn an_invalid_amount_is_an_invalid_request_with_the_sandbox_message() {
    let (_sandbox, client) = sandbox_and_client().await;
    let request = CreateQrPayment {
        amount: 0,
        ..seed_request()
    };

    let error = promptly(client.create_qr_payment(&request))
        .await
        .expect_err("the amount is refused");

    let Error::InvalidRequest {
        error_code,
        error_message,
    } = error
    else {
        panic!("an InvalidRequest error, not {error:?}");
    };
    assert_eq!(error_code, "INVALID_PARAMETER");
    assert!(error_message.contains("amount"), "{error_message}");
}

#[tokio::test]
async fn an_unreachable_base_url_is_a_transport_error() {
    // A port that was free a moment ago: nothing listens there any more.
    let (listener, url) = bind().await;
    drop(listener);
    let client = client(&url, MERCHANT_KEY);

    let error = promptly(client.create_qr_payment(&seed_request()))
        .await
        .expect_err("nothing answers");

    assert!(matches!(error, Error::Transport(_)), "{error:?}");
}

fn local(phone: &str, amount: u64) -> LocalTransfer {
    LocalTransfer {
        recipient_phone: phone.to_owned(),
        amount,
        description: Some("Loyer".to_owned()),
    }
}

fn international(country: &str, phone: &str, amount: u64) -> InternationalTransfer {
    InternationalTransfer {
        recipient_country: country.to_owned(),
        recipient_phone: phone.to_owned(),
        amount,
    }
}

const OPENING: u64 = DEMO_OPENING_BALANCE as u64;

#[tokio::test]
async fn logging_in_gives_a_token_that_acts_for_the_account() {
    let sandbox = spawn_sandbox().await;
    let anonymous = client(&sandbox.url, "sk_test_unused");

    let token = promptly(anonymous.login(DEMO_EMAIL, DEMO_PASSWORD))
        .await
        .expect("logged in");

    assert_eq!(token.token_type, "Bearer");
    let as_user = anonymous.with_api_key(ApiKey::new(token.token.clone()));
    let balance = promptly(as_user.balance()).await.expect("the balance");
    assert_eq!(balance.balance, OPENING);
    assert!(!format!("{as_user:?}").contains(&token.token));
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_with_invalid_credentials() {
    let sandbox = spawn_sandbox().await;

    let error = promptly(client(&sandbox.url, MERCHANT_KEY).login(DEMO_EMAIL, "wrong"))
        .await
        .expect_err("refused");

    assert_unauthorized(&error, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited_with_the_sandboxs_retry_after() {
    let (_sandbox, client) = sandbox_and_client().await;
    for _ in 0..10 {
        let _ = promptly(client.login(DEMO_EMAIL, "wrong")).await;
    }

    let error = promptly(client.login(DEMO_EMAIL, DEMO_PASSWORD))
        .await
        .expect_err("throttled");

    assert!(
        matches!(error, Error::RateLimited { retry_after } if retry_after > Duration::from_secs(10)),
        "too long to wait for, so returned: {error:?}"
    );
}

#[tokio::test]
async fn a_local_transfer_answers_the_transfer_and_the_balance_after() {
    let (_sandbox, client) = sandbox_and_client().await;

    let transfer = promptly(client.local_transfer(&local("+2250701020304", 10_000)))
        .await
        .expect("transferred");

    assert_eq!(transfer.status, "completed");
    assert_eq!(transfer.recipient_country, "CI");
    assert_eq!(transfer.description.as_deref(), Some("Loyer"));
    assert_eq!(transfer.balance_after, OPENING - 10_000);
    let balance = promptly(client.balance()).await.expect("the balance");
    assert_eq!(balance.balance, transfer.balance_after);
}

#[tokio::test]
async fn an_international_transfer_answers_the_transfer() {
    let (_sandbox, client) = sandbox_and_client().await;

    let transfer =
        promptly(client.international_transfer(&international("SN", "+221771234567", 50_000)))
            .await
            .expect("transferred");

    assert_eq!(transfer.recipient_country, "SN");
    assert_eq!(transfer.amount, 50_000);
    assert_eq!(transfer.balance_after, OPENING - 50_000);
}

#[tokio::test]
async fn each_refusal_of_a_transfer_is_its_own_typed_error() {
    let (_sandbox, client) = sandbox_and_client().await;

    let insufficient = promptly(client.local_transfer(&local("+2250700000402", 1_000))).await;
    assert!(
        matches!(insufficient, Err(Error::InsufficientFunds)),
        "{insufficient:?}"
    );
    let declined =
        promptly(client.international_transfer(&international("SN", "+221770000403", 1_000))).await;
    assert!(
        matches!(declined, Err(Error::TransactionDeclined)),
        "{declined:?}"
    );
    let unknown = promptly(client.local_transfer(&local("+2250700000404", 1_000))).await;
    assert!(
        matches!(unknown, Err(Error::RecipientNotFound)),
        "{unknown:?}"
    );
    let too_much = promptly(client.local_transfer(&local("+2250701020304", 1_500_000))).await;
    assert!(
        matches!(too_much, Err(Error::InsufficientFunds)),
        "{too_much:?}"
    );
    assert_eq!(
        promptly(client.balance())
            .await
            .expect("the balance")
            .balance,
        OPENING
    );
}

#[tokio::test]
async fn a_request_the_sandbox_cannot_accept_is_an_invalid_request_with_its_code() {
    let (_sandbox, client) = sandbox_and_client().await;

    for (result, code) in [
        (
            promptly(client.local_transfer(&local("+225XXXXXXXXX", 10_000))).await,
            "INVALID_PHONE",
        ),
        (
            promptly(client.local_transfer(&local("+221771234567", 10_000))).await,
            "COUNTRY_MISMATCH",
        ),
        (
            promptly(client.local_transfer(&local("+2250701020304", 99))).await,
            "INVALID_PARAMETER",
        ),
        (
            promptly(client.international_transfer(&international("FR", "+33612345678", 500)))
                .await,
            "UNSUPPORTED_COUNTRY",
        ),
    ] {
        match result {
            Err(Error::InvalidRequest {
                error_code,
                error_message,
            }) => {
                assert_eq!(error_code, code);
                assert!(!error_message.is_empty());
            }
            other => panic!("an InvalidRequest {code}, not {other:?}"),
        }
    }
}

#[tokio::test]
async fn transactions_are_listed_with_the_query_sent_as_parameters() {
    let (_sandbox, client) = sandbox_and_client().await;
    for amount in [1_000, 2_000, 3_000] {
        promptly(client.local_transfer(&local("+2250701020304", amount)))
            .await
            .expect("transferred");
    }

    let page = promptly(client.transactions(&TransactionQuery {
        limit: Some(2),
        offset: Some(1),
        start_date: Some("2020-01-01".to_owned()),
        end_date: Some("2100-01-01T00:00:00+00:00".to_owned()),
    }))
    .await
    .expect("a page");

    assert_eq!(page.total, 4);
    assert_eq!((page.limit, page.offset), (2, 1));
    let amounts: Vec<i64> = page.transactions.iter().map(|t| t.amount).collect();
    assert_eq!(amounts, [-2_000, -1_000]);
    let everything = promptly(client.transactions(&TransactionQuery::default()))
        .await
        .expect("a page");
    assert_eq!(everything.transactions[3].kind, TransactionKind::Funding);
    let error = promptly(client.transactions(&TransactionQuery {
        limit: Some(101),
        ..TransactionQuery::default()
    }))
    .await
    .expect_err("over the maximum");
    assert!(
        matches!(&error, Error::InvalidRequest { error_code, .. } if error_code == "INVALID_PARAMETER"),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_free_tiers_101st_request_is_rate_limited_and_returned_at_once() {
    let sandbox = spawn_sandbox().await;
    let client = client(&sandbox.url, DEMO_FREE_KEY);
    for _ in 0..100 {
        promptly(client.balance()).await.expect("within the quota");
    }

    let error = promptly(client.balance())
        .await
        .expect_err("over the quota");

    assert!(
        matches!(error, Error::RateLimited { retry_after }
            if (Duration::from_secs(11)..=Duration::from_secs(36)).contains(&retry_after)),
        "{error:?}"
    );
}

/// A webhook endpoint on `127.0.0.1:0` that hands over what it receives.
async fn spawn_receiver() -> (Running, mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>) {
    let (listener, url) = bind().await;
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let _ = tx.send((headers, body.to_vec()));
            async { StatusCode::OK }
        }),
    );
    (serve(listener, format!("{url}/hooks"), app), rx)
}

#[tokio::test]
async fn the_sandbox_controls_pay_a_payment_whose_webhook_the_verifier_accepts_and_replay_it() {
    let sandbox = spawn_sandbox().await;
    let (receiver, mut deliveries) = spawn_receiver().await;
    let client = client(&sandbox.url, MERCHANT_KEY);
    let endpoint = promptly(client.set_webhook_endpoint(&receiver.url))
        .await
        .expect("the endpoint is set");
    assert_eq!(endpoint.url.as_deref(), Some(receiver.url.as_str()));
    let verifier = Verifier::new(&[endpoint.secret]).expect("the account's secret");
    let payment = promptly(client.create_qr_payment(&seed_request()))
        .await
        .expect("created");

    let paid = promptly(client.simulate_payment(&payment.payment_id, &paid_in_full()))
        .await
        .expect("paid");

    assert_eq!(paid.status, PaymentStatus::Received);
    let (headers, body) = promptly(deliveries.recv()).await.expect("a webhook");
    let event = verifier
        .verify(&headers, &body)
        .expect("a verified webhook");
    let EventKind::PaymentReceived(data) = event.kind else {
        panic!("a payment.received, not {:?}", event.kind);
    };
    assert_eq!(data.payment_id, payment.payment_id);
    let id = header_of(&headers, "webhook-id").to_owned();
    let replayed = promptly(client.replay_delivery(&id))
        .await
        .expect("replayed");
    assert_eq!(replayed.delivery_id, id);
    let (again, _) = promptly(deliveries.recv()).await.expect("the replay");
    assert_eq!(header_of(&again, "webhook-id"), id);
    let log = promptly(client.webhook_deliveries())
        .await
        .expect("the log");
    assert_eq!(log[0].delivery_id, id);
    let unknown = promptly(client.replay_delivery("msg_unknown/../x"))
        .await
        .expect_err("no such delivery");
    assert_api_error(&unknown, 404, "DELIVERY_NOT_FOUND");
}

#[tokio::test]
async fn the_sandbox_clock_can_be_read_and_advanced_to_expire_a_payment() {
    let (_sandbox, client) = sandbox_and_client().await;
    let payment = promptly(client.create_qr_payment(&seed_request()))
        .await
        .expect("created");

    let clock = promptly(client.advance_clock(15 * 60))
        .await
        .expect("advanced");

    assert_eq!(clock.offset_seconds, 15 * 60);
    assert_eq!(
        promptly(client.clock())
            .await
            .expect("the clock")
            .offset_seconds,
        15 * 60
    );
    let error = promptly(client.simulate_payment(&payment.payment_id, &paid_in_full()))
        .await
        .expect_err("expired");
    assert_api_error(&error, 409, "PAYMENT_EXPIRED");
    let invalid = promptly(client.advance_clock(0))
        .await
        .expect_err("refused");
    assert!(
        matches!(invalid, Error::InvalidRequest { .. }),
        "{invalid:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Against fakes: rate limits, headers, broken answers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_rate_limited_request_is_retried_after_retry_after_with_the_same_idempotency_key() {
    let fake = spawn_fake_then_created(|| too_many_requests(Some("1"))).await;
    let started = Instant::now();

    let payment = fake.create_qr_payment().await.expect("the retry succeeds");

    assert_eq!(payment.payment_id, "PAYFAKE");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured ({:?})",
        started.elapsed()
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    let first = header_of(&calls[0], "idempotency-key");
    assert!(!first.is_empty());
    assert_eq!(first, header_of(&calls[1], "idempotency-key"));
}

#[tokio::test]
async fn a_rate_limit_that_persists_is_returned_after_three_attempts() {
    let fake = spawn_fake(|_| too_many_requests(Some("0"))).await;

    let error = fake
        .create_qr_payment()
        .await
        .expect_err("still rate limited");

    assert!(
        matches!(error, Error::RateLimited { retry_after } if retry_after == Duration::ZERO),
        "{error:?}"
    );
    assert_eq!(fake.calls().len(), 3);
}

#[tokio::test]
async fn a_retry_after_too_long_to_wait_is_returned_to_the_caller_at_once() {
    let fake = spawn_fake(|_| too_many_requests(Some("3600"))).await;

    let error = fake.create_qr_payment().await.expect_err("rate limited");

    assert!(
        matches!(error, Error::RateLimited { retry_after } if retry_after == Duration::from_secs(3600)),
        "{error:?}"
    );
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn the_key_is_sent_as_a_bearer_token_and_each_call_has_its_own_idempotency_key() {
    let fake = spawn_fake(|_| created()).await;
    let client = fake.client();

    promptly(client.create_qr_payment(&seed_request()))
        .await
        .expect("created");
    promptly(client.create_qr_payment(&seed_request()))
        .await
        .expect("created");

    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(
            header_of(call, "authorization"),
            "Bearer sk_test_demo_merchant"
        );
        assert!(header_of(call, "content-type").starts_with("application/json"));
    }
    assert_ne!(
        header_of(&calls[0], "idempotency-key"),
        header_of(&calls[1], "idempotency-key")
    );
}

#[tokio::test]
async fn an_answer_that_is_not_the_documented_json_is_a_decode_error() {
    for (status, expected) in [(StatusCode::OK, 200), (StatusCode::BAD_GATEWAY, 502)] {
        let fake = spawn_fake(move |_| {
            (status, axum::response::Html("<h1>Bad Gateway</h1>")).into_response()
        })
        .await;

        let error = fake.create_qr_payment().await.expect_err("not JSON");

        assert!(
            matches!(error, Error::Decode { status } if status == expected),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_post_that_times_out_is_sent_again_with_the_same_idempotency_key() {
    // The first call never answers; the second does.
    let fake = spawn_fake_or_silent(|n| (n > 0).then(created)).await;
    let client = Client::builder(&fake.server.url, ApiKey::new(MERCHANT_KEY))
        .timeout(Duration::from_millis(300))
        .build()
        .expect("an HTTP client");

    let payment = promptly(client.create_qr_payment(&seed_request()))
        .await
        .expect("the retry succeeds");

    assert_eq!(payment.payment_id, "PAYFAKE");
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        header_of(&calls[0], "idempotency-key"),
        header_of(&calls[1], "idempotency-key")
    );
}

#[tokio::test]
async fn a_key_still_in_progress_is_asked_again_shortly() {
    let fake = spawn_fake_then_created(|| {
        let body = Json(json!({
            "error_code": "IDEMPOTENCY_KEY_IN_PROGRESS",
            "error_message": "en cours",
        }));
        (StatusCode::CONFLICT, body).into_response()
    })
    .await;

    let payment = fake.create_qr_payment().await;

    assert!(payment.is_ok(), "{payment:?}");
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn a_retry_after_given_as_a_distant_http_date_is_returned_to_the_caller() {
    let in_an_hour = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    let fake = spawn_fake(move |_| too_many_requests(Some(&in_an_hour))).await;

    let error = fake.create_qr_payment().await.expect_err("rate limited");

    assert!(
        matches!(error, Error::RateLimited { retry_after }
            if (Duration::from_secs(3590)..=Duration::from_secs(3600)).contains(&retry_after)),
        "{error:?}"
    );
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn a_retry_after_given_as_a_past_http_date_is_retried_at_once() {
    let fake =
        spawn_fake_then_created(|| too_many_requests(Some("Wed, 21 Oct 2015 07:28:00 GMT"))).await;

    let payment = fake.create_qr_payment().await;

    assert!(payment.is_ok(), "{payment:?}");
    assert_eq!(fake.calls().len(), 2);
}

#[test]
fn retry_after_is_read_as_seconds_or_as_any_http_date_format() {
    let now = UNIX_EPOCH + Duration::from_secs(1_445_412_400); // 2015-10-21T07:26:40Z
    for (value, expected) in [
        ("120", Some(120)),
        (" 0 ", Some(0)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some(80)),
        ("Wednesday, 21-Oct-15 07:28:00 GMT", Some(80)),
        ("Wed Oct 21 07:28:00 2015", Some(80)),
        ("Tue, 20 Oct 2015 07:28:00 GMT", Some(0)),
        ("soon", None),
        ("-5", None),
    ] {
        assert_eq!(
            parse_retry_after(value, now),
            expected.map(Duration::from_secs),
            "{value}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets stay secret
// ---------------------------------------------------------------------------------------------

#[test]
fn an_api_key_never_shows_in_debug_output() {
    let shown = format!("{:?}", ApiKey::new("sk_test_secret123"));

    assert!(!shown.contains("secret123"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

#[test]
fn a_live_key_is_told_apart_from_a_test_key_without_showing_it() {
    let shown = format!("{:?}", ApiKey::new("sk_live_secret123"));

    assert!(shown.contains("sk_live_"), "{shown}");
    assert!(!shown.contains("secret123"), "{shown}");
}

#[test]
fn a_client_never_shows_its_key_in_debug_output() {
    let client = client("http://127.0.0.1:9", "sk_test_secret123");

    let shown = format!("{client:?}");

    assert!(!shown.contains("secret123"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// Webhook verification
// ---------------------------------------------------------------------------------------------

const OLD_SECRET: &str = mobilepay_sandbox::DEMO_WEBHOOK_SECRET;
const NEW_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const OTHER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const PAYMENT_RECEIVED: &str = r#"{"event":"payment.received","timestamp":"2026-02-26T10:30:00Z","data":{"payment_id":"PAY123456","amount":25000,"payer":"+225XXXXXXXXX","status":"received"}}"#;

fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit in i64")
}

/// The headers MOBILE-PAY sends with `body`, signed with `secret` at `timestamp`.
fn signed(secret: &str, timestamp: i64, body: &str) -> HeaderMap {
    let msg_id = "msg_2V8bqXkq7Cz5jLk8";
    let signature = standardwebhooks::Webhook::new(secret)
        .expect("a valid secret")
        .sign(msg_id, timestamp, body.as_bytes())
        .expect("a signature");
    [
        ("webhook-id", msg_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ]
    .into_iter()
    .map(|(name, value)| {
        (
            name.parse().expect("a header name"),
            value.parse().expect("a header value"),
        )
    })
    .collect()
}

fn verifier() -> Verifier {
    Verifier::new(&[OLD_SECRET, NEW_SECRET]).expect("valid secrets")
}

#[test]
fn a_body_signed_with_any_of_the_current_secrets_is_accepted_and_parsed() {
    let verifier = verifier();

    for secret in [OLD_SECRET, NEW_SECRET] {
        let headers = signed(secret, unix_now(), PAYMENT_RECEIVED);
        let event = verifier
            .verify(&headers, PAYMENT_RECEIVED.as_bytes())
            .expect("verified");
        let EventKind::PaymentReceived(data) = event.kind else {
            panic!("a payment.received, not {:?}", event.kind);
        };
        assert_eq!(data.payment_id, "PAY123456");
        assert_eq!(data.amount, 25_000);
    }
}

#[test]
fn a_body_signed_with_a_secret_no_longer_held_is_a_bad_signature() {
    let headers = signed(OTHER_SECRET, unix_now(), PAYMENT_RECEIVED);

    let result = verifier().verify(&headers, PAYMENT_RECEIVED.as_bytes());

    assert_eq!(result.err(), Some(VerifyError::BadSignature));
}

#[test]
fn a_wrong_signature_is_a_bad_signature() {
    let mut headers = signed(OLD_SECRET, unix_now(), PAYMENT_RECEIVED);
    headers.insert(
        "webhook-signature",
        "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU="
            .parse()
            .expect("a header value"),
    );

    let result = verifier().verify(&headers, PAYMENT_RECEIVED.as_bytes());

    assert_eq!(result.err(), Some(VerifyError::BadSignature));
}

#[test]
fn missing_signature_headers_are_reported_as_such() {
    let complete = signed(OLD_SECRET, unix_now(), PAYMENT_RECEIVED);
    let verifier = verifier();

    assert_eq!(
        verifier
            .verify(&HeaderMap::new(), PAYMENT_RECEIVED.as_bytes())
            .err(),
        Some(VerifyError::MissingHeaders)
    );
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut headers = complete.clone();
        headers.remove(name);
        assert_eq!(
            verifier.verify(&headers, PAYMENT_RECEIVED.as_bytes()).err(),
            Some(VerifyError::MissingHeaders),
            "without {name}"
        );
    }
}

#[test]
fn a_signature_ten_minutes_old_is_a_bad_signature() {
    let ten_minutes_ago = unix_now() - 600;
    let headers = signed(OLD_SECRET, ten_minutes_ago, PAYMENT_RECEIVED);

    let result = verifier().verify(&headers, PAYMENT_RECEIVED.as_bytes());

    assert_eq!(result.err(), Some(VerifyError::BadSignature));
}

#[test]
fn a_tampered_body_is_a_bad_signature() {
    let headers = signed(OLD_SECRET, unix_now(), PAYMENT_RECEIVED);
    let tampered = PAYMENT_RECEIVED.replace("25000", "25");

    let result = verifier().verify(&headers, tampered.as_bytes());

    assert_eq!(result.err(), Some(VerifyError::BadSignature));
}

#[test]
fn a_signed_body_that_is_not_a_webhook_is_a_bad_body() {
    let body = r#"{"hello":"world"}"#;
    let headers = signed(OLD_SECRET, unix_now(), body);

    let result = verifier().verify(&headers, body.as_bytes());

    assert_eq!(result.err(), Some(VerifyError::BadBody));
}

#[test]
fn a_verifier_needs_at_least_one_well_formed_secret() {
    assert!(Verifier::new::<&str>(&[]).is_err());
    assert!(Verifier::new(&["whsec_not base64!"]).is_err());
    assert!(Verifier::new(&[OLD_SECRET, "whsec_%%%"]).is_err());
}

#[test]
fn a_verifier_never_shows_its_secrets_in_debug_output() {
    let shown = format!("{:?}", verifier());

    assert!(!shown.contains("ZGVtby13ZWJob29r"), "{shown}");
    assert!(!shown.contains("C2FVsBQIhrsc"), "{shown}");
}
