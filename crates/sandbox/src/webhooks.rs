//! Webhooks: an outbox in the database, written in the same transaction as the change it
//! announces (so a restart loses none), and a worker that signs each delivery per the Standard
//! Webhooks spec (the `standardwebhooks` crate) and POSTs it to the account's endpoint.
//!
//! Retry schedule after a failed attempt (transport error, timeout, or non-2xx): 5 s, 5 min,
//! 30 min, 2 h, 5 h, 10 h, 10 h — eight attempts over about 28 hours — each delay ±10 % jitter,
//! on the sandbox's clock (advance it to test retries without waiting). Every attempt is logged
//! and listed by `GET /sandbox/v1/webhook-deliveries`; `POST …/{id}/replay` sends one again with
//! the same `webhook-id`, so receivers deduplicate it as they should.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mobilepay_wire::api::{
    DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookDeliveryList, WebhookEndpoint,
    WebhookEndpointConfig,
};
use mobilepay_wire::webhook::{EventKind, WebhookEvent};
use sqlx::SqliteConnection;
use tokio::sync::Notify;

use crate::auth::Principal;
use crate::error::{ApiJson, Error};
use crate::{AppState, random_id, rfc3339_unix};

/// Waits after the 1st, 2nd, … failed attempt.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a delivery being attempted is leased, so the worker does not pick it twice.
const LEASE_SECONDS: i64 = 60;

/// Wakes the worker and holds its HTTP client.
#[derive(Debug)]
pub struct Outbox {
    wake: Notify,
    http: reqwest::Client,
}

impl Outbox {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Outbox {
            wake: Notify::new(),
            http: reqwest::Client::builder()
                .timeout(ATTEMPT_TIMEOUT)
                .build()?,
        })
    }

    /// Tells the worker that something may be due (after a commit, or a clock change).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Queues the webhook `kind` for `account_id`, due now. Call inside the transaction that makes
/// the change it announces, and [`Outbox::wake`] after the commit.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    account_id: &str,
    kind: EventKind,
    at: i64,
) -> Result<String, sqlx::Error> {
    let event = WebhookEvent {
        timestamp: rfc3339_unix(at),
        kind,
    };
    let payload = serde_json::to_string(&event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let id = random_id("msg_", 24);
    let seq = crate::ledger::next_seq(conn, "webhook_deliveries").await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, account_id, event, payload, status, next_attempt_at, created_at, seq)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(&id)
    .bind(account_id)
    .bind(event.kind.name())
    .bind(payload)
    .bind(at)
    .bind(at)
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Delivers due webhooks until the process ends.
pub async fn worker(state: Arc<AppState>) {
    loop {
        let wait = match deliver_due(&state).await {
            Ok(wait) => wait,
            Err(error) => {
                tracing::error!(%error, "webhook worker");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = state.webhooks.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Starts every due delivery; returns how long to sleep before the next one is due.
async fn deliver_due(state: &Arc<AppState>) -> Result<Duration, sqlx::Error> {
    let now = state.clock.unix();
    let due: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
         ORDER BY next_attempt_at LIMIT 32",
    )
    .bind(now)
    .fetch_all(&state.db)
    .await?;
    for (id,) in due {
        sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?")
            .bind(now + LEASE_SECONDS)
            .bind(&id)
            .execute(&state.db)
            .await?;
        let state = Arc::clone(state);
        tokio::spawn(async move {
            if let Err(error) = attempt(&state, &id).await {
                tracing::error!(%error, delivery_id = %id, "webhook attempt not recorded");
            }
        });
    }
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'",
    )
    .fetch_one(&state.db)
    .await?;
    let secs = next.map_or(60, |at| (at - state.clock.unix()).clamp(0, 60));
    // Never spin: a due-now delivery was just leased.
    Ok(Duration::from_secs(u64::try_from(secs).unwrap_or(1).max(1)))
}

async fn attempt(state: &AppState, id: &str) -> Result<(), sqlx::Error> {
    let (payload, event, attempts, url, secret): (String, String, i64, Option<String>, String) =
        sqlx::query_as(
            "SELECT d.payload, d.event, d.attempt_count, a.webhook_url, a.webhook_secret
             FROM webhook_deliveries d JOIN accounts a ON a.id = d.account_id WHERE d.id = ?",
        )
        .bind(id)
        .fetch_one(&state.db)
        .await?;
    let outcome = match &url {
        None => Err("no webhook endpoint configured".to_owned()),
        Some(url) => send(&state.webhooks.http, url, &secret, id, payload.as_bytes()).await,
    };
    let at = state.clock.unix();
    let (http_status, error) = match &outcome {
        Ok(status) => (Some(i64::from(*status)), None),
        Err(error) => (None, Some(error.clone())),
    };
    let delivered = matches!(outcome, Ok(status) if (200..300).contains(&status));
    let error = match (&outcome, delivered) {
        (Ok(status), false) => Some(format!("endpoint answered {status}")),
        _ => error,
    };
    let attempts = attempts + 1;
    let (status, next) = if delivered {
        (DeliveryStatus::Delivered, None)
    } else if let Some(delay) = usize::try_from(attempts - 1)
        .ok()
        .and_then(|i| RETRY_SCHEDULE.get(i))
    {
        (DeliveryStatus::Pending, Some(at + jittered(*delay)))
    } else {
        (DeliveryStatus::Failed, None)
    };
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, at, http_status, error) VALUES (?, ?, ?, ?)",
    )
    .bind(id)
    .bind(at)
    .bind(http_status)
    .bind(&error)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, url = ? WHERE id = ?",
    )
    .bind(status.as_str())
    .bind(attempts)
    .bind(next)
    .bind(&url)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    match status {
        DeliveryStatus::Delivered => {
            tracing::info!(delivery_id = id, event, attempts, "webhook delivered")
        }
        DeliveryStatus::Pending => {
            tracing::warn!(delivery_id = id, event, attempts, error = ?error, "webhook attempt failed; will retry")
        }
        DeliveryStatus::Failed => {
            tracing::error!(delivery_id = id, event, attempts, error = ?error, "webhook abandoned")
        }
    }
    state.webhooks.wake();
    Ok(())
}

/// Signs and POSTs one attempt; the endpoint's HTTP status, or why there is none.
async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    id: &str,
    body: &[u8],
) -> Result<u16, String> {
    let signer = standardwebhooks::Webhook::new(secret).map_err(|_| "invalid secret".to_owned())?;
    // Real time, not the sandbox's clock: receivers check it against theirs (±5 minutes).
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = signer
        .sign(id, timestamp, body)
        .map_err(|e| e.to_string())?;
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
        .header(
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            timestamp.to_string(),
        )
        .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else {
                "could not connect".to_owned()
            }
        })?;
    Ok(response.status().as_u16())
}

/// `delay` ±10 %, in whole seconds.
fn jittered(delay: Duration) -> i64 {
    use rand::Rng;
    let secs = delay.as_secs_f64() * rand::rng().random_range(0.9..=1.1);
    secs.round() as i64
}

#[utoipa::path(
    get,
    path = "/sandbox/v1/webhook-endpoint",
    tag = "sandbox",
    responses((status = 200, body = WebhookEndpointConfig)),
    security(("bearer" = []))
)]
pub async fn get_endpoint(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<WebhookEndpointConfig>, Error> {
    endpoint(&state, &principal.account_id).await.map(Json)
}

#[utoipa::path(
    put,
    path = "/sandbox/v1/webhook-endpoint",
    tag = "sandbox",
    request_body = WebhookEndpoint,
    responses(
        (status = 200, body = WebhookEndpointConfig),
        (status = 400, description = "Not an http(s) URL (INVALID_PARAMETER)", body = mobilepay_wire::ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn put_endpoint(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(body): ApiJson<WebhookEndpoint>,
) -> Result<Json<WebhookEndpointConfig>, Error> {
    // As sent, without trimming: the document's pattern (`URL_PATTERN`) says exactly this.
    let url = body.url.as_str();
    let valid = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 2048
        && uri_characters(url)
        && reqwest::Url::parse(url).is_ok();
    if !valid {
        return Err(Error::InvalidField {
            field: "url",
            fr: "une URL http:// ou https://",
            en: "an http:// or https:// URL",
        });
    }
    sqlx::query("UPDATE accounts SET webhook_url = ? WHERE id = ?")
        .bind(url)
        .bind(&principal.account_id)
        .execute(&state.db)
        .await?;
    state.webhooks.wake();
    endpoint(&state, &principal.account_id).await.map(Json)
}

/// The characters RFC 3986 allows in a URI, `%` only as an escape of two hex digits: what the
/// document's pattern for a webhook URL says ([`URL_PATTERN`]). WHATWG parsing alone (what
/// `Url::parse` does) would also take `https://Ï` or a space, which are no URI.
fn uri_characters(url: &str) -> bool {
    let bytes = url.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let escape = bytes.get(i + 1..i + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// The pattern of a webhook URL in the OpenAPI document: [`uri_characters`] after the scheme.
pub const URL_PATTERN: &str =
    r"^https?://(?:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+$";

async fn endpoint(state: &AppState, account_id: &str) -> Result<WebhookEndpointConfig, Error> {
    let (url, secret): (Option<String>, String) =
        sqlx::query_as("SELECT webhook_url, webhook_secret FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_one(&state.db)
            .await?;
    Ok(WebhookEndpointConfig { url, secret })
}

#[utoipa::path(
    get,
    path = "/sandbox/v1/webhook-deliveries",
    tag = "sandbox",
    responses((status = 200, description = "The latest 100 deliveries, newest first", body = WebhookDeliveryList)),
    security(("bearer" = []))
)]
pub async fn list_deliveries(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<WebhookDeliveryList>, Error> {
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM webhook_deliveries WHERE account_id = ? ORDER BY seq DESC LIMIT 100",
    )
    .bind(&principal.account_id)
    .fetch_all(&state.db)
    .await?;
    let mut deliveries = Vec::with_capacity(ids.len());
    for (id,) in ids {
        deliveries.push(delivery(&state, &principal.account_id, &id).await?);
    }
    Ok(Json(WebhookDeliveryList { deliveries }))
}

#[utoipa::path(
    post,
    path = "/sandbox/v1/webhook-deliveries/{delivery_id}/replay",
    tag = "sandbox",
    params(("delivery_id" = String, Path, description = "The delivery's webhook-id")),
    responses(
        (status = 202, description = "Queued again, due now", body = WebhookDelivery),
        (status = 404, description = "DELIVERY_NOT_FOUND", body = mobilepay_wire::ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn replay(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookDelivery>), Error> {
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', attempt_count = 0, next_attempt_at = ?
         WHERE id = ? AND account_id = ?",
    )
    .bind(state.clock.unix())
    .bind(&id)
    .bind(&principal.account_id)
    .execute(&state.db)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(Error::DeliveryNotFound);
    }
    state.webhooks.wake();
    let delivery = delivery(&state, &principal.account_id, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

async fn delivery(state: &AppState, account_id: &str, id: &str) -> Result<WebhookDelivery, Error> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<i64>,
        String,
        i64,
    );
    let (id, event, status, url, next, payload, created_at): Row = sqlx::query_as(
        "SELECT id, event, status, url, next_attempt_at, payload, created_at FROM webhook_deliveries
         WHERE id = ? AND account_id = ?",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::DeliveryNotFound)?;
    let status: DeliveryStatus = status
        .parse()
        .map_err(|unknown| sqlx::Error::Decode(Box::new(unknown)))?;
    let attempts: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT at, http_status, error FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?;
    Ok(WebhookDelivery {
        delivery_id: id,
        event,
        next_attempt_at: (status == DeliveryStatus::Pending)
            .then(|| next.map(rfc3339_unix))
            .flatten(),
        status: status.as_str().to_owned(),
        url,
        attempts: attempts
            .into_iter()
            .map(|(at, http_status, error)| DeliveryAttempt {
                at: rfc3339_unix(at),
                http_status: http_status.and_then(|s| u16::try_from(s).ok()),
                error,
            })
            .collect(),
        payload: serde_json::from_str(&payload).unwrap_or_default(),
        created_at: rfc3339_unix(created_at),
    })
}
