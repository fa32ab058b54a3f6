//! `cargo xtask bench-notify [--events N]… [--runs K] [--postgres]`: webhook events delivered
//! per second by one merchant backend (a release build of this command, the backend in this
//! process, on a SQLite file — and with `--postgres` also on a PostgreSQL server of the bench's
//! own, `fsync` on, as `bench-streams` starts it) to a receiver on loopback.
//!
//! For each count N and run: a fresh backend with the production delivery settings (16 attempts
//! in flight, 10 s timeout), one webhook endpoint for every type at a receiver in this process
//! that verifies each delivery's signature with `standardwebhooks` and answers `204`; N
//! `checkout.paid` events written in one transaction as the checkout code writes them (a row of
//! `events` each, a checkout's JSON as its data), then the worker woken. The clock runs from the
//! wake-up to the N-th distinct event received, and on until every delivery is recorded
//! `succeeded` in the database. Each event must arrive once, and verify.
//!
//! Loopback only, bounded: every wait has a deadline.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::watch;

use xtask::target_dir;

/// The longest one measurement may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Options {
    counts: Vec<usize>,
    runs: usize,
    postgres: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        counts: Vec::new(),
        runs: 3,
        postgres: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} takes a value"));
        match arg.as_str() {
            "--events" => options.counts.push(value()?.parse().context("--events N")?),
            "--runs" => options.runs = value()?.parse().context("--runs K")?,
            "--postgres" => options.postgres = true,
            other => bail!("bench-notify: unknown argument {other}"),
        }
    }
    if options.counts.is_empty() {
        options.counts = vec![1_000, 5_000, 20_000];
    }
    ensure!(
        options.runs > 0 && options.counts.iter().all(|&n| n > 0 && n <= 100_000),
        "runs > 0, 1 ≤ events ≤ 100,000"
    );
    Ok(options)
}

pub fn run_bench(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    // An unoptimized backend would be what is measured (`cargo xtask` builds this one in release).
    ensure!(!cfg!(debug_assertions), "{}", crate::RELEASE_ONLY);
    let work = target_dir(root).join("bench-notify");
    std::fs::create_dir_all(&work)?;
    let postgres = if options.postgres {
        Some(crate::postgres::Postgres::start(&work)?)
    } else {
        None
    };
    let machine = crate::backend::machine();
    let started = crate::backend::date();
    let load_before = load();
    let results = tokio::runtime::Runtime::new()?.block_on(async {
        let mut results = Vec::new();
        for database in ["SQLite", "PostgreSQL"] {
            let pg = match database {
                "PostgreSQL" => match &postgres {
                    Some(pg) => Some(pg),
                    None => continue,
                },
                _ => None,
            };
            for &count in &options.counts {
                let mut runs = Vec::new();
                for run in 0..options.runs {
                    let dir = work.join(format!("{count}-{run}"));
                    let url = match pg {
                        Some(pg) => pg.fresh_database(&format!("notify_{count}_{run}"))?,
                        None => format!(
                            "sqlite://{}?mode=rwc",
                            dir.join("merchant.sqlite3").display()
                        ),
                    };
                    let figures = measure(&dir, &url, count).await?;
                    eprintln!(
                        "bench-notify: {database}, {count} events, run {}: received in {:.2} s, \
                         recorded in {:.2} s",
                        run + 1,
                        figures.received.as_secs_f64(),
                        figures.recorded.as_secs_f64()
                    );
                    runs.push(figures);
                }
                results.push((database, count, runs));
            }
        }
        anyhow::Ok(results)
    })?;
    drop(postgres);
    println!(
        "\nbench-notify, {started}, {machine}, load average {load_before} before, {} after; \
         release build, one instance, receiver on loopback (median of {} runs, range):\n",
        load(),
        options.runs
    );
    println!(
        "| database | events | received by the shop | events/s | all recorded `succeeded` | events/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (database, count, runs) in results {
        let rate = |d: Duration| count as f64 / d.as_secs_f64();
        let mut received: Vec<Duration> = runs.iter().map(|f| f.received).collect();
        let mut recorded: Vec<Duration> = runs.iter().map(|f| f.recorded).collect();
        received.sort();
        recorded.sort();
        let cell = |sorted: &[Duration]| {
            let median = sorted[sorted.len() / 2];
            format!(
                "{:.2} s | {:.0} ({:.0}–{:.0})",
                median.as_secs_f64(),
                rate(median),
                rate(sorted[sorted.len() - 1]),
                rate(sorted[0])
            )
        };
        println!(
            "| {database} | {count} | {} | {} |",
            cell(&received),
            cell(&recorded)
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

#[derive(Debug)]
struct Figures {
    received: Duration,
    recorded: Duration,
}

/// What the receiver has seen: distinct event ids, and whether any delivery failed to verify.
#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<String>,
    duplicates: usize,
    unverified: usize,
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Seen>>,
    count: Arc<watch::Sender<usize>>,
    verifier: Arc<Mutex<Option<standardwebhooks::Webhook>>>,
}

async fn receive(
    axum::extract::State(receiver): axum::extract::State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let verified = receiver
        .verifier
        .lock()
        .expect("not poisoned")
        .as_ref()
        .is_some_and(|v| v.verify(&body, &headers).is_ok());
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let distinct = {
        let mut seen = receiver.seen.lock().expect("not poisoned");
        if !verified {
            seen.unverified += 1;
        } else if !seen.ids.insert(id) {
            seen.duplicates += 1;
        }
        seen.ids.len()
    };
    receiver.count.send_replace(distinct);
    StatusCode::NO_CONTENT
}

async fn measure(dir: &Path, database_url: &str, count: usize) -> anyhow::Result<Figures> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let receiver = Receiver {
        seen: Arc::default(),
        count: Arc::new(watch::channel(0).0),
        verifier: Arc::default(),
    };
    let hooks = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hooks", hooks.local_addr()?);
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(receiver.clone());
    let receiver_task = tokio::spawn(async move { axum::serve(hooks, app).await });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let backend = format!("http://{}", listener.local_addr()?);
    let mut config = mobilepay_merchant::Config::new(
        // Never called: no payment is made.
        "http://127.0.0.1:9",
        mobilepay_client::ApiKey::new(mobilepay_sandbox::accounts::DEMO_MERCHANT_KEY),
        mobilepay_sandbox::accounts::DEMO_MERCHANT_ID,
        mobilepay_client::webhook::Verifier::new(&[mobilepay_sandbox::DEMO_WEBHOOK_SECRET])?,
    );
    config.database_url = database_url.into();
    config.reconcile_every = None;
    config.merchant_api_keys = mobilepay_merchant::keys::ConfiguredKeys::new(&[BENCH_KEY])?;
    let state = mobilepay_merchant::state(&listener, config).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mobilepay_merchant::serve(
        listener,
        Arc::clone(&state),
        async move {
            let _ = stopped.await;
        },
    ));

    let http = reqwest::Client::new();
    let endpoint: serde_json::Value = http
        .post(format!("{backend}/v1/webhook-endpoints"))
        .bearer_auth(BENCH_KEY)
        .json(&serde_json::json!({"url": hook_url, "events": ["*"]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let secret = endpoint["secret"]
        .as_str()
        .context("the endpoint's secret")?;
    *receiver.verifier.lock().expect("not poisoned") = Some(
        standardwebhooks::Webhook::new(secret)
            .map_err(|e| anyhow::anyhow!("the endpoint's secret: {e}"))?,
    );

    // The events, as a checkout's change writes them; the worker is woken only after.
    let db = &state.sessions.db;
    let mut tx = db.pool.begin().await?;
    let at = mobilepay_merchant::db::now();
    for n in 0..count {
        let checkout = format!("chk_bench{n:015}");
        let data = serde_json::json!({
            "id": checkout, "status": "paid", "amount": 25_000, "currency": "FCFA",
            "description": "Pagne wax 6 yards", "reference": format!("order-{n}"),
            "metadata": {"cart": n.to_string()}, "payer": {"phone": "+2250700000000"},
            "pay_url": format!("{backend}/pay/{checkout}"),
        });
        sqlx::query(
            "INSERT INTO events (id, checkout_id, seq, type, data, created_at)
             VALUES ($1, $2, 2, 'checkout.paid', $3, $4)",
        )
        .bind(format!("evt_bench{n:015}"))
        .bind(&checkout)
        .bind(data.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;

    let started = Instant::now();
    state.outbox.wake();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut arrived = receiver.count.subscribe();
    let in_time = tokio::time::timeout_at(deadline, arrived.wait_for(|&n| n >= count))
        .await
        .is_ok();
    ensure!(
        in_time,
        "only {} of {count} events arrived",
        *receiver.count.borrow()
    );
    let received = started.elapsed();
    loop {
        let (done,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'succeeded'")
                .fetch_one(&db.pool)
                .await?;
        if usize::try_from(done).unwrap_or(0) >= count {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "only {done} of {count} deliveries recorded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recorded = started.elapsed();
    {
        let seen = receiver.seen.lock().expect("not poisoned");
        ensure!(
            seen.unverified == 0 && seen.duplicates == 0,
            "{} deliveries did not verify, {} came twice",
            seen.unverified,
            seen.duplicates
        );
    }
    let _ = stop.send(());
    server.await??;
    receiver_task.abort();
    let _ = std::fs::remove_dir_all(dir);
    Ok(Figures { received, recorded })
}

/// The bench's own merchant API key.
const BENCH_KEY: &str = "mk_test_bench_notify";

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
