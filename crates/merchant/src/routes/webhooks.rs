//! `POST /webhooks/mobilepay`: MOBILE-PAY's webhooks, verified before anything else is read,
//! stored before they are acknowledged, and deduplicated by their `webhook-id` (kept 30 days —
//! longer than MOBILE-PAY's whole retry window of about 28 hours).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use mobilepay_client::webhook::VerifyError;
use mobilepay_wire::checkout::Failure;
use mobilepay_wire::webhook::EventKind;
use serde_json::json;

use crate::AppState;
use crate::checkouts::Settlement;
use crate::db::now;
use crate::error::Error;

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
        .ok_or(Error::InvalidSignature)?;
    let sessions = &state.sessions;
    // What the event means for a session: its payment and how the attempt ended. Other events
    // concern no session.
    let target = match &event.kind {
        EventKind::PaymentReceived(d) => Some((
            &d.payment_id,
            Settlement::Paid {
                payer: Some(d.payer.clone()),
            },
            Some(d.amount),
        )),
        EventKind::TransactionFailed(d) => Some((
            &d.transaction_id,
            Settlement::Failed(Failure {
                error_code: d.error_code.clone(),
                error_message: d.error_message.clone(),
            }),
            None,
        )),
        EventKind::TransferCompleted(_) | EventKind::Unknown { .. } => None,
    };
    // Read before the transaction: what is read here never changes, and the transaction may
    // hold the pool's only free connection.
    let session = match &target {
        Some((payment_id, ..)) => sessions.for_payment(payment_id).await?,
        None => None,
    };
    let at = now();
    let mut tx = sessions.db.begin().await?;
    sqlx::query("DELETE FROM received_webhooks WHERE received_at < $1")
        .bind(at - DEDUPLICATION_WINDOW_SECONDS)
        .execute(&mut *tx)
        .await?;
    let first_time = sqlx::query(
        "INSERT INTO received_webhooks (webhook_id, event, body, received_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (webhook_id) DO NOTHING",
    )
    .bind(webhook_id)
    .bind(event.kind.name())
    .bind(String::from_utf8_lossy(&body).into_owned())
    .bind(at)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let mut changed = None;
    if first_time
        && let Some(session) = session
        && let Some((_, settlement, amount)) = target
    {
        // A payment of another amount than the checkout's is not this checkout's payment.
        let settlement = match amount {
            Some(received) if received != session.amount => Settlement::AmountMismatch { received },
            _ => settlement,
        };
        if state
            .checkouts
            .settle_in(sessions, &mut tx, &session, settlement)
            .await?
        {
            changed = Some(session.id);
        }
    }
    // A transfer's outcome ends the refund it was made for, if one was (matched by the
    // transfer's id; a failure of a payment was a session's, above).
    let mut refund_ended = false;
    if first_time && changed.is_none() {
        let refund = match &event.kind {
            EventKind::TransferCompleted(d) => {
                Some((&d.transfer_id, crate::refunds::Outcome::Succeeded))
            }
            EventKind::TransactionFailed(d) => Some((
                &d.transaction_id,
                crate::refunds::Outcome::Failed {
                    code: d.error_code.clone(),
                    message: d.error_message.clone(),
                },
            )),
            _ => None,
        };
        if let Some((transfer_id, outcome)) = refund {
            refund_ended =
                crate::refunds::finish_in(&mut tx, "transfer_id", transfer_id, &outcome).await?;
        }
    }
    let woken: Vec<&String> = changed.iter().collect();
    let outcome = match (first_time, &changed) {
        (false, _) => "duplicate",
        (true, Some(_)) => "applied",
        (true, None) if refund_ended => "applied",
        (true, None) => "ignored",
    };
    // Counted before the commit and wake-up: whoever sees the new status sees it counted.
    metrics::counter!(
        crate::metrics::WEBHOOKS,
        "event" => event.kind.name().to_owned(),
        "outcome" => outcome
    )
    .increment(1);
    sessions.commit_then_wake(tx, &woken).await?;
    if refund_ended {
        state.outbox.wake();
    }
    tracing::info!(
        event = event.kind.name(),
        webhook_id,
        duplicate = !first_time,
        changed = changed.is_some() || refund_ended,
        "webhook accepted"
    );
    // Acknowledged whether or not it changed anything: a duplicate or unrelated event must not
    // be retried by MOBILE-PAY.
    Ok(Json(json!({ "received": true })))
}
