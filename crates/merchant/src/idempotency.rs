//! `Idempotency-Key` on every `/v1` POST, kept in the shared database so that it holds across
//! instances: the same key with the same request answers the stored response (with
//! `Idempotent-Replayed: true`) and does nothing again; with another method, path or body it is
//! a `422`; while its first request runs, a `409`. Keys are kept 24 hours.
//!
//! A claimed key is a lease (`locked_until`): a request whose instance died holding it does not
//! block its retries for good — once the lease lapses, a retry takes the key over and runs.
//! A 5xx answer is not stored, so the request can be retried with the same key. A claimed
//! request runs to its end even if its client gives up, so its retry finds its answer.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db::{Db, now};
use crate::error::Error;
use crate::ids;

pub const HEADER: &str = "idempotency-key";
/// How long an answer is replayed.
pub const KEEP_SECONDS: i64 = 24 * 3600;
/// How long a claimed key is held for its first request: far longer than any `/v1` request
/// takes, short enough that a retry after a crash waits at most this long.
pub const LEASE_SECONDS: i64 = 60;
/// The largest body remembered (a `/v1` request or answer is far smaller).
const MAX_BODY: usize = 1 << 20;

/// What identifies a request under its key: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), body] {
        // Lengths first, so that no two different requests hash the same concatenation.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    ids::hex(&hasher.finalize())
}

pub async fn layer(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(HEADER) {
        return next.run(request).await;
    }
    // In a task of its own: a client that times out drops this future, and a request stopped
    // half-way would hold its key until the lease lapses.
    let handled = tokio::spawn(async move {
        match handle(state, request, next).await {
            Ok(response) | Err(response) => response,
        }
    });
    handled
        .await
        .unwrap_or_else(|_panicked| Error::Internal.into_response())
}

async fn handle(state: Arc<AppState>, request: Request, next: Next) -> Result<Response, Response> {
    let key = request
        .headers()
        .get(HEADER)
        .and_then(|key| key.to_str().ok())
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| Error::InvalidIdempotencyKey.into_response())?
        .to_owned();
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Error::InvalidJson("body too large".into()).into_response())?;
    let fingerprint = fingerprint(parts.method.as_str(), parts.uri.path(), &bytes);
    let db = &state.sessions.db;
    let fail = |e: sqlx::Error| Error::Database(e).into_response();
    let at = now();

    sqlx::query("DELETE FROM idempotency_keys WHERE key = $1 AND created_at < $2")
        .bind(&key)
        .bind(at - KEEP_SECONDS)
        .execute(&db.pool)
        .await
        .map_err(fail)?;
    let claimed = sqlx::query(
        "INSERT INTO idempotency_keys (key, request_hash, state, locked_until, created_at)
         VALUES ($1, $2, 'in_flight', $3, $4) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&key)
    .bind(&fingerprint)
    .bind(at + LEASE_SECONDS)
    .bind(at)
    .execute(&db.pool)
    .await
    .map_err(fail)?
    .rows_affected()
        == 1;

    if !claimed {
        type Stored = (String, String, Option<i64>, Option<String>);
        let (hash, stored_state, status, body): Stored = sqlx::query_as(
            "SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE key = $1",
        )
        .bind(&key)
        .fetch_one(&db.pool)
        .await
        .map_err(fail)?;
        if hash != fingerprint {
            return Err(Error::IdempotencyKeyReused.into_response());
        }
        if stored_state == "completed" {
            return Ok(replay(status, body));
        }
        // In flight: ours to take over only once its lease has lapsed (its request died).
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET locked_until = $1
             WHERE key = $2 AND state = 'in_flight' AND locked_until < $3",
        )
        .bind(at + LEASE_SECONDS)
        .bind(&key)
        .bind(at)
        .execute(&db.pool)
        .await
        .map_err(fail)?
        .rows_affected()
            == 1;
        if !taken {
            return Err(Error::IdempotencyInProgress.into_response());
        }
        tracing::warn!("an in-flight Idempotency-Key whose lease lapsed is taken over");
    }

    // The handler in a task of its own too, so that one that panics frees the key, as a 5xx.
    let Ok(response) = tokio::spawn(next.run(Request::from_parts(parts, Body::from(bytes)))).await
    else {
        forget(db, &key).await;
        return Err(Error::Internal.into_response());
    };
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    if parts.status.is_server_error() {
        forget(db, &key).await;
    } else {
        let recorded = sqlx::query(
            "UPDATE idempotency_keys SET state = 'completed', response_status = $1, response_body = $2
             WHERE key = $3",
        )
        .bind(i64::from(parts.status.as_u16()))
        .bind(String::from_utf8_lossy(&bytes).into_owned())
        .bind(&key)
        .execute(&db.pool)
        .await;
        if let Err(error) = recorded {
            tracing::error!(%error, "idempotency record not updated");
        }
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn replay(status: Option<i64>, body: Option<String>) -> Response {
    let status = status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, Body::from(body.unwrap_or_default())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// Frees `key`: its request answered a 5xx or panicked, so it may be tried again.
async fn forget(db: &Db, key: &str) {
    let forgotten = sqlx::query("DELETE FROM idempotency_keys WHERE key = $1")
        .bind(key)
        .execute(&db.pool)
        .await;
    if let Err(error) = forgotten {
        tracing::error!(%error, "idempotency key not freed");
    }
}
