//! The merchant backend as a process of its own, as the benches and the chaos run start it: on
//! the sandbox's demo merchant account, waited for until it answers.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use mobilepay_sandbox::accounts::{DEMO_ENTERPRISE_KEY, DEMO_MERCHANT_ID};

/// `binary` set to listen on `addr`, to call the sandbox at `sandbox_url` as the demo merchant
/// (the *Entreprise* key: no rate limit) and trust its webhooks, to keep its data in
/// `database_url`, and to take `api_key` on `/v1`; killed when dropped. The caller adds what
/// its run changes (reconciliation, timeouts, logs).
pub fn command(
    binary: &Path,
    addr: std::net::SocketAddr,
    sandbox_url: &str,
    database_url: &str,
    api_key: &str,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.env("BIND_ADDR", addr.to_string())
        .env("MOBILEPAY_API_URL", sandbox_url)
        .env("MOBILEPAY_API_KEY", DEMO_ENTERPRISE_KEY)
        .env("MOBILEPAY_MERCHANT_ID", DEMO_MERCHANT_ID)
        .env(
            "MOBILEPAY_WEBHOOK_SECRETS",
            mobilepay_sandbox::DEMO_WEBHOOK_SECRET,
        )
        .env("DATABASE_URL", database_url)
        // The run's load is its own: the widget route's rate limit would only refuse it.
        .env("SESSIONS_PER_MINUTE", "1000000")
        .env("MERCHANT_API_KEYS", api_key)
        .kill_on_drop(true);
    cmd
}

/// Waits until the backend at `url` answers `/healthz` (it opens its database first), 30 s
/// at most.
pub async fn wait_healthy(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{url}/healthz")).send().await.is_err() {
        if Instant::now() > deadline {
            bail!("the merchant backend at {url} did not answer /healthz within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

/// A port that is free on loopback now (for a process that binds it itself).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The machine, as the figures name it: its cores and CPU model.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    format!("{cores} cores ({model})")
}

/// Now, in UTC, to the minute, as the figures are dated.
pub fn date() -> String {
    xtask::output(std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .map(|d| d.trim().to_owned())
        .unwrap_or_default()
}
