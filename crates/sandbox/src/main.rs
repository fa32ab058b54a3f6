//! `mobilepay-sandbox`: runs the sandbox on its own.
//!
//! Environment: `SANDBOX_ADDR` (default `127.0.0.1:8090`), `SANDBOX_DATABASE` (a SQLite file,
//! default `mobilepay-sandbox.sqlite3`; `:memory:` for none), `SANDBOX_PUBLIC_URL`,
//! `SANDBOX_WEBHOOK_URL`, `SANDBOX_WEBHOOK_SECRET`, `SANDBOX_PAYMENT_TTL_SECS`.

use std::time::Duration;

use anyhow::Context;
use mobilepay_sandbox::{Config, Database, accounts};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::var("SANDBOX_ADDR").unwrap_or_else(|_| "127.0.0.1:8090".to_owned());
    let database = match std::env::var("SANDBOX_DATABASE").as_deref() {
        Ok(":memory:") => Database::InMemory,
        Ok(path) => Database::File(path.into()),
        Err(_) => Database::File("mobilepay-sandbox.sqlite3".into()),
    };
    let mut config = Config {
        database,
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
        "MOBILE-PAY sandbox on http://{addr}\n  login {} / {}\n  API keys {} (Marchand), {} (Gratuit), {} (Entreprise)\n  merchant_id {}",
        accounts::DEMO_EMAIL,
        accounts::DEMO_PASSWORD,
        accounts::DEMO_MERCHANT_KEY,
        accounts::DEMO_FREE_KEY,
        accounts::DEMO_ENTERPRISE_KEY,
        accounts::DEMO_MERCHANT_ID,
    );
    mobilepay_sandbox::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
