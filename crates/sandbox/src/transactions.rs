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
/// The document says what each must be (`value_type`, bounds, [`date_schema`]).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 – 100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Default 0.
    #[param(value_type = Option<u32>, minimum = 0, maximum = 4_294_967_295.0)]
    offset: Option<String>,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or RFC 3339. After `end_date`: an empty
    /// page.
    #[param(schema_with = date_schema)]
    start_date: Option<String>,
    /// `YYYY-MM-DD` (to the end of that day, UTC) or RFC 3339.
    #[param(schema_with = date_schema)]
    end_date: Option<String>,
}

/// A date parameter: what [`parse_date`] accepts.
fn date_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let format = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    AnyOfBuilder::new()
        .item(format(KnownFormat::Date))
        .item(format(KnownFormat::DateTime))
        .build()
        .into()
}

fn invalid(field: &'static str, fr: &'static str, en: &'static str) -> Error {
    Error::InvalidField { field, fr, en }
}

/// `limit`: 1 – 100, in decimal digits.
fn parse_limit(value: &str) -> Result<u32, Error> {
    decimal(value)
        .filter(|l| (1..=MAX_LIMIT).contains(l))
        .ok_or_else(|| {
            invalid(
                "limit",
                "un entier de 1 à 100",
                "a whole number from 1 to 100",
            )
        })
}

/// `offset`: 0 – 4,294,967,295, in decimal digits.
fn parse_offset(value: &str) -> Result<u32, Error> {
    decimal(value).ok_or_else(|| {
        invalid(
            "offset",
            "un entier positif ou nul",
            "a whole number, 0 or more",
        )
    })
}

/// Digits only: `u32::from_str` also takes a leading `+`, which an integer parameter of the
/// document does not allow.
fn decimal(value: &str) -> Option<u32> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse().ok())
        .flatten()
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
    let limit = params
        .limit
        .as_deref()
        .map_or(Ok(DEFAULT_LIMIT), parse_limit)?;
    let offset = params.offset.as_deref().map_or(Ok(0), parse_offset)?;
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
    // A start after the end is an empty range, not an error: the page is empty, like any range
    // without transactions.
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

/// `PROPTEST_CASES` sets the number of cases (256 by default; `cargo xtask proptest-long`).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

    use super::*;

    fn date() -> impl Strategy<Value = Date> {
        (1i32..=9999, 1u8..=12, 1u8..=31).prop_filter_map("a real day", |(y, m, d)| {
            Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
        })
    }

    proptest! {
        #[test]
        fn limit_and_offset_take_exactly_their_range_in_plain_digits(value in "\\PC{0,12}|[0-9]{1,11}|[+-]?[0-9]{1,4}") {
            let number = value.bytes().all(|b| b.is_ascii_digit()).then(|| value.parse::<u64>().ok()).flatten();

            prop_assert_eq!(
                parse_limit(&value).ok(),
                number.filter(|n| (1..=100).contains(n)).map(|n| n as u32)
            );
            prop_assert_eq!(
                parse_offset(&value).ok(),
                number.filter(|n| *n <= u64::from(u32::MAX)).map(|n| n as u32)
            );
        }

        #[test]
        fn any_text_as_a_date_is_parsed_or_refused_without_panicking(value in "\\PC{0,40}") {
            let _ = parse_date(&value, "start_date", false);
            let _ = parse_date(&value, "end_date", true);
        }

        #[test]
        fn a_day_covers_its_24_hours_from_midnight_utc(day in date()) {
            let text = format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day());
            let midnight = day.midnight().assume_utc().unix_timestamp();

            prop_assert_eq!(parse_date(&text, "start_date", false).ok(), Some(midnight));
            prop_assert_eq!(parse_date(&text, "end_date", true).ok(), Some(midnight + 86_400));
        }

        #[test]
        fn an_rfc_3339_time_is_that_instant_and_an_end_includes_its_second(
            day in date(),
            seconds in 0u32..86_400,
            offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59),
        ) {
            let time = Time::from_hms((seconds / 3600) as u8, (seconds / 60 % 60) as u8, (seconds % 60) as u8)
                .expect("a time of day");
            let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).expect("an offset");
            let at = PrimitiveDateTime::new(day, time).assume_offset(offset);
            let Ok(text) = at.format(&Rfc3339) else {
                // Outside RFC 3339's years once shifted to UTC: nothing to check.
                return Ok(());
            };

            prop_assert_eq!(parse_date(&text, "start_date", false).ok(), Some(at.unix_timestamp()));
            prop_assert_eq!(parse_date(&text, "end_date", true).ok(), Some(at.unix_timestamp() + 1));
        }
    }
}
