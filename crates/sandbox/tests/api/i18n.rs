//! Error messages in French, as MOBILE-PAY's own, or in English on `Accept-Language: en`.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    async fn transfer_in(&self, language: Option<&str>, phone: &str) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url("/api/v1/transfers/local"))
            .bearer_auth(MERCHANT_KEY)
            .json(&json!({"recipient_phone": phone, "amount": 10000}));
        if let Some(language) = language {
            request = request.header(header::ACCEPT_LANGUAGE, language);
        }
        request.send().await.expect("the sandbox answers")
    }
}

#[tokio::test]
async fn messages_are_french_by_default_and_english_when_asked() {
    let app = spawn_app().await;

    for (language, expected) in [
        (None, "Solde insuffisant"),
        (Some("fr-CI"), "Solde insuffisant"),
        (Some("en-US,en;q=0.9"), "Insufficient funds"),
        (Some("de, en;q=0.5"), "Insufficient funds"),
        (Some("wo"), "Solde insuffisant"),
    ] {
        let response = app.transfer_in(language, "+2250700000402").await;
        let message =
            assert_error(response, StatusCode::PAYMENT_REQUIRED, "INSUFFICIENT_FUNDS").await;
        assert_eq!(message, expected, "{language:?}");
    }
}

#[tokio::test]
async fn every_kind_of_error_is_translated_with_the_same_code() {
    let app = spawn_app().await;
    let english =
        |request: reqwest::RequestBuilder| request.header(header::ACCEPT_LANGUAGE, "en").send();

    let invalid_phone = app.transfer_in(Some("en"), "+225XXXXXXXXX").await;
    let message = assert_error(invalid_phone, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
    assert!(message.starts_with("Invalid phone number"), "{message}");
    let unauthenticated = english(app.http.get(app.url("/api/v1/balance")))
        .await
        .expect("the sandbox answers");
    let message = assert_error(unauthenticated, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED").await;
    assert_eq!(message, "Missing Authorization: Bearer header");
    let bad_limit = english(
        app.http
            .get(app.url("/api/v1/transactions?limit=101"))
            .bearer_auth(MERCHANT_KEY),
    )
    .await
    .expect("the sandbox answers");
    let message = assert_error(bad_limit, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    assert_eq!(
        message,
        "Invalid parameter limit: a whole number from 1 to 100"
    );
    let not_found = english(app.http.get(app.url("/nowhere")))
        .await
        .expect("the sandbox answers");
    let message = assert_error(not_found, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(message, "Resource not found");
    let french = app.get("/nowhere").await;
    let message = assert_error(french, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(message, "Ressource introuvable");
}
