//! The whole product wired together in one process: the MOBILE-PAY sandbox delivering its
//! webhooks to the merchant backend, which serves the built widget, and beside it the demo
//! store ([`store`]), a client of the backend's merchant API. Used by the end-to-end tests (on
//! port 0) and by `cargo xtask demo` (on 8090 and 8080).

pub mod store;

pub mod cdp;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use mobilepay_client::ApiKey;
use mobilepay_client::webhook::Verifier;
use mobilepay_sandbox::accounts::{DEMO_MERCHANT_ID, DEMO_MERCHANT_KEY, DEMO_PHONE};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The demo shop's merchant API key (the README's), configured by the stack and printed by the
/// demo.
pub const DEMO_API_KEY: &str = "mk_test_demo_shop";
/// The console's operator that the stack creates (or whose password it resets) at each start.
pub const DEMO_OPERATOR_EMAIL: &str = "admin@boutique.test";
pub const DEMO_OPERATOR_PASSWORD: &str = "console-demo-2026";

/// A running sandbox and merchant backend. Dropping it shuts both down.
#[derive(Debug)]
pub struct Stack {
    pub sandbox_url: String,
    pub store_url: String,
    stop: watch::Sender<bool>,
}

/// What [`Stack::start_with_options`] can vary; the defaults are the demo's.
#[derive(Debug, Default)]
pub struct Options {
    /// The built widget, served under `/widget/`.
    pub widget_dir: Option<PathBuf>,
    /// Where both databases are kept; `None`: in memory.
    pub data_dir: Option<PathBuf>,
    /// Origins whose pages may call the merchant backend (an npm consumer's page, say).
    pub allowed_origins: Vec<String>,
    /// How long a QR payment can be paid; `None`: the sandbox's default. Short, so that a
    /// test sees a payment expire.
    pub payment_ttl: Option<std::time::Duration>,
    /// Where browsers reach the backend, if not at its own address (through a proxy).
    pub public_url: Option<String>,
}

impl Stack {
    /// Starts both servers on the given addresses (`127.0.0.1:0` for any free port), the
    /// backend serving the widget built into `widget_dir`, both with in-memory databases.
    pub async fn start(
        sandbox_addr: &str,
        merchant_addr: &str,
        widget_dir: Option<PathBuf>,
    ) -> anyhow::Result<Stack> {
        let options = Options {
            widget_dir,
            ..Options::default()
        };
        Stack::start_with_options(sandbox_addr, merchant_addr, options).await
    }

    /// [`Stack::start`] with every [`Options`] the demo and the tests vary (the demo keeps
    /// both databases in `data_dir`, so that a restart loses nothing).
    pub async fn start_with_options(
        sandbox_addr: &str,
        merchant_addr: &str,
        options: Options,
    ) -> anyhow::Result<Stack> {
        let Options {
            widget_dir,
            data_dir,
            allowed_origins,
            payment_ttl,
            public_url,
        } = options;
        let sandbox = TcpListener::bind(sandbox_addr)
            .await
            .with_context(|| format!("binding the sandbox to {sandbox_addr}"))?;
        let merchant = TcpListener::bind(merchant_addr)
            .await
            .with_context(|| format!("binding the merchant backend to {merchant_addr}"))?;
        let sandbox_url = format!("http://{}", sandbox.local_addr()?);
        let store_url = format!("http://{}", merchant.local_addr()?);
        let (stop, _) = watch::channel(false);

        if let Some(dir) = &data_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let defaults = mobilepay_sandbox::Config::default();
        let sandbox_config = mobilepay_sandbox::Config {
            payment_ttl: payment_ttl.unwrap_or(defaults.payment_ttl),
            webhook_url: Some(format!("{store_url}/webhooks/mobilepay")),
            database: match &data_dir {
                Some(dir) => mobilepay_sandbox::Database::File(dir.join("sandbox.sqlite3")),
                None => mobilepay_sandbox::Database::InMemory,
            },
            ..defaults
        };
        let mut merchant_config = mobilepay_merchant::Config::new(
            &sandbox_url,
            ApiKey::new(DEMO_MERCHANT_KEY),
            DEMO_MERCHANT_ID,
            Verifier::new(&[mobilepay_sandbox::DEMO_WEBHOOK_SECRET])?,
        );
        merchant_config.widget_dir = widget_dir;
        // The console pays out to the demo merchant's own phone, the sandbox account's.
        merchant_config.payout_phone = Some(DEMO_PHONE.to_owned());
        merchant_config.allowed_origins = allowed_origins;
        merchant_config.merchant_api_keys =
            mobilepay_merchant::keys::ConfiguredKeys::new(&[DEMO_API_KEY])?;
        merchant_config.public_url = public_url;
        if let Some(dir) = &data_dir {
            merchant_config.database_url = format!(
                "sqlite://{}?mode=rwc",
                dir.join("merchant.sqlite3").display()
            )
            .into();
        }
        tokio::spawn(log_failure(
            "sandbox",
            mobilepay_sandbox::run(sandbox, sandbox_config, stopped(&stop)),
        ));
        let state = mobilepay_merchant::state(&merchant, merchant_config).await?;
        mobilepay_merchant::console::operators::upsert(
            &state.console.db,
            DEMO_OPERATOR_EMAIL,
            DEMO_OPERATOR_PASSWORD,
        )
        .await?;
        // The store calls the API over HTTP, as a shop's server would.
        let store = store::router(Arc::new(store::Store {
            api: store_url.clone(),
            key: DEMO_API_KEY.to_owned(),
            http: reqwest::Client::new(),
            widget_dir: state.config.widget_dir.clone(),
        }));
        tokio::spawn(log_failure(
            "merchant backend",
            mobilepay_merchant::serve_with(merchant, state, store, stopped(&stop)),
        ));
        Ok(Stack {
            sandbox_url,
            store_url,
            stop,
        })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

fn stopped(stop: &watch::Sender<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = stop.subscribe();
    async move {
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

async fn log_failure(name: &'static str, server: impl Future<Output = anyhow::Result<()>>) {
    if let Err(error) = server.await {
        eprintln!("{name} stopped: {error:#}");
    }
}
