//! schemathesis (PyPI, pinned) against the servers' OpenAPI documents: every operation called
//! with generated requests, valid and not, and every answer checked against the document
//! (`--checks all`: status codes, schemas, content types, headers, that valid data is accepted
//! and invalid data refused, authentication). Each server is a throw-away instance on port 0:
//! schemathesis calls every operation, the sandbox's clock and webhook endpoint included.
//!
//! - [`gate`]: a short run inside `cargo xtask test` (a bounded number of cases per operation).
//! - [`fuzz_api`]: `cargo xtask fuzz-api`, thousands of cases, prints the counts.
//!
//! A run takes a list of [`Target`]s so that more documents join by adding a line:
//! [`merchant_target`] starts a merchant backend with its sandbox and offers its
//! `/v1/openapi.json` — only when that route answers 200 (it does not exist yet everywhere).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, bail};
use mobilepay_sandbox::accounts::DEMO_ENTERPRISE_KEY;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The version measured on the build machines (README, "Two commands").
pub const VERSION: &str = "4.32.5";

/// One OpenAPI document and the server that answers it.
#[derive(Debug, Clone)]
pub struct Target {
    /// For the report: `sandbox`, `merchant /v1`.
    pub name: String,
    pub openapi_url: String,
    /// What the document's paths are relative to.
    pub base_url: String,
    /// An `Authorization` header value sent with every request, if the API wants one.
    pub authorization: Option<String>,
}

/// How hard a run tries.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// `--max-examples`: generated cases per operation and phase.
    pub max_examples: u32,
    /// Fixed so that a gate's failure can be reproduced; `None`: random.
    pub seed: Option<u64>,
}

/// The gate's run: seconds, not minutes.
pub const GATE: Budget = Budget {
    max_examples: 30,
    seed: Some(20261201),
};

/// `cargo xtask fuzz-api`'s run: 3,404 cases in 5.5 min here (measured 2026-12-01).
pub const LONG: Budget = Budget {
    max_examples: 200,
    seed: None,
};

/// What one target's run found (from schemathesis' NDJSON events).
#[derive(Debug, Default)]
pub struct Counts {
    /// Operations of the document that were tested.
    pub operations: u64,
    /// Requests generated and sent, every phase.
    pub cases: u64,
    /// Checks that failed (one case can fail several), and scenarios that errored.
    pub failures: u64,
    pub errors: u64,
}

/// schemathesis in a virtualenv under the target folder, installed when missing (and
/// `python3-venv` from Debian when `python3 -m venv` does not work and we are root).
pub fn ensure(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = xtask::target_dir(root).join(format!("schemathesis-{VERSION}"));
    let bin = venv.join("bin/schemathesis");
    let have = xtask::output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if have.contains(VERSION) {
        return Ok(bin);
    }
    xtask::ensure_debian(
        venv_works(),
        &["python3-venv"],
        "schemathesis needs Python's venv: `sudo apt-get install python3-venv`",
    )?;
    // `--clear`: a virtualenv whose target folder was moved or copied has absolute paths that
    // point nowhere (no `bin/pip`); it is made again rather than patched.
    xtask::run(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
    )?;
    xtask::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("schemathesis=={VERSION}")),
    )?;
    Ok(bin)
}

fn venv_works() -> bool {
    let probe = std::env::temp_dir().join(format!("xtask-venv-probe-{}", std::process::id()));
    let works = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success());
    let _ = std::fs::remove_dir_all(&probe);
    works
}

/// The configuration every run uses (`xtask/schemathesis.toml`: what "valid data is
/// accepted" allows beyond schemathesis' defaults, and why).
fn config_file(root: &Path) -> PathBuf {
    root.join("xtask/schemathesis.toml")
}

/// Runs schemathesis against each target, every phase (the stateful one follows the links the
/// documents declare) and every check; fails unless there is no failure and no error.
pub async fn run(
    root: &Path,
    bin: &Path,
    targets: &[Target],
    budget: Budget,
) -> anyhow::Result<Vec<(String, Counts)>> {
    let mut results = Vec::new();
    for target in targets {
        let report = xtask::target_dir(root).join("schemathesis-reports").join(
            target
                .name
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        );
        let _ = std::fs::remove_dir_all(&report);
        std::fs::create_dir_all(&report)
            .with_context(|| format!("creating {}", report.display()))?;
        let mut cmd = tokio::process::Command::new(bin);
        // Its cache (`.schemathesis/`) goes beside the report, not into the work tree.
        cmd.current_dir(&report)
            .arg("--no-color")
            .arg("--config-file")
            .arg(config_file(root))
            .arg("run")
            .arg(&target.openapi_url)
            .args(["--url", &target.base_url])
            .args(["--checks", "all"])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-examples", &budget.max_examples.to_string()])
            .args(["--workers", "2"])
            .args(["--report", "ndjson"])
            .arg("--report-ndjson-path")
            .arg(report.join("events.ndjson"));
        if let Some(seed) = budget.seed {
            cmd.args(["--seed", &seed.to_string()]);
        }
        if let Some(authorization) = &target.authorization {
            cmd.args(["--header", &format!("Authorization: {authorization}")]);
        }
        eprintln!(
            "$ schemathesis run {} --url {} (max {} examples)",
            target.openapi_url, target.base_url, budget.max_examples
        );
        let status = cmd.status().await.context("starting schemathesis")?;
        let counts = counts(&report.join("events.ndjson")).unwrap_or_default();
        eprintln!(
            "schemathesis, {}: {} operations, {} test cases, {} failures, {} errors",
            target.name, counts.operations, counts.cases, counts.failures, counts.errors
        );
        if !status.success() {
            bail!(
                "schemathesis found failures in {} ({status}); report in {}",
                target.name,
                report.display()
            );
        }
        results.push((target.name.clone(), counts));
    }
    Ok(results)
}

/// The counts of a run, from its NDJSON events.
fn counts(events: &Path) -> anyhow::Result<Counts> {
    let text = std::fs::read_to_string(events)?;
    let mut counts = Counts::default();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some((kind, body)) = event.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        match kind.as_str() {
            "LoadingFinished" => {
                counts.operations = body["statistic"]["operations"]["selected"]
                    .as_u64()
                    .unwrap_or_default();
            }
            "ScenarioFinished" => {
                let recorder = &body["recorder"];
                counts.cases += recorder["cases"].as_object().map_or(0, |c| c.len() as u64);
                counts.errors += u64::from(body["status"] == "error");
                if let Some(checks) = recorder["checks"].as_object() {
                    counts.failures += checks
                        .values()
                        .filter_map(serde_json::Value::as_array)
                        .flatten()
                        .filter(|check| check["status"] == "failure")
                        .count() as u64;
                }
            }
            _ => {}
        }
    }
    Ok(counts)
}

/// A sandbox of its own, on port 0, with an in-memory database: gone when `stop` is dropped.
pub async fn throwaway_sandbox() -> anyhow::Result<(String, watch::Sender<bool>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(error) =
            mobilepay_sandbox::run(listener, mobilepay_sandbox::Config::default(), shutdown).await
        {
            eprintln!("sandbox stopped: {error:#}");
        }
    });
    Ok((url, stop))
}

/// The sandbox's document, authenticated with the *Entreprise* key (no rate limit, so that
/// hundreds of generated requests are not answered `429`).
pub fn sandbox_target(url: &str) -> Target {
    Target {
        name: "sandbox".to_owned(),
        openapi_url: format!("{url}/api/v1/openapi.json"),
        base_url: url.to_owned(),
        authorization: Some(format!("Bearer {DEMO_ENTERPRISE_KEY}")),
    }
}

/// The demo's merchant API key (the README's), for the merchant backend's `/v1`.
pub const MERCHANT_DEMO_KEY: &str = "mk_test_demo_shop";

/// A merchant backend and its sandbox (`mobilepay_e2e::Stack`) on port 0, and the target of its
/// `/v1` document — `None` while the backend has no `/v1/openapi.json` (it answers 404 before
/// the merchant API exists), so the run covers it as soon as it does. The stack stops when
/// the returned value is dropped.
pub async fn merchant_target() -> anyhow::Result<Option<(Target, Arc<mobilepay_e2e::Stack>)>> {
    let stack = Arc::new(mobilepay_e2e::Stack::start("127.0.0.1:0", "127.0.0.1:0", None).await?);
    let openapi_url = format!("{}/v1/openapi.json", stack.store_url);
    let http = reqwest::Client::new();
    let mut status = None;
    // The backend opens its database before it answers: wait for it, not for a fixed time.
    for _ in 0..100 {
        match http.get(&openapi_url).send().await {
            Ok(response) => {
                status = Some(response.status());
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    match status {
        Some(status) if status.is_success() => Ok(Some((
            Target {
                name: "merchant /v1".to_owned(),
                openapi_url,
                base_url: stack.store_url.clone(),
                authorization: Some(format!("Bearer {MERCHANT_DEMO_KEY}")),
            },
            stack,
        ))),
        Some(status) => {
            eprintln!("schemathesis: the merchant backend has no /v1/openapi.json yet ({status})");
            Ok(None)
        }
        None => bail!("the merchant backend did not answer {openapi_url}"),
    }
}

/// Every target there is today, each on servers of its own.
async fn all_targets(root: &Path, budget: Budget) -> anyhow::Result<Vec<(String, Counts)>> {
    let bin = ensure(root)?;
    let (sandbox_url, _sandbox) = throwaway_sandbox().await?;
    let mut targets = vec![sandbox_target(&sandbox_url)];
    let merchant = merchant_target().await?;
    if let Some((target, _)) = &merchant {
        targets.push(target.clone());
    }
    run(root, &bin, &targets, budget).await
}

/// The gate's run (`cargo xtask test`).
pub fn gate(root: &Path) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(all_targets(root, GATE))?;
    Ok(())
}

/// `cargo xtask fuzz-api [MAX_EXAMPLES]`: the long run, with its counts.
pub fn fuzz_api(root: &Path, max_examples: Option<u32>) -> anyhow::Result<()> {
    let budget = Budget {
        max_examples: max_examples.unwrap_or(LONG.max_examples),
        ..LONG
    };
    let started = std::time::Instant::now();
    let results = tokio::runtime::Runtime::new()?.block_on(all_targets(root, budget))?;
    println!(
        "fuzz-api (schemathesis {VERSION}, max {} examples per operation and phase):",
        budget.max_examples
    );
    for (name, counts) in results {
        println!(
            "  {name}: {} operations, {} test cases, {} failures, {} errors",
            counts.operations, counts.cases, counts.failures, counts.errors
        );
    }
    println!("  in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
