//! A typed client for the MOBILE-PAY API, and the verifier for its webhooks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mobilepay_client::Error> {
//! use mobilepay_client::{ApiKey, Client};
//! use mobilepay_wire::api::CreateQrPayment;
//!
//! let client = Client::new("http://127.0.0.1:8090", ApiKey::new("sk_test_demo_merchant"))?;
//! let payment = client
//!     .create_qr_payment(&CreateQrPayment {
//!         amount: 25_000,
//!         description: "Panier".into(),
//!         merchant_id: "MERCHANT123".into(),
//!     })
//!     .await?;
//! println!("{}", payment.qr_code);
//! # Ok(()) }
//! ```
//!
//! Every call of the seed API has its method ([`Client::login`], [`Client::local_transfer`],
//! [`Client::international_transfer`], [`Client::create_qr_payment`], [`Client::transactions`],
//! [`Client::balance`]), and so do the sandbox's controls (`/sandbox/v1/…`), which only the
//! sandbox answers. POSTs carry an `Idempotency-Key` that stays the same across the client's own
//! retries; a `Retry-After` short enough is waited for, in seconds or as an HTTP date.
//!
//! Architecture invariant: the API key is only ever written into the `Authorization` header; it is
//! redacted from every `Debug` output and error.

mod secret;
pub mod webhook;

use std::time::{Duration, SystemTime};

use mobilepay_wire::ApiError;
use mobilepay_wire::api::{
    AdvanceClock, Balance, Clock, CreateQrPayment, InternationalTransfer, LocalTransfer, Login,
    LoginToken, QrPayment, SimulatePayment, TransactionPage, Transfer, WebhookDelivery,
    WebhookDeliveryList, WebhookEndpoint, WebhookEndpointConfig,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use secret::ApiKey;

/// How many times a request is sent at most when MOBILE-PAY is rate limiting or unreachable.
const MAX_ATTEMPTS: u32 = 3;
/// The longest `Retry-After` the client waits for by itself; longer ones are returned to the caller.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API key, token or credentials were refused (`401`: `UNAUTHENTICATED`,
    /// `INVALID_API_KEY`, `LIVE_KEY_REFUSED`, `INVALID_CREDENTIALS`).
    #[error("MOBILE-PAY refused the credentials: {error_code}")]
    Unauthorized { error_code: String },
    /// Over the tier's rate limit (or too many login attempts), still after the client's own
    /// retries: try again after `retry_after`.
    #[error("MOBILE-PAY rate limit reached; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// `INSUFFICIENT_FUNDS` (`402`): the balance does not cover the transfer.
    #[error("MOBILE-PAY refused the transfer: insufficient funds")]
    InsufficientFunds,
    /// `RECIPIENT_NOT_FOUND` (`422`): no wallet answers at the recipient's number.
    #[error("MOBILE-PAY refused the transfer: recipient not found")]
    RecipientNotFound,
    /// `TRANSACTION_DECLINED` (`422`).
    #[error("MOBILE-PAY declined the transaction")]
    TransactionDeclined,
    /// The request itself is wrong (`400`: `INVALID_PHONE`, `INVALID_PARAMETER`,
    /// `COUNTRY_MISMATCH`, …): sending it again will not help.
    #[error("MOBILE-PAY refused the request: {error_code}")]
    InvalidRequest {
        error_code: String,
        error_message: String,
    },
    /// Any other documented error answer.
    #[error("MOBILE-PAY answered {status}: {error_code}")]
    Api {
        status: u16,
        error_code: String,
        error_message: String,
    },
    /// MOBILE-PAY could not be reached or did not answer in time (or, from [`Client::new`], the
    /// HTTP client could not be set up).
    #[error("MOBILE-PAY is unreachable: {0}")]
    Transport(#[source] reqwest::Error),
    /// An answer that is not the documented JSON.
    #[error("MOBILE-PAY answered {status} with a body that is not the documented JSON")]
    Decode { status: u16 },
}

/// `GET /api/v1/transactions`'s query; `None` leaves a parameter to MOBILE-PAY's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransactionQuery {
    /// 1 – 100 (default 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// `YYYY-MM-DD` (to the end of that day, UTC) or RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

/// A MOBILE-PAY API client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    api_key: ApiKey,
    http: reqwest::Client,
}

/// Sets a [`Client`]'s timeouts.
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    api_key: ApiKey,
    timeout: Duration,
    connect_timeout: Duration,
}

impl ClientBuilder {
    /// How long one attempt may take, answer included (default 15 s). A timed-out POST is
    /// retried with the same `Idempotency-Key`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long opening a connection may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Fails only when the HTTP client cannot be set up (its TLS backend).
    pub fn build(self) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(Error::Transport)?;
        Ok(Client {
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            api_key: self.api_key,
            http,
        })
    }
}

/// Whether a request carries the client's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Bearer,
    None,
}

impl Client {
    /// A client for the API at `base_url` (without `/api/v1`), with the default timeouts. `api_key`
    /// may also be a login token ([`Client::login`]).
    pub fn new(base_url: &str, api_key: ApiKey) -> Result<Self, Error> {
        Client::builder(base_url, api_key).build()
    }

    pub fn builder(base_url: &str, api_key: ApiKey) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            api_key,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The same client acting with `api_key` (a login token, say), sharing its connections.
    pub fn with_api_key(&self, api_key: ApiKey) -> Client {
        Client {
            api_key,
            ..self.clone()
        }
    }

    /// `POST /api/v1/auth/login`: a Bearer token for the account, usable as an API key with
    /// [`Client::with_api_key`]. Wrong credentials are [`Error::Unauthorized`]
    /// (`INVALID_CREDENTIALS`); too many attempts [`Error::RateLimited`].
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginToken, Error> {
        let body = Login {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            None::<&()>,
            Some(&body),
        )
        .await
    }

    /// `POST /api/v1/transfers/local`, to a phone of Côte d'Ivoire.
    pub async fn local_transfer(&self, request: &LocalTransfer) -> Result<Transfer, Error> {
        self.post("/api/v1/transfers/local", request).await
    }

    /// [`Client::local_transfer`] with the caller's `Idempotency-Key`: the same key twice (a
    /// form submitted twice, a retry after a crash) moves the money once, for as long as
    /// MOBILE-PAY keeps keys (24 hours).
    pub async fn local_transfer_with_key(
        &self,
        request: &LocalTransfer,
        idempotency_key: &str,
    ) -> Result<Transfer, Error> {
        self.post_with_key("/api/v1/transfers/local", request, idempotency_key)
            .await
    }

    /// `POST /api/v1/transfers/international`, to another country of the UEMOA zone.
    pub async fn international_transfer(
        &self,
        request: &InternationalTransfer,
    ) -> Result<Transfer, Error> {
        self.post("/api/v1/transfers/international", request).await
    }

    /// [`Client::international_transfer`] with the caller's `Idempotency-Key` (see
    /// [`Client::local_transfer_with_key`]).
    pub async fn international_transfer_with_key(
        &self,
        request: &InternationalTransfer,
        idempotency_key: &str,
    ) -> Result<Transfer, Error> {
        self.post_with_key("/api/v1/transfers/international", request, idempotency_key)
            .await
    }

    /// `POST /api/v1/payments/qr`.
    pub async fn create_qr_payment(&self, request: &CreateQrPayment) -> Result<QrPayment, Error> {
        self.post("/api/v1/payments/qr", request).await
    }

    /// `GET /api/v1/transactions`, newest first.
    pub async fn transactions(&self, query: &TransactionQuery) -> Result<TransactionPage, Error> {
        self.send(
            Method::GET,
            "/api/v1/transactions",
            Auth::Bearer,
            Some(query),
            None::<&()>,
        )
        .await
    }

    /// `GET /api/v1/balance`.
    pub async fn balance(&self) -> Result<Balance, Error> {
        self.get("/api/v1/balance").await
    }

    /// Sandbox only: `POST /sandbox/v1/payments/{payment_id}/pay`, the shopper's phone paying.
    pub async fn simulate_payment(
        &self,
        payment_id: &str,
        request: &SimulatePayment,
    ) -> Result<QrPayment, Error> {
        let path = format!("/sandbox/v1/payments/{}/pay", path_segment(payment_id));
        self.send(Method::POST, &path, Auth::None, None::<&()>, Some(request))
            .await
    }

    /// Sandbox only: `GET /sandbox/v1/webhook-endpoint`, with the account's `whsec_` secret.
    pub async fn webhook_endpoint(&self) -> Result<WebhookEndpointConfig, Error> {
        self.get("/sandbox/v1/webhook-endpoint").await
    }

    /// Sandbox only: `PUT /sandbox/v1/webhook-endpoint`.
    pub async fn set_webhook_endpoint(&self, url: &str) -> Result<WebhookEndpointConfig, Error> {
        let body = WebhookEndpoint {
            url: url.to_owned(),
        };
        self.send(
            Method::PUT,
            "/sandbox/v1/webhook-endpoint",
            Auth::Bearer,
            None::<&()>,
            Some(&body),
        )
        .await
    }

    /// Sandbox only: `GET /sandbox/v1/webhook-deliveries`, newest first, with every attempt.
    pub async fn webhook_deliveries(&self) -> Result<Vec<WebhookDelivery>, Error> {
        let list: WebhookDeliveryList = self.get("/sandbox/v1/webhook-deliveries").await?;
        Ok(list.deliveries)
    }

    /// Sandbox only: `POST /sandbox/v1/webhook-deliveries/{delivery_id}/replay`.
    pub async fn replay_delivery(&self, delivery_id: &str) -> Result<WebhookDelivery, Error> {
        let path = format!(
            "/sandbox/v1/webhook-deliveries/{}/replay",
            path_segment(delivery_id)
        );
        self.send(Method::POST, &path, Auth::Bearer, None::<&()>, None::<&()>)
            .await
    }

    /// Sandbox only: `GET /sandbox/v1/clock`.
    pub async fn clock(&self) -> Result<Clock, Error> {
        self.get("/sandbox/v1/clock").await
    }

    /// Sandbox only: `POST /sandbox/v1/clock/advance`.
    pub async fn advance_clock(&self, seconds: u64) -> Result<Clock, Error> {
        let body = AdvanceClock { seconds };
        self.send(
            Method::POST,
            "/sandbox/v1/clock/advance",
            Auth::None,
            None::<&()>,
            Some(&body),
        )
        .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send(Method::GET, path, Auth::Bearer, None::<&()>, None::<&()>)
            .await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.send(Method::POST, path, Auth::Bearer, None::<&()>, Some(body))
            .await
    }

    /// [`Client::post`] with the caller's `Idempotency-Key`.
    async fn post_with_key<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> Result<T, Error> {
        let key = Some(idempotency_key.to_owned());
        self.send_keyed(
            Method::POST,
            path,
            Auth::Bearer,
            None::<&()>,
            Some(body),
            key,
        )
        .await
    }

    /// Sends a request, retrying what is safe to retry. A POST carries an `Idempotency-Key` that
    /// stays the same across retries, so a retried request can never move money twice.
    async fn send<Q: Serialize, B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<T, Error> {
        let idempotency_key = (method == Method::POST).then(random_key);
        self.send_keyed(method, path, auth, query, body, idempotency_key)
            .await
    }

    /// [`Client::send`] with the `Idempotency-Key` given (`None`: no key).
    async fn send_keyed<Q: Serialize, B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        query: Option<&Q>,
        body: Option<&B>,
        idempotency_key: Option<String>,
    ) -> Result<T, Error> {
        let url = format!("{}{path}", self.base_url);
        let mut attempt = 1;
        loop {
            let mut request = self.http.request(method.clone(), &url);
            if auth == Auth::Bearer {
                request = request.bearer_auth(self.api_key.expose());
            }
            if let Some(key) = &idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(query) = query {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let last_attempt = attempt >= MAX_ATTEMPTS;
            let backoff = Duration::from_millis(200 * u64::from(attempt));
            // Retried: a 429 with a short Retry-After; a connection that never opened; a timeout
            // (the request may have gone through, but MOBILE-PAY stores Idempotency-Keys, so a
            // POST sent again is answered from its record; GET and PUT are idempotent anyway);
            // and a 409 saying the first attempt with this key is still running.
            let wait = match request.send().await {
                Ok(response) => match read(response).await {
                    Err(Error::RateLimited { retry_after })
                        if retry_after <= MAX_RETRY_AFTER && !last_attempt =>
                    {
                        retry_after
                    }
                    Err(Error::Api { error_code, .. })
                        if error_code == "IDEMPOTENCY_KEY_IN_PROGRESS" && !last_attempt =>
                    {
                        backoff
                    }
                    other => return other,
                },
                Err(error) if (error.is_connect() || error.is_timeout()) && !last_attempt => {
                    backoff
                }
                Err(error) => return Err(Error::Transport(error)),
            };
            tracing::debug!(%method, path, attempt, ?wait, "retrying MOBILE-PAY request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, Error> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let bytes = response.bytes().await.map_err(Error::Transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| Error::Decode {
            status: status.as_u16(),
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(Error::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
        });
    }
    let body: ApiError = serde_json::from_slice(&bytes).map_err(|_| Error::Decode {
        status: status.as_u16(),
    })?;
    Err(match (status, body.error_code.as_str()) {
        (StatusCode::UNAUTHORIZED, _) => Error::Unauthorized {
            error_code: body.error_code,
        },
        (_, "INSUFFICIENT_FUNDS") => Error::InsufficientFunds,
        (_, "RECIPIENT_NOT_FOUND") => Error::RecipientNotFound,
        (_, "TRANSACTION_DECLINED") => Error::TransactionDeclined,
        (StatusCode::BAD_REQUEST, _) => Error::InvalidRequest {
            error_code: body.error_code,
            error_message: body.error_message,
        },
        _ => Error::Api {
            status: status.as_u16(),
            error_code: body.error_code,
            error_message: body.error_message,
        },
    })
}

/// `Retry-After` (RFC 9110 §10.2.3): whole seconds, or an HTTP date, from `now`; a date already
/// past is no wait at all.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An id as one path segment: anything but unreserved characters percent-encoded, so that an id
/// can never reach another route.
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn random_key() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
