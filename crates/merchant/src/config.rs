//! Configuration, from command-line flags or the environment (each flag names its variable),
//! checked once at start with errors that say what to fix. Secrets are held in types whose
//! `Debug` redacts them: `secrecy`'s [`SecretString`] from the command line on (the API key,
//! the webhook secrets), and [`DatabaseUrl`], whose `Debug` and `Display` drop the password.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use ipnet::IpNet;
use mobilepay_client::ApiKey;
use mobilepay_client::webhook::Verifier;
use secrecy::{ExposeSecret, SecretString};

/// A database URL, which may carry a password (`postgres://app:s3cret@db/shop`): `Debug` and
/// `Display` show it without the password ([`crate::db::redact`]); only
/// [`DatabaseUrl::expose`] gives it whole, to open the database.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// The whole URL, password included: for the database driver only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        DatabaseUrl(url.into())
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        DatabaseUrl(url.into())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::db::redact(self.expose()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Everything the backend needs to run.
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
    /// `sqlite://file`, `sqlite::memory:` or `postgres://…`.
    pub database_url: DatabaseUrl,
    /// Origins (`https://shop.example`) whose pages may call the checkout API from a browser.
    /// Empty: same origin only.
    pub allowed_origins: Vec<String>,
    /// Sessions one client address may create (or resume) a minute.
    pub sessions_per_minute: u32,
    /// The reverse proxies in front of this backend: from a connection of theirs, the client's
    /// address is read from `X-Forwarded-For`. Empty: the connection's address is the client's,
    /// and `X-Forwarded-For` is ignored (anyone can write it).
    pub trusted_proxies: Vec<IpNet>,
    /// How often overdue sessions are reconciled with MOBILE-PAY's history; `None`: never.
    pub reconcile_every: Option<std::time::Duration>,
    /// The merchant's own phone (`+225…`), where the console's payouts go. `None`: typed in.
    pub payout_phone: Option<String>,
    /// How webhooks are delivered to the shop's endpoints (retry schedule, timeout, concurrency).
    pub notifications: crate::outbox::Settings,
    /// Merchant API keys from the configuration (`MERCHANT_API_KEYS`), as digests only; valid
    /// beside those created with `mobilepay-merchant keys create`.
    pub merchant_api_keys: crate::keys::ConfiguredKeys,
    /// The shop's name, shown on the hosted pay page.
    pub merchant_name: String,
}

impl Config {
    /// A configuration for `mobilepay_url` with the rest at its defaults: for tests and the demo.
    pub fn new(
        mobilepay_url: &str,
        api_key: ApiKey,
        merchant_id: &str,
        webhooks: Verifier,
    ) -> Config {
        Config {
            public_url: None,
            mobilepay_url: mobilepay_url.to_owned(),
            api_key,
            merchant_id: merchant_id.to_owned(),
            webhooks,
            widget_dir: None,
            database_url: "sqlite::memory:".into(),
            allowed_origins: Vec::new(),
            sessions_per_minute: 60,
            trusted_proxies: Vec::new(),
            reconcile_every: Some(std::time::Duration::from_secs(30)),
            payout_phone: None,
            notifications: crate::outbox::Settings::default(),
            merchant_api_keys: crate::keys::ConfiguredKeys::default(),
            merchant_name: DEFAULT_MERCHANT_NAME.to_owned(),
        }
    }
}

pub const DEFAULT_MERCHANT_NAME: &str = "Boutique démo";

/// The command line (`mobilepay-merchant --help`).
#[derive(Debug, Parser)]
#[command(
    name = "mobilepay-merchant",
    about = "The MOBILE-PAY Checkout reference merchant backend",
    after_help = "The console's operator accounts: mobilepay-merchant operators --help"
)]
pub struct Args {
    /// Where to listen.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The URL browsers reach this backend at (default: http:// and the bind address).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// MOBILE-PAY's API base URL.
    #[arg(long, env = "MOBILEPAY_API_URL")]
    pub mobilepay_api_url: String,
    /// The merchant's MOBILE-PAY API key (prefer the environment: flags show in `ps`).
    #[arg(long, env = "MOBILEPAY_API_KEY", hide_env_values = true)]
    pub mobilepay_api_key: SecretString,
    #[arg(long, env = "MOBILEPAY_MERCHANT_ID")]
    pub mobilepay_merchant_id: String,
    /// Webhook secrets (`whsec_…`), comma-separated: several during a rotation.
    #[arg(long, env = "MOBILEPAY_WEBHOOK_SECRETS", hide_env_values = true)]
    pub mobilepay_webhook_secrets: SecretString,
    /// The built widget, served under /widget/.
    #[arg(long, env = "WIDGET_DIR")]
    pub widget_dir: Option<PathBuf>,
    /// sqlite://file (created if missing), sqlite::memory:, or postgres://…
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://mobilepay-merchant.sqlite3?mode=rwc",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// Origins allowed to call the checkout API from browsers, comma-separated.
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: String,
    /// Checkout sessions one client address may request a minute.
    #[arg(long, env = "SESSIONS_PER_MINUTE", default_value_t = 60)]
    pub sessions_per_minute: u32,
    /// Reverse proxies whose X-Forwarded-For is believed, comma-separated addresses or networks
    /// (10.0.0.0/8).
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Seconds between reconciliations of overdue sessions with MOBILE-PAY (0: never).
    #[arg(long, env = "RECONCILE_EVERY_SECS", default_value_t = 30)]
    pub reconcile_every_secs: u64,
    /// The merchant's own phone (+225…), where the console's payouts go; unset: typed in
    /// the payout form.
    #[arg(long, env = "PAYOUT_PHONE")]
    pub payout_phone: Option<String>,
    /// Seconds one webhook delivery to the shop may take before it counts as failed (1 – 60).
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,
    /// Webhook deliveries to the shop in flight at once, per instance (1 – 256).
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 16)]
    pub webhook_concurrency: usize,
    /// Merchant API keys (mk_…) accepted on /v1, comma-separated, beside those of
    /// `mobilepay-merchant keys create` (prefer the environment: flags show in `ps`).
    #[arg(
        long,
        env = "MERCHANT_API_KEYS",
        hide_env_values = true,
        default_value = ""
    )]
    pub merchant_api_keys: SecretString,
    /// The shop's name, shown on the hosted pay page.
    #[arg(long, env = "MERCHANT_NAME", default_value = DEFAULT_MERCHANT_NAME)]
    pub merchant_name: String,
}

impl Args {
    /// Checks every value and builds the configuration.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let url = |name: &str, value: &str| -> anyhow::Result<()> {
            if value.starts_with("http://") || value.starts_with("https://") {
                Ok(())
            } else {
                bail!("{name} must be an http:// or https:// URL, not {value:?}")
            }
        };
        url("MOBILEPAY_API_URL", &self.mobilepay_api_url)?;
        if let Some(public) = &self.public_url {
            url("PUBLIC_URL", public)?;
        }
        if !self.mobilepay_api_key.expose_secret().starts_with("sk_") {
            bail!("MOBILEPAY_API_KEY must be a MOBILE-PAY key (sk_test_… or sk_live_…)");
        }
        let secrets: Vec<&str> = self
            .mobilepay_webhook_secrets
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let webhooks = Verifier::new(&secrets)
            .context("MOBILEPAY_WEBHOOK_SECRETS must be whsec_… secrets, comma-separated")?;
        let allowed_origins: Vec<String> = self
            .allowed_origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &allowed_origins {
            url("ALLOWED_ORIGINS", origin)?;
        }
        if self.sessions_per_minute == 0 {
            bail!("SESSIONS_PER_MINUTE must be at least 1");
        }
        let trusted_proxies = self
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "TRUSTED_PROXIES must be IP addresses or networks (10.0.0.0/8), \
                             comma-separated, not {p:?}"
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<IpNet>>>()?;
        let payout_phone = match self.payout_phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(phone) => Some(crate::console::pages::payouts::parse_ci_phone(phone).with_context(
                || format!("PAYOUT_PHONE must be a Côte d'Ivoire phone (+225 and 10 digits), not {phone:?}"),
            )?),
        };
        if !(1..=60).contains(&self.webhook_timeout_secs) {
            bail!("WEBHOOK_TIMEOUT_SECS must be 1 to 60");
        }
        if !(1..=256).contains(&self.webhook_concurrency) {
            bail!("WEBHOOK_CONCURRENCY must be 1 to 256");
        }
        let notifications = crate::outbox::Settings {
            timeout: std::time::Duration::from_secs(self.webhook_timeout_secs),
            concurrency: self.webhook_concurrency,
            ..crate::outbox::Settings::default()
        };
        let merchant_api_keys =
            crate::keys::ConfiguredKeys::parse(self.merchant_api_keys.expose_secret())?;
        if self.merchant_name.trim().is_empty() || self.merchant_name.chars().count() > 100 {
            bail!("MERCHANT_NAME must be 1 to 100 characters");
        }
        Ok(Config {
            public_url: self.public_url,
            mobilepay_url: self.mobilepay_api_url,
            api_key: ApiKey::new(self.mobilepay_api_key.expose_secret()),
            merchant_id: self.mobilepay_merchant_id,
            webhooks,
            widget_dir: self.widget_dir,
            database_url: self.database_url.expose_secret().into(),
            allowed_origins,
            sessions_per_minute: self.sessions_per_minute,
            trusted_proxies,
            reconcile_every: (self.reconcile_every_secs > 0)
                .then(|| std::time::Duration::from_secs(self.reconcile_every_secs)),
            payout_phone,
            notifications,
            merchant_api_keys,
            merchant_name: self.merchant_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Args;

    /// The command line of a valid configuration, with `overrides` (flag, value) applied.
    fn args(overrides: &[&str]) -> Args {
        let mut flags = vec![
            ("--mobilepay-api-url", "http://127.0.0.1:8090"),
            ("--mobilepay-api-key", "sk_test_demo_merchant"),
            ("--mobilepay-merchant-id", "MERCHANT123"),
            ("--mobilepay-webhook-secrets", "whsec_ZGVtbw==, whsec_b2xk"),
        ];
        for pair in overrides.chunks(2) {
            flags.retain(|(flag, _)| *flag != pair[0]);
            flags.push((pair[0], pair[1]));
        }
        let argv = std::iter::once("mobilepay-merchant")
            .chain(flags.iter().flat_map(|(flag, value)| [*flag, *value]));
        Args::try_parse_from(argv).expect("the flags parse")
    }

    fn error(extra: &[&str]) -> String {
        format!("{:#}", args(extra).into_config().expect_err("refused"))
    }

    #[test]
    fn a_valid_command_line_makes_a_configuration_with_every_secret() {
        let config = args(&[
            "--allowed-origins",
            "https://shop.example/, https://b.example",
        ])
        .into_config()
        .expect("valid");
        assert_eq!(
            config.allowed_origins,
            ["https://shop.example", "https://b.example"]
        );
        assert!(format!("{config:?}").contains("2 secrets"));
        let trusting = args(&["--trusted-proxies", "10.0.0.0/8, 127.0.0.1,::1"])
            .into_config()
            .expect("valid");
        let trusted: Vec<String> = trusting
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(trusted, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
        assert!(!format!("{config:?}").contains("sk_test_demo_merchant"));
        let keyed = args(&[
            "--merchant-api-keys",
            "mk_test_demo_shop,mk_live_0123456789abcdef",
        ])
        .into_config()
        .expect("valid");
        assert_eq!(keyed.merchant_api_keys.len(), 2);
        assert!(!format!("{keyed:?}").contains("mk_test_demo_shop"));
    }

    #[test]
    fn each_invalid_value_is_refused_with_what_to_fix() {
        assert!(error(&["--mobilepay-api-url", "ftp://x"]).contains("MOBILEPAY_API_URL"));
        assert!(error(&["--mobilepay-api-key", "hunter2"]).contains("MOBILEPAY_API_KEY"));
        assert!(
            error(&["--mobilepay-webhook-secrets", "nope!"]).contains("MOBILEPAY_WEBHOOK_SECRETS")
        );
        assert!(error(&["--allowed-origins", "shop.example"]).contains("ALLOWED_ORIGINS"));
        assert!(error(&["--public-url", "shop.example"]).contains("PUBLIC_URL"));
        assert!(error(&["--sessions-per-minute", "0"]).contains("SESSIONS_PER_MINUTE"));
        assert!(error(&["--trusted-proxies", "10.0.0.0/33"]).contains("TRUSTED_PROXIES"));
        assert!(error(&["--trusted-proxies", "nginx"]).contains("TRUSTED_PROXIES"));
        assert!(error(&["--webhook-timeout-secs", "0"]).contains("WEBHOOK_TIMEOUT_SECS"));
        assert!(error(&["--webhook-concurrency", "0"]).contains("WEBHOOK_CONCURRENCY"));
        assert!(error(&["--merchant-api-keys", "sk_test_x"]).contains("MERCHANT_API_KEYS"));
        assert!(error(&["--merchant-name", " "]).contains("MERCHANT_NAME"));
    }
}
