//! QR payments: created by a merchant, paid (or not) by a simulated shopper.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mobilepay_wire::api::{CreateQrPayment, PayOutcome, PaymentStatus, QrPayment, SimulatePayment};
use mobilepay_wire::webhook::{EventKind, PaymentReceived, TransactionFailed};
use time::OffsetDateTime;

use crate::accounts::Authenticated;
use crate::error::{ApiJson, Error};
use crate::{AppState, now, random_id, rfc3339};

/// The largest QR payment the sandbox accepts, in FCFA. Documented in the sandbox README.
pub const MAX_AMOUNT: u64 = 5_000_000;
/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 255;
/// The phone reported as `payer` when a simulation names none.
pub const DEFAULT_PAYER: &str = "+2250700000000";

/// A QR payment as the sandbox keeps it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    pub merchant_id: String,
    pub amount: u64,
    pub description: String,
    pub status: PaymentStatus,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl Payment {
    /// The wire shape; `public_url` is where the wallet page is served.
    pub fn to_wire(&self, public_url: &str) -> QrPayment {
        QrPayment {
            payment_id: self.id.clone(),
            status: self.status,
            amount: self.amount,
            currency: mobilepay_wire::CURRENCY.to_owned(),
            description: self.description.clone(),
            merchant_id: self.merchant_id.clone(),
            qr_code: format!("{public_url}/wallet/{}", self.id),
            created_at: rfc3339(self.created_at),
            expires_at: rfc3339(self.expires_at),
        }
    }

    /// Expiry is applied lazily, whenever a payment is looked at.
    fn refresh(&mut self, at: OffsetDateTime) {
        if self.status == PaymentStatus::Pending && at >= self.expires_at {
            self.status = PaymentStatus::Expired;
        }
    }
}

/// `POST /api/v1/payments/qr`.
pub async fn create_qr(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateQrPayment>,
) -> Result<(StatusCode, Json<QrPayment>), Error> {
    if body.amount == 0 || body.amount > MAX_AMOUNT {
        return Err(Error::InvalidField {
            field: "amount",
            reason: "un nombre entier de FCFA entre 1 et 5 000 000",
        });
    }
    let description = body.description.trim();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
        return Err(Error::InvalidField {
            field: "description",
            reason: "un texte de 1 à 255 caractères",
        });
    }
    if body.merchant_id != auth.account.merchant_id {
        return Err(Error::MerchantMismatch);
    }
    // Whole seconds, as the wire writes them: the expiry enforced is exactly the one announced,
    // not up to a second later.
    let at = now();
    let created_at = at.replace_nanosecond(0).unwrap_or(at);
    let payment = Payment {
        id: random_id("PAY", 12),
        merchant_id: body.merchant_id,
        amount: body.amount,
        description: description.to_owned(),
        status: PaymentStatus::Pending,
        created_at,
        expires_at: created_at + state.payment_ttl,
    };
    let wire = payment.to_wire(&state.public_url);
    tracing::info!(payment_id = %payment.id, amount = payment.amount, "QR payment created");
    lock(&state).insert(payment.id.clone(), payment);
    Ok((StatusCode::CREATED, Json(wire)))
}

/// `POST /sandbox/v1/payments/{payment_id}/pay`: the shopper's phone pays. Public, like a phone
/// scanning a code: whoever knows the payment id can pay it, in the sandbox.
pub async fn simulate_pay(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
    ApiJson(body): ApiJson<SimulatePayment>,
) -> Result<Json<QrPayment>, Error> {
    settle(&state, &payment_id, body.outcome, body.payer.as_deref()).map(Json)
}

/// Settles a pending payment with `outcome` and queues its webhook.
pub fn settle(
    state: &AppState,
    payment_id: &str,
    outcome: PayOutcome,
    payer: Option<&str>,
) -> Result<QrPayment, Error> {
    let at = now();
    let (payment, event) = {
        let mut payments = lock(state);
        let payment = payments.get_mut(payment_id).ok_or(Error::PaymentNotFound)?;
        payment.refresh(at);
        match payment.status {
            PaymentStatus::Pending => {}
            PaymentStatus::Expired => return Err(Error::PaymentExpired),
            PaymentStatus::Received | PaymentStatus::Failed => {
                return Err(Error::PaymentAlreadySettled);
            }
        }
        let event = match outcome {
            PayOutcome::Success => {
                payment.status = PaymentStatus::Received;
                EventKind::PaymentReceived(PaymentReceived {
                    payment_id: payment.id.clone(),
                    amount: payment.amount,
                    payer: payer.unwrap_or(DEFAULT_PAYER).to_owned(),
                    status: "received".to_owned(),
                })
            }
            PayOutcome::InsufficientFunds => {
                payment.status = PaymentStatus::Failed;
                EventKind::TransactionFailed(TransactionFailed {
                    transaction_id: payment.id.clone(),
                    error_code: "INSUFFICIENT_FUNDS".to_owned(),
                    error_message: "Solde insuffisant".to_owned(),
                })
            }
        };
        (payment.clone(), event)
    };
    tracing::info!(
        payment_id,
        ?outcome,
        "QR payment settled by the simulated shopper"
    );
    state.webhooks.send(event, rfc3339(at));
    Ok(payment.to_wire(&state.public_url))
}

/// A payment as it stands now, expiry applied.
pub fn find(state: &AppState, payment_id: &str) -> Option<Payment> {
    let mut payments = lock(state);
    let payment = payments.get_mut(payment_id)?;
    payment.refresh(now());
    Some(payment.clone())
}

fn lock(state: &AppState) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Payment>> {
    // A poisoned lock means a panic mid-update; the map itself is still consistent because every
    // update is a single assignment, so keep serving.
    state
        .payments
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
