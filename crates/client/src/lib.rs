//! A typed client for the MOBILE-PAY API, and the verifier for its webhooks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mobilepay_client::Error> {
//! use mobilepay_client::{ApiKey, Client};
//! use mobilepay_wire::api::CreateQrPayment;
//!
//! let client = Client::new("http://127.0.0.1:8090", ApiKey::new("sk_test_demo_merchant"));
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
//! Architecture invariant: the API key is only ever written into the `Authorization` header; it is
//! redacted from every `Debug` output and error.

mod secret;
pub mod webhook;

use std::time::Duration;

use mobilepay_wire::ApiError;
use mobilepay_wire::api::{CreateQrPayment, QrPayment};
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use secret::ApiKey;

/// How many times a request is sent at most when MOBILE-PAY is rate limiting or unreachable.
const MAX_ATTEMPTS: u32 = 3;
/// The longest `Retry-After` the client waits for by itself; longer ones are returned to the caller.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API key was refused (`401`).
    #[error("MOBILE-PAY refused the API key: {error_code}")]
    Unauthorized { error_code: String },
    /// Over the tier's rate limit, still after the client's own retries.
    #[error("MOBILE-PAY rate limit reached; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Any other documented error answer.
    #[error("MOBILE-PAY answered {status}: {error_code}")]
    Api {
        status: u16,
        error_code: String,
        error_message: String,
    },
    /// MOBILE-PAY could not be reached, or did not answer in time.
    #[error("MOBILE-PAY is unreachable: {0}")]
    Transport(#[source] reqwest::Error),
    /// An answer that is not the documented JSON.
    #[error("MOBILE-PAY answered {status} with a body that is not the documented JSON")]
    Decode { status: u16 },
}

/// A MOBILE-PAY API client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    api_key: ApiKey,
    http: reqwest::Client,
}

impl Client {
    /// A client for the API at `base_url` (without `/api/v1`).
    pub fn new(base_url: &str, api_key: ApiKey) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            http,
        }
    }

    /// `POST /api/v1/payments/qr`.
    pub async fn create_qr_payment(&self, request: &CreateQrPayment) -> Result<QrPayment, Error> {
        self.post("/api/v1/payments/qr", request).await
    }

    /// Sends a POST with an `Idempotency-Key` that stays the same across retries, so a retried
    /// request can never create a second payment.
    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let url = format!("{}{path}", self.base_url);
        let idempotency_key = random_key();
        let mut attempt = 1;
        loop {
            let sent = self
                .http
                .post(&url)
                .bearer_auth(self.api_key.expose())
                .header("Idempotency-Key", &idempotency_key)
                .json(body)
                .send()
                .await;
            let last_attempt = attempt >= MAX_ATTEMPTS;
            // Retried: a 429 with a short Retry-After, and a connection that never opened (the
            // request was not sent). A timeout is not retried until the sandbox stores
            // idempotency keys, since the first request may have gone through.
            let wait = match sent {
                Ok(response) => match read(response).await {
                    Err(Error::RateLimited { retry_after })
                        if retry_after <= MAX_RETRY_AFTER && !last_attempt =>
                    {
                        retry_after
                    }
                    other => return other,
                },
                Err(error) if error.is_connect() && !last_attempt => {
                    Duration::from_millis(200 * u64::from(attempt))
                }
                Err(error) => return Err(Error::Transport(error)),
            };
            tracing::debug!(path, attempt, ?wait, "retrying MOBILE-PAY request");
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
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
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
    if status == StatusCode::UNAUTHORIZED {
        return Err(Error::Unauthorized {
            error_code: body.error_code,
        });
    }
    Err(Error::Api {
        status: status.as_u16(),
        error_code: body.error_code,
        error_message: body.error_message,
    })
}

fn random_key() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
