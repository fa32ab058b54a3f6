//! The reference merchant backend: what a merchant runs between the widget and MOBILE-PAY.
//!
//! # Layout
//! - [`config`]: flags and environment, validated at start; secrets redacted.
//! - [`db`]: SQLite (default) or PostgreSQL, the same migrations.
//! - [`catalog`]: the products and orders. Amounts come from here, never from a browser.
//! - [`sessions`]: checkout sessions and their status history, stored; the state machine.
//! - [`hub`]: wake-ups for event streams, across instances through PostgreSQL `NOTIFY`.
//! - [`stream`]: one session's status as Server-Sent Events, read from the database at each
//!   wake-up.
//! - [`metrics`]: Prometheus metrics at `/metrics`.
//! - [`reconcile`]: sessions whose webhook is overdue, checked against MOBILE-PAY's history.
//! - [`routes`]: the HTTP surface — checkout sessions and their event streams, the webhook
//!   receiver, the demo store page and the widget's files, health checks.
//! - [`error`]: every failure as `{error_code, error_message}`.
//!
//! Architecture invariants: the API key and webhook secrets never leave this process except in
//! the `Authorization` header to MOBILE-PAY; only a verified webhook changes a session's status
//! to paid or failed, and a status only moves forward; every status a browser sees is read from
//! the database, after the change that made it was committed.

pub mod catalog;
pub mod config;
pub mod db;
pub mod error;
pub mod hub;
pub mod metrics;
pub mod reconcile;
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
    pub catalog: catalog::Catalog,
    pub sessions: sessions::Sessions,
    pub limits: routes::checkout::Limits,
    /// This process's name among the instances sharing the database: it holds leases by it.
    pub instance: String,
}

/// Opens the database and builds the state for a backend listening on `listener`.
pub async fn state(listener: &TcpListener, config: Config) -> anyhow::Result<Arc<AppState>> {
    let public_url = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    metrics::init();
    let db = db::Db::connect(&config.database_url).await?;
    Ok(Arc::new(AppState {
        public_url,
        mobilepay: mobilepay_client::Client::new(&config.mobilepay_url, config.api_key.clone())?,
        catalog: catalog::Catalog::demo(),
        sessions: sessions::Sessions::new(db, Arc::new(hub::Hub::default())),
        limits: routes::checkout::Limits::new(config.sessions_per_minute),
        instance: sessions::random_token("instance_", 16),
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
/// thousands of open streams that room is most of an idle stream's memory.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(url = %state.public_url, "merchant backend listening");
    let background = spawn_background(&state);
    let router = routes::router(Arc::clone(&state));
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
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            // A Router is always ready: no `poll_ready` needed.
            tower_service::Service::call(&mut router.clone(), request)
        });
        let connection =
            connections.watch(http.serve_connection(hyper_util::rt::TokioIo::new(socket), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Streams end first, then every connection finishes what it was answering.
    state.sessions.stop_streams();
    connections.shutdown().await;
    for task in background {
        task.abort();
    }
    // Another instance need not wait for the lease to lapse.
    if let Err(error) = reconcile::release(&state.sessions.db, "reconcile", &state.instance).await {
        tracing::warn!(%error, "reconciliation lease not released");
    }
    Ok(())
}

fn spawn_background(state: &Arc<AppState>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if state.sessions.db.backend == db::Backend::Postgres {
        tasks.push(tokio::spawn(hub::listen(
            Arc::clone(&state.sessions.hub),
            state.sessions.db.url.clone(),
        )));
    }
    if let Some(every) = state.config.reconcile_every {
        tasks.push(tokio::spawn(reconcile::run(Arc::clone(state), every)));
    }
    tasks
}
