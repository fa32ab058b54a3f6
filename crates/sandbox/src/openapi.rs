//! The routes and the OpenAPI 3.1 document, generated from the same declarations
//! (`utoipa-axum`): a route cannot exist without its description in the document.
//! Served at `/api/v1/openapi.json`.

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{self, Error};
use crate::{
    AppState, auth, controls, idempotency, login, payments, transactions, transfers, wallet,
    webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MOBILE-PAY API — sandbox",
        version = "1",
        description = "MOBILE-PAY's REST API as the sandbox implements it, plus the sandbox's own \
                       controls under /sandbox/v1. Every error is {error_code, error_message}."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth"), (name = "payments"), (name = "transfers"),
        (name = "transactions"), (name = "balance"), (name = "sandbox")
    )
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
                        .description(Some("An API key (sk_test_…) or a login token"))
                        .build(),
                ),
            );
    }
}

/// Routes behind Bearer authentication, the rate limit and `Idempotency-Key`.
fn authenticated() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(payments::create_qr))
        .routes(routes!(transfers::local))
        .routes(routes!(transfers::international))
        .routes(routes!(transactions::list))
        .routes(routes!(transactions::balance))
        .routes(routes!(webhooks::get_endpoint, webhooks::put_endpoint))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::replay))
}

/// Routes anyone may call: login, and the sandbox's shopper and clock.
fn public() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login::login))
        .routes(routes!(payments::simulate_pay))
        .routes(routes!(controls::get_clock))
        .routes(routes!(controls::advance))
}

/// The OpenAPI document of every API route.
pub fn document() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<Arc<AppState>>::with_openapi(ApiDoc::openapi())
        .merge(authenticated())
        .merge(public())
        .into_openapi()
}

pub fn router(state: Arc<AppState>) -> Router {
    let authenticated = authenticated()
        .layer(from_fn_with_state(Arc::clone(&state), idempotency::layer))
        .layer(from_fn_with_state(Arc::clone(&state), auth::authenticate));
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(authenticated)
        .merge(public())
        .split_for_parts();
    let doc = Arc::new(doc);
    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = Arc::clone(&doc);
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .route("/wallet/{payment_id}", get(wallet::page))
    .route("/wallet/{payment_id}/pay", post(wallet::pay))
    .fallback(|| async { Error::NotFound })
    .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
    .layer(from_fn(error::localize))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_: Box<dyn std::any::Any + Send>| {
            axum::response::IntoResponse::into_response(Error::Internal)
        },
    ))
    .with_state(state)
}
