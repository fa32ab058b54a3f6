//! `mobilepay-sandbox`: runs the sandbox on its own. See the crate docs and the README.

use std::time::Duration;

use anyhow::Context;
use mobilepay_sandbox::{Config, accounts};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("SANDBOX_ADDR").unwrap_or_else(|_| "127.0.0.1:8090".to_owned());
    let mut config = Config {
        public_url: std::env::var("SANDBOX_PUBLIC_URL").ok(),
        webhook_url: std::env::var("SANDBOX_WEBHOOK_URL").ok(),
        ..Config::default()
    };
    if let Ok(secret) = std::env::var("SANDBOX_WEBHOOK_SECRET") {
        config.webhook_secret = secret;
    }
    if let Ok(ttl) = std::env::var("SANDBOX_PAYMENT_TTL_SECS") {
        let secs = ttl
            .parse()
            .context("SANDBOX_PAYMENT_TTL_SECS must be a whole number of seconds")?;
        config.payment_ttl = Duration::from_secs(secs);
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!(
        "MOBILE-PAY sandbox on http://{addr}\n  login {} / {}\n  API keys {} (Marchand), {} (Gratuit)\n  merchant_id {}",
        accounts::DEMO_EMAIL,
        accounts::DEMO_PASSWORD,
        accounts::DEMO_MERCHANT_KEY,
        accounts::DEMO_FREE_KEY,
        accounts::DEMO_MERCHANT_ID,
    );
    mobilepay_sandbox::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
