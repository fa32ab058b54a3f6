//! The HTTP surface of the merchant backend.

pub mod checkout;
pub mod store;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::error::Error;

/// All routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/", get(store::page))
        .route("/store.css", get(store::stylesheet))
        .route("/checkout/sessions", post(checkout::create))
        .route(
            "/checkout/sessions/{session_id}/status",
            get(checkout::status),
        )
        .route(
            "/checkout/sessions/{session_id}/events",
            get(checkout::events),
        )
        .route("/webhooks/mobilepay", post(webhooks::receive))
        .route("/healthz", get(|| async { "ok" }));
    if let Some(dir) = &state.config.widget_dir {
        router = router.nest_service("/widget", tower_http::services::ServeDir::new(dir));
    }
    router
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        // Session URLs carry a capability: never hand them to another site through Referer.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                axum::response::IntoResponse::into_response(Error::Internal)
            },
        ))
        .with_state(state)
}
