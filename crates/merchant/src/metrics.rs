//! Prometheus metrics, served at `/metrics`:
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `mobilepay_sessions{status}` | gauge | sessions by status, read from the database at each scrape |
//! | `mobilepay_sessions_created_total` | counter | sessions created (not resumed) |
//! | `mobilepay_webhooks_total{event,outcome}` | counter | verified webhooks: `applied`, `duplicate`, `ignored` |
//! | `mobilepay_webhook_verify_failures_total` | counter | webhooks refused for their signature or body |
//! | `mobilepay_open_streams` | gauge | event streams open on this instance |
//! | `mobilepay_status_delivery_seconds` | histogram | from a status change's wake-up (its webhook's commit, or its `NOTIFY`) to its event leaving on a stream |

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use mobilepay_wire::checkout::SessionStatus;

use crate::db::Db;

pub const SESSIONS: &str = "mobilepay_sessions";
pub const SESSIONS_CREATED: &str = "mobilepay_sessions_created_total";
pub const WEBHOOKS: &str = "mobilepay_webhooks_total";
pub const VERIFY_FAILURES: &str = "mobilepay_webhook_verify_failures_total";
pub const OPEN_STREAMS: &str = "mobilepay_open_streams";
pub const DELIVERY_SECONDS: &str = "mobilepay_status_delivery_seconds";

/// The process's recorder, installed once (several backends in one test process share it).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(DELIVERY_SECONDS.to_owned()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    ],
                )
                .ok()?
                .install_recorder()
                .map_err(|error| tracing::warn!(%error, "metrics recorder not installed"))
                .ok()
        })
        .as_ref()
}

/// Installs the recorder if it is not yet; call at start so that counters count from then.
pub fn init() {
    let _ = handle();
}

/// The Prometheus text of every metric, the session gauges refreshed from `db`. Fails when the
/// database does not answer: gauges of zero would tell the scraper that nothing is pending.
pub async fn render(db: &Db) -> Result<String, sqlx::Error> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM sessions GROUP BY status")
            .fetch_all(&db.pool)
            .await?;
    // Read with the wire's one `FromStr`: a status no version knows is an error, not a
    // session left uncounted.
    let counts = counts
        .into_iter()
        .map(|(status, n)| {
            let status: SessionStatus = status
                .parse()
                .map_err(|unknown| sqlx::Error::Decode(Box::new(unknown)))?;
            Ok((status, n))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    for &status in SessionStatus::ALL {
        let count = counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!(SESSIONS, "status" => status.as_str()).set(count as f64);
    }
    Ok(handle().map(PrometheusHandle::render).unwrap_or_default())
}

/// Counts an open stream for as long as it lives.
#[derive(Debug)]
pub struct OpenStream;

impl OpenStream {
    pub fn new() -> Self {
        metrics::gauge!(OPEN_STREAMS).increment(1.0);
        OpenStream
    }
}

impl Default for OpenStream {
    fn default() -> Self {
        OpenStream::new()
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!(OPEN_STREAMS).decrement(1.0);
    }
}
