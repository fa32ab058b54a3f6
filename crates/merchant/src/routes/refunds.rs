//! `/v1/refunds`: money back to the phone that paid a checkout ([`crate::refunds`]). Routes and
//! OpenAPI description from the same declarations; authentication and `Idempotency-Key` are
//! the `/v1` router's layers.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use mobilepay_wire::ApiError;
use mobilepay_wire::ids::{CheckoutId, RefundId};
use mobilepay_wire::merchant::{CreateRefund, Refund, RefundList};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiJson;
use crate::refunds::{self, DEFAULT_LIMIT, MAX_LIMIT, NewRefund, RefundError};

/// The refunds' routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_refund, list_refunds))
        .routes(routes!(get_refund))
}

/// `POST /v1/refunds`.
#[utoipa::path(
    post,
    path = "/v1/refunds",
    tag = "refunds",
    request_body = CreateRefund,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; makes a retried request safe (the same key with another request: 422). Without one, a retried request is a second refund (still never more than was paid)", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$")),
    responses(
        (status = 201, description = "The refund: `pending` while the transfer back to the payer runs (then `succeeded` or `failed`, announced by `refund.succeeded` / `refund.failed`, whose `data` is this object), or already `failed` when MOBILE-PAY refused the transfer (`failure_code`: INSUFFICIENT_FUNDS, TRANSACTION_DECLINED, RECIPIENT_NOT_FOUND, …); a failed refund's amount is refundable again. A transfer MOBILE-PAY did not answer stays `pending` and is asked again with the same Idempotency-Key, so it is made at most once", body = Refund),
        (status = 400, description = "INVALID_JSON (not the JSON above, or an unknown field); INVALID_PARAMETER: a malformed checkout_id, a reason not 1 – 255 characters, an amount outside the transfer's bounds (100 – 2,000,000 FCFA to a +225 payer, 500 – 1,000,000 to another UEMOA country's); INVALID_IDEMPOTENCY_KEY", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 402, description = "INSUFFICIENT_FUNDS: the merchant's MOBILE-PAY balance, asked first, does not cover the amount; nothing was refunded", body = ApiError),
        (status = 404, description = "CHECKOUT_NOT_FOUND", body = ApiError),
        (status = 409, description = "CHECKOUT_NOT_PAID; PAYER_NOT_REFUNDABLE (no payer, or not a UEMOA phone); REFUND_EXCEEDS_REFUNDABLE (more than the checkout's amount_refundable: its amount less its pending and succeeded refunds, enforced by the database under concurrent requests); IDEMPOTENCY_KEY_IN_PROGRESS", body = ApiError),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED: the key was used for another request", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
        (status = 502, description = "PAYMENT_PROVIDER_UNAVAILABLE: MOBILE-PAY's balance could not be read; nothing was refunded", body = ApiError),
        (status = 503, description = "PAYMENT_PROVIDER_BUSY: MOBILE-PAY is rate limiting (with Retry-After); nothing was refunded", body = ApiError),
    ),
    security(("bearer" = []))
)]
async fn create_refund(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateRefund>,
) -> Result<(StatusCode, Json<Refund>), RefundError> {
    let new = NewRefund::parse(body)?;
    let refund = refunds::create(&state, new).await?;
    Ok((StatusCode::CREATED, Json(refund.wire())))
}

/// `GET /v1/refunds/{id}`.
#[utoipa::path(
    get,
    path = "/v1/refunds/{id}",
    tag = "refunds",
    params(("id" = String, Path, description = "The refund's id (`rf_…`)")),
    responses(
        (status = 200, body = Refund),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 404, description = "REFUND_NOT_FOUND", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
async fn get_refund(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Refund>, RefundError> {
    // A malformed id names no refund: answered as an unknown one.
    let id: RefundId = id.parse().map_err(|_| RefundError::RefundNotFound)?;
    let refund = refunds::get(&state, &id)
        .await?
        .ok_or(RefundError::RefundNotFound)?;
    Ok(Json(refund.wire()))
}

/// The query of `GET /v1/refunds`: text, parsed by hand, so that a malformed value is an
/// `INVALID_PARAMETER` in our error shape.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only the refunds of this checkout.
    #[param(pattern = "^chk_[0-9a-f]{24}$")]
    checkout_id: Option<String>,
    /// 1 – 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Where the page starts: the `next_cursor` of the page before, which is the position
    /// (`created_at.id`) of that page's last refund; the page holds the refunds after it.
    #[param(
        min_length = 3,
        max_length = 80,
        pattern = r"^[0-9]{1,15}\.[A-Za-z0-9_]{1,64}$"
    )]
    cursor: Option<String>,
}

/// `GET /v1/refunds`.
#[utoipa::path(
    get,
    path = "/v1/refunds",
    tag = "refunds",
    params(ListParams),
    responses(
        (status = 200, description = "A page of refunds, newest first", body = RefundList),
        (status = 400, description = "INVALID_PARAMETER: a malformed checkout_id, `limit` not 1 – 100, or a `cursor` not of its pattern", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
        (status = 500, description = "INTERNAL_ERROR", body = ApiError),
    ),
    security(("bearer" = []))
)]
async fn list_refunds(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<RefundList>, RefundError> {
    let Query(params) = query.map_err(|_| {
        RefundError::InvalidParameter("the query string is not checkout_id, limit and cursor")
    })?;
    let checkout_id = match params.checkout_id.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<CheckoutId>()
                .map_err(|_| RefundError::InvalidParameter(refunds::CHECKOUT_ID_MESSAGE))?,
        ),
    };
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or(RefundError::InvalidParameter("limit must be 1 to 100"))?,
    };
    let cursor = match params.cursor.as_deref() {
        None => None,
        Some(text) => Some(
            crate::ids::position(text).ok_or(RefundError::InvalidParameter(
                "cursor must be a created_at.id position, as next_cursor is",
            ))?,
        ),
    };
    let (page, next_cursor) = refunds::list(&state, checkout_id.as_ref(), limit, cursor).await?;
    Ok(Json(RefundList {
        data: page.iter().map(refunds::Refund::wire).collect(),
        next_cursor,
    }))
}
