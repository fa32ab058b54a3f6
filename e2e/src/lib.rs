//! The whole product wired together in one process: the MOBILE-PAY sandbox delivering its
//! webhooks to the merchant backend, which serves the demo store and the built widget. Used by
//! the end-to-end tests (on port 0) and by `cargo xtask demo` (on 8090 and 8080).

use std::path::PathBuf;

use anyhow::Context;
use mobilepay_client::ApiKey;
use mobilepay_client::webhook::Verifier;
use mobilepay_sandbox::accounts::{DEMO_MERCHANT_ID, DEMO_MERCHANT_KEY};
use tokio::net::TcpListener;
use tokio::sync::watch;

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
}

impl Stack {
    /// Starts both servers on the given addresses (`127.0.0.1:0` for any free port), the
    /// backend serving the widget built into `widget_dir`, both with in-memory databases.
    pub async fn start(
        sandbox_addr: &str,
        merchant_addr: &str,
        widget_dir: Option<PathBuf>,
    ) -> anyhow::Result<Stack> {
        Stack::start_with(sandbox_addr, merchant_addr, widget_dir, None).await
    }

    /// [`Stack::start`], keeping both databases in `data_dir` when given (the demo's, so that a
    /// restart loses nothing).
    pub async fn start_with(
        sandbox_addr: &str,
        merchant_addr: &str,
        widget_dir: Option<PathBuf>,
        data_dir: Option<PathBuf>,
    ) -> anyhow::Result<Stack> {
        let options = Options {
            widget_dir,
            data_dir,
            ..Options::default()
        };
        Stack::start_with_options(sandbox_addr, merchant_addr, options).await
    }

    /// [`Stack::start_with`] with every [`Options`] the tests vary.
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
        merchant_config.allowed_origins = allowed_origins;
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
        tokio::spawn(log_failure(
            "merchant backend",
            mobilepay_merchant::run(merchant, merchant_config, stopped(&stop)),
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
