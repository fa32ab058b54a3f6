//! `Idempotency-Key` on every POST of the API: the same key with the same request answers the
//! stored response (with `Idempotent-Replayed: true`) and does nothing again; the same key with
//! another request is a 422; a key whose first request is still running is a 409. Keys are
//! scoped to the API key or token that sent them and kept 24 hours. A 5xx answer is not stored,
//! so the request can be retried with the same key. A claimed request runs to its end even if
//! its client gives up (the retry finds its answer); one that panics frees its key, as a 5xx.
//!
//! A claim is a lease of [`LEASE_SECONDS`] on the sandbox's clock: a request whose process died
//! mid-way (killed, power cut) never records its answer, and after the lease a retry takes the
//! key over instead of answering `409` for 24 hours. The claim's `created_at` is its identity:
//! a request that was taken over (it ran past its lease) records nothing, so it cannot overwrite
//! its successor's answer.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::auth::Principal;
use crate::error::{English, Error};
use crate::{AppState, sha256_hex};

pub const HEADER: &str = "idempotency-key";
const KEEP_SECONDS: i64 = 24 * 3600;
/// How long a claimed key stays "in progress" without an answer. Every handler answers within
/// seconds; a claim this old belongs to a process that died.
pub const LEASE_SECONDS: i64 = 60;
const MAX_BODY: usize = 1 << 20;

pub async fn layer(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    // In a task of its own: a client that times out drops this future, and a request stopped
    // half-way (its key claimed, its answer never recorded) would answer every retry with a 409
    // for 24 hours.
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
    let key = match request.headers().get(HEADER) {
        Some(key) if request.method() == Method::POST => key
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| Error::InvalidIdempotencyKey.into_response())?
            .to_owned(),
        _ => return Ok(next.run(request).await),
    };
    let principal = request
        .extensions()
        .get::<Principal>()
        .map(|p| p.subject.clone())
        .ok_or_else(|| Error::Internal.into_response())?;
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Error::InvalidJson("body too large".into()).into_response())?;
    let fingerprint = sha256_hex(
        &[
            parts.method.as_str().as_bytes(),
            parts.uri.path().as_bytes(),
            &bytes,
        ]
        .concat(),
    );
    let now = state.clock.unix();
    let db = |e: sqlx::Error| Error::Database(e).into_response();

    sqlx::query(
        "DELETE FROM idempotency_keys WHERE principal = ? AND key = ?
         AND (created_at < ? OR (state = 'in_flight' AND created_at <= ?))",
    )
    .bind(&principal)
    .bind(&key)
    .bind(now - KEEP_SECONDS)
    .bind(now - LEASE_SECONDS)
    .execute(&state.db)
    .await
    .map_err(db)?;
    let claimed = sqlx::query(
        "INSERT INTO idempotency_keys (principal, key, request_hash, state, created_at)
         VALUES (?, ?, ?, 'in_flight', ?) ON CONFLICT DO NOTHING",
    )
    .bind(&principal)
    .bind(&key)
    .bind(&fingerprint)
    .bind(now)
    .execute(&state.db)
    .await
    .map_err(db)?
    .rows_affected()
        == 1;

    if !claimed {
        type Stored = (
            String,
            String,
            Option<i64>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
        );
        let (hash, stored_state, status, body, english): Stored = sqlx::query_as(
            "SELECT request_hash, state, response_status, response_body, response_body_en
             FROM idempotency_keys WHERE principal = ? AND key = ?",
        )
        .bind(&principal)
        .bind(&key)
        .fetch_one(&state.db)
        .await
        .map_err(db)?;
        if hash != fingerprint {
            return Err(Error::IdempotencyKeyReused.into_response());
        }
        if stored_state != "completed" {
            return Err(Error::IdempotencyInProgress.into_response());
        }
        let status = status
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        let mut response = (status, Body::from(body.unwrap_or_default())).into_response();
        // An error is replayed in the language the retry asks for (`error::localize`).
        if let Some(english) = english.and_then(|e| serde_json::from_slice(&e).ok()) {
            response.extensions_mut().insert(English(english));
        }
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(response);
    }

    // The handler in a task of its own too, so that one that panics frees the key, as a 5xx.
    let claim = Claim {
        principal: &principal,
        key: &key,
        at: now,
    };
    let Ok(response) = tokio::spawn(next.run(Request::from_parts(parts, Body::from(bytes)))).await
    else {
        forget(&state, &claim).await;
        return Err(Error::Internal.into_response());
    };
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    if parts.status.is_server_error() {
        forget(&state, &claim).await;
    } else {
        let english = parts
            .extensions
            .get::<English>()
            .and_then(|English(body)| serde_json::to_vec(body).ok());
        let recorded = sqlx::query(
            "UPDATE idempotency_keys
             SET state = 'completed', response_status = ?, response_body = ?, response_body_en = ?
             WHERE principal = ? AND key = ? AND state = 'in_flight' AND created_at = ?",
        )
        .bind(i64::from(parts.status.as_u16()))
        .bind(bytes.as_ref())
        .bind(english)
        .bind(claim.principal)
        .bind(claim.key)
        .bind(claim.at)
        .execute(&state.db)
        .await;
        match recorded {
            Err(error) => tracing::error!(%error, "idempotency record not updated"),
            Ok(done) if done.rows_affected() == 0 => {
                tracing::warn!("a request outlived its idempotency lease: its answer is not kept");
            }
            Ok(_) => {}
        }
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// A key claimed by this request at `at` (on the sandbox's clock).
struct Claim<'a> {
    principal: &'a str,
    key: &'a str,
    at: i64,
}

/// Frees a claimed key: its request answered a 5xx or panicked, so it may be tried again. A
/// claim taken over by a retry is the retry's, and stays.
async fn forget(state: &AppState, claim: &Claim<'_>) {
    let forgotten = sqlx::query(
        "DELETE FROM idempotency_keys
         WHERE principal = ? AND key = ? AND state = 'in_flight' AND created_at = ?",
    )
    .bind(claim.principal)
    .bind(claim.key)
    .bind(claim.at)
    .execute(&state.db)
    .await;
    if let Err(error) = forgotten {
        tracing::error!(%error, "idempotency key not freed");
    }
}
