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

/// The schema of `component` in `document`.
fn schema<'a>(document: &'a Value, component: &str) -> &'a Value {
    &document["components"]["schemas"][component]
}

#[test]
fn the_document_states_the_bounds_the_handlers_enforce() {
    use mobilepay_sandbox::{controls, payments, transfers};
    let document = mobilepay_sandbox::openapi::document();
    let bounds = |component: &str, property: &str| {
        let property = &schema(&document, component)["properties"][property];
        (
            property["minimum"].as_u64().expect("a minimum"),
            property["maximum"].as_u64().expect("a maximum"),
        )
    };

    assert_eq!(
        bounds("CreateQrPayment", "amount"),
        (payments::MIN_AMOUNT, payments::MAX_AMOUNT)
    );
    assert_eq!(
        bounds("LocalTransfer", "amount"),
        (transfers::MIN_AMOUNT, transfers::MAX_LOCAL)
    );
    assert_eq!(
        bounds("InternationalTransfer", "amount"),
        (transfers::MIN_INTERNATIONAL, transfers::MAX_INTERNATIONAL)
    );
    assert_eq!(
        bounds("AdvanceClock", "seconds"),
        (1, controls::MAX_ADVANCE_SECONDS)
    );
    let description = &schema(&document, "CreateQrPayment")["properties"]["description"];
    assert_eq!(
        description["maxLength"].as_u64(),
        Some(payments::MAX_DESCRIPTION as u64)
    );
    assert_eq!(description["minLength"], 1);
    let transactions = &document["paths"]["/api/v1/transactions"]["get"]["parameters"];
    let limit = transactions
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("a limit parameter");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(
        limit["schema"]["maximum"].as_u64(),
        Some(u64::from(mobilepay_sandbox::transactions::MAX_LIMIT))
    );
}

#[test]
fn phones_and_countries_are_stated_per_country() {
    let document = mobilepay_sandbox::openapi::document();

    let local = &schema(&document, "LocalTransfer")["properties"]["recipient_phone"];
    assert_eq!(local["pattern"], "^\\+(?:225[0-9]{10})$");
    let international = schema(&document, "InternationalTransfer");
    let countries: Vec<&str> = international["properties"]["recipient_country"]["enum"]
        .as_array()
        .expect("an enum of countries")
        .iter()
        .map(|c| c.as_str().expect("a code"))
        .collect();
    assert_eq!(countries, ["BJ", "BF", "GW", "ML", "NE", "SN", "TG"]);
    let branches = international["oneOf"]
        .as_array()
        .expect("one branch per country");
    let senegal = branches
        .iter()
        .find(|b| b["properties"]["recipient_country"]["enum"][0] == "SN")
        .expect("a branch for Senegal");
    assert_eq!(
        senegal["properties"]["recipient_phone"]["pattern"],
        "^\\+(?:221[0-9]{9})$"
    );
}

#[tokio::test]
async fn what_the_middleware_answers_is_documented_on_every_route_it_guards() {
    let app = spawn_app().await;
    let document = served_document(&app).await;

    for (method, path, operation) in operations(&document) {
        let concrete = path
            .replace("{delivery_id}", "msg_UNKNOWN")
            .replace("{payment_id}", "PAYUNKNOWN");
        let method =
            reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
        let documented = |status: StatusCode| {
            operation["responses"][status.as_str()]["content"]["application/json"]["schema"]["$ref"]
                == "#/components/schemas/ApiError"
        };
        let request = || {
            app.http
                .request(method.clone(), app.url(&concrete))
                .bearer_auth(ENTERPRISE_KEY)
        };
        // No token, a malformed body, a malformed Idempotency-Key: each answer is documented.
        let mut answers = vec![
            app.http
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .expect("the sandbox answers")
                .status(),
        ];
        if operation.get("requestBody").is_some() {
            let malformed = request()
                .header("content-type", "application/json")
                .body("{")
                .send()
                .await
                .expect("the sandbox answers");
            assert_eq!(
                malformed.status(),
                StatusCode::BAD_REQUEST,
                "{method} {path}"
            );
            answers.push(malformed.status());
        }
        if method == reqwest::Method::POST {
            answers.push(
                request()
                    .header("Idempotency-Key", "two words")
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .expect("the sandbox answers")
                    .status(),
            );
        }
        for status in answers {
            if !status.is_success() {
                assert!(
                    documented(status),
                    "{method} {path} answers {status}, undocumented"
                );
            }
        }
    }
}
