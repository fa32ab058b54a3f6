//! The merchant API, `/v1`: server to server, behind `Authorization: Bearer mk_…`
//! ([`crate::keys`]), `Idempotency-Key` on every POST ([`crate::idempotency`]), and no CORS
//! (browsers never reach it). Its routes and its OpenAPI 3.1 document (`/v1/openapi.json`) are
//! generated from the same declarations (`utoipa-axum`), so a route cannot exist undocumented.
//!
//! Each feature module contributes one function returning its `OpenApiRouter`; [`api`] merges
//! them. Add a feature's routes there, and its tag to [`ApiDoc`].

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use mobilepay_wire::ApiError;
use mobilepay_wire::ids::CheckoutId;
use mobilepay_wire::merchant::{Checkout, CheckoutList, CheckoutStatus, CreateCheckout};
use serde::Deserialize;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::checkouts::{Created, ListQuery, NewCheckout};
use crate::error::{ApiJson, Error};
use crate::{idempotency, keys};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MOBILE-PAY Checkout — merchant API",
        version = "1",
        description = "The merchant backend's API for a shop's own server: checkouts to be paid \
                       by the widget or the hosted pay page, their refunds (transfers back to the payer), and \
                       the events about them (for `refund.*` events, `data` is the refund). Every \
                       /v1 route needs `Authorization: Bearer mk_…`; every POST honours \
                       `Idempotency-Key` (the same key and body: the stored answer, with \
                       `Idempotent-Replayed: true`; another body: 422; while the first runs: \
                       409; kept 24 hours). Every error is {error_code, error_message}. Also \
                       documented (tag `widget`): the routes the browser widget calls, without \
                       a key."
    ),
    modifiers(&BearerAuth),
    tags((name = "checkouts"), (name = "notifications"), (name = "refunds"), (name = "widget"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "A merchant API key (mk_…): `mobilepay-merchant keys create`, or MERCHANT_API_KEYS",
                        ))
                        .build(),
                ),
            );
    }
}

/// The checkouts' routes.
pub fn checkouts() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_checkout, list_checkouts))
        .routes(routes!(get_checkout))
        .routes(routes!(cancel_checkout))
}

/// Every `/v1` route, one function per feature module.
pub fn api() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .merge(checkouts())
        .merge(super::notifications::routes())
        .merge(super::refunds::routes())
}

/// The OpenAPI document: every `/v1` route, and the widget's routes.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = OpenApiRouter::<Arc<AppState>>::with_openapi(ApiDoc::openapi())
        .merge(api())
        .into_openapi();
    doc.merge(super::widget_doc::document());
    doc
}

/// `/v1`, authenticated, with `Idempotency-Key`, and `GET /v1/openapi.json` (public: it holds
/// no secret, and tools fetch it before they have a key).
pub fn router(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let (api, _) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api())
        .split_for_parts();
    let api = api
        .route_layer(from_fn_with_state(Arc::clone(state), idempotency::layer))
        .route_layer(from_fn_with_state(Arc::clone(state), keys::authenticate));
    let doc = Arc::new(document());
    api.route(
        "/v1/openapi.json",
        get(move || {
            let doc = Arc::clone(&doc);
            async move { Json(doc.as_ref().clone()) }
        }),
    )
}

/// `POST /v1/checkouts`.
#[utoipa::path(
    post,
    path = "/v1/checkouts",
    tag = "checkouts",
    request_body = CreateCheckout,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; makes a retried request safe (the same key with another request: 422)", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$")),
    responses(
        (status = 201, description = "A new open checkout", body = Checkout),
        (status = 200, description = "The reference's open checkout, of the same amount", body = Checkout),
        (status = 400, description = "INVALID_JSON (not the JSON above, or an unknown field), INVALID_PARAMETER (a field out of its bounds; the message names it), INVALID_IDEMPOTENCY_KEY", body = ApiError),
        (status = 401, description = "UNAUTHORIZED: no, unknown or revoked key", body = ApiError),
        (status = 409, description = "REFERENCE_IN_USE: an open checkout has this reference with another amount; IDEMPOTENCY_KEY_IN_PROGRESS", body = ApiError),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED: the key was used for another request", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: over the key's rate (with Retry-After)", body = ApiError),
    ),
    security(("bearer" = []))
)]
async fn create_checkout(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateCheckout>,
) -> Result<(StatusCode, Json<Checkout>), Error> {
    let new = NewCheckout::parse(body)?;
    match state.checkouts.create(new).await? {
        Created::New(checkout) => Ok((StatusCode::CREATED, Json(state.checkouts.wire(&checkout)))),
        Created::Existing(checkout) => Ok((StatusCode::OK, Json(state.checkouts.wire(&checkout)))),
    }
}

/// The query of `GET /v1/checkouts`. Text, parsed by hand: a malformed value is an
/// `INVALID_PARAMETER` in our error shape, not axum's plain-text rejection.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only the checkouts of this reference.
    #[param(min_length = 1, max_length = 128, pattern = r"^[\x21-\x7E]+$")]
    reference: Option<String>,
    /// Only the checkouts in this status.
    #[param(value_type = Option<CheckoutStatus>)]
    status: Option<String>,
    /// Checkouts per page, 1 to 100 (20 by default).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Where the page starts: the `next_cursor` of the previous page, which is the position
    /// (`created_at.id`) of that page's last checkout; the page holds the checkouts after it.
    #[param(
        min_length = 3,
        max_length = 80,
        pattern = r"^[0-9]{1,15}\.[A-Za-z0-9_]{1,64}$"
    )]
    cursor: Option<String>,
}

/// `GET /v1/checkouts`: newest first.
#[utoipa::path(
    get,
    path = "/v1/checkouts",
    tag = "checkouts",
    params(ListParams),
    responses(
        (status = 200, description = "A page of checkouts, newest first", body = CheckoutList),
        (status = 400, description = "INVALID_PARAMETER: status, limit, or a cursor not of its pattern", body = ApiError),
        (status = 401, description = "UNAUTHORIZED", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS", body = ApiError),
    ),
    security(("bearer" = []))
)]
async fn list_checkouts(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CheckoutList>, Error> {
    // A repeated or unknown-shaped parameter: our error shape, not axum's plain text.
    let Query(params) = params.map_err(|_| {
        Error::InvalidParameter(
            "the query string is reference, status, limit and cursor, each once",
        )
    })?;
    let status = match params.status.as_deref() {
        Some(status) => Some(CheckoutStatus::parse(status).ok_or(Error::InvalidParameter(
            "status must be open, paid, expired or canceled",
        ))?),
        None => None,
    };
    let limit = match params.limit.as_deref() {
        Some(limit) => Some(
            limit
                .parse::<u32>()
                .map_err(|_| Error::InvalidParameter("limit must be 1 to 100"))?,
        ),
        None => None,
    };
    if params.reference.as_ref().is_some_and(|r| {
        !(1..=crate::checkouts::MAX_REFERENCE).contains(&r.len())
            || !r.bytes().all(|b| b.is_ascii_graphic())
    }) {
        return Err(Error::InvalidParameter(
            "reference must be 1 to 128 visible ASCII characters (no spaces)",
        ));
    }
    let query = ListQuery {
        reference: params.reference,
        status,
        limit,
        cursor: params.cursor,
    };
    let (page, next_cursor) = state.checkouts.list(&query).await?;
    Ok(Json(CheckoutList {
        data: page.iter().map(|c| state.checkouts.wire(c)).collect(),
        next_cursor,
    }))
}

/// `GET /v1/checkouts/{id}`.
#[utoipa::path(
    get,
    path = "/v1/checkouts/{id}",
    tag = "checkouts",
    params(("id" = String, Path, description = "The checkout's id", pattern = "^chk_[0-9a-f]{24}$")),
    responses(
        (status = 200, description = "The checkout", body = Checkout),
        (status = 401, description = "UNAUTHORIZED", body = ApiError),
        (status = 404, description = "CHECKOUT_NOT_FOUND", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS", body = ApiError),
    ),
    security(("bearer" = []))
)]
async fn get_checkout(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Checkout>, Error> {
    let id = checkout_id(&id)?;
    let checkout = state
        .checkouts
        .get(&id)
        .await?
        .ok_or(Error::CheckoutNotFound)?;
    let mut wire = state.checkouts.wire(&checkout);
    let refunds = crate::refunds::for_checkout(&state, &checkout.id).await?;
    wire.refunds = Some(refunds.iter().map(crate::refunds::Refund::wire).collect());
    Ok(Json(wire))
}

/// `POST /v1/checkouts/{id}/cancel`.
#[utoipa::path(
    post,
    path = "/v1/checkouts/{id}/cancel",
    tag = "checkouts",
    params(
        ("id" = String, Path, description = "The checkout's id", pattern = "^chk_[0-9a-f]{24}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters (the same key with another request: 422)", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$"),
    ),
    responses(
        (status = 200, description = "The checkout, canceled; its waiting payments end as expired", body = Checkout),
        (status = 400, description = "INVALID_IDEMPOTENCY_KEY", body = ApiError),
        (status = 401, description = "UNAUTHORIZED", body = ApiError),
        (status = 404, description = "CHECKOUT_NOT_FOUND", body = ApiError),
        (status = 409, description = "CHECKOUT_NOT_OPEN: paid, expired or canceled already; IDEMPOTENCY_KEY_IN_PROGRESS", body = ApiError),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS", body = ApiError),
    ),
    security(("bearer" = []))
)]
async fn cancel_checkout(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Checkout>, Error> {
    let checkout = state
        .checkouts
        .cancel(&state.sessions, &checkout_id(&id)?)
        .await?;
    Ok(Json(state.checkouts.wire(&checkout)))
}

/// A path's checkout id; a malformed one names no checkout, and is answered as an unknown one.
fn checkout_id(text: &str) -> Result<CheckoutId, Error> {
    text.parse().map_err(|_| Error::CheckoutNotFound)
}
