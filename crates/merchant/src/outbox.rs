//! The outbox's delivery side: every row of `events` (written in the same transaction as the
//! checkout change it announces) is POSTed to every webhook endpoint that wants its type,
//! signed per Standard Webhooks with that endpoint's secret.
//!
//! Invariants:
//! - Everything is in the database: an event gets one `webhook_deliveries` row per endpoint
//!   (the fan-out, marked by `events.dispatched_at`), and each attempt a `webhook_attempts` row.
//!   A restarted or another instance picks up where this one stopped.
//! - Each (event, endpoint) delivery is scheduled on its own (`next_attempt_at`): one that fails
//!   never holds up another, to the same endpoint or not — there is no per-endpoint queue.
//! - One sender at a time per delivery: a sender claims due rows (`claimed_by`, `claimed_until`)
//!   in one statement — with `FOR UPDATE SKIP LOCKED` on PostgreSQL so that instances skip each
//!   other's rows instead of waiting — and the claim outlasts the request timeout, so it lapses
//!   only for a sender that crashed. The result of an attempt is written only while the claim is
//!   still the sender's.
//! - Retried only when the receiver may take it later: no answer (network error, timeout),
//!   `408`, `429` (after its `Retry-After`) and `5xx`; any other status fails the delivery for
//!   good. The waits grow exponentially, with ±25 % jitter, over more than three days.
//! - The body and the secret never reach a log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::AppState;
use crate::db::{Backend, Db};
use crate::ids::random_token;

/// Every event type an endpoint may ask for (`*`: all of them).
pub const EVENT_TYPES: [&str; 7] = [
    "checkout.paid",
    "checkout.payment_failed",
    "checkout.expired",
    "checkout.canceled",
    "checkout.amount_mismatch",
    "refund.succeeded",
    "refund.failed",
];

/// Waits after the 1st, 2nd, … failed attempt: ×3 up to an hour, then doubling to a day, then
/// daily. 14 attempts over 4.15 days (3.1 days at the shortest jitter).
pub const DEFAULT_RETRY_SCHEDULE: [Duration; 13] = [
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(2 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(8 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(24 * 3600),
];

/// A `Retry-After` longer than this is read as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How much of a receiver's answer is read (so the connection can be reused), at most.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The shortest sleep between two looks at the database: rows another instance is claiming
/// at this instant read as due without being claimable.
const MIN_WAIT: Duration = Duration::from_millis(5);
/// Events fanned out per transaction.
const DISPATCH_BATCH_SIZE: usize = 200;
const DISPATCH_BATCH: i64 = DISPATCH_BATCH_SIZE as i64;

/// How the worker delivers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Waits after each failed attempt; once exhausted, the delivery has failed for good.
    pub retry_schedule: Vec<Duration>,
    /// One attempt's time limit, connection included.
    pub timeout: Duration,
    /// Attempts in flight at once, at most.
    pub concurrency: usize,
    /// How often the database is looked at without a wake-up (events written by another
    /// instance, retries coming due).
    pub poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retry_schedule: DEFAULT_RETRY_SCHEDULE.to_vec(),
            timeout: Duration::from_secs(10),
            concurrency: 16,
            poll: Duration::from_secs(1),
        }
    }
}

/// The worker's handle: its wake-up and its HTTP client.
#[derive(Debug)]
pub struct Outbox {
    /// Shared with [`Sessions`](crate::sessions::Sessions), which notifies it after each commit.
    wake: Arc<Notify>,
    http: reqwest::Client,
    settings: Settings,
    /// Numbers this instance's claims, so that each batch is found by its own token.
    batches: AtomicU64,
}

impl Outbox {
    /// The worker's handle, woken through `wake` (also after every commit of a status change:
    /// [`Sessions::new`](crate::sessions::Sessions::new) takes the same `Notify`).
    pub fn new(settings: Settings, wake: Arc<Notify>) -> anyhow::Result<Outbox> {
        Ok(Outbox {
            wake,
            http: reqwest::Client::builder()
                .timeout(settings.timeout)
                // A receiver's redirect is its answer (a 3xx: failed), never followed: the
                // signed body goes to the URL the merchant registered and nowhere else.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("mobilepay-merchant-webhooks")
                .build()?,
            settings: Settings {
                concurrency: settings.concurrency.max(1),
                ..settings
            },
            batches: AtomicU64::new(0),
        })
    }

    /// Tells the worker that something may be due: call it after committing an event, a new
    /// endpoint or a redelivery.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// A webhook endpoint's secret (`whsec_…`). Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A new random secret: 24 bytes, base64, as Standard Webhooks writes them.
    pub fn generate() -> Secret {
        use base64::Engine;
        let mut bytes = [0u8; 24];
        rand::rng().fill(&mut bytes);
        Secret(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    pub fn from_stored(secret: String) -> Secret {
        Secret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

/// Unix seconds (or milliseconds, with [`rfc3339_ms`]) as RFC 3339, UTC.
pub fn rfc3339(unix: i64) -> String {
    rfc3339_ms(unix.saturating_mul(1000))
}

pub fn rfc3339_ms(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Whether an endpoint that asked for `wanted` (a JSON array of types) wants `kind`.
pub fn wants(wanted: &[String], kind: &str) -> bool {
    wanted.iter().any(|w| w == "*" || w == kind)
}

/// Delivers events until the process ends. Its attempts in flight belong to it: when it is
/// aborted (shutdown), they are too, and their claims are released by [`release`].
pub async fn run(state: Arc<AppState>) {
    let outbox = &state.outbox;
    let concurrency = outbox.settings.concurrency;
    // Claims are made for a quarter of the slots at least (or when nothing is in flight):
    // under a burst, one claim per finished attempt would cost more than the attempts.
    let batch = concurrency.div_ceil(4);
    let mut inflight = JoinSet::new();
    // New events come with a wake-up or are found by the poll, not when an attempt ends.
    let mut look_for_events = true;
    loop {
        while inflight.try_join_next().is_some() {}
        // A full batch of events fanned out: there may be more, look again next time round.
        let mut more_events = false;
        if look_for_events {
            match dispatch(&state.sessions.db).await {
                Ok(n) => more_events = n >= DISPATCH_BATCH_SIZE,
                Err(error) => tracing::warn!(%error, "webhook fan-out failed"),
            }
        }
        let free = concurrency.saturating_sub(inflight.len());
        let claiming = free > 0 && (free >= batch || inflight.is_empty());
        if claiming {
            match claim(&state, free).await {
                Ok(jobs) => {
                    for job in jobs {
                        let state = Arc::clone(&state);
                        inflight.spawn(async move { attempt(&state, job).await });
                    }
                }
                Err(error) => tracing::warn!(%error, "webhook claim failed"),
            }
        }
        // Slots too few to claim for: what is due waits for a slot, not for a time.
        let wait = if concurrency.saturating_sub(inflight.len()) < batch && !inflight.is_empty() {
            outbox.settings.poll
        } else {
            match next_due_in(&state.sessions.db).await {
                Ok(Some(due)) => due.clamp(MIN_WAIT, outbox.settings.poll),
                _ => outbox.settings.poll,
            }
        };
        look_for_events = more_events
            || tokio::select! {
                () = outbox.wake.notified() => true,
                Some(_) = inflight.join_next(), if !inflight.is_empty() => false,
                () = tokio::time::sleep(wait) => true,
            };
    }
}

/// How long until the next pending delivery is due (zero if one already is), if any: the
/// earliest `next_attempt_at` of the rows no live claim covers, or the earliest lapse of a
/// claim (a crashed sender's).
///
/// Two index lookups rather than one `MIN(CASE …)` over every pending row: that scan cost
/// O(pending) at each look — 3 ms at 20,000 pending on SQLite, for an endpoint that has been
/// down a while — where the first row in `webhook_deliveries_due` order that is not claimed
/// is found after at most the claims in flight, and claimed rows are few and indexed
/// (`webhook_deliveries_claimed`). `claimed_by` and `claimed_until` are always set and cleared
/// together.
async fn next_due_in(db: &Db) -> Result<Option<Duration>, sqlx::Error> {
    let next: Option<(Option<i64>,)> = sqlx::query_as(
        "SELECT MIN(at) FROM (
             SELECT (SELECT next_attempt_at FROM webhook_deliveries
                     WHERE status = 'pending'
                       AND (claimed_until IS NULL OR claimed_until < next_attempt_at)
                     ORDER BY next_attempt_at LIMIT 1) AS at
             UNION ALL
             SELECT (SELECT MIN(claimed_until) FROM webhook_deliveries
                     WHERE claimed_by IS NOT NULL AND status = 'pending'
                       AND claimed_until >= next_attempt_at)
         ) AS due",
    )
    .fetch_optional(&db.pool)
    .await?;
    Ok(next
        .and_then(|(at,)| at)
        .map(|at| Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0))))
}

/// The fan-out: one delivery per (event, endpoint that wants it), for events that have none
/// yet. Endpoints created after the event do not get it (a redelivery sends it to them).
/// Returns how many events it dispatched.
pub async fn dispatch(db: &Db) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin().await?;
    // On PostgreSQL, another instance dispatching at the same time takes other events.
    let lock = if db.backend == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let events: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "SELECT id, type, created_at FROM events WHERE dispatched_at IS NULL
         ORDER BY created_at LIMIT $1{lock}"
    ))
    .bind(DISPATCH_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if events.is_empty() {
        return Ok(0);
    }
    let endpoints = live_endpoints(&mut tx).await?;
    let at = crate::db::now();
    let due = now_ms();
    for (event_id, kind, created_at) in &events {
        for endpoint in &endpoints {
            if endpoint.created_at > *created_at || !wants(&endpoint.events, kind) {
                continue;
            }
            sqlx::query(
                "INSERT INTO webhook_deliveries
                     (id, event_id, endpoint_id, status, failures, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, 'pending', 0, $4, $5)
                 ON CONFLICT (event_id, endpoint_id) DO NOTHING",
            )
            .bind(random_token("wd_", 12))
            .bind(event_id)
            .bind(&endpoint.id)
            .bind(due)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE events SET dispatched_at = $1 WHERE id = $2")
            .bind(at)
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(events.len())
}

/// An endpoint as the fan-out needs it.
struct LiveEndpoint {
    id: String,
    events: Vec<String>,
    created_at: i64,
}

async fn live_endpoints(conn: &mut sqlx::AnyConnection) -> Result<Vec<LiveEndpoint>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT id, events, created_at FROM webhook_endpoints WHERE deleted_at IS NULL
         ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, events, created_at)| LiveEndpoint {
            id,
            events: serde_json::from_str(&events).unwrap_or_default(),
            created_at,
        })
        .collect())
}

/// A claimed delivery, with what its attempt needs.
#[derive(Debug)]
struct Job {
    delivery_id: String,
    /// This claim's token: the result is written only if the row still carries it.
    token: String,
    failures: i64,
    event_id: String,
    kind: String,
    seq: i64,
    data: String,
    created_at: i64,
    url: String,
    secret: Secret,
}

/// Claims up to `limit` due deliveries for this instance.
async fn claim(state: &AppState, limit: usize) -> Result<Vec<Job>, sqlx::Error> {
    let db = &state.sessions.db;
    let batch = state.outbox.batches.fetch_add(1, Ordering::Relaxed);
    let token = format!("{}/{batch}", state.instance);
    let now = now_ms();
    // The claim outlasts the attempt's timeout: it lapses only for a sender that died.
    let until = now.saturating_add(millis(state.outbox.settings.timeout) + 30_000);
    let lock = if db.backend == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let claimed = sqlx::query(&format!(
        "UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $2
         WHERE id IN (SELECT id FROM webhook_deliveries
                      WHERE status = 'pending' AND next_attempt_at <= $3
                        AND (claimed_until IS NULL OR claimed_until < $4)
                      ORDER BY next_attempt_at LIMIT $5{lock})"
    ))
    .bind(&token)
    .bind(until)
    .bind(now)
    .bind(now)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .execute(&db.pool)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(Vec::new());
    }
    type Row = (
        String,
        i64,
        String,
        String,
        i64,
        String,
        i64,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.id, d.failures, e.id, e.type, e.seq, e.data, e.created_at, w.url, w.secret
         FROM webhook_deliveries d
         JOIN events e ON e.id = d.event_id
         JOIN webhook_endpoints w ON w.id = d.endpoint_id
         WHERE d.claimed_by = $1 AND d.status = 'pending'",
    )
    .bind(&token)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(delivery_id, failures, event_id, kind, seq, data, created_at, url, secret)| Job {
                delivery_id,
                token: token.clone(),
                failures,
                event_id,
                kind,
                seq,
                data,
                created_at,
                url,
                secret: Secret::from_stored(secret),
            },
        )
        .collect())
}

/// The body an endpoint receives: `{id, type, created_at, sequence, data}`.
pub fn body(id: &str, kind: &str, created_at: i64, seq: i64, data: &str) -> String {
    let data: serde_json::Value = serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "id": id,
        "type": kind,
        "created_at": rfc3339(created_at),
        "sequence": seq,
        "data": data,
    })
    .to_string()
}

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered(u16),
    /// The receiver may take it later; `retry_after` if it said when.
    Retry {
        status: Option<u16>,
        error: Option<&'static str>,
        retry_after: Option<Duration>,
    },
    /// Refused for good.
    Refused(u16),
}

/// How an answer's status is taken.
pub fn classify(status: StatusCode, headers: &HeaderMap) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        Outcome::Delivered(code)
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        Outcome::Retry {
            status: Some(code),
            error: None,
            retry_after: retry_after(headers),
        }
    } else {
        Outcome::Refused(code)
    }
}

/// `Retry-After` in seconds or as an HTTP date, capped at a day.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let format = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let at = time::PrimitiveDateTime::parse(value, &format)
            .ok()?
            .assume_utc();
        let wait = at - time::OffsetDateTime::now_utc();
        Duration::try_from(wait).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The wait before the next attempt after `failures` failed ones in a row (1 = the first), or
/// `None` once the schedule is exhausted.
pub fn backoff(
    schedule: &[Duration],
    failures: usize,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let base = schedule.get(failures.checked_sub(1)?)?;
    // ±25 %: receivers coming back up are not hit by every delivery in the same instant.
    let jittered = base.mul_f64(rand::rng().random_range(0.75..=1.25));
    Some(jittered.max(retry_after.unwrap_or(Duration::ZERO)))
}

/// Sends one claimed delivery and records the attempt.
async fn attempt(state: &AppState, job: Job) {
    let body = body(&job.event_id, &job.kind, job.created_at, job.seq, &job.data);
    let started = Instant::now();
    let attempted_at = now_ms();
    let outcome = send(&state.outbox.http, &job, &body).await;
    let latency = millis(started.elapsed());
    if let Err(error) = record(state, &job, &outcome, attempted_at, latency).await {
        // The claim lapses and another attempt follows: at least once, never lost.
        tracing::error!(%error, delivery_id = %job.delivery_id, "webhook attempt not recorded");
    }
}

async fn send(http: &reqwest::Client, job: &Job, body: &str) -> Outcome {
    let signer = match standardwebhooks::Webhook::new(job.secret.expose()) {
        Ok(signer) => signer,
        Err(_) => {
            return Outcome::Retry {
                status: None,
                error: Some("invalid secret"),
                retry_after: None,
            };
        }
    };
    // Real time: receivers check it against their clock (Standard Webhooks: ±5 minutes).
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = match signer.sign(&job.event_id, timestamp, body.as_bytes()) {
        Ok(signature) => signature,
        Err(_) => {
            return Outcome::Retry {
                status: None,
                error: Some("cannot sign"),
                retry_after: None,
            };
        }
    };
    let sent = http
        .post(&job.url)
        .header(header::CONTENT_TYPE, "application/json")
        // The event's id: the same across redeliveries, so that receivers drop duplicates.
        .header(standardwebhooks::HEADER_WEBHOOK_ID, &job.event_id)
        .header(
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            timestamp.to_string(),
        )
        .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
        .body(body.to_owned())
        .send()
        .await;
    match sent {
        Ok(mut response) => {
            let outcome = classify(response.status(), response.headers());
            // Read a bounded part of the answer so that the connection can be reused.
            let mut read = 0;
            while read < MAX_ANSWER_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
            outcome
        }
        Err(error) => Outcome::Retry {
            status: None,
            error: Some(if error.is_timeout() {
                "timeout"
            } else if error.is_connect() {
                "connection failed"
            } else {
                "network error"
            }),
            retry_after: None,
        },
    }
}

/// Writes the attempt and, if the claim is still ours, the delivery's next state.
async fn record(
    state: &AppState,
    job: &Job,
    outcome: &Outcome,
    attempted_at: i64,
    latency_ms: i64,
) -> Result<(), sqlx::Error> {
    let (status_code, error) = match outcome {
        Outcome::Delivered(code) | Outcome::Refused(code) => (Some(i64::from(*code)), None),
        Outcome::Retry { status, error, .. } => (status.map(i64::from), *error),
    };
    let failures = usize::try_from(job.failures).unwrap_or(0) + 1;
    let (status, next_attempt_at, error) = match outcome {
        Outcome::Delivered(_) => ("succeeded", attempted_at, error),
        Outcome::Refused(_) => ("failed", attempted_at, error),
        Outcome::Retry { retry_after, .. } => {
            match backoff(
                &state.outbox.settings.retry_schedule,
                failures,
                *retry_after,
            ) {
                Some(wait) => ("pending", now_ms().saturating_add(millis(wait)), error),
                None => ("failed", attempted_at, error),
            }
        }
    };
    let mut tx = state.sessions.db.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, error, latency_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(random_token("wa_", 12))
    .bind(&job.delivery_id)
    .bind(attempted_at)
    .bind(status_code)
    .bind(error)
    .bind(latency_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries
         SET status = $1, failures = $2, next_attempt_at = $3, claimed_by = NULL,
             claimed_until = NULL
         WHERE id = $4 AND claimed_by = $5 AND status = 'pending'",
    )
    .bind(status)
    .bind(i64::try_from(failures).unwrap_or(i64::MAX))
    .bind(next_attempt_at)
    .bind(&job.delivery_id)
    .bind(&job.token)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    match outcome {
        Outcome::Delivered(_) => {
            tracing::debug!(delivery_id = %job.delivery_id, "webhook delivered");
        }
        _ => tracing::info!(
            delivery_id = %job.delivery_id,
            event_id = %job.event_id,
            status_code,
            error,
            next = status,
            "webhook attempt failed"
        ),
    }
    Ok(())
}

/// Gives up this instance's claims, for another instance (or the next start) to take at once.
pub async fn release(db: &Db, instance: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL
         WHERE claimed_by LIKE $1",
    )
    .bind(format!("{instance}/%"))
    .execute(&db.pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_retries_for_more_than_three_days_even_at_the_shortest_jitter() {
        let total: Duration = DEFAULT_RETRY_SCHEDULE.iter().sum();
        assert!(total.mul_f64(0.75) > Duration::from_secs(3 * 86_400));
        for window in DEFAULT_RETRY_SCHEDULE.windows(2) {
            assert!(window[0] <= window[1], "the waits never shrink");
        }
    }

    #[test]
    fn backoff_follows_the_schedule_with_jitter_and_ends_with_it() {
        let schedule = [Duration::from_secs(10), Duration::from_secs(100)];
        for _ in 0..100 {
            let first = backoff(&schedule, 1, None).expect("a wait");
            assert!(
                first >= Duration::from_millis(7_500) && first <= Duration::from_millis(12_500)
            );
            let second = backoff(&schedule, 2, None).expect("a wait");
            assert!(second >= Duration::from_secs(75) && second <= Duration::from_secs(125));
        }
        assert_eq!(backoff(&schedule, 3, None), None, "exhausted");
        assert_eq!(
            backoff(&schedule, 1, Some(Duration::from_secs(60))),
            Some(Duration::from_secs(60)),
            "Retry-After is honoured when longer"
        );
    }

    #[test]
    fn only_timeouts_rate_limits_and_server_errors_are_retried() {
        let none = HeaderMap::new();
        assert_eq!(
            classify(StatusCode::NO_CONTENT, &none),
            Outcome::Delivered(204)
        );
        for code in [408u16, 429, 500, 502, 503, 504] {
            let status = StatusCode::from_u16(code).expect("a status");
            assert!(
                matches!(classify(status, &none), Outcome::Retry { .. }),
                "{code}"
            );
        }
        for code in [301u16, 302, 400, 401, 403, 404, 410, 422] {
            let status = StatusCode::from_u16(code).expect("a status");
            assert_eq!(classify(status, &none), Outcome::Refused(code));
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "120".parse().expect("a header"));
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &headers),
            Outcome::Retry {
                status: Some(429),
                error: None,
                retry_after: Some(Duration::from_secs(120))
            }
        );
        headers.insert(
            header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("a header"),
        );
        assert!(matches!(
            classify(StatusCode::SERVICE_UNAVAILABLE, &headers),
            Outcome::Retry { retry_after: Some(d), .. } if d == Duration::ZERO
        ));
    }

    #[test]
    fn a_secret_is_a_standard_webhooks_secret_that_debug_hides() {
        let secret = Secret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert!(standardwebhooks::Webhook::new(secret.expose()).is_ok());
        assert_eq!(format!("{secret:?}"), "Secret(…)");
        assert_ne!(Secret::generate(), secret);
    }

    /// Adds a delivery of a new event to `we_1`.
    async fn delivery(db: &Db, id: &str, status: &str, next: i64, claimed_until: Option<i64>) {
        sqlx::query(
            "INSERT INTO events (id, checkout_id, seq, type, data, created_at)
             VALUES ($1, $2, 1, 'checkout.paid', '{}', 0)",
        )
        .bind(format!("evt_{id}"))
        .bind(format!("chk_{id}"))
        .execute(&db.pool)
        .await
        .expect("an event");
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, failures,
                 next_attempt_at, claimed_by, claimed_until, created_at)
             VALUES ($1, $2, 'we_1', $3, 0, $4, $5, $6, 0)",
        )
        .bind(id)
        .bind(format!("evt_{id}"))
        .bind(status)
        .bind(next)
        .bind(claimed_until.map(|_| "elsewhere/1"))
        .bind(claimed_until)
        .execute(&db.pool)
        .await
        .expect("a delivery");
    }

    #[tokio::test]
    async fn the_next_look_is_at_the_earliest_unclaimed_attempt_or_the_earliest_lapse_of_a_claim() {
        let db = Db::connect("sqlite::memory:").await.expect("a database");
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, url, events, secret, created_at)
             VALUES ('we_1', 'http://127.0.0.1:9/', '[\"*\"]', 'whsec_x', 0)",
        )
        .execute(&db.pool)
        .await
        .expect("an endpoint");
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64().round());
        assert_eq!(
            next_due_in(&db).await.expect("asked"),
            None,
            "nothing pending"
        );

        let now = now_ms();
        delivery(&db, "done", "succeeded", now - 5_000, None).await;
        delivery(&db, "later", "pending", now + 60_000, None).await;
        assert_eq!(secs(next_due_in(&db).await.expect("asked")), Some(60.0));
        // Claimed and in flight: looked at again when the claim lapses, not when it was due.
        delivery(&db, "inflight", "pending", now - 1_000, Some(now + 30_000)).await;
        assert_eq!(secs(next_due_in(&db).await.expect("asked")), Some(30.0));
        // A claim that lapsed before the next attempt (a crashed sender's): the attempt counts.
        delivery(&db, "lapsed", "pending", now + 10_000, Some(now + 5_000)).await;
        assert_eq!(secs(next_due_in(&db).await.expect("asked")), Some(10.0));
        delivery(&db, "due", "pending", now - 1, None).await;
        assert_eq!(
            next_due_in(&db).await.expect("asked"),
            Some(Duration::ZERO),
            "one is due"
        );
    }

    #[test]
    fn endpoints_want_their_types_or_everything() {
        let some = vec!["checkout.paid".to_owned()];
        assert!(wants(&some, "checkout.paid"));
        assert!(!wants(&some, "checkout.expired"));
        assert!(wants(&["*".to_owned()], "refund.failed"));
    }
}
