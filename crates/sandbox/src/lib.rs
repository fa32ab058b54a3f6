//! The MOBILE-PAY sandbox: MOBILE-PAY's REST API at the seed document's paths, for development,
//! demos and tests — what Stripe's test mode is to Stripe. It also plays the shopper's phone.
//!
//! # Layout
//! - [`accounts`]: the demo account and its API keys, and the Bearer authentication extractor.
//! - [`payments`]: `POST /api/v1/payments/qr` and the shopper simulation
//!   (`POST /sandbox/v1/payments/{payment_id}/pay`), which settles a payment and fires its webhook.
//! - [`wallet`]: the wallet page a QR code points at, where a person (or a test) pays by hand.
//! - [`webhooks`]: signing (Standard Webhooks) and delivery with retries.
//! - [`error`]: every failure as `{error_code, error_message}`, in French as the seed.
//!
//! State lives in memory for now: a restart forgets every payment (see the README's list of what
//! the sandbox does not reproduce yet).
//!
//! Architecture invariant: the sandbox never calls the merchant backend except to deliver
//! webhooks, and never trusts a caller's claim about which merchant it is: the API key decides.

pub mod accounts;
pub mod error;
pub mod payments;
pub mod wallet;
pub mod webhooks;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::accounts::Accounts;
use crate::error::Error;
use crate::payments::Payment;

/// How the sandbox is wired to the outside world.
#[derive(Debug, Clone)]
pub struct Config {
    /// The base URL shoppers' phones reach the sandbox at, used in QR payloads.
    /// `None`: `http://` and the listener's address.
    pub public_url: Option<String>,
    /// Where the demo account's webhooks go. `None`: webhooks are recorded but not sent.
    pub webhook_url: Option<String>,
    /// The demo account's Standard Webhooks secret (`whsec_…`).
    pub webhook_secret: String,
    /// How long a QR payment can be paid.
    pub payment_ttl: Duration,
}

/// The demo account's webhook secret: a public test value, like the demo API keys.
pub const DEMO_WEBHOOK_SECRET: &str = "whsec_ZGVtby13ZWJob29rLXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24=";

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: None,
            webhook_url: None,
            webhook_secret: DEMO_WEBHOOK_SECRET.to_owned(),
            payment_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub public_url: String,
    pub accounts: Accounts,
    pub payment_ttl: Duration,
    pub webhooks: webhooks::Sender,
    // One lock for all payments: a payment's check-then-settle must be atomic, and the sandbox's
    // load is a developer's, not production's.
    pub payments: Mutex<HashMap<String, Payment>>,
}

/// The sandbox's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/payments/qr", post(payments::create_qr))
        .route(
            "/sandbox/v1/payments/{payment_id}/pay",
            post(payments::simulate_pay),
        )
        .route("/wallet/{payment_id}", get(wallet::page))
        .route("/wallet/{payment_id}/pay", post(wallet::pay))
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                axum::response::IntoResponse::into_response(Error::Internal)
            },
        ))
        .with_state(state)
}

/// Builds the state for a sandbox listening on `listener`.
pub fn state(listener: &TcpListener, config: Config) -> anyhow::Result<Arc<AppState>> {
    let public_url = match config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    Ok(Arc::new(AppState {
        public_url,
        accounts: Accounts::demo(),
        payment_ttl: config.payment_ttl,
        webhooks: webhooks::Sender::new(config.webhook_url, &config.webhook_secret)?,
        payments: Mutex::new(HashMap::new()),
    }))
}

/// Serves the sandbox on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = state(&listener, config)?;
    tracing::info!(url = %state.public_url, "MOBILE-PAY sandbox listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Now, as the sandbox's clock sees it.
pub(crate) fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// RFC 3339 with whole seconds, as the seed writes timestamps (`2026-02-26T10:30:00Z`).
pub(crate) fn rfc3339(at: time::OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A random identifier: `prefix` and `len` upper-case letters and digits.
pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let tail: String = (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{tail}")
}
