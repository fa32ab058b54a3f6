//! The reference merchant backend: what a merchant runs between the widget and MOBILE-PAY.
//!
//! # Layout
//! - [`config`]: configuration from the environment, validated at start; secrets redacted.
//! - [`catalog`]: the products and orders. Amounts come from here, never from a browser.
//! - [`sessions`]: checkout sessions, their status state machine and its live subscribers.
//! - [`routes`]: the HTTP surface — checkout sessions and their event streams, the webhook
//!   receiver, the demo store page and the widget's files.
//! - [`error`]: every failure as `{error_code, error_message}`.
//!
//! Sessions live in memory for now: a restart forgets them (durable storage is the next step;
//! see the README).
//!
//! Architecture invariants: the API key and webhook secrets never leave this process except in
//! the `Authorization` header to MOBILE-PAY; only a verified webhook changes a session's status,
//! and a status only moves forward.

pub mod catalog;
pub mod config;
pub mod error;
pub mod routes;
pub mod sessions;

use std::future::Future;
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
}

/// Builds the state for a backend listening on `listener`.
pub fn state(listener: &TcpListener, config: Config) -> anyhow::Result<Arc<AppState>> {
    let public_url = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    Ok(Arc::new(AppState {
        public_url,
        mobilepay: mobilepay_client::Client::new(&config.mobilepay_url, config.api_key.clone()),
        catalog: catalog::Catalog::demo(),
        sessions: sessions::Sessions::default(),
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
    let state = state(&listener, config)?;
    tracing::info!(url = %state.public_url, "merchant backend listening");
    let stopping = Arc::clone(&state);
    axum::serve(listener, routes::router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.sessions.stop_streams();
        })
        .await?;
    Ok(())
}
