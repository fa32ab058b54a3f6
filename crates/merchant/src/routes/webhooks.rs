//! `POST /webhooks/mobilepay`: MOBILE-PAY's webhooks, verified before anything else is read,
//! stored before they are acknowledged, and deduplicated by their `webhook-id` (kept 30 days —
//! longer than MOBILE-PAY's whole retry window of about 28 hours). Storing is
//! [`crate::ingest`]'s: concurrent webhooks share one transaction, each answered after it
//! committed.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use mobilepay_client::webhook::VerifyError;
use mobilepay_wire::webhook::EventKind;
use serde_json::json;

use crate::AppState;
use crate::error::Error;
use crate::ingest::{Stored, Webhook};

/// How long a received `webhook-id` is remembered.
pub const DEDUPLICATION_WINDOW_SECONDS: i64 = 30 * 86_400;

pub async fn receive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Error> {
    let event = state
        .config
        .webhooks
        .verify(&headers, &body)
        .map_err(|error| {
            tracing::warn!(%error, "webhook refused");
            metrics::counter!(crate::metrics::VERIFY_FAILURES).increment(1);
            match error {
                VerifyError::MissingHeaders | VerifyError::BadSignature => Error::InvalidSignature,
                VerifyError::BadBody => Error::InvalidWebhook,
            }
        })?;
    // Present: the signature covers it.
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .ok_or(Error::InvalidSignature)?
        .to_owned();
    // The session a payment's outcome concerns. Read outside the writer's transaction: what is
    // read here never changes, and concurrent requests read in parallel.
    let payment_id = match &event.kind {
        EventKind::PaymentReceived(d) => Some(&d.payment_id),
        EventKind::TransactionFailed(d) => Some(&d.transaction_id),
        EventKind::TransferCompleted(_) | EventKind::Unknown { .. } => None,
    };
    let session = match payment_id {
        Some(payment_id) => state.sessions.for_payment(payment_id).await?,
        None => None,
    };
    let name = event.kind.name().to_owned();
    let stored = state
        .ingest
        .store(
            &state,
            Webhook {
                id: webhook_id.clone(),
                event,
                body: String::from_utf8_lossy(&body).into_owned(),
                session,
            },
        )
        .await?;
    tracing::info!(
        event = name,
        webhook_id,
        duplicate = stored == Stored::Duplicate,
        changed = stored == Stored::Applied,
        "webhook accepted"
    );
    // Acknowledged whether or not it changed anything: a duplicate or unrelated event must not
    // be retried by MOBILE-PAY.
    Ok(Json(json!({ "received": true })))
}
