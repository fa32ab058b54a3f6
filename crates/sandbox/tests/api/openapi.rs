//! The contract: the OpenAPI 3.1 document served at `/api/v1/openapi.json` is generated from the
//! routes, lists every API route, and every operation it lists is answered by a real handler.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// Every route of the API and of the sandbox's controls, as this test suite knows them.
const ROUTES: [(&str, &str); 13] = [
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/transfers/local"),
    ("post", "/api/v1/transfers/international"),
    ("post", "/api/v1/payments/qr"),
    ("get", "/api/v1/transactions"),
    ("get", "/api/v1/balance"),
    ("get", "/sandbox/v1/webhook-endpoint"),
    ("put", "/sandbox/v1/webhook-endpoint"),
    ("get", "/sandbox/v1/webhook-deliveries"),
    (
        "post",
        "/sandbox/v1/webhook-deliveries/{delivery_id}/replay",
    ),
    ("post", "/sandbox/v1/payments/{payment_id}/pay"),
    ("get", "/sandbox/v1/clock"),
    ("post", "/sandbox/v1/clock/advance"),
];

async fn served_document(app: &TestApp) -> Value {
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a JSON document")
}

/// (method, path, operation) of every operation in `document`.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                operations.push((method.clone(), path.clone(), operation.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_generated_from_the_code() {
    let app = spawn_app().await;

    let served = served_document(&app).await;

    let version = served["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    let generated =
        serde_json::to_value(mobilepay_sandbox::openapi::document()).expect("the document as JSON");
    assert_eq!(served, generated);
    assert_eq!(
        served["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn every_known_route_is_in_the_document_and_nothing_else() {
    let document =
        serde_json::to_value(mobilepay_sandbox::openapi::document()).expect("the document as JSON");

    let documented: BTreeSet<(String, String)> = operations(&document)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();

    let known: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented, known);
}

#[tokio::test]
async fn every_documented_operation_is_answered_by_a_handler() {
    let app = spawn_app().await;
    let document = served_document(&app).await;

    for (method, path, _) in operations(&document) {
        let concrete = path
            .replace("{delivery_id}", "msg_UNKNOWN")
            .replace("{payment_id}", "PAYUNKNOWN");
        let method =
            reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
        let mut request = app
            .http
            .request(method.clone(), app.url(&concrete))
            .bearer_auth(MERCHANT_KEY);
        if method != reqwest::Method::GET {
            request = request
                .header("content-type", "application/json")
                .body("{}");
        }
        let response = request.send().await.expect("the sandbox answers");

        let status = response.status();
        let body: Value = response.json().await.expect("a JSON answer");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(body["error_code"], "NOT_FOUND", "{method} {path}: {body}");
        assert!(!status.is_server_error(), "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn every_operation_documented_as_needing_a_bearer_token_refuses_a_request_without_one() {
    let app = spawn_app().await;
    let document = served_document(&app).await;

    let mut secured = 0;
    for (method, path, operation) in operations(&document) {
        let needs_token = operation["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        let concrete = path
            .replace("{delivery_id}", "msg_UNKNOWN")
            .replace("{payment_id}", "PAYUNKNOWN");
        let method =
            reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
        let response = app
            .http
            .request(method.clone(), app.url(&concrete))
            .header("content-type", "application/json")
            .body(if method == reqwest::Method::GET {
                ""
            } else {
                "{}"
            })
            .send()
            .await
            .expect("the sandbox answers");
        let unauthenticated = response.status() == StatusCode::UNAUTHORIZED;
        assert_eq!(
            needs_token,
            unauthenticated,
            "{method} {path} documents security {needs_token}, answered {}",
            response.status()
        );
        secured += usize::from(needs_token);
    }
    assert_eq!(
        secured, 9,
        "the API's own routes and the account's webhook controls"
    );
}
