//! The HTTP surface of the merchant backend.

pub mod assets;
pub mod checkout;
pub mod notifications;
pub mod pay;
pub mod refunds;
pub mod v1;
pub mod webhooks;
mod widget_doc;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::error::Error;

/// All routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    router_with(state, Router::new())
}

/// [`router`] and `extra` routes (the demo's store page).
pub fn router_with(state: Arc<AppState>, extra: Router) -> Router {
    let cors = cors(&state.config.allowed_origins);
    let mut router = Router::new()
        .route("/checkout/sessions", post(checkout::create))
        .route(
            "/checkout/sessions/{session_id}/status",
            get(checkout::status),
        )
        .route(
            "/checkout/sessions/{session_id}/events",
            get(checkout::events),
        )
        .merge(v1::router(&state))
        .route("/pay/pay.css", get(pay::stylesheet))
        .route("/pay/pay.js", get(pay::script))
        .route("/pay/{checkout_id}", get(pay::show))
        .route("/webhooks/mobilepay", post(webhooks::receive))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::console::router(&state));
    if let Some(dir) = &state.config.widget_dir {
        router = router.nest_service(assets::WIDGET_PATH, assets::router(dir));
    }
    router
        .with_state(state)
        .merge(extra)
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
        .layer(cors)
        // Every request gets an id, in its log lines and in its answer (`x-request-id`).
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                // The path only: query strings carry session capabilities.
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                axum::response::IntoResponse::into_response(Error::Internal)
            },
        ))
}

/// `/readyz`: ready when the database answers.
async fn readyz(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> Result<&'static str, Error> {
    if state.sessions.db.ready().await {
        Ok("ready")
    } else {
        Err(Error::NotReady)
    }
}

/// Cross-origin access to the checkout API, for the configured origins only (the widget on a
/// merchant's page served from another origin than this backend). No credentials: a session's
/// access rides in its URL. Never on `/v1`: browsers never reach the merchant API, and no page
/// may read its answers.
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, request| {
            origins.contains(origin) && !request.uri.path().starts_with("/v1/")
        }))
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("last-event-id"),
        ])
        // The widget reads `Date` to count down by the server's clock.
        .expose_headers([header::DATE])
        .max_age(std::time::Duration::from_secs(600))
}

/// `/metrics`: Prometheus text format; `503 NOT_READY` when the database does not answer.
async fn metrics(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> Result<impl axum::response::IntoResponse, Error> {
    let text = crate::metrics::render(&state.sessions.db)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "metrics not rendered: database unavailable");
            Error::NotReady
        })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    ))
}
