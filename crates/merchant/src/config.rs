//! Configuration, from the environment, checked once at start with errors that say what to fix.

use std::path::PathBuf;

use anyhow::{Context, bail};
use mobilepay_client::ApiKey;
use mobilepay_client::webhook::Verifier;

/// Everything the backend needs to run. Secrets are held in types whose `Debug` redacts them.
#[derive(Debug)]
pub struct Config {
    /// The URL browsers reach this backend at. `None`: `http://` and the listener's address.
    pub public_url: Option<String>,
    /// MOBILE-PAY's API base URL (the sandbox's in development).
    pub mobilepay_url: String,
    pub api_key: ApiKey,
    pub merchant_id: String,
    /// Verifies MOBILE-PAY's webhooks; holds one or several `whsec_…` secrets.
    pub webhooks: Verifier,
    /// Where the built widget is (`mobilepay-checkout.js` and its wasm), served under `/widget/`.
    pub widget_dir: Option<PathBuf>,
}

impl Config {
    /// Reads `MOBILEPAY_API_URL`, `MOBILEPAY_API_KEY`, `MOBILEPAY_MERCHANT_ID`,
    /// `MOBILEPAY_WEBHOOK_SECRETS` (comma-separated, for rotation), and optionally `PUBLIC_URL`
    /// and `WIDGET_DIR`.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| {
            std::env::var(name).with_context(|| format!("{name} must be set (see the README)"))
        };
        let mobilepay_url = var("MOBILEPAY_API_URL")?;
        if !(mobilepay_url.starts_with("http://") || mobilepay_url.starts_with("https://")) {
            bail!("MOBILEPAY_API_URL must be an http:// or https:// URL");
        }
        let api_key = var("MOBILEPAY_API_KEY")?;
        if !api_key.starts_with("sk_") {
            bail!("MOBILEPAY_API_KEY must be a MOBILE-PAY key (sk_test_… or sk_live_…)");
        }
        let secrets: Vec<String> = var("MOBILEPAY_WEBHOOK_SECRETS")?
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let webhooks = Verifier::new(&secrets)
            .context("MOBILEPAY_WEBHOOK_SECRETS must be whsec_… secrets, comma-separated")?;
        Ok(Config {
            public_url: std::env::var("PUBLIC_URL").ok(),
            mobilepay_url,
            api_key: ApiKey::new(api_key),
            merchant_id: var("MOBILEPAY_MERCHANT_ID")?,
            webhooks,
            widget_dir: std::env::var_os("WIDGET_DIR").map(PathBuf::from),
        })
    }
}
