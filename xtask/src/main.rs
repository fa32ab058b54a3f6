//! `cargo xtask …`: the project's tasks, in Rust, so that nothing but cargo is needed to start.
//!
//! The tasks marked *(stack)* run the servers: they live in the `xtask-stack` crate
//! (`xtask/stack/`), which this binary runs through cargo with the same arguments — stdin,
//! stdout and the exit code are its own — so that the others, built from this crate alone,
//! never compile the server stack (the shared helpers are this crate's library, `lib.rs`).
//!
//! - `demo` *(stack)*: set-up, build the widget, run sandbox (:8090) + merchant backend and
//!   store (:8080).
//! - `test`: the one gate — fmt, clippy, native tests (PostgreSQL included), the npm package
//!   consumed by a Vite app, browser tests, end-to-end tests (axe-core and the Node shop
//!   included).
//! - `bench` *(stack)*: the widget's download size and how fast its QR code shows.
//! - `bench-streams [--against nchan]` *(stack, release)*: event stream fan-out (memory per
//!   stream, publish → delivery latency, CPU) side by side with nginx + nchan; `--ingest W`:
//!   webhooks per second.
//! - `bench-notify [--events N]… [--runs K]` *(stack, release)*: webhook events delivered per
//!   second by one backend (release, SQLite) to a receiver on loopback.
//! - `build-widget`: the widget alone, into `target/widget/`.
//! - `npm`: the widget, then its npm package built into a Vite app (as `test` does).
//! - `surface [--write]`: fails, with a diff, unless `www/index.d.ts`, `custom-elements.json`
//!   and the surface section of docs/widget.md are what `xtask/src/surface.rs` generates;
//!   `--write` writes them.
//! - `schemathesis` *(stack)*: the gate's schemathesis run alone (short, a fixed seed).
//! - `fuzz-api [MAX_EXAMPLES]` *(stack)*: schemathesis' long run against the servers' OpenAPI
//!   documents.
//! - `proptest-long [CASES]`: the property tests with many cases (default 100,000 each).
//! - `chaos [--checkouts N] [--seconds S] [--seed X] [--release] [--no-build]` *(stack)*: two
//!   merchant backends on PostgreSQL killed and restarted, webhooks duplicated, delayed and
//!   reordered, event streams cut, then checks that every status and notification came out true
//!   (xtask/stack/src/chaos.rs).
//! - `fuzz [SECONDS]`: AFL++ (cargo-afl) over the webhook verifier and the JSON bodies, each
//!   target `SECONDS` (default 120), from the crate in `fuzz/` (xtask/src/fuzz.rs).
//!
//! Set-up installs what a fresh machine lacks: the wasm target, `wasm-bindgen-cli` at exactly
//! Cargo.lock's version, and (as root, from Debian) Chromium, its driver and PostgreSQL.

use std::process::Command;

use anyhow::{Context, bail};
use xtask::{
    CHROMEDRIVER, CHROMIUM, build_widget, cargo, ensure_chromium, ensure_postgres,
    ensure_wasm_tools, root, run, target_dir,
};

mod fuzz;
mod npm;
mod surface;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        // An unoptimized load generator or backend would be what is measured.
        Some(task @ ("bench-streams" | "bench-notify")) => {
            stack(Profile::Release, task, &args[1..])
        }
        Some(task @ ("demo" | "bench" | "chaos" | "schemathesis" | "fuzz-api")) => {
            stack(Profile::Debug, task, &args[1..])
        }
        Some("fuzz") => fuzz::run_fuzz(&root(), &args[1..]),
        Some("surface") => match &args[1..] {
            [] => surface::run(&root(), false),
            [flag] if flag == "--write" => surface::run(&root(), true),
            _ => bail!("usage: cargo xtask surface [--write]"),
        },
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

/// How `xtask-stack` is built for a task.
#[derive(Debug, Clone, Copy)]
enum Profile {
    Debug,
    Release,
}

/// Runs a task of `xtask-stack` in this process's place (`exec`): the terminal's Ctrl-C, stdin,
/// stdout and the exit code are the task's own, as if it had been started directly. Through
/// `cargo run --package xtask-stack -- TASK ARGS…`, quiet as the `cargo xtask` alias is.
fn stack(profile: Profile, task: &str, args: &[String]) -> anyhow::Result<()> {
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "--package", "xtask-stack"]);
    if let Profile::Release = profile {
        cmd.arg("--release");
    }
    cmd.arg("--").arg(task).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = cmd.exec();
        Err(error).with_context(|| format!("could not start {}", xtask::render(&cmd)))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .with_context(|| format!("could not start {}", xtask::render(&cmd)))?;
        std::process::exit(status.code().unwrap_or(1))
    }
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
    // The server tasks with the `xtask-stack` that `cargo test` just built (for its tests/cli.rs)
    // with the workspace's features: `cargo run --package xtask-stack` alone unifies others
    // (reqwest without `stream`, …) and would compile the stack again.
    let stack = target_dir(&root).join("debug/xtask-stack");
    // The OpenAPI documents against throw-away servers (xtask/stack/src/schemathesis.rs).
    run(Command::new(&stack).arg("schemathesis"))?;
    // A reduced chaos run (xtask/stack/src/chaos.rs) with the backend `cargo test` just built;
    // `cargo xtask chaos` is the full one.
    run(Command::new(&stack).args([
        "chaos",
        "--checkouts",
        "60",
        "--seconds",
        "40",
        "--no-build",
    ]))?;
    eprintln!("xtask test: all checks passed");
    Ok(())
}
