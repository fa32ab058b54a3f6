//! The reference merchant backend: what a merchant runs between the widget and MOBILE-PAY.
//!
//! # Layout
//! - [`config`]: flags and environment, validated at start; secrets redacted.
//! - [`db`]: SQLite (default) or PostgreSQL, the same migrations.
//! - [`catalog`]: the products and orders. Amounts come from here, never from a browser.
//! - [`sessions`]: checkout sessions and their status history, stored; the state machine.
//! - [`hub`]: wake-ups for event streams, across instances through PostgreSQL `NOTIFY`.
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

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

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
    let db = db::Db::connect(config.database_url.expose()).await?;
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
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(url = %state.public_url, "merchant backend listening");
    let background = spawn_background(&state);
    let stopping = Arc::clone(&state);
    let stopped = Arc::clone(&state);
    let served = axum::serve(
        listener,
        routes::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        stopping.sessions.stop_streams();
    })
    .await;
    for task in background {
        task.abort();
    }
    // Another instance need not wait for the lease to lapse.
    if let Err(error) =
        reconcile::release(&stopped.sessions.db, "reconcile", &stopped.instance).await
    {
        tracing::warn!(%error, "reconciliation lease not released");
    }
    served?;
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
    tasks
}
