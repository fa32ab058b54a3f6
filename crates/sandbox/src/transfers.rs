//! `POST /api/v1/transfers/local` and `/international`: money out of the account's wallet.
//!
//! Limits (whole FCFA): local 100 – 2,000,000; international 500 – 1,000,000. The balance never
//! goes negative: the check and the debit are one database transaction, and the database
//! serializes them (see [`crate::db`]).
//!
//! Magic recipients, like Stripe's test cards: any valid number whose last four digits are
//! `0402` is refused with `INSUFFICIENT_FUNDS`, `0403` with `TRANSACTION_DECLINED`, `0404` with
//! `RECIPIENT_NOT_FOUND`. Every refusal is recorded in the history and announced by a
//! `transaction.failed` webhook; every completed transfer by `transfer.completed`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mobilepay_wire::api::{InternationalTransfer, LocalTransfer, Transfer};
use mobilepay_wire::webhook::{EventKind, TransferCompleted};

use crate::auth::Principal;
use crate::error::{ApiJson, Error, Refusal};
use crate::ledger::{self, Record};
use crate::phone::{Country, Phone};
use crate::{AppState, random_id, rfc3339_unix, webhooks};

pub const MIN_AMOUNT: u64 = 100;
pub const MAX_LOCAL: u64 = 2_000_000;
pub const MIN_INTERNATIONAL: u64 = 500;
pub const MAX_INTERNATIONAL: u64 = 1_000_000;

#[utoipa::path(
    post,
    path = "/api/v1/transfers/local",
    tag = "transfers",
    request_body = LocalTransfer,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, description = "Completed", body = Transfer),
        (status = 400, description = "INVALID_JSON, INVALID_PARAMETER, INVALID_PHONE, UNSUPPORTED_COUNTRY, COUNTRY_MISMATCH", body = mobilepay_wire::ApiError),
        (status = 402, description = "INSUFFICIENT_FUNDS", body = mobilepay_wire::ApiError),
        (status = 422, description = "RECIPIENT_NOT_FOUND, TRANSACTION_DECLINED", body = mobilepay_wire::ApiError),
        (status = 429, description = "RATE_LIMITED", body = mobilepay_wire::ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn local(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(body): ApiJson<LocalTransfer>,
) -> Result<(StatusCode, Json<Transfer>), Error> {
    let phone = Phone::parse(&body.recipient_phone)?;
    if phone.country() != Country::Ci {
        return Err(Error::CountryMismatch);
    }
    check_amount(
        body.amount,
        MIN_AMOUNT,
        MAX_LOCAL,
        (
            "un nombre entier de FCFA entre 100 et 2 000 000",
            "a whole number of FCFA from 100 to 2,000,000",
        ),
    )?;
    let description = match body.description.as_deref() {
        Some(d) if d.chars().count() > 255 => {
            return Err(Error::InvalidField {
                field: "description",
                fr: "255 caractères au plus",
                en: "255 characters at most",
            });
        }
        None => None,
        Some(d) => Some(crate::trim_blanks(d).to_owned()).filter(|d| !d.is_empty()),
    };
    execute(
        &state,
        &principal,
        "transfer_local",
        &phone,
        body.amount,
        description,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/transfers/international",
    tag = "transfers",
    request_body = InternationalTransfer,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, description = "Completed", body = Transfer),
        (status = 400, description = "INVALID_JSON, INVALID_PARAMETER, INVALID_PHONE, UNSUPPORTED_COUNTRY, COUNTRY_MISMATCH", body = mobilepay_wire::ApiError),
        (status = 402, description = "INSUFFICIENT_FUNDS", body = mobilepay_wire::ApiError),
        (status = 422, description = "RECIPIENT_NOT_FOUND, TRANSACTION_DECLINED", body = mobilepay_wire::ApiError),
        (status = 429, description = "RATE_LIMITED", body = mobilepay_wire::ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn international(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(body): ApiJson<InternationalTransfer>,
) -> Result<(StatusCode, Json<Transfer>), Error> {
    let country = Country::parse(&body.recipient_country)?;
    if country == Country::Ci {
        return Err(Error::InvalidField {
            field: "recipient_country",
            fr: "un pays autre que la Côte d'Ivoire (utilisez /transfers/local)",
            en: "a country other than Côte d'Ivoire (use /transfers/local)",
        });
    }
    let phone = Phone::parse(&body.recipient_phone)?;
    if phone.country() != country {
        return Err(Error::CountryMismatch);
    }
    check_amount(
        body.amount,
        MIN_INTERNATIONAL,
        MAX_INTERNATIONAL,
        (
            "un nombre entier de FCFA entre 500 et 1 000 000",
            "a whole number of FCFA from 500 to 1,000,000",
        ),
    )?;
    execute(
        &state,
        &principal,
        "transfer_international",
        &phone,
        body.amount,
        None,
    )
    .await
}

/// `amount` within `min..=max`; otherwise `range` (French, English) says which.
pub(crate) fn check_amount(
    amount: u64,
    min: u64,
    max: u64,
    range: (&'static str, &'static str),
) -> Result<(), Error> {
    if (min..=max).contains(&amount) {
        return Ok(());
    }
    Err(Error::InvalidField {
        field: "amount",
        fr: range.0,
        en: range.1,
    })
}

/// The refusal a magic recipient forces, if any.
fn magic(phone: &Phone) -> Option<Refusal> {
    match &phone.as_str()[phone.as_str().len().saturating_sub(4)..] {
        "0402" => Some(Refusal::InsufficientFunds),
        "0403" => Some(Refusal::TransactionDeclined),
        "0404" => Some(Refusal::RecipientNotFound),
        _ => None,
    }
}

async fn execute(
    state: &AppState,
    principal: &Principal,
    kind: &str,
    phone: &Phone,
    amount: u64,
    description: Option<String>,
) -> Result<(StatusCode, Json<Transfer>), Error> {
    let at = state.clock.unix();
    let debit = i64::try_from(amount).map_err(|_| Error::Internal)?;
    let account = principal.account_id.as_str();
    let country = phone.country().iso();
    let mut tx = state.db.begin().await?;
    let balance = ledger::balance(&mut tx, account).await?;
    let refusal = magic(phone).or((balance < debit).then_some(Refusal::InsufficientFunds));
    // In the history either way: a refused attempt with its code and no money moved.
    let (id, status, moved, error_code) = match refusal {
        Some(refusal) => (random_id("TXN", 10), "failed", 0, Some(refusal.code())),
        None => (random_id("TRF", 10), "completed", -debit, None),
    };
    ledger::record(
        &mut tx,
        &Record {
            id: &id,
            account_id: account,
            kind,
            status,
            amount: moved,
            counterparty: Some(phone.as_str()),
            country: Some(country),
            description: description.as_deref(),
            error_code,
            at,
        },
    )
    .await?;
    if let Some(refusal) = refusal {
        webhooks::enqueue(&mut tx, account, refusal.failed_event(&id), at).await?;
        tx.commit().await?;
        state.webhooks.wake();
        tracing::info!(transaction_id = %id, code = refusal.code(), "transfer refused");
        return Err(Error::Refused(refusal, id));
    }
    ledger::post(
        &mut tx,
        &id,
        &[
            (ledger::wallet(account), -debit),
            (ledger::external(phone.as_str()), debit),
        ],
        at,
    )
    .await?;
    let event = EventKind::TransferCompleted(TransferCompleted {
        transfer_id: id.clone(),
        amount,
        currency: mobilepay_wire::CURRENCY.to_owned(),
        status: "completed".to_owned(),
    });
    webhooks::enqueue(&mut tx, account, event, at).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok((
        StatusCode::CREATED,
        Json(Transfer {
            transfer_id: id,
            status: "completed".to_owned(),
            amount,
            currency: mobilepay_wire::CURRENCY.to_owned(),
            recipient_phone: phone.as_str().to_owned(),
            recipient_country: country.to_owned(),
            description,
            balance_after: u64::try_from(balance - debit).unwrap_or_default(),
            created_at: rfc3339_unix(at),
        }),
    ))
}

/// `PROPTEST_CASES` sets the number of cases (256 by default; `cargo xtask proptest-long`).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn an_amount_is_accepted_exactly_within_its_bounds(
            amount in prop_oneof![any::<u64>(), 0u64..3_000_000],
            (min, max) in prop_oneof![
                Just((MIN_AMOUNT, MAX_LOCAL)),
                Just((MIN_INTERNATIONAL, MAX_INTERNATIONAL)),
                Just((crate::payments::MIN_AMOUNT, crate::payments::MAX_AMOUNT)),
            ],
        ) {
            let checked = check_amount(amount, min, max, ("fr", "en"));

            prop_assert_eq!(checked.is_ok(), min <= amount && amount <= max);
        }
    }
}
