//! `GET /api/v1/transactions` and `GET /api/v1/balance`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use mobilepay_wire::api::{Balance, Transaction, TransactionKind, TransactionPage};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::auth::Principal;
use crate::error::{ApiQuery, Error};
use crate::{AppState, ledger, rfc3339, rfc3339_unix};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The query, as text: each parameter is parsed here so that a bad one gets its own message.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// 1 – 100, default 20.
    limit: Option<String>,
    /// Default 0.
    offset: Option<String>,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or RFC 3339.
    start_date: Option<String>,
    /// `YYYY-MM-DD` (to the end of that day, UTC) or RFC 3339.
    end_date: Option<String>,
}

fn invalid(field: &'static str, fr: &'static str, en: &'static str) -> Error {
    Error::InvalidField { field, fr, en }
}

/// A date bound in Unix seconds; `end` makes a bare date include its whole day.
fn parse_date(value: &str, field: &'static str, end: bool) -> Result<i64, Error> {
    let error = || {
        invalid(
            field,
            "une date AAAA-MM-JJ ou RFC 3339",
            "a YYYY-MM-DD or RFC 3339 date",
        )
    };
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(at.unix_timestamp() + i64::from(end));
    }
    let date =
        Date::parse(value, format_description!("[year]-[month]-[day]")).map_err(|_| error())?;
    let day = date.midnight().assume_utc().unix_timestamp();
    Ok(if end { day + 86_400 } else { day })
}

#[utoipa::path(
    get,
    path = "/api/v1/transactions",
    tag = "transactions",
    params(ListParams),
    responses(
        (status = 200, description = "Newest first", body = TransactionPage),
        (status = 400, description = "INVALID_PARAMETER", body = mobilepay_wire::ApiError),
        (status = 401, description = "UNAUTHENTICATED, INVALID_API_KEY", body = mobilepay_wire::ApiError),
        (status = 429, description = "RATE_LIMITED", body = mobilepay_wire::ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<TransactionPage>, Error> {
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    "un entier de 1 à 100",
                    "a whole number from 1 to 100",
                )
            })?,
    };
    let offset = match params.offset.as_deref() {
        None => 0,
        Some(o) => o.parse::<u32>().map_err(|_| {
            invalid(
                "offset",
                "un entier positif ou nul",
                "a whole number, 0 or more",
            )
        })?,
    };
    let start = params
        .start_date
        .as_deref()
        .map(|d| parse_date(d, "start_date", false))
        .transpose()?
        .unwrap_or(i64::MIN);
    let end = params
        .end_date
        .as_deref()
        .map(|d| parse_date(d, "end_date", true))
        .transpose()?
        .unwrap_or(i64::MAX);
    if start > end {
        return Err(invalid(
            "start_date",
            "start_date doit précéder end_date",
            "start_date must come before end_date",
        ));
    }
    type Row = (
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, status, amount, counterparty, description, error_code, created_at
         FROM transactions WHERE account_id = ? AND created_at >= ? AND created_at < ?
         ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?",
    )
    .bind(&principal.account_id)
    .bind(start)
    .bind(end)
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .fetch_all(&state.db)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM transactions WHERE account_id = ? AND created_at >= ? AND created_at < ?",
    )
    .bind(&principal.account_id)
    .bind(start)
    .bind(end)
    .fetch_one(&state.db)
    .await?;
    let transactions = rows
        .into_iter()
        .map(
            |(id, kind, status, amount, counterparty, description, error_code, at)| Transaction {
                transaction_id: id,
                kind: match kind.as_str() {
                    "transfer_local" => TransactionKind::TransferLocal,
                    "transfer_international" => TransactionKind::TransferInternational,
                    "qr_payment" => TransactionKind::QrPayment,
                    _ => TransactionKind::Funding,
                },
                status,
                amount,
                currency: mobilepay_wire::CURRENCY.to_owned(),
                counterparty,
                description,
                error_code,
                created_at: rfc3339_unix(at),
            },
        )
        .collect();
    Ok(Json(TransactionPage {
        transactions,
        total: u64::try_from(total).unwrap_or_default(),
        limit,
        offset: u64::from(offset),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/balance",
    tag = "balance",
    responses(
        (status = 200, description = "The sum of the account's ledger entries", body = Balance),
        (status = 401, description = "UNAUTHENTICATED, INVALID_API_KEY", body = mobilepay_wire::ApiError),
        (status = 429, description = "RATE_LIMITED", body = mobilepay_wire::ApiError),
    ),
    security(("bearer" = []))
)]
pub async fn balance(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<Balance>, Error> {
    let mut conn = state.db.acquire().await?;
    let balance = ledger::balance(&mut conn, &principal.account_id).await?;
    Ok(Json(Balance {
        balance: u64::try_from(balance).map_err(|_| Error::Internal)?,
        currency: mobilepay_wire::CURRENCY.to_owned(),
        as_of: rfc3339(state.now()),
    }))
}
