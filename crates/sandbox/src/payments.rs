//! QR payments: created by a merchant, paid (or not) by a simulated shopper.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mobilepay_wire::api::{CreateQrPayment, PayOutcome, PaymentStatus, QrPayment, SimulatePayment};
use mobilepay_wire::webhook::{EventKind, PaymentReceived};

use crate::auth::Principal;
use crate::error::{ApiJson, Error, Refusal};
use crate::ledger::{self, Record};
use crate::phone::Phone;
use crate::{AppState, random_id, rfc3339_unix, webhooks};

/// The smallest QR payment the sandbox accepts, in FCFA.
pub const MIN_AMOUNT: u64 = 1;
/// The largest QR payment the sandbox accepts, in FCFA.
pub const MAX_AMOUNT: u64 = 5_000_000;
/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 255;
/// The phone reported as `payer` when a simulation names none.
pub const DEFAULT_PAYER: &str = "+2250700000000";

/// A QR payment as the sandbox keeps it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    pub id: String,
    pub account_id: String,
    pub merchant_id: String,
    pub amount: i64,
    pub description: String,
    /// Read with `PaymentStatus`'s one `FromStr`: an unknown value in the table is an error.
    #[sqlx(try_from = "String")]
    pub status: PaymentStatus,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Payment {
    pub fn status(&self) -> PaymentStatus {
        self.status
    }

    /// The wire shape; `public_url` is where the wallet page is served.
    pub fn to_wire(&self, public_url: &str) -> QrPayment {
        QrPayment {
            payment_id: self.id.clone(),
            status: self.status(),
            amount: u64::try_from(self.amount).unwrap_or_default(),
            currency: mobilepay_wire::CURRENCY.to_owned(),
            description: self.description.clone(),
            merchant_id: self.merchant_id.clone(),
            qr_code: format!("{public_url}/wallet/{}", self.id),
            created_at: rfc3339_unix(self.created_at),
            expires_at: rfc3339_unix(self.expires_at),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/payments/qr",
    tag = "payments",
    request_body = CreateQrPayment,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, description = "A pending QR payment", body = QrPayment),
        (status = 400, description = "INVALID_JSON, INVALID_PARAMETER", body = mobilepay_wire::ApiError),
        (status = 401, description = "UNAUTHENTICATED, INVALID_API_KEY, LIVE_KEY_REFUSED", body = mobilepay_wire::ApiError),
        (status = 403, description = "MERCHANT_MISMATCH", body = mobilepay_wire::ApiError),
        (status = 429, description = "RATE_LIMITED", body = mobilepay_wire::ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn create_qr(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateQrPayment>,
) -> Result<(StatusCode, Json<QrPayment>), Error> {
    crate::transfers::check_amount(
        body.amount,
        MIN_AMOUNT,
        MAX_AMOUNT,
        (
            "un nombre entier de FCFA entre 1 et 5 000 000",
            "a whole number of FCFA from 1 to 5,000,000",
        ),
    )?;
    // The length is the text's as sent, so that the document's `maxLength` says it exactly.
    let description = crate::trim_blanks(&body.description);
    if description.is_empty() || body.description.chars().count() > MAX_DESCRIPTION {
        return Err(Error::InvalidField {
            field: "description",
            fr: "un texte de 1 à 255 caractères",
            en: "a text of 1 to 255 characters",
        });
    }
    if body.merchant_id != principal.merchant_id {
        return Err(Error::MerchantMismatch);
    }
    let created_at = state.clock.unix();
    let ttl = i64::try_from(state.payment_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let payment = Payment {
        id: random_id("PAY", 12),
        account_id: principal.account_id,
        merchant_id: body.merchant_id,
        amount: i64::try_from(body.amount).map_err(|_| Error::Internal)?,
        description: description.to_owned(),
        status: PaymentStatus::Pending,
        created_at,
        expires_at: created_at + ttl,
    };
    sqlx::query(
        "INSERT INTO payments (id, account_id, merchant_id, amount, description, status, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&payment.id)
    .bind(&payment.account_id)
    .bind(&payment.merchant_id)
    .bind(payment.amount)
    .bind(&payment.description)
    .bind(payment.status.as_str())
    .bind(payment.created_at)
    .bind(payment.expires_at)
    .execute(&state.db)
    .await?;
    tracing::info!(payment_id = %payment.id, amount = payment.amount, "QR payment created");
    Ok((
        StatusCode::CREATED,
        Json(payment.to_wire(&state.public_url)),
    ))
}

#[utoipa::path(
    post,
    path = "/sandbox/v1/payments/{payment_id}/pay",
    tag = "sandbox",
    params(("payment_id" = String, Path, description = "The QR payment to pay")),
    request_body = SimulatePayment,
    responses(
        (status = 200, description = "Settled; its webhook is queued", body = QrPayment),
        (status = 400, description = "INVALID_JSON, INVALID_PHONE, UNSUPPORTED_COUNTRY (payer)", body = mobilepay_wire::ApiError),
        (status = 404, description = "PAYMENT_NOT_FOUND", body = mobilepay_wire::ApiError),
        (status = 409, description = "PAYMENT_ALREADY_SETTLED, PAYMENT_EXPIRED", body = mobilepay_wire::ApiError),
    )
)]
/// Plays the shopper's phone. Public, like a phone scanning a code: whoever knows the payment id
/// can pay it, in the sandbox.
pub async fn simulate_pay(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
    ApiJson(body): ApiJson<SimulatePayment>,
) -> Result<Json<QrPayment>, Error> {
    let payer = match body.payer.as_deref() {
        Some(payer) => Phone::parse(payer)?,
        None => Phone::parse(DEFAULT_PAYER)?,
    };
    settle(&state, &payment_id, body.outcome, &payer)
        .await
        .map(Json)
}

/// Settles a pending payment with `outcome`: ledger entries for a success, a failed transaction
/// otherwise, and the webhook, all in one database transaction.
pub async fn settle(
    state: &AppState,
    payment_id: &str,
    outcome: PayOutcome,
    payer: &Phone,
) -> Result<QrPayment, Error> {
    let at = state.clock.unix();
    let mut tx = state.db.begin().await?;
    let mut payment = load(&mut tx, payment_id, at)
        .await?
        .ok_or(Error::PaymentNotFound)?;
    match payment.status() {
        PaymentStatus::Pending => {}
        PaymentStatus::Expired => return Err(Error::PaymentExpired),
        PaymentStatus::Received | PaymentStatus::Failed => {
            return Err(Error::PaymentAlreadySettled);
        }
    }
    let refusal = match outcome {
        PayOutcome::Success => None,
        PayOutcome::InsufficientFunds => Some(Refusal::InsufficientFunds),
        PayOutcome::Declined => Some(Refusal::TransactionDeclined),
        PayOutcome::Cancelled => Some(Refusal::PaymentCancelled),
    };
    // In the history either way: a failed attempt with its code and no money moved.
    let (status, amount, error_code) = match refusal {
        None => ("completed", payment.amount, None),
        Some(refusal) => ("failed", 0, Some(refusal.code())),
    };
    ledger::record(
        &mut tx,
        &Record {
            id: &payment.id,
            account_id: &payment.account_id,
            kind: "qr_payment",
            status,
            amount,
            counterparty: Some(payer.as_str()),
            country: None,
            description: Some(&payment.description),
            error_code,
            at,
        },
    )
    .await?;
    let event = match refusal {
        None => {
            payment.status = PaymentStatus::Received;
            ledger::post(
                &mut tx,
                &payment.id,
                &[
                    (ledger::wallet(&payment.account_id), payment.amount),
                    (ledger::external(payer.as_str()), -payment.amount),
                ],
                at,
            )
            .await?;
            EventKind::PaymentReceived(PaymentReceived {
                payment_id: payment.id.clone(),
                amount: u64::try_from(payment.amount).unwrap_or_default(),
                payer: payer.as_str().to_owned(),
                status: PaymentStatus::Received.as_str().to_owned(),
            })
        }
        Some(refusal) => {
            payment.status = PaymentStatus::Failed;
            refusal.failed_event(&payment.id)
        }
    };
    sqlx::query("UPDATE payments SET status = ?, payer = ? WHERE id = ?")
        .bind(payment.status.as_str())
        .bind(payer.as_str())
        .bind(&payment.id)
        .execute(&mut *tx)
        .await?;
    webhooks::enqueue(&mut tx, &payment.account_id, event, at).await?;
    tx.commit().await?;
    state.webhooks.wake();
    tracing::info!(
        payment_id,
        ?outcome,
        "QR payment settled by the simulated shopper"
    );
    Ok(payment.to_wire(&state.public_url))
}

/// A payment as it stands at `at`, its expiry applied (and stored).
async fn load(
    conn: &mut sqlx::SqliteConnection,
    payment_id: &str,
    at: i64,
) -> Result<Option<Payment>, sqlx::Error> {
    let payment: Option<Payment> = sqlx::query_as(
        "SELECT id, account_id, merchant_id, amount, description, status, created_at, expires_at
         FROM payments WHERE id = ?",
    )
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(mut payment) = payment else {
        return Ok(None);
    };
    if payment.status == PaymentStatus::Pending && at >= payment.expires_at {
        payment.status = PaymentStatus::Expired;
        sqlx::query("UPDATE payments SET status = ? WHERE id = ?")
            .bind(PaymentStatus::Expired.as_str())
            .bind(payment_id)
            .execute(conn)
            .await?;
    }
    Ok(Some(payment))
}

/// A payment as it stands now, expiry applied.
pub async fn find(state: &AppState, payment_id: &str) -> Result<Option<Payment>, Error> {
    let mut conn = state.db.acquire().await?;
    Ok(load(&mut conn, payment_id, state.clock.unix()).await?)
}
