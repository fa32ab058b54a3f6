//! `cargo xtask …`: the project's tasks, in Rust, so that nothing but cargo is needed to start.
//!
//! - `demo`: set-up, build the widget, run sandbox (:8090) + merchant backend and store (:8080).
//! - `test`: the one gate — fmt, clippy, native tests (PostgreSQL included), the npm package
//!   consumed by a Vite app, browser tests, end-to-end tests (axe-core and the Node shop
//!   included).
//! - `bench`: the widget's download size and how fast its QR code shows.
//! - `bench-streams [--against nchan]`: event stream fan-out (memory per stream, publish →
//!   delivery latency, CPU) side by side with nginx + nchan; `--ingest W`: webhooks per second.
//! - `bench-notify [--events N]… [--runs K]`: webhook events delivered per second by one
//!   backend (release, SQLite) to a receiver on loopback.
//! - `build-widget`: the widget alone, into `target/widget/`.
//! - `npm`: the widget, then its npm package built into a Vite app (as `test` does).
//! - `surface [--write]`: fails, with a diff, unless `www/index.d.ts`, `custom-elements.json`
//!   and the surface section of docs/widget.md are what `xtask/src/surface.rs` generates;
//!   `--write` writes them.
//! - `schemathesis`: the gate's schemathesis run alone (short, a fixed seed).
//! - `fuzz-api [MAX_EXAMPLES]`: schemathesis' long run against the servers' OpenAPI documents.
//! - `proptest-long [CASES]`: the property tests with many cases (default 100,000 each).
//! - `chaos [--checkouts N] [--seconds S] [--seed X] [--release] [--no-build]`: two merchant backends on
//!   PostgreSQL killed and restarted, webhooks duplicated, delayed and reordered, event streams
//!   cut, then checks that every status and notification came out true (xtask/src/chaos.rs).
//! - `fuzz [SECONDS]`: AFL++ (cargo-afl) over the webhook verifier and the JSON bodies, each
//!   target `SECONDS` (default 120), from the crate in `fuzz/` (xtask/src/fuzz.rs).
//!
//! Set-up installs what a fresh machine lacks: the wasm target, `wasm-bindgen-cli` at exactly
//! Cargo.lock's version, and (as root, from Debian) Chromium, its driver and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

mod bench;
mod chaos;
mod fuzz;
mod notify;
mod npm;
mod schemathesis;
mod streams;
mod surface;
mod widget;

pub use widget::build_widget;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("bench-streams") => streams::run_bench(&root(), &args[1..]),
        Some("bench") => bench::run(&root()),
        Some("bench-notify") => notify::run_bench(&root(), &args[1..]),
        Some("chaos") => chaos::run_chaos(&root(), &args[1..]),
        Some("fuzz") => fuzz::run_fuzz(&root(), &args[1..]),
        Some("surface") => match &args[1..] {
            [] => surface::run(&root(), false),
            [flag] if flag == "--write" => surface::run(&root(), true),
            _ => bail!("usage: cargo xtask surface [--write]"),
        },
        Some("schemathesis") => schemathesis::gate(&root()),
        Some("fuzz-api") => {
            let max_examples = args
                .get(1)
                .map(|n| n.parse::<u32>())
                .transpose()
                .context("fuzz-api takes a number of examples per operation")?;
            schemathesis::fuzz_api(&root(), max_examples)
        }
        Some("proptest-long") => {
            let cases = args
                .get(1)
                .map(|n| n.parse::<u32>())
                .transpose()
                .context("proptest-long takes a number of cases")?;
            proptest_long(cases.unwrap_or(100_000))
        }
        Some("npm") => {
            ensure_wasm_tools()?;
            let widget = build_widget(&root())?;
            let consumer = npm::prepare(&root(), &widget)?;
            println!("consumer app built into {}", consumer.dist.display());
            Ok(())
        }
        Some("build-widget") => {
            ensure_wasm_tools()?;
            build_widget(&root()).map(|_| ())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|bench|bench-streams|bench-notify|chaos|fuzz|build-widget|surface|npm|schemathesis|fuzz-api|proptest-long>"
            );
            std::process::exit(2);
        }
    }
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` if set (relative to the workspace root), else
/// `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// Where the built widget goes, as the merchant backend serves it under `/widget/`. It is also
/// the npm package's folder (`npm pack` runs there).
pub fn widget_dir(root: &Path) -> PathBuf {
    target_dir(root).join("widget")
}

/// Runs `cmd`, echoing it, and fails unless it succeeds.
fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", render(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", render(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", render(cmd));
    }
    Ok(())
}

fn render(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root());
    cmd
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The wasm target and `wasm-bindgen-cli` at Cargo.lock's version.
fn ensure_wasm_tools() -> anyhow::Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let wanted = locked_version("wasm-bindgen")?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(wanted.as_str()) {
        // Not `--locked`: one of the CLI's locked dependencies is missing from the registry
        // mirror here (docs/toolchain.md).
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    }
    Ok(())
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(package: &str) -> anyhow::Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .with_context(|| format!("{package} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').context("Cargo.lock is malformed")?;
    Ok(lock[start..start + end].to_owned())
}

/// Chromium and chromedriver, from Debian's packages: installed when missing and we are root.
fn ensure_chromium() -> anyhow::Result<()> {
    let have = |bin: &str| Path::new(bin).exists();
    if have(CHROMIUM) && have(CHROMEDRIVER) {
        return Ok(());
    }
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !root_user {
        bail!(
            "the browser tests need Debian's Chromium and its driver: \
             `sudo apt-get install chromium chromium-driver`"
        );
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok(())
}

/// PostgreSQL's server binaries (the merchant backend's scale-out tests start one of their
/// own): from Debian's packages, installed when missing and we are root.
pub(crate) fn ensure_postgres() -> anyhow::Result<()> {
    let installed = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .filter_map(Result::ok)
            .any(|v| v.path().join("bin/initdb").exists())
    });
    if installed {
        return Ok(());
    }
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !root_user {
        bail!("the merchant backend's tests need PostgreSQL: `sudo apt-get install postgresql`");
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok(())
}

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

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

/// The property tests (proptest) of every parser of outside input, `cases` each: the webhook
/// verifier, phones and countries, the transactions' parameters, the wire types. The gate runs
/// them with proptest's default (256 cases).
fn proptest_long(cases: u32) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    for target in [
        ["-p", "mobilepay-client", "--test", "properties"],
        ["-p", "mobilepay-wire", "--test", "properties"],
        ["-p", "mobilepay-sandbox", "--lib", "properties"],
    ] {
        run(cargo()
            .arg("test")
            .args(target)
            .env("PROPTEST_CASES", cases.to_string()))?;
    }
    eprintln!(
        "proptest-long: {cases} cases per property, {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn test() -> anyhow::Result<()> {
    ensure_wasm_tools()?;
    ensure_chromium()?;
    ensure_postgres()?;
    let root = root();
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "--package",
        "mobilepay-checkout",
        "--all-targets",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    let widget = build_widget(&root)?;
    // The npm package as a Vite app consumes it, and axe-core for the accessibility tests.
    let consumer = npm::prepare(&root, &widget)?;
    run(cargo()
        .args(["test", "--workspace"])
        .env("MOBILEPAY_WIDGET_DIR", &widget)
        .env("MOBILEPAY_NPM_CONSUMER_DIR", &consumer.dist)
        .env("MOBILEPAY_AXE_JS", &consumer.axe)
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("CHROMIUM", CHROMIUM))?;
    run(cargo()
        .args([
            "test",
            "--package",
            "mobilepay-checkout",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", CHROMEDRIVER))?;
    // The OpenAPI documents against throw-away servers (xtask/src/schemathesis.rs).
    schemathesis::gate(&root)?;
    // A reduced chaos run (xtask/src/chaos.rs) with the backend `cargo test` just built;
    // `cargo xtask chaos` is the full one.
    chaos::run_chaos(
        &root,
        &["--checkouts", "60", "--seconds", "40", "--no-build"].map(String::from),
    )?;
    eprintln!("xtask test: all checks passed");
    Ok(())
}
