//! `cargo xtask bench-streams [--against nchan] [--shape N/C]… [--rate R] [--runs K]
//! [--ingest W] [--postgres] [--instances I]`: Server-Sent Event fan-out of the merchant
//! backend, side by side with nginx + nchan, driven by one load generator in one run — or, with
//! `--instances I` (PostgreSQL only, the backend alone), I backends on one database, each
//! followed by a load generator process of its own ([`measure_instances`]).
//!
//! For each run, both servers start fresh (the backend: its release binary on SQLite, or on a
//! PostgreSQL of the bench's own; nginx: the config in `xtask/nchan/`, its pid, log and temp
//! folders under `target/bench-streams/`). For each shape, N streams follow C channels —
//! sessions for the backend, nchan channels for nginx — then every channel gets its final
//! message at a steady R per second: for nchan a POST to its publisher location, for the backend
//! a Standard-Webhooks-signed `payment.received` POSTed to `/webhooks/mobilepay` for a real open
//! session, which the backend verifies and commits before any stream sees `paid`.
//!
//! Measured per server: memory per idle stream (the RSS of its processes — nginx: master and
//! workers — before and after the streams connect), publish → delivery latency at every stream
//! (stamped with this process's monotonic clock just before the publish is written, and when the
//! event's bytes are read), and CPU seconds (`/proc/PID/stat`) from the first connection to the
//! last delivery; the load generator's own CPU beside them. The latency is also split: publish →
//! its `2xx`, and the backend's own wake-up → event histogram. Figures are medians over the
//! runs, with their range.
//!
//! `--ingest W` also measures durable webhook ingestion: W signed webhooks from concurrent
//! senders, each acknowledged only after its commit, on SQLite and (with `--postgres`, or when
//! the backend runs on it) PostgreSQL.
//!
//! Loopback only, bounded in count and time: every wait has a deadline. Streams bind source
//! addresses 127.0.0.1, 127.0.0.2, … (5,000 each, fresh ones for each measurement) so that ports
//! never run short.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;

use crate::backend::{self, date, free_port, machine};
use crate::postgres::Postgres;
use xtask::{cargo, run, target_dir};

/// Streams connecting at once while ramping up.
const RAMP: usize = 250;
/// The longest any phase may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(120);
/// Streams per loopback source address: well under the ~28,000 local ports of one address.
const PER_SOURCE: usize = 5_000;
/// What the final message carries, on both servers.
const MARKER: &[u8] = b"\"paid\"";
/// Concurrent senders of the ingestion measurement.
const SENDERS: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Shape {
    streams: usize,
    channels: usize,
}

#[derive(Debug)]
struct Options {
    nchan: bool,
    shapes: Vec<Shape>,
    rate: f64,
    runs: usize,
    ingest: usize,
    postgres: bool,
    /// Backend instances sharing one PostgreSQL database, each followed by a load generator
    /// process of its own.
    instances: usize,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        nchan: false,
        shapes: Vec::new(),
        rate: 200.0,
        runs: 3,
        ingest: 0,
        postgres: false,
        instances: 1,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} takes a value"));
        match arg.as_str() {
            "--against" => {
                let against = value()?;
                ensure!(against == "nchan", "--against knows only nchan");
                options.nchan = true;
            }
            "--shape" => {
                let shape = value()?;
                let (n, c) = shape
                    .split_once('/')
                    .context("--shape is STREAMS/CHANNELS, e.g. 10000/100")?;
                let shape = Shape {
                    streams: n.parse().context("streams")?,
                    channels: c.parse().context("channels")?,
                };
                ensure!(
                    shape.channels > 0 && shape.streams >= shape.channels,
                    "a shape needs at least one stream per channel"
                );
                options.shapes.push(shape);
            }
            "--rate" => options.rate = value()?.parse().context("--rate")?,
            "--runs" => options.runs = value()?.parse().context("--runs")?,
            "--ingest" => options.ingest = value()?.parse().context("--ingest")?,
            "--postgres" => options.postgres = true,
            "--instances" => options.instances = value()?.parse().context("--instances")?,
            other => bail!(
                "bench-streams [--against nchan] [--shape N/C]… [--rate R] [--runs K] [--ingest W] [--postgres] [--instances I]; not {other}"
            ),
        }
    }
    if options.shapes.is_empty() {
        options.shapes = vec![
            Shape {
                streams: 10_000,
                channels: 100,
            },
            Shape {
                streams: 10_000,
                channels: 1_000,
            },
        ];
    }
    ensure!(options.runs > 0 && options.rate > 0.0, "runs and rate > 0");
    ensure!(options.instances > 0, "--instances > 0");
    if options.instances > 1 {
        // Instances share their sessions through the database and its NOTIFY: SQLite has none.
        ensure!(options.postgres, "--instances needs --postgres");
        ensure!(
            !options.nchan,
            "--instances measures the backend alone (nchan's workers share one process tree)"
        );
    }
    Ok(options)
}

pub fn run_bench(root: &Path, args: &[String]) -> anyhow::Result<()> {
    if args.first().map(String::as_str) == Some(FOLLOWER) {
        return follower();
    }
    let options = parse(args)?;
    // An unoptimized load generator would be what is measured (`cargo xtask` builds this one
    // in release).
    ensure!(!cfg!(debug_assertions), "{}", crate::RELEASE_ONLY);
    run(cargo().args(["build", "--release", "--package", "mobilepay-merchant"]))?;
    let binary = target_dir(root).join("release/mobilepay-merchant");
    if options.nchan {
        ensure_nchan()?;
    }
    if options.postgres {
        xtask::ensure_postgres()?;
    }
    // With several instances, each load generator process holds one instance's streams.
    let most = options.shapes.iter().map(|s| s.streams).max().unwrap_or(0) / options.instances;
    let limit = rlimit::increase_nofile_limit(u64::MAX).context("raising the open files limit")?;
    if (limit as usize) < most + 500 {
        bail!("this process may open {limit} files: too few for {most} streams");
    }
    let work = target_dir(root).join("bench-streams");
    std::fs::create_dir_all(&work)?;
    let config = root.join("xtask/nchan/nginx.conf");
    tokio::runtime::Builder::new_multi_thread()
        // The load generator takes a core at most: the servers share the other with it.
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(bench(&binary, &config, &work, &options))
}

/// nginx with Debian's nchan module, installed when missing (as root).
fn ensure_nchan() -> anyhow::Result<()> {
    xtask::ensure_debian(
        Path::new(NCHAN_MODULE).exists() && Path::new("/usr/sbin/nginx").exists(),
        &["nginx-light", "libnginx-mod-nchan"],
        "--against nchan needs nginx and its nchan module: `sudo apt-get install nginx-light libnginx-mod-nchan`",
    )
}

const NCHAN_MODULE: &str = "/usr/lib/nginx/modules/ngx_nchan_module.so";

/// One server's figures for one shape in one run.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    kib_per_stream: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
    server_cpu_s: f64,
    client_cpu_s: f64,
    open_s: f64,
    /// Publish → its `2xx`: for the backend, verification, the batch writer's queue, the
    /// commit and the wake-up (the answer follows the wake-up).
    ack_p50_ms: f64,
    ack_p99_ms: f64,
    /// The backend's own `mobilepay_status_delivery_seconds` (wake-up → the stream yields the
    /// event: the shared database read and the lock of the session's streams), as the upper
    /// bound of the histogram's bucket; NaN for nchan.
    wake_p50_ms: f64,
    wake_p99_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    Nchan,
}

async fn bench(binary: &Path, config: &Path, work: &Path, options: &Options) -> anyhow::Result<()> {
    let sandbox = Sandbox::start().await?;
    let postgres = if options.postgres {
        Some(Postgres::start(work)?)
    } else {
        None
    };
    let machine = machine();
    println!("bench-streams on {machine}; {}", date());
    // results[shape][kind] = one Figures per run
    let kinds: Vec<Kind> = if options.nchan {
        vec![Kind::Ours, Kind::Nchan]
    } else {
        vec![Kind::Ours]
    };
    let mut results = vec![vec![Vec::new(); kinds.len()]; options.shapes.len()];
    let mut loads = Vec::new();
    // With several instances: each one's memory per idle stream, by measurement.
    let mut split_kib: Vec<(Shape, Vec<f64>)> = Vec::new();
    for run in 0..options.runs {
        for (s, shape) in options.shapes.iter().enumerate() {
            // Alternate who goes first, so that neither always meets a warmer machine.
            let mut order: Vec<usize> = (0..kinds.len()).collect();
            if run % 2 == 1 {
                order.reverse();
            }
            for k in order {
                loads.push(load());
                // Each server starts afresh for each measurement: memory freed by an earlier
                // one would be reused and hide what the streams cost.
                let figures = match kinds[k] {
                    Kind::Ours if options.instances > 1 => {
                        let pg = postgres.as_ref().context("instances run on PostgreSQL")?;
                        let database = pg.fresh_database(&format!("bench_split_{run}_{s}"))?;
                        let mut backends = Vec::new();
                        // One after the other: the first applies the migrations.
                        for _ in 0..options.instances {
                            backends.push(
                                Backend::start_on(binary, work, &sandbox, database.clone()).await?,
                            );
                        }
                        let measured = async {
                            let sessions =
                                open_sessions(&backends[0].http, &backends[0].url, shape.channels)
                                    .await?;
                            measure_instances(&backends, &sessions, *shape, options.rate).await
                        }
                        .await;
                        for backend in &mut backends {
                            backend.stop().await;
                        }
                        measured.map(|(figures, kib)| {
                            split_kib.push((*shape, kib));
                            figures
                        })
                    }
                    Kind::Ours => {
                        let mut backend =
                            Backend::start(binary, work, &sandbox, postgres.as_ref()).await?;
                        let measured = async {
                            let sessions =
                                open_sessions(&backend.http, &backend.url, shape.channels).await?;
                            let channels = backend.channels(&sessions)?;
                            let metrics = format!("{}/metrics", backend.url);
                            measure(
                                &backend.pids(),
                                backend.addr,
                                channels,
                                *shape,
                                options.rate,
                                Some(&metrics),
                            )
                            .await
                        }
                        .await;
                        backend.stop().await;
                        measured
                    }
                    Kind::Nchan => {
                        let mut nginx = Nginx::start(config, work).await?;
                        let measured = async {
                            let channels = nginx.channels(run, s, shape.channels)?;
                            measure(
                                &nginx.pids()?,
                                nginx.addr,
                                channels,
                                *shape,
                                options.rate,
                                None,
                            )
                            .await
                        }
                        .await;
                        nginx.stop().await;
                        measured
                    }
                }
                .with_context(|| format!("run {run}, {kind:?}, {shape:?}", kind = kinds[k]))?;
                eprintln!(
                    "run {run} {:?} {}/{}: {figures:?}",
                    kinds[k], shape.streams, shape.channels
                );
                results[s][k].push(figures);
            }
        }
    }
    loads.push(load());
    println!(
        "\nStream fan-out, {} run(s), medians (range); load averages during the runs: {}\n",
        options.runs,
        loads.join(", ")
    );
    print_table(&options.shapes, &kinds, &results, options.rate);
    if options.instances > 1 {
        println!(
            "\n{} instances on one PostgreSQL database, each followed by a load generator process of its own",
            options.instances
        );
        for (shape, kib) in &split_kib {
            let kib: Vec<String> = kib.iter().map(|k| format!("{k:.1}")).collect();
            println!(
                "- {} streams / {} channels: memory per idle stream by instance {} KiB",
                shape.streams,
                shape.channels,
                kib.join(", ")
            );
        }
    }
    if options.ingest > 0 {
        println!(
            "\nDurable webhook ingestion ({SENDERS} concurrent senders, each webhook committed before its 2xx)\n"
        );
        println!("| database | webhooks | per second | p50 | p99 |");
        println!("|---|---:|---:|---:|---:|");
        let mut backend = Backend::start(binary, work, &sandbox, None).await?;
        let sqlite = ingest(&backend, options.ingest).await;
        backend.stop().await;
        print_ingest("SQLite (WAL)", options.ingest, sqlite?);
        if let Some(pg) = &postgres {
            let mut backend = Backend::start(binary, work, &sandbox, Some(pg)).await?;
            let figures = ingest(&backend, options.ingest).await;
            backend.stop().await;
            print_ingest("PostgreSQL 15", options.ingest, figures?);
        }
    }
    drop(postgres);
    Ok(())
}

fn print_table(shapes: &[Shape], kinds: &[Kind], results: &[Vec<Vec<Figures>>], rate: f64) {
    let mut header = "| shape | figure | ours |".to_owned();
    let mut rule = "|---|---|---:|".to_owned();
    if kinds.len() > 1 {
        header.push_str(" nginx + nchan | ours ÷ nchan |");
        rule.push_str("---:|---:|");
    }
    println!("{header}\n{rule}");
    type Pick = fn(&Figures) -> f64;
    let rows: [(&str, Pick, usize); 12] = [
        ("memory per idle stream, KiB", |f| f.kib_per_stream, 1),
        ("publish → delivery p50, ms", |f| f.p50_ms, 2),
        ("p99, ms", |f| f.p99_ms, 2),
        ("p99.9, ms", |f| f.p999_ms, 2),
        ("max, ms", |f| f.max_ms, 2),
        ("server CPU, s", |f| f.server_cpu_s, 2),
        ("load generator CPU, s", |f| f.client_cpu_s, 2),
        ("time to connect the streams, s", |f| f.open_s, 2),
        ("publish → its 2xx p50, ms", |f| f.ack_p50_ms, 2),
        ("publish → its 2xx p99, ms", |f| f.ack_p99_ms, 2),
        (
            "server wake-up → event p50, ms (≤ bucket)",
            |f| f.wake_p50_ms,
            1,
        ),
        (
            "server wake-up → event p99, ms (≤ bucket)",
            |f| f.wake_p99_ms,
            1,
        ),
    ];
    for (s, shape) in shapes.iter().enumerate() {
        for (name, pick, digits) in rows {
            let mut line = format!(
                "| {} streams / {} channels, {rate}/s | {name} |",
                shape.streams, shape.channels
            );
            let mut medians = Vec::new();
            for runs in &results[s] {
                let mut values: Vec<f64> = runs.iter().map(pick).collect();
                values.sort_by(f64::total_cmp);
                let median = median(&values);
                medians.push(median);
                let (lo, hi) = (values[0], values[values.len() - 1]);
                if median.is_nan() {
                    line.push_str(" — |");
                } else if values.len() > 1 {
                    line.push_str(&format!(
                        " {median:.digits$} ({lo:.digits$}–{hi:.digits$}) |"
                    ));
                } else {
                    line.push_str(&format!(" {median:.digits$} |"));
                }
            }
            if medians.len() > 1 {
                let ratio = medians[0] / medians[1];
                if ratio.is_nan() {
                    line.push_str(" — |");
                } else {
                    line.push_str(&format!(" {ratio:.2} |"));
                }
            }
            println!("{line}");
        }
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Where the streams of a shape connect and how each channel's final message is published.
struct Channel {
    /// The GET request a stream sends, whole.
    request: Arc<[u8]>,
    publish: reqwest::Request,
}

/// Connects `shape.streams` streams over `channels`, publishes each channel's final message at
/// `rate` per second, and times every stream's delivery.
async fn measure(
    pids: &[u32],
    addr: SocketAddr,
    channels: Vec<Channel>,
    shape: Shape,
    rate: f64,
    metrics: Option<&str>,
) -> anyhow::Result<Figures> {
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pids)?;
    let cpu_before = cpu_seconds(pids)?;
    let client_before = cpu_seconds(&[std::process::id()])?;

    let requests: Vec<Arc<[u8]>> = channels.iter().map(|c| Arc::clone(&c.request)).collect();
    let started = Instant::now();
    let first_source = next_sources(shape.streams);
    let (mut tasks, mut done_rx) = open_streams(
        addr,
        &requests,
        (0..shape.streams).map(|i| i % shape.channels),
        first_source,
    )
    .await?;
    let open_s = started.elapsed().as_secs_f64();
    // Let first events, buffers and the allocator settle before reading the memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = rss_kib(pids)?;

    // Steady publishing; each publish is its own task so that a slow answer delays no other.
    let stamps: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; channels.len()]));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut publishes = tokio::task::JoinSet::new();
    for (c, channel) in channels.into_iter().enumerate() {
        tick.tick().await;
        let (http, stamps) = (http.clone(), Arc::clone(&stamps));
        publishes.spawn(async move {
            let sent = Instant::now();
            stamps.lock().expect("stamps")[c] = Some(sent);
            let status = http.execute(channel.publish).await?.status();
            ensure!(status.is_success(), "publish answered {status}");
            anyhow::Ok(sent.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut received = Vec::with_capacity(shape.streams);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while received.len() < shape.streams {
        let next = tokio::time::timeout_at(deadline, done_rx.recv())
            .await
            .context("every stream got its final message in time")?
            .context("the streams ended early")?;
        received.push(next);
    }
    let cpu_after = cpu_seconds(pids)?;
    let client_after = cpu_seconds(&[std::process::id()])?;
    let mut acks = Vec::with_capacity(shape.channels);
    while let Some(published) = publishes.join_next().await {
        acks.push(published??);
    }
    let (ack_p50_ms, ack_p99_ms) = p50_p99(acks);
    let (wake_p50_ms, wake_p99_ms) = match metrics {
        Some(url) => wake_to_event(&http, &[url]).await?,
        None => (f64::NAN, f64::NAN),
    };
    while let Some(stream) = tasks.join_next().await {
        stream??;
    }
    let stamps = stamps.lock().expect("stamps");
    let mut latencies: Vec<f64> = received
        .iter()
        .map(|(c, at)| {
            let sent = stamps[*c].context("a delivery before its publish")?;
            Ok(at.saturating_duration_since(sent).as_secs_f64() * 1000.0)
        })
        .collect::<anyhow::Result<_>>()?;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    Ok(Figures {
        kib_per_stream: rss_open.saturating_sub(rss_before) as f64 / shape.streams as f64,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        max_ms: pct(1.0),
        server_cpu_s: cpu_after - cpu_before,
        client_cpu_s: client_after - client_before,
        open_s,
        ack_p50_ms,
        ack_p99_ms,
        wake_p50_ms,
        wake_p99_ms,
    })
}

fn p50_p99(mut values: Vec<f64>) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    let pct = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    (pct(0.5), pct(0.99))
}

/// The p50 and p99 of the backends' `mobilepay_status_delivery_seconds` histograms summed, in
/// ms, read from their `/metrics`.
async fn wake_to_event(http: &reqwest::Client, urls: &[&str]) -> anyhow::Result<(f64, f64)> {
    let mut texts = Vec::new();
    for url in urls {
        texts.push(
            http.get(*url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?,
        );
    }
    delivery_quantiles(&texts)
}

/// The p50 and p99 of the `mobilepay_status_delivery_seconds` histograms of these Prometheus
/// texts summed, in ms: each the upper bound of the first bucket holding that share of the
/// deliveries (NaN without any).
fn delivery_quantiles(texts: &[String]) -> anyhow::Result<(f64, f64)> {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for text in texts {
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("mobilepay_status_delivery_seconds_bucket{") else {
                continue;
            };
            let Some((labels, count)) = rest.split_once("} ") else {
                continue;
            };
            let Some(le) = labels
                .split(',')
                .find_map(|l| l.strip_prefix("le=\""))
                .map(|l| l.trim_end_matches('"'))
            else {
                continue;
            };
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse()?
            };
            let count: f64 = count.trim().parse()?;
            match buckets.iter_mut().find(|(b, _)| *b == le) {
                Some((_, c)) => *c += count,
                None => buckets.push((le, count)),
            }
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last().map_or(0.0, |b| b.1);
    let at = |share: f64| {
        buckets
            .iter()
            .find(|(_, c)| total > 0.0 && *c >= share * total)
            .map_or(f64::NAN, |(le, _)| le * 1000.0)
    };
    Ok((at(0.5), at(0.99)))
}

/// The sub-mode of `bench-streams` a load generator process of [`measure_instances`] runs in.
const FOLLOWER: &str = "--follower";

/// Nanoseconds since the Unix epoch of `at`, on the wall clock: the one clock the load
/// generator processes share without `unsafe` (the bench lasts seconds; only a clock step
/// during it would show).
fn wall_ns(at: Instant, base: (Instant, SystemTime)) -> u128 {
    let since_epoch = base.1.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since_epoch + at.saturating_duration_since(base.0)).as_nanos()
        - base.0.saturating_duration_since(at).as_nanos()
}

/// `shape.streams` streams over `shape.channels` sessions, split across `backends` (instances
/// sharing one PostgreSQL database): each channel's streams alternate between the instances,
/// and channel c's webhook goes to instance c mod I, so that half of the deliveries cross
/// instances through the database's NOTIFY. Each instance's streams are held by a load
/// generator process of its own (this binary in [`FOLLOWER`] mode: a process may open 20,000
/// files here), which reports when they are open and when each got its final message, on the
/// wall clock this process stamps its publishes with. Returns the figures and each instance's
/// memory per idle stream.
async fn measure_instances(
    backends: &[Backend],
    sessions: &[OpenSession],
    shape: Shape,
    rate: f64,
) -> anyhow::Result<(Figures, Vec<f64>)> {
    let n = backends.len();
    let base = (Instant::now(), SystemTime::now());
    let http = reqwest::Client::new();
    let mut per_instance = Vec::new();
    for backend in backends {
        per_instance.push(backend.channels(sessions)?);
    }
    let publishes: Vec<reqwest::Request> = (0..shape.channels)
        .map(|c| {
            per_instance[c % n][c]
                .publish
                .try_clone()
                .context("a webhook with a body in memory")
        })
        .collect::<anyhow::Result<_>>()?;
    let pids: Vec<Vec<u32>> = backends.iter().map(Backend::pids).collect();
    let all_pids: Vec<u32> = pids.iter().flatten().copied().collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = pids
        .iter()
        .map(|p| rss_kib(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cpu_before = cpu_seconds(&all_pids)?;
    let client_before = cpu_seconds(&[std::process::id()])?;
    let started = Instant::now();
    let mut followers = Vec::new();
    let mut counts = Vec::new();
    for (k, backend) in backends.iter().enumerate() {
        let streams: Vec<usize> = (0..shape.streams)
            .filter(|i| (i / shape.channels) % n == k)
            .map(|i| i % shape.channels)
            .collect();
        counts.push(streams.len());
        let requests: Vec<String> = per_instance[k]
            .iter()
            .map(|c| String::from_utf8_lossy(&c.request).into_owned())
            .collect();
        let input = serde_json::to_vec(&serde_json::json!({
            "addr": backend.addr.to_string(),
            "first_source": next_sources(streams.len()),
            "requests": requests,
            "streams": streams,
        }))?;
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["bench-streams", FOLLOWER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting a load generator process")?;
        let mut stdin = child.stdin.take().context("its stdin")?;
        stdin.write_all(&input).await?;
        drop(stdin);
        let lines = tokio::io::BufReader::new(child.stdout.take().context("its stdout")?).lines();
        followers.push((child, lines));
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    for (_, lines) in &mut followers {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .context("the streams opened in time")??
            .context("a load generator ended before its streams opened")?;
        ensure!(line == "opened", "a load generator said {line}");
    }
    let open_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = pids
        .iter()
        .map(|p| rss_kib(p))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let stamps: Arc<Mutex<Vec<Option<u128>>>> = Arc::new(Mutex::new(vec![None; shape.channels]));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut published = tokio::task::JoinSet::new();
    for (c, publish) in publishes.into_iter().enumerate() {
        tick.tick().await;
        let (http, stamps) = (http.clone(), Arc::clone(&stamps));
        published.spawn(async move {
            let sent = Instant::now();
            stamps.lock().expect("stamps")[c] = Some(wall_ns(sent, base));
            let status = http.execute(publish).await?.status();
            ensure!(status.is_success(), "publish answered {status}");
            anyhow::Ok(sent.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut deliveries = Vec::with_capacity(shape.streams);
    let mut followers_cpu = 0.0;
    for (_, lines) in &mut followers {
        let line = tokio::time::timeout_at(deadline + PATIENCE, lines.next_line())
            .await
            .context("every stream got its final message in time")??
            .context("a load generator ended before its streams' messages")?;
        let report: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("a load generator's report: {line}"))?;
        followers_cpu += report["cpu_s"].as_f64().context("cpu_s")?;
        for delivery in report["deliveries"].as_array().context("deliveries")? {
            let channel = delivery[0].as_u64().context("a channel")? as usize;
            let at: u128 = delivery[1]
                .as_str()
                .context("a time")?
                .parse()
                .context("a time")?;
            deliveries.push((channel, at));
        }
    }
    let cpu_after = cpu_seconds(&all_pids)?;
    let client_after = cpu_seconds(&[std::process::id()])?;
    let mut acks = Vec::with_capacity(shape.channels);
    while let Some(publish) = published.join_next().await {
        acks.push(publish??);
    }
    let (ack_p50_ms, ack_p99_ms) = p50_p99(acks);
    let urls: Vec<String> = backends
        .iter()
        .map(|b| format!("{}/metrics", b.url))
        .collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let (wake_p50_ms, wake_p99_ms) = wake_to_event(&http, &urls).await?;
    for (mut child, _) in followers {
        let status = child.wait().await?;
        ensure!(status.success(), "a load generator failed: {status}");
    }
    ensure!(
        deliveries.len() == shape.streams,
        "{} deliveries for {} streams",
        deliveries.len(),
        shape.streams
    );
    let stamps = stamps.lock().expect("stamps");
    let mut latencies: Vec<f64> = deliveries
        .iter()
        .map(|(c, at)| {
            let sent = stamps[*c].context("a delivery before its publish")?;
            Ok(at.saturating_sub(sent) as f64 / 1e6)
        })
        .collect::<anyhow::Result<_>>()?;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let kib: Vec<f64> = (0..n)
        .map(|k| rss_open[k].saturating_sub(rss_before[k]) as f64 / counts[k] as f64)
        .collect();
    let total: u64 = (0..n)
        .map(|k| rss_open[k].saturating_sub(rss_before[k]))
        .sum();
    Ok((
        Figures {
            kib_per_stream: total as f64 / shape.streams as f64,
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            p999_ms: pct(0.999),
            max_ms: pct(1.0),
            server_cpu_s: cpu_after - cpu_before,
            client_cpu_s: client_after - client_before + followers_cpu,
            open_s,
            ack_p50_ms,
            ack_p99_ms,
            wake_p50_ms,
            wake_p99_ms,
        },
        kib,
    ))
}

/// A load generator process of [`measure_instances`]: reads what to follow from its stdin (JSON:
/// `addr`, `first_source`, `requests` by channel, `streams` as the channel of each), opens the
/// streams, says `opened`, then once every stream got its final message prints one JSON line:
/// `deliveries` as `[channel, wall-clock nanoseconds as a string]` and its own `cpu_s`.
fn follower() -> anyhow::Result<()> {
    rlimit::increase_nofile_limit(u64::MAX).context("raising the open files limit")?;
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)?;
    let input: serde_json::Value = serde_json::from_str(&input).context("the follower's input")?;
    let addr: SocketAddr = input["addr"].as_str().context("addr")?.parse()?;
    let first_source = input["first_source"].as_u64().context("first_source")? as usize;
    let requests: Vec<Arc<[u8]>> = input["requests"]
        .as_array()
        .context("requests")?
        .iter()
        .map(|r| Ok(r.as_str().context("a request")?.as_bytes().into()))
        .collect::<anyhow::Result<_>>()?;
    let streams: Vec<usize> = input["streams"]
        .as_array()
        .context("streams")?
        .iter()
        .map(|c| Ok(c.as_u64().context("a channel")? as usize))
        .collect::<anyhow::Result<_>>()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(async move {
            let base = (Instant::now(), SystemTime::now());
            let cpu_before = cpu_seconds(&[std::process::id()])?;
            let (mut tasks, mut done) =
                open_streams(addr, &requests, streams.iter().copied(), first_source).await?;
            println!("opened");
            let deadline = tokio::time::Instant::now() + PATIENCE;
            let mut deliveries = Vec::with_capacity(streams.len());
            while deliveries.len() < streams.len() {
                let (channel, at) = tokio::time::timeout_at(deadline, done.recv())
                    .await
                    .context("every stream got its final message in time")?
                    .context("the streams ended early")?;
                deliveries.push(serde_json::json!([channel, wall_ns(at, base).to_string()]));
            }
            let cpu_s = cpu_seconds(&[std::process::id()])? - cpu_before;
            while let Some(stream) = tasks.join_next().await {
                stream??;
            }
            println!(
                "{}",
                serde_json::json!({ "deliveries": deliveries, "cpu_s": cpu_s })
            );
            anyhow::Ok(())
        })
}

/// Source addresses for `streams` new streams, none used by an earlier measurement: the ports of
/// an earlier one linger in TIME_WAIT, and searching past them made connecting (and this
/// process's CPU) 10× slower. Returns the first address's offset.
fn next_sources(streams: usize) -> usize {
    static USED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    USED.fetch_add(
        streams.div_ceil(PER_SOURCE).max(4),
        std::sync::atomic::Ordering::Relaxed,
    )
}

type Deliveries = mpsc::UnboundedReceiver<(usize, Instant)>;

/// Connects one stream per item of `stream_channels` (the channel it follows: its request is
/// `requests[channel]`), [`RAMP`] at a time, from source addresses 127.0.0.x starting at offset
/// `first_source` ([`PER_SOURCE`] streams each), and returns once every stream has its response
/// headers: the streams' tasks and where each reports its final message's arrival.
async fn open_streams(
    addr: SocketAddr,
    requests: &[Arc<[u8]>],
    stream_channels: impl Iterator<Item = usize>,
    first_source: usize,
) -> anyhow::Result<(tokio::task::JoinSet<anyhow::Result<()>>, Deliveries)> {
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<()>();
    let (done_tx, done_rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut opened = 0;
    let mut count = 0;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, channel) in stream_channels.enumerate() {
        let host = 1 + (first_source + i / PER_SOURCE) % 250;
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, host as u8));
        let request = Arc::clone(&requests[channel]);
        let (opened_tx, done_tx) = (opened_tx.clone(), done_tx.clone());
        tasks.spawn(async move {
            follow(source, addr, &request, channel, opened_tx, done_tx)
                .await
                .with_context(|| format!("stream {i}"))
        });
        count = i + 1;
        if count % RAMP == 0 {
            while opened < count - RAMP / 2 {
                wait_opened(&mut opened_rx, &mut tasks).await?;
                opened += 1;
            }
        }
    }
    while opened < count {
        wait_opened(&mut opened_rx, &mut tasks).await?;
        opened += 1;
    }
    Ok((tasks, done_rx))
}

/// Waits for one more stream to open, failing early if a stream failed.
async fn wait_opened(
    opened: &mut mpsc::UnboundedReceiver<()>,
    tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        tokio::select! {
            got = opened.recv() => { got.context("no stream left")?; return Ok(()); }
            Some(ended) = tasks.join_next() => ended??,
            () = tokio::time::sleep_until(deadline) => bail!("streams did not open in time"),
        }
    }
}

/// One subscriber: connects from `source`, sends `request`, reports when the response's headers
/// arrived, then the instant the final message's bytes were read, and hangs up.
async fn follow(
    source: IpAddr,
    addr: SocketAddr,
    request: &[u8],
    channel: usize,
    opened: mpsc::UnboundedSender<()>,
    done: mpsc::UnboundedSender<(usize, Instant)>,
) -> anyhow::Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(addr).await?;
    stream.write_all(request).await?;
    let mut buf = [0u8; 1024];
    let mut status = Vec::with_capacity(12);
    let mut end_of_headers = Needle::new(b"\r\n\r\n");
    let mut marker = Needle::new(MARKER);
    let mut in_body = false;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            bail!("the stream ended before its final message");
        }
        let at = Instant::now();
        let mut bytes = &buf[..n];
        if !in_body {
            let wanted = 12 - status.len().min(12);
            status.extend_from_slice(&bytes[..wanted.min(bytes.len())]);
            match end_of_headers.find(bytes) {
                Some(end) => {
                    ensure!(
                        status.starts_with(b"HTTP/1.1 200"),
                        "answered {}",
                        String::from_utf8_lossy(&status)
                    );
                    in_body = true;
                    let _ = opened.send(());
                    bytes = &bytes[end..];
                }
                None => continue,
            }
        }
        if marker.find(bytes).is_some() {
            let _ = done.send((channel, at));
            return Ok(());
        }
    }
}

/// Finds a byte string in a stream read piece by piece.
struct Needle {
    needle: &'static [u8],
    matched: usize,
}

impl Needle {
    fn new(needle: &'static [u8]) -> Self {
        Needle { needle, matched: 0 }
    }

    /// Where in `bytes` the needle ends, if it does there. (Restarting at the current byte on a
    /// mismatch is exact for needles whose only self-overlap is their first byte, as here.)
    fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if b == self.needle[self.matched] {
                self.matched += 1;
            } else {
                self.matched = usize::from(b == self.needle[0]);
            }
            if self.matched == self.needle.len() {
                self.matched = 0;
                return Some(i + 1);
            }
        }
        None
    }
}

/// An open session of the backend, as a stream and a webhook need it.
#[derive(Debug)]
struct OpenSession {
    events_path: String,
    payment_id: String,
    amount: u64,
}

/// Makes `count` open sessions on the backend. Today through the demo store, as a browser
/// does: an order from the store page, then `POST /checkout/sessions` for it (the backend asks
/// the sandbox for the payment).
/// The merchant API key the benchmark's backends are configured with.
const BENCH_API_KEY: &str = "mk_test_bench_streams";

async fn open_sessions(
    http: &reqwest::Client,
    backend: &str,
    count: usize,
) -> anyhow::Result<Vec<OpenSession>> {
    let mut made = tokio::task::JoinSet::new();
    let mut sessions = Vec::with_capacity(count);
    for n in 0..count {
        let (http, backend) = (http.clone(), backend.to_owned());
        made.spawn(async move {
            // A checkout as a shop makes it through the merchant API, then the widget's session.
            // The API limits a key to 100 requests a second: past it, wait as told and retry.
            let checkout: serde_json::Value = loop {
                let response = http
                    .post(format!("{backend}/v1/checkouts"))
                    .bearer_auth(BENCH_API_KEY)
                    .json(&serde_json::json!({
                        "amount": 25_000, "description": "bench", "reference": format!("bench-{n}"),
                    }))
                    .send()
                    .await?;
                if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    let wait = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                        .unwrap_or(1);
                    tokio::time::sleep(Duration::from_secs(wait.clamp(1, 5))).await;
                    continue;
                }
                break response.error_for_status()?.json().await?;
            };
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
            anyhow::Ok(OpenSession {
                events_path: events_url
                    .strip_prefix(&backend)
                    .context("events_url on the backend")?
                    .to_owned(),
                payment_id: session["payment_id"]
                    .as_str()
                    .context("payment_id")?
                    .to_owned(),
                amount: session["amount"].as_u64().context("amount")?,
            })
        });
        // A few at a time: the sandbox and the backend share the machine.
        if made.len() >= 8
            && let Some(session) = made.join_next().await
        {
            sessions.push(session??);
        }
    }
    while let Some(session) = made.join_next().await {
        sessions.push(session??);
    }
    Ok(sessions)
}

/// The sandbox, in this process: it makes the payments behind the backend's sessions. Its
/// webhooks go nowhere: the bench sends its own, so that the sandbox's scheduling is not measured.
struct Sandbox {
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Sandbox {
    async fn start() -> anyhow::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(mobilepay_sandbox::run(
            listener,
            mobilepay_sandbox::Config::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Sandbox { url, _stop: stop })
    }
}

/// The merchant backend as its own process, so that its memory and CPU can be read from /proc.
struct Backend {
    child: tokio::process::Child,
    addr: SocketAddr,
    url: String,
    http: reqwest::Client,
    data: PathBuf,
}

impl Backend {
    async fn start(
        binary: &Path,
        work: &Path,
        sandbox: &Sandbox,
        postgres: Option<&Postgres>,
    ) -> anyhow::Result<Backend> {
        let port = free_port()?;
        let database = match postgres {
            Some(pg) => pg.fresh_database(&format!("bench_{port}"))?,
            None => {
                let data = work.join(format!("backend-{port}"));
                format!("sqlite://{}?mode=rwc", data.join("bench.sqlite3").display())
            }
        };
        Backend::start_on(binary, work, sandbox, database).await
    }

    /// A backend on `database`, which other instances may share.
    async fn start_on(
        binary: &Path,
        work: &Path,
        sandbox: &Sandbox,
        database: String,
    ) -> anyhow::Result<Backend> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Its own folder whatever the database (SQLite's file, when it is one, is made below).
        let data = match database.strip_prefix("sqlite://") {
            Some(file) => Path::new(file.split('?').next().unwrap_or(file))
                .parent()
                .context("the SQLite file's folder")?
                .to_path_buf(),
            None => work.join(format!("backend-{port}")),
        };
        std::fs::create_dir_all(&data)?;
        let url = format!("http://{addr}");
        let child = backend::command(binary, addr, &sandbox.url, &database, BENCH_API_KEY)
            .env("RECONCILE_EVERY_SECS", "0")
            // BENCH_BACKEND_LOG: the backends' RUST_LOG, e.g. `warn,mobilepay_merchant::ingest=debug`
            // for the webhook writer's timings (on this process's stderr).
            .env(
                "RUST_LOG",
                std::env::var("BENCH_BACKEND_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            // Its log (stdout) kept in target/bench-streams/backend-PORT.log when asked for.
            .stdout(match std::env::var_os("BENCH_BACKEND_LOG") {
                Some(_) => Stdio::from(std::fs::File::create(
                    work.join(format!("backend-{port}.log")),
                )?),
                None => Stdio::null(),
            })
            .spawn()
            .context("starting the merchant backend")?;
        let http = reqwest::Client::new();
        backend::wait_healthy(&http, &url).await?;
        Ok(Backend {
            child,
            addr,
            url,
            http,
            data,
        })
    }

    fn pids(&self) -> Vec<u32> {
        self.child.id().into_iter().collect()
    }

    /// A stream per session, and the signed `payment.received` that pays it.
    fn channels(&self, sessions: &[OpenSession]) -> anyhow::Result<Vec<Channel>> {
        let signer = standardwebhooks::Webhook::new(mobilepay_sandbox::DEMO_WEBHOOK_SECRET)
            .map_err(|e| anyhow::anyhow!("the demo secret: {e}"))?;
        sessions
            .iter()
            .map(|session| {
                let request = format!(
                    "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
                    session.events_path, self.addr
                );
                let publish = signed_webhook(
                    &self.http,
                    &signer,
                    &self.url,
                    &session.payment_id,
                    session.amount,
                )?;
                Ok(Channel {
                    request: request.into_bytes().into(),
                    publish,
                })
            })
            .collect()
    }

    async fn stop(&mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// A `payment.received` for `payment_id`, signed as MOBILE-PAY signs it.
fn signed_webhook(
    http: &reqwest::Client,
    signer: &standardwebhooks::Webhook,
    backend: &str,
    payment_id: &str,
    amount: u64,
) -> anyhow::Result<reqwest::Request> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let body = serde_json::to_vec(&serde_json::json!({
        "event": "payment.received",
        "timestamp": mobilepay_sandbox::rfc3339_unix(now),
        "data": {
            "payment_id": payment_id,
            "amount": amount,
            "payer": "+2250700000000",
            "status": "received",
        },
    }))?;
    let id = mobilepay_sandbox::random_id("msg_", 24);
    let signature = signer
        .sign(&id, now, &body)
        .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
    Ok(http
        .post(format!("{backend}/webhooks/mobilepay"))
        .header("content-type", "application/json")
        .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
        .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, now.to_string())
        .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
        .body(body)
        .build()?)
}

/// nginx + nchan in the foreground, from the repository's config.
struct Nginx {
    child: tokio::process::Child,
    addr: SocketAddr,
    prefix: PathBuf,
    conf: PathBuf,
    http: reqwest::Client,
}

impl Nginx {
    async fn start(config: &Path, work: &Path) -> anyhow::Result<Nginx> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let prefix = work.join(format!("nginx-{port}"));
        std::fs::create_dir_all(prefix.join("tmp"))?;
        let template = std::fs::read_to_string(config)
            .with_context(|| format!("reading {}", config.display()))?;
        let conf = prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            template
                .replace("@PREFIX@", &prefix.display().to_string())
                .replace("@PORT@", &port.to_string()),
        )?;
        let child = tokio::process::Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting nginx")?;
        let nginx = Nginx {
            child,
            addr,
            prefix,
            conf,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(addr).await.is_err() || nginx.pids()?.len() < 3 {
            ensure!(Instant::now() < deadline, "nginx did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(nginx)
    }

    /// The master and its workers.
    fn pids(&self) -> anyhow::Result<Vec<u32>> {
        let master = self.child.id().context("nginx ended")?;
        let mut pids = vec![master];
        for entry in std::fs::read_dir("/proc")?.filter_map(Result::ok) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            if stat_fields(&stat).and_then(|f| f.get(1)?.parse::<u32>().ok()) == Some(master) {
                pids.push(pid);
            }
        }
        Ok(pids)
    }

    fn channels(&self, run: usize, shape: usize, count: usize) -> anyhow::Result<Vec<Channel>> {
        (0..count)
            .map(|c| {
                let id = format!("r{run}s{shape}c{c}");
                let request = format!(
                    "GET /sub/{id} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
                    self.addr
                );
                // The size of the backend's `paid` event's data.
                let body = format!(
                    r#"{{"status":"paid","payment_id":"{}","failure":null}}"#,
                    mobilepay_sandbox::random_id("pay_", 20)
                );
                let publish = self
                    .http
                    .post(format!("http://{}/pub/{id}", self.addr))
                    .body(body)
                    .build()?;
                Ok(Channel {
                    request: request.into_bytes().into(),
                    publish,
                })
            })
            .collect()
    }

    async fn stop(&mut self) {
        // SIGTERM through nginx itself: killing the master alone would orphan its workers.
        let _ = tokio::process::Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.conf)
            .args(["-s", "stop"])
            .stderr(Stdio::null())
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

#[derive(Debug)]
struct Ingest {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `count` signed webhooks from [`SENDERS`] concurrent senders, each waiting for its `2xx` (the
/// backend answers after its commit). Each is a `payment.received` for a payment of no session
/// here: verified, stored for deduplication, committed, acknowledged.
async fn ingest(backend: &Backend, count: usize) -> anyhow::Result<Ingest> {
    let signer = standardwebhooks::Webhook::new(mobilepay_sandbox::DEMO_WEBHOOK_SECRET)
        .map_err(|e| anyhow::anyhow!("the demo secret: {e}"))?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(SENDERS)
        .build()?;
    // Signed beforehand, so that the senders measure the backend, not the signing.
    let mut requests = Vec::with_capacity(count);
    for i in 0..count {
        requests.push(signed_webhook(
            &http,
            &signer,
            &backend.url,
            &format!("pay_bench_{i}"),
            1000,
        )?);
    }
    let queue = Arc::new(Mutex::new(requests));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let (http, queue) = (http.clone(), Arc::clone(&queue));
        senders.spawn(async move {
            let mut times = Vec::new();
            loop {
                let Some(request) = queue.lock().expect("queue").pop() else {
                    return anyhow::Ok(times);
                };
                let sent = Instant::now();
                let status = http.execute(request).await?.status();
                ensure!(status.is_success(), "webhook answered {status}");
                times.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        });
    }
    let mut times = Vec::with_capacity(count);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Some(sender) = tokio::time::timeout_at(deadline, senders.join_next())
        .await
        .context("ingestion in time")?
    {
        times.extend(sender??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok(Ingest {
        per_second: count as f64 / elapsed,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    })
}

fn print_ingest(database: &str, count: usize, figures: Ingest) {
    println!(
        "| {database} | {count} | {:.0} | {:.1} ms | {:.1} ms |",
        figures.per_second, figures.p50_ms, figures.p99_ms
    );
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces): the state is
/// the first, the parent's pid the second, user and system time the 12th and 13th.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(stat.rsplit_once(')')?.1.split_whitespace().collect())
}

/// The summed RSS of `pids`, in KiB.
fn rss_kib(pids: &[u32]) -> anyhow::Result<u64> {
    let mut total = 0;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        total += status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .context("no VmRSS")?;
    }
    Ok(total)
}

/// User plus system CPU of `pids`, in seconds (`/proc` counts in ticks of 1/100 s on Linux).
fn cpu_seconds(pids: &[u32]) -> anyhow::Result<f64> {
    let mut ticks = 0u64;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let fields = stat_fields(&stat).context("unreadable stat")?;
        for i in [11, 12] {
            ticks += fields
                .get(i)
                .and_then(|t| t.parse::<u64>().ok())
                .context("no CPU times")?;
        }
    }
    Ok(ticks as f64 / 100.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn several_instances_need_postgresql_and_leave_nchan_out() {
        assert!(parse(&args("--instances 2 --shape 30000/1000")).is_err());
        assert!(parse(&args("--instances 2 --postgres --against nchan")).is_err());
        let options = parse(&args("--instances 2 --postgres --shape 30000/1000")).expect("valid");
        assert_eq!(options.instances, 2);
        assert_eq!(parse(&args("")).expect("valid").instances, 1);
    }

    #[test]
    fn delivery_quantiles_sum_the_instances_histograms_by_bucket() {
        let text = |counts: [u32; 4]| {
            format!(
                "# TYPE mobilepay_status_delivery_seconds histogram\n\
                 mobilepay_status_delivery_seconds_bucket{{le=\"0.001\"}} {}\n\
                 mobilepay_status_delivery_seconds_bucket{{le=\"0.01\"}} {}\n\
                 mobilepay_status_delivery_seconds_bucket{{le=\"0.1\"}} {}\n\
                 mobilepay_status_delivery_seconds_bucket{{le=\"+Inf\"}} {}\n\
                 mobilepay_status_delivery_seconds_sum 1.5\n",
                counts[0], counts[1], counts[2], counts[3]
            )
        };
        // 200 deliveries in all: 90 ≤ 1 ms, 190 ≤ 10 ms, 199 ≤ 100 ms.
        let (p50, p99) = delivery_quantiles(&[text([80, 90, 99, 100]), text([10, 100, 100, 100])])
            .expect("parsed");
        assert_eq!((p50, p99), (10.0, 100.0));
        let (p50, _) = delivery_quantiles(&[text([60, 90, 99, 100])]).expect("parsed");
        assert_eq!(p50, 1.0);
        assert!(
            delivery_quantiles(&[String::new()])
                .expect("parsed")
                .0
                .is_nan()
        );
    }

    #[test]
    fn wall_clock_nanoseconds_keep_the_order_and_gaps_of_instants() {
        let base = (Instant::now(), SystemTime::now());
        let later = base.0 + Duration::from_millis(3);
        let earlier = base
            .0
            .checked_sub(Duration::from_millis(2))
            .expect("an earlier instant");
        assert_eq!(wall_ns(later, base) - wall_ns(earlier, base), 5_000_000);
    }
}
