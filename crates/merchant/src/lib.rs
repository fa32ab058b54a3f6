//! The reference merchant backend: what a merchant runs between the widget and MOBILE-PAY.
//!
//! # Layout
//! - [`config`]: flags and environment, validated at start; secrets redacted.
//! - [`db`]: SQLite (default) or PostgreSQL, the same migrations.
//! - [`ids`]: every id and capability, random.
//! - [`checkouts`]: what the merchant asks to be paid (`/v1/checkouts`), stored, and its
//!   statuses. Amounts come from here, never from a browser.
//! - [`events`]: every status change of a checkout, recorded in the change's transaction (the
//!   outbox the notification worker delivers).
//! - [`keys`]: the merchant's API keys (hashed) and the `/v1` authentication; `keys` CLI.
//! - [`idempotency`]: `Idempotency-Key` on `/v1` POSTs, in the shared database.
//! - [`sessions`]: checkout sessions (payment attempts) and their status history, stored; the
//!   state machine; commit-then-wake.
//! - [`connection`]: each connection's first request head, read without hyper: an event stream
//!   is answered there (hyper's buffers are most of an idle stream's memory), the rest goes to
//!   hyper.
//! - [`hub`]: wake-ups for event streams, across instances through PostgreSQL `NOTIFY`.
//! - [`ingest`]: MOBILE-PAY's verified webhooks stored by one writer, many per transaction,
//!   each acknowledged after its commit.
//! - [`lease`]: work done by one instance at a time (a row of the shared database).
//! - [`stream`]: one session's status as Server-Sent Events, read from the database at each
//!   wake-up.
//! - [`metrics`]: Prometheus metrics at `/metrics`.
//! - [`reconcile`]: sessions whose webhook is overdue, checked against MOBILE-PAY's history.
//! - [`refunds`]: money back to the payer (a transfer), reserved so never more than was paid.
//! - [`outbox`]: events POSTed to the shop's webhook endpoints, each delivery retried on its own.
//! - [`routes`]: the HTTP surface — `/v1` and its OpenAPI document, checkout sessions and
//!   their event streams, the hosted pay page, the webhook receiver, the widget's files,
//!   health checks.
//! - [`error`]: every failure as `{error_code, error_message}`.
//! - [`console`]: the merchant's console at `/console/` (server-rendered pages for the shop's
//!   staff: sign-in, checkouts and their timelines, refunds, redelivery, webhook endpoints,
//!   API keys, balance, history, payouts).
//!
//! Architecture invariants: the API key and webhook secrets never leave this process except in
//! the `Authorization` header to MOBILE-PAY; only a verified webhook changes a session's status
//! to paid or failed, and a status only moves forward; every status a browser sees is read from
//! the database, after the change that made it was committed.

pub mod checkouts;
pub mod config;
pub mod connection;
pub mod console;
pub mod db;
pub mod error;
pub mod events;
pub mod hub;
pub mod idempotency;
pub mod ids;
pub mod ingest;
pub mod keys;
pub mod lease;
pub mod metrics;
pub mod outbox;
pub mod reconcile;
pub mod refunds;
pub mod routes;
pub mod sessions;
pub mod stream;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::Config;

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// Where browsers reach this backend; used in the URLs a session hands out.
    pub public_url: String,
    pub config: Config,
    pub mobilepay: mobilepay_client::Client,
    pub checkouts: checkouts::Checkouts,
    pub keys: keys::Keys,
    pub sessions: sessions::Sessions,
    pub limits: routes::checkout::Limits,
    /// This process's name among the instances sharing the database: it holds leases by it.
    pub instance: String,
    /// The console's sessions, login throttle and database.
    pub console: console::Console,
    /// Wakes the webhook delivery worker; holds its HTTP client.
    pub outbox: outbox::Outbox,
    /// MOBILE-PAY's webhooks, stored a batch per transaction.
    pub ingest: ingest::Ingest,
}

/// Opens the database and builds the state for a backend listening on `listener`.
pub async fn state(listener: &TcpListener, config: Config) -> anyhow::Result<Arc<AppState>> {
    let public_url = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    metrics::init();
    let db = db::Db::connect(config.database_url.expose()).await?;
    let events_committed = Arc::new(tokio::sync::Notify::new());
    Ok(Arc::new(AppState {
        mobilepay: mobilepay_client::Client::new(&config.mobilepay_url, config.api_key.clone())?,
        checkouts: checkouts::Checkouts::new(db.clone(), &public_url),
        keys: keys::Keys::new(config.merchant_api_keys.clone(), keys::REQUESTS_PER_SECOND),
        console: console::Console::new(db.clone()),
        sessions: sessions::Sessions::new(
            db,
            Arc::new(hub::Hub::default()),
            Arc::clone(&events_committed),
        ),
        limits: routes::checkout::Limits::new(config.sessions_per_minute),
        instance: ids::instance_name(),
        outbox: outbox::Outbox::new(config.notifications.clone(), events_committed)?,
        ingest: ingest::Ingest::default(),
        public_url,
        config,
    }))
}

/// Serves the backend on `listener` until `shutdown` completes. Open event streams end at
/// shutdown too, so that their browsers reconnect elsewhere instead of holding the process.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = state(&listener, config).await?;
    serve(listener, state, shutdown).await
}

/// [`run`] with a state already built (tests keep a handle on it).
///
/// Connections speak HTTP/1.1 only, through hyper directly rather than `axum::serve`'s automatic
/// HTTP/1 + HTTP/2: browsers use HTTP/2 only over TLS, which the proxy in front terminates, and
/// every connection's task holds room for the largest protocol it might speak — at tens of
/// thousands of open streams that room is most of an idle stream's memory. For the same reason
/// an event stream request that opens a connection is answered by [`connection`] without hyper.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, state, axum::Router::new(), shutdown).await
}

/// [`serve`] with `extra` routes beside the backend's own (the demo mounts its store page at
/// `/` this way; a production deployment mounts none).
pub async fn serve_with(
    listener: TcpListener,
    state: Arc<AppState>,
    extra: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(url = %state.public_url, "merchant backend listening");
    let background = spawn_background(&state);
    let router = routes::router_with(Arc::clone(&state), extra);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    tokio::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of files or the like: others may close theirs meanwhile.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Events are small writes that should leave at once.
        let _ = socket.set_nodelay(true);
        let router = router.clone();
        // Held until the connection ends, so that shutdown waits for streams answered without
        // hyper too.
        let watcher = connections.watcher();
        let http = http.clone();
        let stopping = state.sessions.stopping();
        tokio::spawn(connection::serve(
            socket,
            peer,
            router.clone(),
            stopping,
            move |replay| {
                let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    // A Router is always ready: no `poll_ready` needed.
                    tower_service::Service::call(&mut router.clone(), request)
                });
                let connection = watcher
                    .watch(http.serve_connection(hyper_util::rt::TokioIo::new(replay), service));
                async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
            },
        ));
    }
    drop(listener);
    // Streams end first, then every connection finishes what it was answering.
    state.sessions.stop_streams();
    connections.shutdown().await;
    for task in background {
        task.abort();
    }
    // Another instance need not wait for the lease to lapse.
    if let Err(error) = lease::release(&state.sessions.db, "reconcile", &state.instance).await {
        tracing::warn!(%error, "reconciliation lease not released");
    }
    // Deliveries this instance had claimed are due again at once, not when the claims lapse.
    if let Err(error) = outbox::release(&state.sessions.db, &state.instance).await {
        tracing::warn!(%error, "webhook claims not released");
    }
    Ok(())
}

fn spawn_background(state: &Arc<AppState>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if state.sessions.db.backend == db::Backend::Postgres {
        tasks.push(tokio::spawn(hub::listen(
            Arc::clone(&state.sessions.hub),
            secrecy::ExposeSecret::expose_secret(&state.sessions.db.url).to_owned(),
        )));
    }
    if let Some(every) = state.config.reconcile_every {
        tasks.push(tokio::spawn(reconcile::run(Arc::clone(state), every)));
    }
    tasks.push(tokio::spawn(outbox::run(Arc::clone(state))));
    tasks.push(tokio::spawn(expire_checkouts(Arc::clone(state))));
    tasks
}

/// How often open checkouts past their expiry are expired (and their event recorded) when
/// nobody reads them. Every instance sweeps: each expiry is one conditional update, so two
/// instances cannot both expire one checkout.
const EXPIRY_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

async fn expire_checkouts(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(EXPIRY_SWEEP_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = state.checkouts.expire_due().await {
            tracing::warn!(%error, "expiry sweep failed");
        }
    }
}
