//! Refunds. MOBILE-PAY has no refund endpoint: a refund is a transfer from the merchant's
//! account back to the phone that paid the checkout (its `payer`) — local to a +225 number,
//! international to another UEMOA country's.
//!
//! What must hold, and how:
//! - Never more refunded than paid, whichever instance is asked and however many at once: a
//!   refund reserves its amount in the checkout's row with one conditional `UPDATE` (see
//!   migration 0006) before any money moves; a failed refund gives it back.
//! - Never paid twice: the refund is stored (`pending`) before the transfer is asked for, and
//!   the transfer carries an `Idempotency-Key` derived from the refund's id, so sending it again
//!   (after a timeout, from the reconciler, from another instance) gets MOBILE-PAY's recorded
//!   answer instead of a second transfer.
//! - Never lost: a transfer whose answer never came leaves the refund `pending`; the
//!   reconciliation pass asks again with the same key, and settles refunds whose webhook was
//!   lost from the transaction history.
//! - Every outcome told: `refund.succeeded` / `refund.failed` are `events` rows written in the
//!   transaction of the change, `data` the refund as it is after it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mobilepay_client::TransactionQuery;
use mobilepay_wire::api::{InternationalTransfer, LocalTransfer, TransactionKind, Transfer};
use mobilepay_wire::ids::{CheckoutId, RefundId};
use mobilepay_wire::merchant::{self as wire, CheckoutStatus, CreateRefund, RefundStatus};
use mobilepay_wire::{Amount, ApiError};
use sqlx::{Any, Transaction};

use crate::AppState;
use crate::db::{now, rfc3339};
use crate::{events, ids};

pub const MAX_REASON: usize = 255;
/// What a malformed `checkout_id` (in a body or a query) is answered.
pub const CHECKOUT_ID_MESSAGE: &str =
    "checkout_id must be a checkout's id (chk_ and 24 hex digits)";
/// A local transfer's bounds at MOBILE-PAY (whole FCFA).
pub const LOCAL_BOUNDS: (Amount, Amount) = (Amount::new(100), Amount::new(2_000_000));
/// An international transfer's bounds at MOBILE-PAY.
pub const INTERNATIONAL_BOUNDS: (Amount, Amount) = (Amount::new(500), Amount::new(1_000_000));
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// How long MOBILE-PAY keeps an `Idempotency-Key` (24 hours), less a margin: a transfer whose
/// answer never came is asked again with its key only while MOBILE-PAY would recognise it.
const RESEND_WITHIN_SECONDS: i64 = 23 * 3600;
/// How far back pending refunds are reconciled.
const HORIZON_SECONDS: i64 = 7 * 86_400;
const HISTORY_PAGES: u64 = 10;
const HISTORY_PAGE: u32 = 100;

/// The UEMOA countries MOBILE-PAY transfers to, by calling code.
const COUNTRIES: [(&str, &str); 8] = [
    ("+225", "CI"),
    ("+221", "SN"),
    ("+223", "ML"),
    ("+226", "BF"),
    ("+227", "NE"),
    ("+228", "TG"),
    ("+229", "BJ"),
    ("+245", "GW"),
];

/// The country (ISO 3166-1 alpha-2) of an E.164 phone of the UEMOA zone.
pub fn country_of(phone: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(prefix, _)| phone.starts_with(prefix))
        .map(|(_, country)| *country)
}

/// One refund as stored, read from the columns [`COLUMNS`]: an unknown status, a malformed id
/// or a negative amount is a decoding error, never a value.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Refund {
    pub id: RefundId,
    pub checkout_id: CheckoutId,
    pub amount: Amount,
    pub reason: String,
    #[sqlx(try_from = "String")]
    pub status: RefundStatus,
    pub recipient_phone: String,
    pub recipient_country: String,
    pub transfer_id: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Refund {
    /// The `/v1` shape.
    pub fn wire(&self) -> wire::Refund {
        wire::Refund {
            id: self.id.clone(),
            status: self.status,
            checkout_id: self.checkout_id.clone(),
            amount: self.amount,
            currency: mobilepay_wire::CURRENCY.to_owned(),
            reason: self.reason.clone(),
            recipient_phone: self.recipient_phone.clone(),
            recipient_country: self.recipient_country.clone(),
            transfer_id: self.transfer_id.clone(),
            failure_code: self.failure_code.clone(),
            failure_message: self.failure_message.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

const COLUMNS: &str = "id, checkout_id, amount, reason, status, recipient_phone, recipient_country, transfer_id, failure_code, failure_message, created_at, updated_at";

/// Why a refund request failed; each is a documented `error_code` (docs/errors.md).
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// A field or parameter out of its range; the message names it.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    #[error("unknown checkout")]
    CheckoutNotFound,
    #[error("the checkout is not paid")]
    CheckoutNotPaid,
    #[error("the checkout's payer is unknown or outside the UEMOA zone")]
    PayerNotRefundable,
    #[error("more than the checkout's refundable amount")]
    ExceedsRefundable,
    #[error("the merchant's balance does not cover the refund")]
    InsufficientFunds,
    #[error("unknown refund")]
    RefundNotFound,
    #[error("MOBILE-PAY is unreachable")]
    ProviderUnavailable,
    #[error("MOBILE-PAY is rate limiting this merchant")]
    ProviderBusy { retry_after: std::time::Duration },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A failure of the checkouts' store, answered as it answers it.
    #[error(transparent)]
    Checkouts(#[from] crate::error::Error),
}

impl RefundError {
    pub fn status(&self) -> StatusCode {
        match self {
            RefundError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            RefundError::CheckoutNotFound | RefundError::RefundNotFound => StatusCode::NOT_FOUND,
            RefundError::CheckoutNotPaid
            | RefundError::PayerNotRefundable
            | RefundError::ExceedsRefundable => StatusCode::CONFLICT,
            RefundError::InsufficientFunds => StatusCode::PAYMENT_REQUIRED,
            RefundError::ProviderUnavailable => StatusCode::BAD_GATEWAY,
            RefundError::ProviderBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RefundError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RefundError::Checkouts(error) => error.status(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            RefundError::InvalidParameter(_) => "INVALID_PARAMETER",
            RefundError::CheckoutNotFound => "CHECKOUT_NOT_FOUND",
            RefundError::CheckoutNotPaid => "CHECKOUT_NOT_PAID",
            RefundError::PayerNotRefundable => "PAYER_NOT_REFUNDABLE",
            RefundError::ExceedsRefundable => "REFUND_EXCEEDS_REFUNDABLE",
            RefundError::InsufficientFunds => "INSUFFICIENT_FUNDS",
            RefundError::RefundNotFound => "REFUND_NOT_FOUND",
            RefundError::ProviderUnavailable => "PAYMENT_PROVIDER_UNAVAILABLE",
            RefundError::ProviderBusy { .. } => "PAYMENT_PROVIDER_BUSY",
            RefundError::Database(_) => "INTERNAL_ERROR",
            RefundError::Checkouts(error) => error.code(),
        }
    }

    fn message(&self) -> &'static str {
        match self {
            RefundError::InvalidParameter(message) => message,
            RefundError::CheckoutNotFound => "No checkout has this checkout_id",
            RefundError::CheckoutNotPaid => "Only a paid checkout can be refunded",
            RefundError::PayerNotRefundable => {
                "The checkout's payer is unknown or not a phone of the UEMOA zone: no transfer can reach it"
            }
            RefundError::ExceedsRefundable => {
                "The amount is more than the checkout's amount_refundable (what was paid less its pending and succeeded refunds)"
            }
            RefundError::InsufficientFunds => {
                "The MOBILE-PAY balance does not cover this refund; nothing was refunded"
            }
            RefundError::RefundNotFound => "No refund has this id",
            RefundError::ProviderUnavailable => {
                "MOBILE-PAY cannot be reached; nothing was refunded, try again"
            }
            RefundError::ProviderBusy { .. } => {
                "MOBILE-PAY is busy; nothing was refunded, try again shortly"
            }
            RefundError::Database(_) | RefundError::Checkouts(_) => "Internal error",
        }
    }
}

impl From<mobilepay_client::Error> for RefundError {
    fn from(error: mobilepay_client::Error) -> Self {
        tracing::warn!(%error, "MOBILE-PAY call failed before a refund");
        match error {
            mobilepay_client::Error::RateLimited { retry_after } => {
                RefundError::ProviderBusy { retry_after }
            }
            _ => RefundError::ProviderUnavailable,
        }
    }
}

impl IntoResponse for RefundError {
    fn into_response(self) -> Response {
        if let RefundError::Checkouts(error) = self {
            return error.into_response();
        }
        if self.status().is_server_error() {
            // The detail (SQL) goes to the log only.
            tracing::error!(error = %self, "refund request failed");
        }
        let body = Json(ApiError {
            error_code: self.code().to_owned(),
            error_message: self.message().to_owned(),
        });
        let mut response = (self.status(), body).into_response();
        if let RefundError::ProviderBusy { retry_after } = self
            && let Ok(value) =
                axum::http::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// A refund request, every field within its bounds (the amount's transfer bounds depend on
/// the checkout's payer, checked in [`create`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub checkout_id: CheckoutId,
    pub amount: Amount,
    pub reason: String,
}

impl NewRefund {
    pub fn parse(body: CreateRefund) -> Result<NewRefund, RefundError> {
        let checkout_id = body
            .checkout_id
            .parse::<CheckoutId>()
            .map_err(|_| RefundError::InvalidParameter(CHECKOUT_ID_MESSAGE))?;
        let reason = body.reason.trim().to_owned();
        // As the document's pattern says: something besides blanks (a BOM is one, as in
        // JSON Schema's regular expressions) and control characters.
        let meaningful = |c: char| !c.is_whitespace() && !c.is_control() && c != '\u{feff}';
        if !reason.chars().any(meaningful) || reason.chars().count() > MAX_REASON {
            return Err(RefundError::InvalidParameter(
                "reason must be 1 to 255 characters",
            ));
        }
        if body.amount == Amount::ZERO {
            return Err(RefundError::InvalidParameter(
                "amount must be a positive whole number of FCFA",
            ));
        }
        Ok(NewRefund {
            checkout_id,
            amount: body.amount,
            reason,
        })
    }
}

/// Refunds `new`: checks it, reserves its amount, stores it `pending`, then asks MOBILE-PAY for
/// the transfer. Answers the refund as it is then: `pending` (the transfer was accepted, or its
/// answer never came: reconciled later) or `failed` (MOBILE-PAY refused it).
pub async fn create(state: &Arc<AppState>, new: NewRefund) -> Result<Refund, RefundError> {
    let checkout = state
        .checkouts
        .get(&new.checkout_id)
        .await?
        .ok_or(RefundError::CheckoutNotFound)?;
    if checkout.status != CheckoutStatus::Paid {
        return Err(RefundError::CheckoutNotPaid);
    }
    let (phone, country) = checkout
        .payer
        .as_deref()
        .and_then(|phone| Some((phone.to_owned(), country_of(phone)?)))
        .ok_or(RefundError::PayerNotRefundable)?;
    let (min, max) = if country == "CI" {
        LOCAL_BOUNDS
    } else {
        INTERNATIONAL_BOUNDS
    };
    if !(min..=max).contains(&new.amount) {
        return Err(RefundError::InvalidParameter(if country == "CI" {
            "amount must be 100 to 2,000,000 FCFA for a refund to a phone of Côte d'Ivoire (a local transfer)"
        } else {
            "amount must be 500 to 1,000,000 FCFA for a refund to another UEMOA country (an international transfer)"
        }));
    }
    let refundable = checkout.amount.checked_sub(checkout.refunded);
    if refundable.is_none_or(|refundable| new.amount > refundable) {
        return Err(RefundError::ExceedsRefundable);
    }
    // Asked first, so that a balance too low is a clear answer and not a refund that fails.
    let balance = state.mobilepay.balance().await?;
    if Amount::new(balance.balance) < new.amount {
        return Err(RefundError::InsufficientFunds);
    }
    let at = now();
    let refund = Refund {
        id: ids::refund_id(),
        checkout_id: checkout.id.clone(),
        amount: new.amount,
        reason: new.reason,
        status: RefundStatus::Pending,
        recipient_phone: phone,
        recipient_country: country.to_owned(),
        transfer_id: None,
        failure_code: None,
        failure_message: None,
        created_at: at,
        updated_at: at,
    };
    let db = &state.checkouts.db;
    let mut tx = db.begin().await?;
    // The reservation: evaluated and applied in one statement, so two refunds racing on any
    // instances cannot both see the same room.
    let reserved = sqlx::query(
        "UPDATE checkouts SET refunded = refunded + $1
         WHERE id = $2 AND status = 'paid' AND amount - refunded >= $1",
    )
    .bind(refund.amount)
    .bind(&refund.checkout_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !reserved {
        tx.rollback().await?;
        return Err(RefundError::ExceedsRefundable);
    }
    sqlx::query(
        "INSERT INTO refunds (id, checkout_id, amount, reason, status, recipient_phone, recipient_country, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $7)",
    )
    .bind(&refund.id)
    .bind(&refund.checkout_id)
    .bind(refund.amount)
    .bind(&refund.reason)
    .bind(&refund.recipient_phone)
    .bind(&refund.recipient_country)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(refund_id = %refund.id, checkout_id = %refund.checkout_id, amount = %refund.amount, country, "refund reserved");
    let result = transfer(state, &refund).await;
    apply_transfer(state, &refund, result).await?;
    get(state, &refund.id)
        .await?
        .ok_or(RefundError::RefundNotFound)
}

/// The `Idempotency-Key` of a refund's transfer: the same for every attempt of that refund.
pub fn transfer_key(refund_id: &str) -> String {
    format!("refund-{refund_id}")
}

async fn transfer(state: &AppState, refund: &Refund) -> Result<Transfer, mobilepay_client::Error> {
    let key = transfer_key(&refund.id);
    if refund.recipient_country == "CI" {
        let request = LocalTransfer {
            recipient_phone: refund.recipient_phone.clone(),
            amount: refund.amount.get(),
            description: Some(format!("Remboursement {}", refund.id)),
        };
        state
            .mobilepay
            .local_transfer_with_key(&request, &key)
            .await
    } else {
        let request = InternationalTransfer {
            recipient_country: refund.recipient_country.clone(),
            recipient_phone: refund.recipient_phone.clone(),
            amount: refund.amount.get(),
        };
        state
            .mobilepay
            .international_transfer_with_key(&request, &key)
            .await
    }
}

/// How a transfer ended, as far as a refund is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed { code: String, message: String },
}

/// Applies MOBILE-PAY's answer to a refund's transfer: its id is kept (the refund stays
/// `pending` until `transfer.completed` or the history says so), a refusal fails the refund,
/// anything else (no answer, rate limited, our key refused) leaves it pending for the
/// reconciler to ask again with the same key.
async fn apply_transfer(
    state: &AppState,
    refund: &Refund,
    result: Result<Transfer, mobilepay_client::Error>,
) -> Result<(), RefundError> {
    use mobilepay_client::Error as E;
    let failure = match result {
        Ok(transfer) => {
            sqlx::query(
                "UPDATE refunds SET transfer_id = $1, updated_at = $2 WHERE id = $3 AND transfer_id IS NULL",
            )
            .bind(&transfer.transfer_id)
            .bind(now())
            .bind(&refund.id)
            .execute(&state.checkouts.db.pool)
            .await?;
            tracing::info!(refund_id = %refund.id, transfer_id = %transfer.transfer_id, "refund transfer accepted");
            return settle_from_received(state, &transfer.transfer_id).await;
        }
        Err(E::InsufficientFunds) => (
            "INSUFFICIENT_FUNDS".to_owned(),
            "Solde insuffisant".to_owned(),
        ),
        Err(E::TransactionDeclined) => (
            "TRANSACTION_DECLINED".to_owned(),
            "Transaction refusée".to_owned(),
        ),
        Err(E::RecipientNotFound) => (
            "RECIPIENT_NOT_FOUND".to_owned(),
            "Destinataire introuvable".to_owned(),
        ),
        Err(E::InvalidRequest {
            error_code,
            error_message,
        }) => (error_code, error_message),
        Err(error) => {
            tracing::warn!(refund_id = %refund.id, %error, "refund transfer unanswered: left pending, reconciled later");
            return Ok(());
        }
    };
    let (code, message) = failure;
    let mut tx = state.checkouts.db.begin().await?;
    let changed = finish_in(
        &mut tx,
        "id",
        &refund.id,
        &Outcome::Failed { code, message },
    )
    .await?;
    tx.commit().await?;
    if changed {
        state.outbox.wake();
    }
    Ok(())
}

/// MOBILE-PAY may announce a transfer's outcome before its answer reached us: the webhook
/// then found no refund with that transfer id and was stored without effect. Once the id is
/// known, such a stored webhook is applied, so the refund does not wait for reconciliation.
async fn settle_from_received(state: &AppState, transfer_id: &str) -> Result<(), RefundError> {
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM received_webhooks
         WHERE event IN ('transfer.completed', 'transaction.failed') AND body LIKE $1",
    )
    .bind(format!("%\"{transfer_id}\"%"))
    .fetch_all(&state.checkouts.db.pool)
    .await?;
    for body in bodies {
        use mobilepay_wire::webhook::{EventKind, WebhookEvent};
        let outcome = match serde_json::from_str::<WebhookEvent>(&body).map(|e| e.kind) {
            Ok(EventKind::TransferCompleted(d)) if d.transfer_id == transfer_id => {
                Outcome::Succeeded
            }
            Ok(EventKind::TransactionFailed(d)) if d.transaction_id == transfer_id => {
                Outcome::Failed {
                    code: d.error_code,
                    message: d.error_message,
                }
            }
            _ => continue,
        };
        let mut tx = state.checkouts.db.begin().await?;
        let changed = finish_in(&mut tx, "transfer_id", transfer_id, &outcome).await?;
        tx.commit().await?;
        if changed {
            state.outbox.wake();
        }
        break;
    }
    Ok(())
}

/// Ends the pending refund whose `column` (`id` or `transfer_id`) is `value` with `outcome`,
/// in `tx`: a failure gives its amount back to the checkout; either records its event. Returns
/// whether a pending refund was ended (a duplicate or unknown transfer changes nothing).
pub async fn finish_in(
    tx: &mut Transaction<'_, Any>,
    column: &'static str,
    value: &str,
    outcome: &Outcome,
) -> Result<bool, sqlx::Error> {
    let (status, code, message) = match outcome {
        Outcome::Succeeded => (RefundStatus::Succeeded, None, None),
        Outcome::Failed { code, message } => (
            RefundStatus::Failed,
            Some(code.clone()),
            Some(message.clone()),
        ),
    };
    let sql = format!(
        "UPDATE refunds SET status = $1, failure_code = $2, failure_message = $3, updated_at = $4
         WHERE {column} = $5 AND status = 'pending' RETURNING {COLUMNS}"
    );
    let row: Option<Refund> = sqlx::query_as(&sql)
        .bind(status.as_str())
        .bind(code)
        .bind(message)
        .bind(now())
        .bind(value)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(refund) = row else {
        return Ok(false);
    };
    if status == RefundStatus::Failed {
        sqlx::query("UPDATE checkouts SET refunded = refunded - $1 WHERE id = $2")
            .bind(refund.amount)
            .bind(&refund.checkout_id)
            .execute(&mut **tx)
            .await?;
    }
    let kind = match status {
        RefundStatus::Succeeded => "refund.succeeded",
        _ => "refund.failed",
    };
    let data =
        serde_json::to_string(&refund.wire()).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    events::record_data_in(tx, &refund.checkout_id, kind, data).await?;
    tracing::info!(refund_id = %refund.id, status = status.as_str(), "refund ended");
    Ok(true)
}

pub async fn get(state: &AppState, id: &RefundId) -> Result<Option<Refund>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM refunds WHERE id = $1");
    let row: Option<Refund> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&state.checkouts.db.pool)
        .await?;
    Ok(row)
}

/// A checkout's refunds, oldest first.
pub async fn for_checkout(
    state: &AppState,
    checkout_id: &CheckoutId,
) -> Result<Vec<Refund>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM refunds WHERE checkout_id = $1 ORDER BY created_at, id");
    let rows: Vec<Refund> = sqlx::query_as(&sql)
        .bind(checkout_id)
        .fetch_all(&state.checkouts.db.pool)
        .await?;
    Ok(rows)
}

/// A page of refunds, newest first (of one checkout if given), after `cursor`; and the cursor
/// of the next page if there is one.
pub async fn list(
    state: &AppState,
    checkout_id: Option<&CheckoutId>,
    limit: i64,
    cursor: Option<(i64, String)>,
) -> Result<(Vec<Refund>, Option<String>), sqlx::Error> {
    let (before_at, before_id) = cursor.unwrap_or((i64::MAX, String::new()));
    // An empty id sorts first: with no cursor, every row of the newest second is included.
    let sql = format!(
        "SELECT {COLUMNS} FROM refunds
         WHERE ($1 = '' OR checkout_id = $1)
           AND (created_at < $2 OR (created_at = $2 AND ($3 = '' OR id < $3)))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    );
    let mut refunds: Vec<Refund> = sqlx::query_as(&sql)
        .bind(checkout_id.map_or("", CheckoutId::as_str))
        .bind(before_at)
        .bind(&before_id)
        .bind(limit + 1)
        .fetch_all(&state.checkouts.db.pool)
        .await?;
    let next = if refunds.len() > usize::try_from(limit).unwrap_or(0) {
        refunds.truncate(usize::try_from(limit).unwrap_or(0));
        refunds.last().map(encode_cursor)
    } else {
        None
    };
    Ok((refunds, next))
}

/// Where a page ended: the last refund's creation time and id (the list's order), as
/// [`ids::position`] reads it.
fn encode_cursor(refund: &Refund) -> String {
    format!("{}.{}", refund.created_at, refund.id)
}

/// Reconciles refunds pending for `overdue_after` seconds or more: one whose transfer never
/// answered is asked again (the same `Idempotency-Key`, so at most one transfer is ever made);
/// one whose transfer is known is settled from MOBILE-PAY's history when its webhook was lost.
/// Runs inside the reconciliation pass, under its lease. Returns how many refunds it ended.
pub async fn reconcile(state: &Arc<AppState>, overdue_after: i64) -> anyhow::Result<usize> {
    let at = now();
    let sql = format!(
        "SELECT {COLUMNS} FROM refunds WHERE status = 'pending' AND created_at <= $1 AND created_at >= $2
         ORDER BY created_at LIMIT 500"
    );
    let pending: Vec<Refund> = sqlx::query_as(&sql)
        .bind(at - overdue_after)
        .bind(at - HORIZON_SECONDS)
        .fetch_all(&state.checkouts.db.pool)
        .await?;
    let mut ended = 0;
    let mut known = Vec::new();
    for refund in pending {
        if refund.transfer_id.is_some() {
            known.push(refund);
        } else if at - refund.created_at < RESEND_WITHIN_SECONDS {
            let result = transfer(state, &refund).await;
            apply_transfer(state, &refund, result).await?;
            match get(state, &refund.id).await? {
                // Refused, or settled by a webhook that had come before the answer.
                Some(again) if again.status != RefundStatus::Pending => ended += 1,
                Some(again) if again.transfer_id.is_some() => known.push(again),
                _ => {}
            }
        } else {
            // MOBILE-PAY no longer knows its key: asking again could pay twice.
            tracing::error!(refund_id = %refund.id, "refund transfer never answered and its key has lapsed: check the MOBILE-PAY history by hand");
        }
    }
    let Some(oldest) = known.iter().map(|r| r.created_at).min() else {
        return Ok(ended);
    };
    let start_date = time::OffsetDateTime::from_unix_timestamp(oldest - 60)?
        .format(&time::format_description::well_known::Rfc3339)?;
    // What MOBILE-PAY knows of our transfers: status and failure code.
    let mut history: HashMap<String, (String, Option<String>)> = HashMap::new();
    for page in 0..HISTORY_PAGES {
        let found = state
            .mobilepay
            .transactions(&TransactionQuery {
                limit: Some(HISTORY_PAGE),
                offset: Some(page * u64::from(HISTORY_PAGE)),
                start_date: Some(start_date.clone()),
                end_date: None,
            })
            .await?;
        let count = found.transactions.len();
        for tx in found.transactions {
            if matches!(
                tx.kind,
                TransactionKind::TransferLocal | TransactionKind::TransferInternational
            ) {
                history.insert(tx.transaction_id, (tx.status, tx.error_code));
            }
        }
        if count < HISTORY_PAGE as usize {
            break;
        }
    }
    for refund in known {
        let Some(transfer_id) = &refund.transfer_id else {
            continue;
        };
        let outcome = match history.get(transfer_id) {
            Some((status, _)) if status == "completed" => Outcome::Succeeded,
            Some((status, code)) if status == "failed" => {
                let code = code
                    .clone()
                    .unwrap_or_else(|| "TRANSACTION_FAILED".to_owned());
                Outcome::Failed {
                    message: failure_message(&code).to_owned(),
                    code,
                }
            }
            _ => continue,
        };
        let mut tx = state.checkouts.db.begin().await?;
        let changed = finish_in(&mut tx, "transfer_id", transfer_id, &outcome).await?;
        tx.commit().await?;
        if changed {
            tracing::warn!(refund_id = %refund.id, %transfer_id, "refund settled by reconciliation: its webhook never came");
            ended += 1;
        }
    }
    if ended > 0 {
        state.outbox.wake();
    }
    Ok(ended)
}

/// The history gives a code, not the webhook's message: MOBILE-PAY's wording for the known ones.
fn failure_message(code: &str) -> &'static str {
    match code {
        "INSUFFICIENT_FUNDS" => "Solde insuffisant",
        "TRANSACTION_DECLINED" => "Transaction refusée",
        "RECIPIENT_NOT_FOUND" => "Destinataire introuvable",
        _ => "Transaction échouée",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payers_country_comes_from_its_calling_code() {
        assert_eq!(country_of("+2250700000001"), Some("CI"));
        assert_eq!(country_of("+221770000001"), Some("SN"));
        assert_eq!(country_of("+24595000001"), Some("GW"));
        assert_eq!(country_of("+33612345678"), None);
    }

    #[test]
    fn a_cursor_round_trips_and_one_not_of_the_pattern_is_refused() {
        let refund = Refund {
            id: "rf_0123456789abcdef01234567".parse().expect("a refund id"),
            checkout_id: "chk_0123456789abcdef01234567"
                .parse()
                .expect("a checkout id"),
            amount: Amount::new(100),
            reason: "x".into(),
            status: RefundStatus::Pending,
            recipient_phone: "+2250700000001".into(),
            recipient_country: "CI".into(),
            transfer_id: None,
            failure_code: None,
            failure_message: None,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_000,
        };
        assert_eq!(
            ids::position(&encode_cursor(&refund)),
            Some((1_700_000_000, refund.id.to_string()))
        );
        assert_eq!(ids::position("zz"), None);
        assert_eq!(ids::position("12.rf-x"), None);
    }
}
