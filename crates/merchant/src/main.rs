//! `mobilepay-merchant`: runs the reference merchant backend. `--help` lists every flag and the
//! environment variable that can set it instead; `mobilepay-merchant keys --help` the API-key
//! commands.

use anyhow::Context;
use clap::Parser;
use mobilepay_merchant::config::Args;
use mobilepay_merchant::console::operators::{self, OperatorsArgs};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `mobilepay-merchant keys create|revoke|list`: the API keys, then exit. Before the logger:
    // standard output is the command's answer (a new key), nothing else.
    if std::env::args().nth(1).as_deref() == Some("keys") {
        let keys = mobilepay_merchant::keys::KeysArgs::parse_from(std::env::args().skip(1));
        return mobilepay_merchant::keys::run_cli(keys).await;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // `operators …` manages the console's accounts, with a command line of its own.
    if std::env::args_os().nth(1).is_some_and(|a| a == "operators") {
        let args = OperatorsArgs::parse_from(std::env::args_os().skip(1));
        return operators::cli(args, std::io::stdin().lock(), std::io::stdout()).await;
    }
    let args = Args::parse();
    let bind = args.bind;
    let config = args.into_config()?;
    // Each event stream is a socket: allow as many as the system lets this process have.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open files limit"),
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    mobilepay_merchant::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
