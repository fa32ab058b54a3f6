//! `cargo xtask chaos [--checkouts N] [--seconds S] [--seed X] [--release] [--no-build]`: the whole payment
//! path under adversity, with the checks that say it held.
//!
//! What runs, all on loopback, all stopped at the end:
//! - a PostgreSQL server of the run's own (under `target/chaos/`);
//! - the sandbox, in this process (its database is read at the end for the truth and the
//!   ledger), its webhooks pointed at a faults proxy of this process;
//! - two `mobilepay-merchant` processes on that database, each on its own port, killed with
//!   `SIGKILL` and started again at random moments (never both down at once);
//! - the faults proxy: each webhook attempt of the sandbox is delayed or not, forwarded to either
//!   instance (sometimes a killed one: the sandbox then retries), and sometimes duplicated;
//! - a shop receiver: an endpoint registered with `POST /v1/webhook-endpoints`, verifying every
//!   delivery's signature with the `standardwebhooks` crate and applying each event once, by id,
//!   never one older than what it applied (the body's `sequence`); it is flaky on purpose: some
//!   first deliveries are answered `503` unread, some are applied and then answered `500` (an
//!   acknowledgement lost), so that the backends deliver them again;
//! - N checkouts: created through `/v1/checkouts`, paid through the widget's route
//!   (`POST /checkout/sessions`), each session followed by a plain HTTP client of its event
//!   stream that is cut at random and reconnects with `Last-Event-ID` to a random instance, as
//!   a browser does; the sandbox pays or fails each (a failed shopper sometimes tries again).
//!
//! Then the checks, each failing the task with what went wrong: every follower saw its
//! session's true final status (the sandbox's record of the payment), in order, never moving
//! backwards; the merchant's `GET /v1/checkouts/{id}` agrees; every event the merchant recorded
//! reached the shop at least once and was applied exactly once; no checkout paid twice; the
//! sandbox's ledger balances. Every random choice is drawn from the seed (printed; `--seed`
//! repeats the choices, while the machine's timing still varies).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::backend::{self, free_port};
use xtask::{cargo, run, target_dir};

/// The merchant API key the run's backends accept.
const API_KEY: &str = "mk_test_chaos_run";
/// How long one checkout may take, end to end, before it counts as stuck.
const CHECKOUT_DEADLINE: Duration = Duration::from_secs(90);
/// How long the shop's notifications may take to arrive once the faults stopped: a delivery
/// claimed by a killed instance is taken up again when its claim lapses (attempt timeout + 30 s).
const DRAIN_DEADLINE: Duration = Duration::from_secs(100);

#[derive(Debug, Clone)]
struct Options {
    checkouts: usize,
    seconds: u64,
    seed: u64,
    release: bool,
    /// Use the binary already built (the gate's `cargo test` built it) instead of building it:
    /// `cargo build --package mobilepay-merchant` alone unifies other features than the
    /// workspace's build, and would compile the backend and its TLS stack again.
    no_build: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        checkouts: 1_000,
        seconds: 300,
        seed: rand::random(),
        release: false,
        no_build: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} takes a value"))
                .cloned()
        };
        match arg.as_str() {
            "--checkouts" => options.checkouts = value("--checkouts")?.parse()?,
            "--seconds" => options.seconds = value("--seconds")?.parse()?,
            "--seed" => options.seed = value("--seed")?.parse()?,
            "--release" => options.release = true,
            "--no-build" => options.no_build = true,
            other => bail!(
                "chaos [--checkouts N] [--seconds S] [--seed X] [--release] [--no-build]; not {other}"
            ),
        }
    }
    ensure!(options.checkouts > 0, "--checkouts must be at least 1");
    ensure!(options.seconds > 0, "--seconds must be at least 1");
    Ok(options)
}

/// Builds the merchant backend, then runs the chaos.
pub fn run_chaos(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    let profile = if options.release { "release" } else { "debug" };
    let binary = target_dir(root).join(profile).join("mobilepay-merchant");
    if !options.no_build {
        let mut build = cargo();
        build.args(["build", "--package", "mobilepay-merchant"]);
        if options.release {
            build.arg("--release");
        }
        run(&mut build)?;
    }
    ensure!(
        binary.exists(),
        "no merchant backend at {} (run without --no-build)",
        binary.display()
    );
    let work = target_dir(root).join("chaos");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let result = tokio::runtime::Runtime::new()?.block_on(chaos(&binary, &work, &options));
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("chaos: the servers' logs are kept in {}", work.display());
    }
    result
}

/// What happened, counted.
#[derive(Debug, Default)]
struct Counts {
    kills: AtomicU64,
    restarts: AtomicU64,
    deliveries: AtomicU64,
    delayed: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    refused: AtomicU64,
    stream_cuts: AtomicU64,
    reconnects: AtomicU64,
    shop_deliveries: AtomicU64,
    shop_duplicates: AtomicU64,
    shop_stale: AtomicU64,
    shop_refused: AtomicU64,
    shop_unavailable: AtomicU64,
    shop_lost_acks: AtomicU64,
    api_retries: AtomicU64,
    keys_abandoned: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// A random generator for one decision site: the run's seed mixed with what names the site, so
/// that a site draws the same choices in another run of the same seed whatever ran before it.
fn rng_for(seed: u64, site: impl Hash) -> StdRng {
    let mut hasher = DefaultHasher::new();
    seed.hash(&mut hasher);
    site.hash(&mut hasher);
    StdRng::seed_from_u64(hasher.finish())
}

async fn chaos(binary: &Path, work: &Path, options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    println!(
        "chaos: seed {} ({} checkouts, {} s of faults; repeat with --seed {})",
        options.seed, options.checkouts, options.seconds, options.seed
    );
    let counts = Arc::new(Counts::default());
    let postgres = crate::postgres::Postgres::start(work)?;
    let database_url = postgres.fresh_database("chaos")?;

    let (instances, ports) = Instances::new()?;
    let proxy = Proxy::start(ports.clone(), options.seed, Arc::clone(&counts)).await?;
    let sandbox = Sandbox::start(&format!("{}/webhooks/mobilepay", proxy.url)).await?;
    let instances = Arc::new(Instances {
        binary: binary.to_owned(),
        work: work.to_owned(),
        sandbox_url: sandbox.url.clone(),
        database_url,
        ..instances
    });
    // One after the other: the first one migrates the empty database.
    for i in 0..2 {
        instances.start(i).await?;
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?;
    let shop = Shop::start(Arc::clone(&counts), options.seed).await?;
    let api = Api {
        http: http.clone(),
        ports: ports.clone(),
        counts: Arc::clone(&counts),
    };
    let endpoint = api
        .call(
            reqwest::Method::POST,
            "/v1/webhook-endpoints",
            Some(json!({ "url": shop.url, "events": ["*"] })),
            None,
            &mut rng_for(options.seed, "endpoint"),
        )
        .await?;
    let secret = endpoint["secret"]
        .as_str()
        .context("the endpoint's secret")?;
    shop.set_secret(secret)?;

    // The faults: kills and restarts until the checkouts are done (or the time is up).
    let stop_faults = Arc::new(AtomicBool::new(false));
    let killer = tokio::spawn(kill_at_random(
        Arc::clone(&instances),
        options.seed,
        Arc::clone(&stop_faults),
        Arc::clone(&counts),
    ));

    // The checkouts, started evenly over most of the time given, at most 64 at once.
    let spacing = Duration::from_secs(options.seconds).mul_f64(0.75) / options.checkouts as u32;
    let ctx = Arc::new(Ctx {
        api,
        sandbox_url: sandbox.url.clone(),
        seed: options.seed,
    });
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    let hard_stop = started + Duration::from_secs(options.seconds) + CHECKOUT_DEADLINE;
    for n in 0..options.checkouts {
        let permit = Arc::clone(&limit).acquire_owned().await?;
        let ctx = Arc::clone(&ctx);
        tasks.spawn(async move {
            let result = tokio::time::timeout(CHECKOUT_DEADLINE, checkout(&ctx, n)).await;
            drop(permit);
            match result {
                Ok(result) => result.with_context(|| format!("checkout #{n}")),
                Err(_) => Err(anyhow::anyhow!(
                    "checkout #{n} did not end within {CHECKOUT_DEADLINE:?}"
                )),
            }
        });
        tokio::time::sleep(spacing).await;
        ensure!(Instant::now() < hard_stop, "the run took too long");
    }
    let mut runs = Vec::with_capacity(options.checkouts);
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done? {
            Ok(run) => runs.push(run),
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    stop_faults.store(true, Ordering::Relaxed);
    killer.await??;
    for i in 0..2 {
        instances.ensure_running(i).await?;
    }
    let faults_seconds = started.elapsed().as_secs_f64();
    if !failures.is_empty() {
        failures.truncate(10);
        bail!(
            "{} checkouts could not be made or followed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
    runs.sort_by_key(|r| r.n);

    let report = check(&ctx, &sandbox, &shop, &runs).await;
    instances.stop_all().await;
    drop(postgres);
    let report = report?;
    let elapsed = started.elapsed().as_secs_f64();
    print_counts(&counts, &runs, &report, faults_seconds, elapsed);
    ensure!(
        report.problems.is_empty(),
        "chaos: {} problems (seed {}):\n  {}",
        report.problems.len(),
        options.seed,
        report
            .problems
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    println!("chaos: every check passed");
    Ok(())
}

/// What every checkout task shares.
struct Ctx {
    api: Api,
    sandbox_url: String,
    seed: u64,
}

/// One checkout as it went: its attempts, each a session, what the shopper chose and what its
/// follower saw.
#[derive(Debug)]
struct CheckoutRun {
    n: usize,
    id: String,
    attempts: Vec<Attempt>,
}

#[derive(Debug)]
struct Attempt {
    payment_id: String,
    outcome: &'static str,
    seen: Seen,
}

/// What one follower saw of its session's stream.
#[derive(Debug, Default)]
struct Seen {
    /// (SSE id, status), in the order received across every connection.
    events: Vec<(i64, String)>,
    /// What was wrong with the stream itself (an id out of order, a status after a final one).
    violations: Vec<String>,
}

async fn checkout(ctx: &Ctx, n: usize) -> anyhow::Result<CheckoutRun> {
    let mut rng = rng_for(ctx.seed, ("checkout", n));
    let reference = format!("chaos-{n}");
    let amount: u64 = rng.random_range(100..=50_000);
    // The key makes a retry after a killed instance safe: the same checkout comes back. A key
    // whose first request died with its instance stays claimed for the lease (60 s); the shop
    // then takes a new key, which the reference makes as safe (the same reference while its
    // checkout is open answers that checkout, which the end checks count).
    let mut key = 0;
    let created = loop {
        let created = ctx
            .api
            .call(
                reqwest::Method::POST,
                "/v1/checkouts",
                Some(json!({
                    "amount": amount,
                    "description": format!("Chaos order {n}"),
                    "reference": reference,
                })),
                Some(&format!("chaos-create-{n}-{key}")),
                &mut rng,
            )
            .await;
        match created {
            Err(error) if error.is::<KeyInProgress>() => {
                bump(&ctx.api.counts.keys_abandoned);
                key += 1;
            }
            other => break other?,
        }
    };
    let id = created["id"].as_str().context("a checkout id")?.to_owned();
    // A shopper whose payment fails tries once more, half of the time.
    let tries = if rng.random_bool(0.5) { 2 } else { 1 };
    let mut attempts = Vec::new();
    for _ in 0..tries {
        let session = ctx
            .api
            .call(
                reqwest::Method::POST,
                "/checkout/sessions",
                Some(json!({ "order_id": id })),
                None,
                &mut rng,
            )
            .await?;
        let payment_id = session["payment_id"]
            .as_str()
            .context("payment_id")?
            .to_owned();
        let events_url = session["events_url"].as_str().context("events_url")?;
        // The capability and path, to be asked of either instance.
        let events_path = events_url
            .find("/checkout/")
            .map(|at| events_url[at..].to_owned())
            .context("an events_url of /checkout/…")?;
        let follower = tokio::spawn(follow(
            ctx.api.clone(),
            events_path,
            rng_for(ctx.seed, ("follower", n, attempts.len())),
        ));
        // The shopper scans, then the phone pays or fails.
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..1_500))).await;
        let outcome = match rng.random_range(0..100) {
            0..65 => "success",
            65..80 => "insufficient_funds",
            80..90 => "declined",
            _ => "cancelled",
        };
        let paid = ctx
            .api
            .http
            .post(format!(
                "{}/sandbox/v1/payments/{payment_id}/pay",
                ctx.sandbox_url
            ))
            .json(&json!({ "outcome": outcome }))
            .send()
            .await?;
        ensure!(
            paid.status() == StatusCode::OK,
            "the sandbox did not settle {payment_id}: {} {}",
            paid.status(),
            paid.text().await.unwrap_or_default()
        );
        let seen = follower.await?;
        attempts.push(Attempt {
            payment_id,
            outcome,
            seen,
        });
        let failed_as_it_should = attempts
            .last()
            .and_then(|a| a.seen.events.last())
            .is_some_and(|(_, status)| status == "failed");
        // The shopper tries again only once the widget shows the failure.
        if outcome == "success" || !failed_as_it_should {
            break;
        }
    }
    Ok(CheckoutRun { n, id, attempts })
}

/// Follows one session's event stream until a final status (or [`CHECKOUT_DEADLINE`]): each
/// connection to a random instance, cut at random, resumed with `Last-Event-ID` as a browser's
/// `EventSource` does (sooner than a browser's 2 s, to keep the run short).
async fn follow(api: Api, path: String, mut rng: StdRng) -> Seen {
    let mut seen = Seen::default();
    let deadline = Instant::now() + CHECKOUT_DEADLINE;
    let mut first = true;
    while Instant::now() < deadline {
        if !first {
            bump(&api.counts.reconnects);
            tokio::time::sleep(Duration::from_millis(rng.random_range(20..300))).await;
        }
        first = false;
        let port = api.ports[rng.random_range(0..api.ports.len())];
        let mut request = api
            .http
            .get(format!("http://127.0.0.1:{port}{path}"))
            .header("accept", "text/event-stream")
            // The stream's own timeout: none (the client's 20 s would cut an idle one).
            .timeout(CHECKOUT_DEADLINE);
        if let Some((id, _)) = seen.events.last() {
            request = request.header("last-event-id", id.to_string());
        }
        let Ok(mut response) = request.send().await else {
            continue;
        };
        if response.status() == StatusCode::NO_CONTENT {
            // Nothing after our last id, which must then have been final.
            if !seen.events.last().is_some_and(|(_, s)| is_final(s)) {
                seen.violations
                    .push("answered 204 before a final status".to_owned());
            }
            return seen;
        }
        if response.status() != StatusCode::OK {
            continue;
        }
        // A third of the connections are cut after a random while.
        let cut_at = rng
            .random_bool(0.33)
            .then(|| Instant::now() + Duration::from_millis(rng.random_range(10..1_500)));
        let mut buffer = Vec::new();
        loop {
            let chunk = match cut_at {
                Some(at) => match tokio::time::timeout_at(at.into(), response.chunk()).await {
                    Ok(chunk) => chunk,
                    Err(_) => {
                        bump(&api.counts.stream_cuts);
                        break;
                    }
                },
                None => response.chunk().await,
            };
            let Ok(Some(chunk)) = chunk else { break };
            buffer.extend_from_slice(&chunk);
            while let Some(end) = find(&buffer, b"\n\n") {
                let block: Vec<u8> = buffer.drain(..end + 2).collect();
                if let Some((id, status)) = parse_event(&block) {
                    if let Some((last_id, last_status)) = seen.events.last() {
                        if id <= *last_id {
                            seen.violations
                                .push(format!("event id {id} after {last_id}"));
                        }
                        if is_final(last_status) {
                            seen.violations
                                .push(format!("{status} after the final {last_status}"));
                        }
                    }
                    let done = is_final(&status);
                    seen.events.push((id, status));
                    if done {
                        return seen;
                    }
                }
            }
        }
    }
    seen.violations
        .push(format!("no final status within {CHECKOUT_DEADLINE:?}"));
    seen
}

fn is_final(status: &str) -> bool {
    status != "awaiting_payment"
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A `status` event's id and status; `None` for a comment (the keep-alive) or a block without
/// data.
fn parse_event(block: &[u8]) -> Option<(i64, String)> {
    let text = std::str::from_utf8(block).ok()?;
    let mut id = None;
    let mut data = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("id:") {
            id = value.trim().parse::<i64>().ok();
        } else if let Some(value) = line.strip_prefix("data:") {
            data = serde_json::from_str::<Value>(value.trim()).ok();
        }
    }
    let status = data?.get("status")?.as_str()?.to_owned();
    Some((id?, status))
}

/// A key still claimed by a request that a killed instance was running.
#[derive(Debug)]
struct KeyInProgress;

impl std::fmt::Display for KeyInProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the Idempotency-Key is still claimed (IDEMPOTENCY_KEY_IN_PROGRESS)")
    }
}

impl std::error::Error for KeyInProgress {}

/// Calls the merchant backends as a shop's server does: on a random instance, retried on
/// another after a connection error, a `5xx` or a `429`.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    ports: Vec<u16>,
    counts: Arc<Counts>,
}

impl Api {
    /// A `GET` of `path`, which has no body and is safe to repeat without a key.
    async fn get(&self, path: &str, rng: &mut StdRng) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None, None, rng).await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
        rng: &mut StdRng,
    ) -> anyhow::Result<Value> {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(30);
        let mut last = String::new();
        while Instant::now() < deadline {
            let port = self.ports[rng.random_range(0..self.ports.len())];
            let mut request = self
                .http
                .request(method.clone(), format!("http://127.0.0.1:{port}{path}"));
            if path.starts_with("/v1/") {
                request = request.bearer_auth(API_KEY);
            }
            if let Some(key) = idempotency_key {
                request = request.header("idempotency-key", key);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    return Ok(response.json().await?);
                }
                Ok(response)
                    if response.status().is_server_error()
                        || response.status() == StatusCode::TOO_MANY_REQUESTS
                        || response.status() == StatusCode::CONFLICT
                            && idempotency_key.is_some() =>
                {
                    last = format!(
                        "{} {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    );
                    // A 409 with a key: the same request is still in flight elsewhere, or was
                    // in a killed instance (then until its lease lapses).
                    if last.contains("IDEMPOTENCY_KEY_IN_PROGRESS")
                        && started.elapsed() > Duration::from_secs(3)
                    {
                        return Err(KeyInProgress.into());
                    }
                }
                Ok(response) => bail!(
                    "{method} {path} answered {} {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                ),
                Err(error) => last = error.to_string(),
            }
            bump(&self.counts.api_retries);
            tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
        }
        bail!("{method} {path} did not succeed within 30 s; last: {last}")
    }
}

/// The two merchant backends: their ports are fixed for the run, their processes come and go.
struct Instances {
    binary: PathBuf,
    work: PathBuf,
    sandbox_url: String,
    database_url: String,
    ports: Vec<u16>,
    children: Vec<tokio::sync::Mutex<Option<tokio::process::Child>>>,
    alive: Vec<AtomicBool>,
}

impl Instances {
    fn new() -> anyhow::Result<(Instances, Vec<u16>)> {
        let ports = vec![free_port()?, free_port()?];
        Ok((
            Instances {
                binary: PathBuf::new(),
                work: PathBuf::new(),
                sandbox_url: String::new(),
                database_url: String::new(),
                ports: ports.clone(),
                children: (0..2).map(|_| tokio::sync::Mutex::new(None)).collect(),
                alive: (0..2).map(|_| AtomicBool::new(false)).collect(),
            },
            ports,
        ))
    }

    /// Starts instance `i` and waits until it answers.
    async fn start(&self, i: usize) -> anyhow::Result<()> {
        let port = self.ports[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.work.join(format!("merchant-{i}.log")))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = backend::command(
            &self.binary,
            addr,
            &self.sandbox_url,
            &self.database_url,
            API_KEY,
        )
        .env("RECONCILE_EVERY_SECS", "10")
        // A delivery claimed by a killed instance is taken up again 30 s after this.
        .env("WEBHOOK_TIMEOUT_SECS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting the merchant backend")?;
        *self.children[i].lock().await = Some(child);
        backend::wait_healthy(&reqwest::Client::new(), &format!("http://{addr}"))
            .await
            .with_context(|| {
                format!(
                    "merchant instance {i} did not start (its log: {})",
                    self.work.join(format!("merchant-{i}.log")).display()
                )
            })?;
        self.alive[i].store(true, Ordering::Relaxed);
        Ok(())
    }

    /// `SIGKILL` (tokio's `kill` on Unix), then waits for the process to be gone.
    async fn kill(&self, i: usize) -> anyhow::Result<()> {
        self.alive[i].store(false, Ordering::Relaxed);
        if let Some(mut child) = self.children[i].lock().await.take() {
            child.kill().await?;
        }
        Ok(())
    }

    async fn ensure_running(&self, i: usize) -> anyhow::Result<()> {
        if !self.alive[i].load(Ordering::Relaxed) {
            self.start(i).await?;
        }
        Ok(())
    }

    async fn stop_all(&self) {
        for i in 0..2 {
            let _ = self.kill(i).await;
        }
    }
}

/// Kills an instance every 1 to 4 s while the other one is up, and starts it again 0.1 to
/// 1.5 s later.
async fn kill_at_random(
    instances: Arc<Instances>,
    seed: u64,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) -> anyhow::Result<()> {
    let mut rng = rng_for(seed, "kills");
    while !stop.load(Ordering::Relaxed) {
        let wait = Duration::from_millis(rng.random_range(1_000..4_000));
        let until = Instant::now() + wait;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let i = rng.random_range(0..2);
        if !instances.alive[1 - i].load(Ordering::Relaxed) {
            continue;
        }
        instances.kill(i).await?;
        bump(&counts.kills);
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..1_500))).await;
        instances.start(i).await?;
        bump(&counts.restarts);
    }
    Ok(())
}

/// Between the sandbox and the merchant backends: each webhook attempt is delayed or not,
/// forwarded to a random instance, and sometimes duplicated.
struct Proxy {
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

struct ProxyState {
    http: reqwest::Client,
    ports: Vec<u16>,
    seed: u64,
    counts: Arc<Counts>,
    arrivals: AtomicU64,
    /// The latest arrival number forwarded so far: forwarding an earlier one is a reorder.
    forwarded_max: AtomicU64,
    /// Attempts seen per webhook-id: a second attempt is never refused, so that the sandbox's
    /// next retry (5 minutes later) is not needed.
    attempts: Mutex<HashMap<String, u32>>,
}

impl Proxy {
    async fn start(ports: Vec<u16>, seed: u64, counts: Arc<Counts>) -> anyhow::Result<Proxy> {
        let state = Arc::new(ProxyState {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            ports,
            seed,
            counts,
            arrivals: AtomicU64::new(0),
            forwarded_max: AtomicU64::new(0),
            attempts: Mutex::new(HashMap::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new()
            .fallback(proxy_webhook)
            .with_state(state);
        let stop = serve(listener, app);
        Ok(Proxy { url, _stop: stop })
    }
}

/// Serves `app` on `listener` in a task of its own, until the returned sender is dropped.
fn serve(listener: tokio::net::TcpListener, app: axum::Router) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    stop
}

async fn proxy_webhook(
    State(proxy): State<Arc<ProxyState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let arrival = proxy.arrivals.fetch_add(1, Ordering::Relaxed) + 1;
    bump(&proxy.counts.deliveries);
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let attempt = {
        let mut attempts = proxy.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let n = attempts.entry(id.clone()).or_default();
        *n += 1;
        *n
    };
    // The payment the webhook is about names the decision, not the random webhook-id.
    let subject = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            let data = v.get("data")?;
            data.get("payment_id")
                .or_else(|| data.get("transaction_id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let mut rng = rng_for(proxy.seed, ("webhook", subject, attempt));
    if rng.random_bool(0.3) {
        bump(&proxy.counts.delayed);
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..3_000))).await;
    }
    if proxy.forwarded_max.fetch_max(arrival, Ordering::Relaxed) > arrival {
        bump(&proxy.counts.reordered);
    }
    let first = rng.random_range(0..proxy.ports.len());
    let mut status = forward(&proxy, proxy.ports[first], &headers, &body).await;
    if status.is_none() && attempt > 1 {
        // Not refused twice: the other instance, then either again until one is back.
        let until = Instant::now() + Duration::from_secs(6);
        let mut port = proxy.ports[1 - first];
        while status.is_none() && Instant::now() < until {
            status = forward(&proxy, port, &headers, &body).await;
            port = proxy.ports[rng.random_range(0..proxy.ports.len())];
            if status.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    if rng.random_bool(0.2) {
        bump(&proxy.counts.duplicated);
        let (proxy, headers, body) = (Arc::clone(&proxy), headers.clone(), body.clone());
        let later = Duration::from_millis(rng.random_range(0..2_000));
        let port = proxy.ports[rng.random_range(0..proxy.ports.len())];
        tokio::spawn(async move {
            tokio::time::sleep(later).await;
            let _ = forward(&proxy, port, &headers, &body).await;
        });
    }
    match status {
        Some(status) => status,
        None => {
            // Sent to a killed instance: the sandbox retries in 5 s.
            bump(&proxy.counts.refused);
            StatusCode::BAD_GATEWAY
        }
    }
}

/// POSTs the webhook as it came to the instance on `port`: its status, or `None` when nothing
/// answered (a killed instance).
async fn forward(
    proxy: &ProxyState,
    port: u16,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<StatusCode> {
    let mut request = proxy
        .http
        .post(format!("http://127.0.0.1:{port}/webhooks/mobilepay"))
        .body(body.clone());
    for name in [
        "content-type",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.ok()?;
    StatusCode::from_u16(response.status().as_u16()).ok()
}

/// The shop's webhook receiver.
struct Shop {
    url: String,
    state: Arc<ShopState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Default)]
struct ShopState {
    verifier: Mutex<Option<standardwebhooks::Webhook>>,
    counts: Arc<Counts>,
    book: Mutex<Book>,
    seed: u64,
}

/// What the shop knows: each event applied, and per checkout the latest sequence applied.
#[derive(Debug, Default)]
struct Book {
    /// Event id → (checkout id, sequence, type, times applied).
    applied: HashMap<String, (String, i64, String, u32)>,
    /// Checkout id → (sequence, type) of the latest event applied.
    latest: HashMap<String, (i64, String)>,
    /// Event ids whose bodies differed between two deliveries.
    inconsistent: Vec<String>,
    bodies: HashMap<String, Bytes>,
    /// Every event id that arrived, applied or not.
    arrived: HashSet<String>,
}

impl Shop {
    async fn start(counts: Arc<Counts>, seed: u64) -> anyhow::Result<Shop> {
        let state = Arc::new(ShopState {
            counts,
            seed,
            ..ShopState::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        // `localhost`: the endpoint's URL must name a host, not an IPv4 address.
        let url = format!(
            "http://localhost:{}/shop/webhooks",
            listener.local_addr()?.port()
        );
        let app = axum::Router::new()
            .route("/shop/webhooks", axum::routing::post(shop_receive))
            .with_state(Arc::clone(&state));
        let stop = serve(listener, app);
        Ok(Shop {
            url,
            state,
            _stop: stop,
        })
    }

    fn set_secret(&self, secret: &str) -> anyhow::Result<()> {
        let verifier = standardwebhooks::Webhook::new(secret)
            .map_err(|e| anyhow::anyhow!("the endpoint's secret: {e}"))?;
        *self
            .state
            .verifier
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(verifier);
        Ok(())
    }
}

async fn shop_receive(
    State(shop): State<Arc<ShopState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    bump(&shop.counts.shop_deliveries);
    let verified = shop
        .verifier
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|v| v.verify(&body, &headers).is_ok());
    if !verified {
        bump(&shop.counts.shop_refused);
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let (Some(id), Some(kind), Some(sequence), Some(checkout)) = (
        event["id"].as_str(),
        event["type"].as_str(),
        event["sequence"].as_i64(),
        event["data"]["id"].as_str(),
    ) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut book = shop.book.lock().unwrap_or_else(|e| e.into_inner());
    let book = &mut *book;
    let first_delivery = book.arrived.insert(id.to_owned());
    // Flaky on first deliveries only, so that one retry (10 s later) is all it costs.
    let mut rng = rng_for(shop.seed, ("shop", checkout, sequence));
    let flake = first_delivery.then(|| rng.random_range(0..100));
    if flake.is_some_and(|f| f < 8) {
        bump(&shop.counts.shop_unavailable);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let lost_ack = flake.is_some_and(|f| f < 16);
    // The same event delivered again must be the same event.
    match book.bodies.get(id) {
        Some(earlier) => {
            bump(&shop.counts.shop_duplicates);
            let same = serde_json::from_slice::<Value>(earlier).ok() == Some(event.clone());
            if !same {
                book.inconsistent.push(id.to_owned());
            }
            return StatusCode::OK;
        }
        None => {
            book.bodies.insert(id.to_owned(), body.clone());
        }
    }
    // Applied once by id; an event older than what was applied for its checkout changes
    // nothing of its state (it is still recorded as applied, once).
    let latest = book.latest.get(checkout).map_or(0, |(seq, _)| *seq);
    if sequence > latest {
        book.latest
            .insert(checkout.to_owned(), (sequence, kind.to_owned()));
    } else {
        bump(&shop.counts.shop_stale);
    }
    book.applied
        .entry(id.to_owned())
        .or_insert_with(|| (checkout.to_owned(), sequence, kind.to_owned(), 0))
        .3 += 1;
    if lost_ack {
        // Applied, but the answer is lost: the backend must send it again.
        bump(&shop.counts.shop_lost_acks);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

/// The sandbox, in this process, so that its database can be read for the truth.
struct Sandbox {
    url: String,
    state: Arc<mobilepay_sandbox::AppState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Sandbox {
    async fn start(webhook_url: &str) -> anyhow::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = mobilepay_sandbox::state(
            &listener,
            mobilepay_sandbox::Config {
                webhook_url: Some(webhook_url.to_owned()),
                ..mobilepay_sandbox::Config::default()
            },
        )
        .await?;
        let worker = tokio::spawn(mobilepay_sandbox::webhooks::worker(Arc::clone(&state)));
        let app = mobilepay_sandbox::router(Arc::clone(&state))
            .into_make_service_with_connect_info::<SocketAddr>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            worker.abort();
            served
        });
        Ok(Sandbox {
            url,
            state,
            _stop: stop,
        })
    }
}

/// What the checks found.
#[derive(Debug, Default)]
struct Report {
    problems: Vec<String>,
    right: usize,
    wrong: usize,
    paid: usize,
    failed_attempts: usize,
    events: usize,
}

/// The end checks: the sandbox's record is the truth.
async fn check(
    ctx: &Ctx,
    sandbox: &Sandbox,
    shop: &Shop,
    runs: &[CheckoutRun],
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let db = &sandbox.state.db;
    let truth: HashMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT id, status FROM payments")
            .fetch_all(db)
            .await?
            .into_iter()
            .collect();
    // Every notification the merchant should send: one per settled attempt.
    let expected: usize = runs.iter().map(|r| r.attempts.len()).sum();
    let drain_until = Instant::now() + DRAIN_DEADLINE;
    loop {
        let received = shop
            .state
            .book
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .applied
            .len();
        if received >= expected || Instant::now() > drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let book = std::mem::take(&mut *shop.state.book.lock().unwrap_or_else(|e| e.into_inner()));
    for id in &book.inconsistent {
        report.problems.push(format!(
            "event {id} reached the shop with two different bodies"
        ));
    }
    let mut rng = rng_for(ctx.seed, "checks");
    for run in runs {
        let mut right = true;
        let mut problem = |text: String, report: &mut Report| {
            right = false;
            report
                .problems
                .push(format!("{} (#{}): {text}", run.id, run.n));
        };
        let mut paid_attempts = 0;
        for attempt in &run.attempts {
            let Some(status) = truth.get(&attempt.payment_id) else {
                problem(
                    format!("payment {} unknown to the sandbox", attempt.payment_id),
                    &mut report,
                );
                continue;
            };
            let true_status = match status.as_str() {
                "received" => "paid",
                "failed" => "failed",
                other => other,
            };
            if true_status == "paid" {
                paid_attempts += 1;
            } else {
                report.failed_attempts += 1;
            }
            let expected_outcome = if attempt.outcome == "success" {
                "paid"
            } else {
                "failed"
            };
            if true_status != expected_outcome {
                problem(
                    format!(
                        "the sandbox holds {status} for a {} payment",
                        attempt.outcome
                    ),
                    &mut report,
                );
            }
            for violation in &attempt.seen.violations {
                problem(
                    format!("stream of {}: {violation}", attempt.payment_id),
                    &mut report,
                );
            }
            match attempt.seen.events.last() {
                Some((_, seen)) if seen == true_status => {}
                other => problem(
                    format!(
                        "the follower of {} ended on {:?}, the truth is {true_status}",
                        attempt.payment_id,
                        other.map(|(_, s)| s)
                    ),
                    &mut report,
                ),
            }
        }
        if paid_attempts > 1 {
            problem(format!("paid {paid_attempts} times"), &mut report);
        }
        // The merchant's own record of the checkout.
        let checkout = ctx
            .api
            .get(&format!("/v1/checkouts/{}", run.id), &mut rng)
            .await?;
        let same_reference = ctx
            .api
            .get(
                &format!("/v1/checkouts?reference=chaos-{}", run.n),
                &mut rng,
            )
            .await?;
        let made = same_reference["data"].as_array().map_or(0, Vec::len);
        if made != 1 {
            problem(
                format!("{made} checkouts of reference chaos-{}", run.n),
                &mut report,
            );
        }
        let want = if paid_attempts > 0 { "paid" } else { "open" };
        if checkout["status"] != want {
            problem(
                format!(
                    "GET /v1/checkouts says {}, the truth is {want}",
                    checkout["status"]
                ),
                &mut report,
            );
        }
        // The merchant's events of the checkout, each applied by the shop exactly once.
        let events = ctx
            .api
            .get(
                &format!("/v1/events?checkout_id={}&limit=100", run.id),
                &mut rng,
            )
            .await?;
        let events = events["data"].as_array().cloned().unwrap_or_default();
        report.events += events.len();
        let mut types = BTreeMap::<String, usize>::new();
        for event in &events {
            let id = event["id"].as_str().unwrap_or_default();
            *types
                .entry(event["type"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
            match book.applied.get(id) {
                None => problem(format!("event {id} never reached the shop"), &mut report),
                Some((_, _, _, 1)) => {}
                Some((_, _, _, times)) => {
                    problem(format!("event {id} applied {times} times"), &mut report);
                }
            }
        }
        let paid_events = types.get("checkout.paid").copied().unwrap_or(0);
        let failed_events = types.get("checkout.payment_failed").copied().unwrap_or(0);
        let failed_attempts = run.attempts.len() - paid_attempts;
        if paid_events != paid_attempts || failed_events != failed_attempts {
            problem(
                format!(
                    "events {types:?} for {paid_attempts} paid and {failed_attempts} failed attempts"
                ),
                &mut report,
            );
        }
        // The shop's own state of the checkout: its latest event says the truth.
        let shop_latest = book.latest.get(&run.id).map(|(_, kind)| kind.as_str());
        let want_latest = if paid_attempts > 0 {
            "checkout.paid"
        } else {
            "checkout.payment_failed"
        };
        if shop_latest != Some(want_latest) {
            problem(
                format!("the shop's latest event is {shop_latest:?}, the truth is {want_latest}"),
                &mut report,
            );
        }
        if right {
            report.right += 1;
        } else {
            report.wrong += 1;
        }
        report.paid += usize::from(paid_attempts > 0);
    }
    // No checkout paid twice, by the sandbox's own record: one received payment per order
    // (the description names the order), whatever payments the backends made.
    let twice: Vec<(String, i64)> = sqlx::query_as(
        "SELECT description, COUNT(*) FROM payments WHERE status = 'received'
         GROUP BY description HAVING COUNT(*) > 1",
    )
    .fetch_all(db)
    .await?;
    for (description, count) in twice {
        report
            .problems
            .push(format!("{description}: {count} payments received"));
    }
    ledger_balances(db, &mut report).await?;
    Ok(report)
}

/// The sandbox's double-entry ledger: every transaction's entries sum to zero, and the
/// merchant's wallet holds its opening balance plus exactly the payments received.
async fn ledger_balances(db: &sqlx::SqlitePool, report: &mut Report) -> anyhow::Result<()> {
    let unbalanced: Vec<(String, i64)> = sqlx::query_as(
        "SELECT transaction_id, SUM(amount) FROM ledger_entries GROUP BY transaction_id
         HAVING SUM(amount) <> 0",
    )
    .fetch_all(db)
    .await?;
    for (id, sum) in unbalanced {
        report
            .problems
            .push(format!("ledger: transaction {id} sums to {sum}"));
    }
    let account = mobilepay_sandbox::accounts::DEMO_ACCOUNT_ID;
    let wallet: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE ledger_account = ?",
    )
    .bind(mobilepay_sandbox::ledger::wallet(account))
    .fetch_one(db)
    .await?;
    let received: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount), 0) FROM payments WHERE status = 'received' AND account_id = ?",
    )
    .bind(account)
    .fetch_one(db)
    .await?;
    let opening = mobilepay_sandbox::accounts::DEMO_OPENING_BALANCE;
    if wallet != opening + received {
        report.problems.push(format!(
            "ledger: the merchant's wallet holds {wallet}, not {opening} + {received} received"
        ));
    }
    let completed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM transactions WHERE kind = 'qr_payment' AND status = 'completed'",
    )
    .fetch_one(db)
    .await?;
    let received_count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE status = 'received'")
            .fetch_one(db)
            .await?;
    if completed != received_count {
        report.problems.push(format!(
            "ledger: {completed} completed QR transactions for {received_count} received payments"
        ));
    }
    Ok(())
}

fn print_counts(
    counts: &Counts,
    runs: &[CheckoutRun],
    report: &Report,
    faults_seconds: f64,
    elapsed: f64,
) {
    let attempts: usize = runs.iter().map(|r| r.attempts.len()).sum();
    println!("chaos: counts");
    println!("  checkouts                      {}", runs.len());
    println!(
        "  payment attempts               {attempts} ({} paid checkouts, {} failed attempts)",
        report.paid, report.failed_attempts
    );
    println!("  kills (SIGKILL)                {}", get(&counts.kills));
    println!("  restarts                       {}", get(&counts.restarts));
    println!(
        "  sandbox webhook attempts       {}",
        get(&counts.deliveries)
    );
    println!("    delayed                      {}", get(&counts.delayed));
    println!(
        "    duplicated                   {}",
        get(&counts.duplicated)
    );
    println!(
        "    reordered                    {}",
        get(&counts.reordered)
    );
    println!("    refused (killed instance)    {}", get(&counts.refused));
    println!(
        "  stream cuts                    {}",
        get(&counts.stream_cuts)
    );
    println!(
        "  reconnects                     {}",
        get(&counts.reconnects)
    );
    println!(
        "  API calls retried              {}",
        get(&counts.api_retries)
    );
    println!(
        "  idempotency keys abandoned     {}",
        get(&counts.keys_abandoned)
    );
    println!("  merchant events                {}", report.events);
    println!(
        "  shop deliveries                {}",
        get(&counts.shop_deliveries)
    );
    println!(
        "    duplicates ignored           {}",
        get(&counts.shop_duplicates)
    );
    println!(
        "    older than applied           {}",
        get(&counts.shop_stale)
    );
    println!(
        "    answered 503 unread          {}",
        get(&counts.shop_unavailable)
    );
    println!(
        "    applied, answered 500        {}",
        get(&counts.shop_lost_acks)
    );
    println!(
        "    bad signatures               {}",
        get(&counts.shop_refused)
    );
    println!(
        "  final statuses right / wrong   {} / {}",
        report.right, report.wrong
    );
    println!("  elapsed                        {elapsed:.1} s ({faults_seconds:.1} s with faults)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_block_gives_its_id_and_status_and_a_keep_alive_gives_nothing() {
        let block = b"event: status\nid: 3\nretry: 2000\ndata: {\"status\":\"paid\",\"payment_id\":\"PAY1\"}\n\n";
        assert_eq!(parse_event(block), Some((3, "paid".to_owned())));
        assert_eq!(parse_event(b":\n\n"), None);
    }

    #[test]
    fn the_same_seed_draws_the_same_choices_at_a_site_and_another_site_others() {
        let draw = |site: &str| rng_for(7, site).random::<u64>();
        assert_eq!(draw("kills"), draw("kills"));
        assert_ne!(draw("kills"), draw("checks"));
    }
}
