//! `cargo xtask bench-streams [N]`: how many Server-Sent Event streams one merchant backend
//! holds, what an idle stream costs, and how fast a payment reaches all of them.
//!
//! The backend runs as its own process (the release binary, SQLite on a temporary file), so its
//! memory can be read from `/proc`; the sandbox runs in this process and delivers its webhooks
//! to it. N streams (default 10,000) follow 100 sessions; then every session is paid and each
//! stream's `paid` event is timed from the pay request. Loopback only, bounded in count and time.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::{cargo, run, target_dir};

const SESSIONS: usize = 100;
/// Streams opened at once while ramping up.
const RAMP: usize = 250;
const PATIENCE: Duration = Duration::from_secs(120);

pub fn run_bench(root: &Path, streams: usize) -> anyhow::Result<()> {
    run(cargo().args(["build", "--release", "--package", "mobilepay-merchant"]))?;
    let binary = target_dir(root).join("release/mobilepay-merchant");
    let limit = rlimit::increase_nofile_limit(u64::MAX).context("raising the open files limit")?;
    if (limit as usize) < streams + 1000 {
        bail!("this process may open {limit} files: too few for {streams} streams");
    }
    tokio::runtime::Runtime::new()?.block_on(bench(&binary, streams))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}

async fn bench(binary: &Path, streams: usize) -> anyhow::Result<()> {
    let port = free_port()?;
    let backend = format!("http://127.0.0.1:{port}");
    let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sandbox = format!("http://{}", sandbox_listener.local_addr()?);
    let (stop_sandbox, sandbox_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(
        sandbox_listener,
        mobilepay_sandbox::Config {
            webhook_url: Some(format!("{backend}/webhooks/mobilepay")),
            ..mobilepay_sandbox::Config::default()
        },
        async {
            let _ = sandbox_stopped.await;
        },
    ));
    let data = std::env::temp_dir().join(format!("mobilepay-bench-{port}"));
    std::fs::create_dir_all(&data)?;
    let mut child = tokio::process::Command::new(binary)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("MOBILEPAY_API_URL", &sandbox)
        .env(
            "MOBILEPAY_API_KEY",
            mobilepay_sandbox::accounts::DEMO_ENTERPRISE_KEY,
        )
        .env(
            "MOBILEPAY_MERCHANT_ID",
            mobilepay_sandbox::accounts::DEMO_MERCHANT_ID,
        )
        .env(
            "MOBILEPAY_WEBHOOK_SECRETS",
            mobilepay_sandbox::DEMO_WEBHOOK_SECRET,
        )
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", data.join("bench.sqlite3").display()),
        )
        .env("SESSIONS_PER_MINUTE", "100000")
        .env("MERCHANT_API_KEYS", BENCH_API_KEY)
        .env("RECONCILE_EVERY_SECS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the merchant backend")?;
    let pid = child.id().context("the backend's pid")?;
    let result = measure(&backend, &sandbox, pid, streams).await;
    let _ = child.kill().await;
    drop(stop_sandbox);
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// The merchant API key the benchmark's backend is configured with.
const BENCH_API_KEY: &str = "mk_test_bench_streams";

async fn measure(backend: &str, sandbox: &str, pid: u32, streams: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{backend}/healthz")).send().await.is_err() {
        if Instant::now() > deadline {
            bail!("the merchant backend did not start");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One checkout and session per 100 streams, as a shop makes them through the merchant API.
    let mut sessions = Vec::with_capacity(SESSIONS);
    for n in 0..SESSIONS {
        let checkout: serde_json::Value = http
            .post(format!("{backend}/v1/checkouts"))
            .bearer_auth(BENCH_API_KEY)
            .json(&serde_json::json!({
                "amount": 25_000, "description": "bench", "reference": format!("bench-{n}"),
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let order_id = checkout["id"].as_str().context("a checkout id")?.to_owned();
        let session: serde_json::Value = http
            .post(format!("{backend}/checkout/sessions"))
            .json(&serde_json::json!({ "order_id": order_id }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let events_url = session["events_url"].as_str().context("events_url")?;
        let path = events_url
            .strip_prefix(backend)
            .context("events_url on the backend")?
            .to_owned();
        let payment_id = session["payment_id"]
            .as_str()
            .context("payment_id")?
            .to_owned();
        sessions.push((path, payment_id));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid)?;

    // Open the streams; each reports when its first event arrived, then when `paid` did.
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<()>();
    let (paid_tx, mut paid_rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let addr = backend.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let mut opened = 0;
    for i in 0..streams {
        let session = i % SESSIONS;
        let path = sessions[session].0.clone();
        let (addr, opened_tx, paid_tx) = (addr.clone(), opened_tx.clone(), paid_tx.clone());
        tokio::spawn(async move {
            if let Err(error) = follow(&addr, &path, session, opened_tx, paid_tx).await {
                eprintln!("stream {i}: {error:#}");
            }
        });
        if (i + 1) % RAMP == 0 {
            while opened < i + 1 - RAMP / 2 {
                tokio::time::timeout(PATIENCE, opened_rx.recv())
                    .await
                    .context("streams opened in time")?;
                opened += 1;
            }
        }
    }
    while opened < streams {
        tokio::time::timeout(PATIENCE, opened_rx.recv())
            .await
            .context("streams opened in time")?;
        opened += 1;
    }
    let open_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = rss_kib(pid)?;

    // Pay every session; time each stream's `paid` from its session's pay request.
    let http = Arc::new(http);
    let mut paid_at = vec![Instant::now(); SESSIONS];
    for (i, (_, payment_id)) in sessions.iter().enumerate() {
        paid_at[i] = Instant::now();
        http.post(format!("{sandbox}/sandbox/v1/payments/{payment_id}/pay"))
            .json(&serde_json::json!({ "outcome": "success" }))
            .send()
            .await?
            .error_for_status()?;
    }
    let mut latencies = Vec::with_capacity(streams);
    while latencies.len() < streams {
        let (session, at) = tokio::time::timeout(PATIENCE, paid_rx.recv())
            .await
            .context("every stream heard of its payment in time")?
            .context("the streams ended early")?;
        latencies.push(at.duration_since(paid_at[session]));
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let per_stream = (rss_open.saturating_sub(rss_before) * 1024) as f64 / streams as f64;
    println!("\nMerchant backend stream capacity (one release process, SQLite, loopback)\n");
    println!("| figure | value |");
    println!("|---|---:|");
    println!("| streams held open at once | {streams} |");
    println!(
        "| time to open them ({RAMP} at a time) | {:.2} s |",
        open_time.as_secs_f64()
    );
    println!(
        "| backend memory before → with the streams open | {:.1} MiB → {:.1} MiB |",
        rss_before as f64 / 1024.0,
        rss_open as f64 / 1024.0
    );
    println!(
        "| memory per idle stream | {:.1} KiB |",
        per_stream / 1024.0
    );
    println!(
        "| pay request → `paid` on the stream, p50 | {:.1} ms |",
        pct(0.5).as_secs_f64() * 1000.0
    );
    println!("| p99 | {:.1} ms |", pct(0.99).as_secs_f64() * 1000.0);
    println!("| max | {:.1} ms |", pct(1.0).as_secs_f64() * 1000.0);
    println!(
        "\n({SESSIONS} sessions paid one after another, {} streams each; the client, the sandbox and the backend share this machine's cores.)",
        streams / SESSIONS
    );
    Ok(())
}

/// One browser's stream: request it, report the first event, then the `paid` one.
async fn follow(
    addr: &str,
    path: &str,
    session: usize,
    opened: mpsc::UnboundedSender<()>,
    paid: mpsc::UnboundedSender<(usize, Instant)>,
) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut lines = BufReader::new(stream).lines();
    let mut first = true;
    while let Some(line) = lines.next_line().await? {
        if let Some(data) = line.strip_prefix("data:") {
            if first {
                first = false;
                let _ = opened.send(());
            }
            if data.contains("\"paid\"") {
                let _ = paid.send((session, Instant::now()));
                return Ok(());
            }
        }
    }
    bail!("the stream ended before `paid`")
}
