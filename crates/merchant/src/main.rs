//! `mobilepay-merchant`: runs the reference merchant backend. Configuration: see [`Config`].

use anyhow::Context;
use mobilepay_merchant::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::from_env()?;
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    mobilepay_merchant::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
