//! The routes and the OpenAPI 3.1 document, generated from the same declarations
//! (`utoipa-axum`): a route cannot exist without its description in the document.
//! Served at `/api/v1/openapi.json`.
//!
//! The document states every constraint the handlers enforce (bounds and lengths on the wire
//! types, patterns and enums from [`crate::phone`]'s table) and every answer they give: what the
//! middleware in front of a route can answer (authentication, rate limit, `Idempotency-Key`, a
//! malformed body) is added by [`refine`] from the route's kind, so no route can forget it.
//! schemathesis checks the document against the running sandbox in `cargo xtask test`.

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{self, Error};
use crate::phone::{self, Country};
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

/// The OpenAPI document of every API route, as served.
pub fn document() -> serde_json::Value {
    refine(
        OpenApiRouter::<Arc<AppState>>::with_openapi(ApiDoc::openapi())
            .merge(authenticated())
            .merge(public())
            .into_openapi(),
    )
}

/// What the derives cannot say: the answers of the middleware in front of each route, the
/// phone patterns and country enums of [`crate::phone`]'s table, the `Idempotency-Key` format,
/// `Retry-After`, and the links schemathesis' stateful phase follows.
///
/// JSON rather than utoipa's types: a schema with both `properties` and `oneOf` has no place in
/// them.
fn refine(document: utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{Value, json};
    // utoipa's types serialize to a JSON object: they have no other form.
    let mut doc = serde_json::to_value(&document).unwrap_or_default();
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}});
    let retry_after = json!({"Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1}
    }});
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for (method, operation) in item.iter_mut() {
                if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let secured = operation["security"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
                let has_body = operation.get("requestBody").is_some();
                let post = method == "post";
                let mut answers: Vec<(&str, &str)> = Vec::new();
                if has_body {
                    answers.push(("400", "INVALID_JSON"));
                }
                if secured {
                    answers.push(("401", "UNAUTHENTICATED, INVALID_API_KEY, LIVE_KEY_REFUSED"));
                    answers.push(("429", "RATE_LIMITED"));
                }
                if secured && post {
                    answers.push(("400", "INVALID_IDEMPOTENCY_KEY"));
                    answers.push(("409", "IDEMPOTENCY_KEY_IN_PROGRESS"));
                    answers.push(("422", "IDEMPOTENCY_KEY_REUSED"));
                }
                answers.push(("500", "INTERNAL_ERROR"));
                let responses = &mut operation["responses"];
                for (status, codes) in answers {
                    let response = &mut responses[status];
                    let description = response["description"].as_str().unwrap_or("").to_owned();
                    let missing: Vec<&str> = codes
                        .split(", ")
                        .filter(|code| !description.contains(code))
                        .collect();
                    if !missing.is_empty() {
                        let joined = missing.join(", ");
                        response["description"] = if description.is_empty() {
                            Value::from(joined)
                        } else {
                            Value::from(format!("{description}, {joined}"))
                        };
                    }
                    response["content"] = error.clone();
                    if status == "429" {
                        response["headers"] = retry_after.clone();
                    }
                }
                if let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                {
                    for parameter in parameters {
                        // A string either way: said once, so that a client (and schemathesis)
                        // never sends anything but a string.
                        if parameter["schema"].get("anyOf").is_some() {
                            parameter["schema"]["type"] = Value::from("string");
                        }
                        if parameter["name"] == "Idempotency-Key" {
                            parameter["schema"] = json!({
                                "type": "string", "pattern": "^[!-~]{1,255}$"
                            });
                        }
                    }
                }
            }
        }
    }
    let schemas = &mut doc["components"]["schemas"];
    let any_phone = phone::pattern(&Country::ALL);
    schemas["LocalTransfer"]["properties"]["recipient_phone"]["pattern"] =
        Value::from(phone::pattern(&[Country::Ci]));
    schemas["SimulatePayment"]["properties"]["payer"]["pattern"] = Value::from(any_phone);
    schemas["WebhookEndpoint"]["properties"]["url"]["pattern"] = Value::from(webhooks::URL_PATTERN);
    // Which phone goes with which country: one branch per country.
    let abroad: Vec<Country> = Country::ALL
        .into_iter()
        .filter(|c| *c != Country::Ci)
        .collect();
    let international = &mut schemas["InternationalTransfer"];
    international["properties"]["recipient_country"]["enum"] =
        abroad.iter().map(|c| c.iso()).collect();
    international["oneOf"] = abroad
        .iter()
        .map(|c| {
            json!({"properties": {
                "recipient_country": {"enum": [c.iso()]},
                "recipient_phone": {"pattern": phone::pattern(&[*c])}
            }})
        })
        .collect();
    // A created payment can be paid, and a listed delivery replayed (the stateful phase).
    doc["paths"]["/api/v1/payments/qr"]["post"]["responses"]["201"]["links"] = json!({
        "PayIt": {
            "operationId": "simulate_pay",
            "parameters": {"payment_id": "$response.body#/payment_id"}
        }
    });
    doc["paths"]["/sandbox/v1/webhook-deliveries"]["get"]["responses"]["200"]["links"] = json!({
        "ReplayIt": {
            "operationId": "replay",
            "parameters": {"delivery_id": "$response.body#/deliveries/0/delivery_id"}
        }
    });
    doc
}

pub fn router(state: Arc<AppState>) -> Router {
    let authenticated = authenticated()
        .layer(from_fn_with_state(Arc::clone(&state), idempotency::layer))
        .layer(from_fn_with_state(Arc::clone(&state), auth::authenticate));
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(authenticated)
        .merge(public())
        .split_for_parts();
    let doc = Arc::new(refine(doc));
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
