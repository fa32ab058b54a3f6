//! The MOBILE-PAY sandbox: the whole seed API at its exact paths and field names, stateful and
//! strict, for development, demos and tests — what Stripe's test mode is to Stripe. It also plays
//! the shopper's phone, and has controls real MOBILE-PAY has not (a clock to advance, webhook
//! replay). The README says what it does not reproduce.
//!
//! # Layout
//! - [`db`], [`clock`]: the SQLite database (one connection: every change is serialized, which
//!   is what keeps the ledger consistent under concurrent requests) and the sandbox's clock.
//! - [`accounts`], [`auth`], [`login`], [`ratelimit`], [`idempotency`]: who is calling, how
//!   often, and the replay of retried POSTs.
//! - [`ledger`], [`phone`], [`transfers`], [`payments`], [`transactions`]: money.
//! - [`webhooks`]: the outbox of signed webhooks, delivered and retried by a background worker.
//! - [`wallet`], [`controls`]: the shopper's phone and the sandbox's own controls.
//! - [`error`], [`openapi`]: every failure as `{error_code, error_message}` (French, or English
//!   on `Accept-Language: en`), and the OpenAPI document generated from the routes.
//!
//! Architecture invariants: the API key (or login token) decides which account a request acts
//! for, never a body; an account's balance is the sum of its ledger entries and never negative.

pub mod accounts;
pub mod auth;
pub mod clock;
pub mod controls;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod ledger;
pub mod login;
pub mod openapi;
pub mod payments;
pub mod phone;
pub mod ratelimit;
pub mod transactions;
pub mod transfers;
pub mod wallet;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::clock::Clock;

/// Where the sandbox keeps its state.
#[derive(Debug, Clone)]
pub enum Database {
    /// Gone with the sandbox (a file in a temporary folder): for tests.
    InMemory,
    /// A SQLite file, created if missing: a restart loses nothing.
    File(PathBuf),
}

/// How the sandbox is wired to the outside world.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: Database,
    /// The base URL shoppers' phones reach the sandbox at, used in QR payloads.
    /// `None`: `http://` and the listener's address.
    pub public_url: Option<String>,
    /// Where the demo account's webhooks go. `Some` replaces what the database holds (the demo's
    /// wiring); `None` keeps it (set with `PUT /sandbox/v1/webhook-endpoint`).
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
            database: Database::InMemory,
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
    pub db: sqlx::SqlitePool,
    /// Holds an in-memory sandbox's database file; removed with the state.
    _scratch: Option<tempfile::TempDir>,
    pub clock: Clock,
    pub payment_ttl: Duration,
    pub webhooks: webhooks::Outbox,
    pub limits: ratelimit::Limits,
    pub login_throttle: login::Throttle,
}

impl AppState {
    /// Now, on the sandbox's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}

/// Opens the database (migrating and seeding the demo account) and builds the state for a
/// sandbox listening on `listener`.
pub async fn state(listener: &TcpListener, config: Config) -> anyhow::Result<Arc<AppState>> {
    let public_url = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let (db, scratch) = db::connect(&config.database).await?;
    let clock = Clock::load(&db).await?;
    let limiter_clock = clock.for_limiters();
    accounts::seed_demo(&db, &clock, &config).await?;
    Ok(Arc::new(AppState {
        public_url,
        db,
        _scratch: scratch,
        clock,
        payment_ttl: config.payment_ttl,
        webhooks: webhooks::Outbox::new()?,
        limits: ratelimit::Limits::new(&limiter_clock),
        login_throttle: login::Throttle::new(&limiter_clock),
    }))
}

/// The sandbox's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    openapi::router(state)
}

/// Serves the sandbox on `listener` until `shutdown` completes, with the webhook worker.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = state(&listener, config).await?;
    tracing::info!(url = %state.public_url, "MOBILE-PAY sandbox listening");
    let worker = tokio::spawn(webhooks::worker(Arc::clone(&state)));
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    worker.abort();
    result?;
    Ok(())
}

/// RFC 3339 with whole seconds, as the seed writes timestamps (`2026-02-26T10:30:00Z`).
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// [`rfc3339`] of a Unix time in seconds.
pub fn rfc3339_unix(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(rfc3339)
        .unwrap_or_default()
}

/// `text` without the ASCII blanks (space, tab, line feed, form feed, carriage return) around
/// it: the blanks the document's patterns name (`[^\t\n\f\r ]`), so that "only blanks"
/// means the same to the sandbox and to a client generated from the document.
pub fn trim_blanks(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// A random identifier: `prefix` and `len` upper-case letters and digits.
pub fn random_id(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let tail: String = (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{tail}")
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
