//! `POST /webhooks/mobilepay`: MOBILE-PAY's webhooks, verified before anything else is read.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use mobilepay_client::webhook::VerifyError;
use mobilepay_wire::checkout::{Failure, SessionStatus};
use mobilepay_wire::webhook::EventKind;
use serde_json::json;

use crate::AppState;
use crate::error::Error;

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
            match error {
                VerifyError::MissingHeaders | VerifyError::BadSignature => Error::InvalidSignature,
                VerifyError::BadBody => Error::InvalidWebhook,
            }
        })?;
    let changed = match &event.kind {
        EventKind::PaymentReceived(data) => match state.sessions.for_payment(&data.payment_id) {
            // A payment of another amount than the order's is not this order's payment.
            Some(session) if session.amount != data.amount => {
                tracing::error!(payment_id = %data.payment_id, expected = session.amount, received = data.amount, "payment.received with a wrong amount; session left as it was");
                false
            }
            Some(session) => session.finish(SessionStatus::Paid, None),
            None => false,
        },
        EventKind::TransactionFailed(data) => {
            match state.sessions.for_payment(&data.transaction_id) {
                Some(session) => session.finish(
                    SessionStatus::Failed,
                    Some(Failure {
                        error_code: data.error_code.clone(),
                        error_message: data.error_message.clone(),
                    }),
                ),
                None => false,
            }
        }
        EventKind::TransferCompleted(_) | EventKind::Unknown { .. } => false,
    };
    tracing::info!(event = event.kind.name(), changed, "webhook accepted");
    // Acknowledged whether or not it changed anything: a duplicate or unrelated event must not
    // be retried by MOBILE-PAY.
    Ok(Json(json!({ "received": true })))
}
