//! `xtask-stack`: the tasks of `cargo xtask` that run the servers — the sandbox, the merchant
//! backend, the demo store, PostgreSQL, Chromium — in this process or as processes of their own.
//! `cargo xtask TASK ARGS…` (xtask/src/main.rs) runs this binary through cargo with the same
//! arguments: `bench-streams` and `bench-notify` in release, the others in debug. The gate
//! (`cargo xtask test`) runs `schemathesis` and `chaos --no-build` with the debug binary that
//! `cargo test --workspace` built for `tests/cli.rs`.
//!
//! - `demo`: set-up, build the widget, run sandbox (:8090) + merchant backend and store (:8080).
//! - `bench`: the widget's download size and how fast its QR code shows ([`bench`]).
//! - `bench-streams …`: event stream fan-out beside nginx + nchan, and webhook ingestion
//!   ([`streams`]).
//! - `bench-notify …`: webhook events delivered per second by one backend ([`notify`]).
//! - `chaos …`: the whole payment path under adversity, and the checks that it held ([`chaos`]).
//! - `schemathesis`, `fuzz-api [MAX_EXAMPLES]`: schemathesis against the servers' OpenAPI
//!   documents, the gate's short run and the long one ([`schemathesis`]).
//!
//! What the light tasks share with these (folders, running cargo, installing packages, the
//! widget's build) is the `xtask` library: one copy of each.

use anyhow::Context;
use xtask::{build_widget, ensure_wasm_tools, root};

mod backend;
mod bench;
mod chaos;
mod notify;
mod postgres;
mod schemathesis;
mod streams;

/// Why a bench refuses a debug build: what it measures would be unoptimized code.
const RELEASE_ONLY: &str = "this bench measures optimized code: run it with `cargo xtask`, \
                            which builds xtask-stack with --release";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("bench-streams") => streams::run_bench(&root(), &args[1..]),
        Some("bench") => bench::run(&root()),
        Some("bench-notify") => notify::run_bench(&root(), &args[1..]),
        Some("chaos") => chaos::run_chaos(&root(), &args[1..]),
        Some("schemathesis") => schemathesis::gate(&root()),
        Some("fuzz-api") => {
            let max_examples = args
                .get(1)
                .map(|n| n.parse::<u32>())
                .transpose()
                .context("fuzz-api takes a number of examples per operation")?;
            schemathesis::fuzz_api(&root(), max_examples)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|bench|bench-streams|bench-notify|chaos|schemathesis|fuzz-api>"
            );
            std::process::exit(2);
        }
    }
}

fn demo() -> anyhow::Result<()> {
    ensure_wasm_tools()?;
    let widget = build_widget(&root())?;
    tokio::runtime::Runtime::new()?.block_on(async {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info,tower_http=warn".into()),
            )
            .init();
        let stack = mobilepay_e2e::Stack::start_with_options(
            "127.0.0.1:8090",
            "127.0.0.1:8080",
            mobilepay_e2e::Options {
                widget_dir: Some(widget),
                data_dir: Some(root().join("target/demo")),
                // `trunk serve`'s dev page (Trunk.toml) calls this backend from its own origin.
                allowed_origins: vec!["http://127.0.0.1:8081".to_owned()],
                ..mobilepay_e2e::Options::default()
            },
        )
        .await?;
        use mobilepay_sandbox::accounts::*;
        println!(
            "\n  Demo store (merchant backend + widget): {store}/\n  \
             MOBILE-PAY sandbox API:                 {sandbox}/api/v1/…\n  \
             Sandbox login:    {DEMO_EMAIL} / {DEMO_PASSWORD}\n  \
             Sandbox API keys: {DEMO_MERCHANT_KEY} (Marchand), {DEMO_FREE_KEY} (Gratuit), {DEMO_ENTERPRISE_KEY} (Entreprise)\n  \
             merchant_id:      {DEMO_MERCHANT_ID}\n  \
             Merchant API key: {shop_key} (Authorization: Bearer … on {store}/v1/…)\n\n  \
             Console:          {store}/console/ as {operator} / {password}\n\n  \
             Open the store, then pay by opening the QR code's URL (the sandbox wallet page),\n  \
             or: curl -X POST {sandbox}/sandbox/v1/payments/<payment-id>/pay \
             -H 'content-type: application/json' -d '{{\"outcome\":\"success\"}}'\n\n  \
             Ctrl-C stops everything.\n",
            store = stack.store_url,
            sandbox = stack.sandbox_url,
            shop_key = mobilepay_e2e::DEMO_API_KEY,
            operator = mobilepay_e2e::DEMO_OPERATOR_EMAIL,
            password = mobilepay_e2e::DEMO_OPERATOR_PASSWORD,
        );
        tokio::signal::ctrl_c().await?;
        drop(stack);
        // Let both servers finish their graceful shutdown.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        Ok(())
    })
}
