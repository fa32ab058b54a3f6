//! The seed's rate-limit tiers — Gratuit 100 an hour, Marchand 1,000, Entreprise unlimited — with
//! IETF `RateLimit-Policy` / `RateLimit` fields on every answer and `Retry-After` on a 429.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// `"hourly";r=42;t=1800` → (42, 1800).
fn remaining_and_reset(response: &reqwest::Response) -> (u32, u64) {
    let value = header_of(response, "ratelimit").expect("a RateLimit header");
    let field = |name: &str| {
        value
            .split(';')
            .find_map(|p| p.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {value}"))
            .to_owned()
    };
    assert!(value.starts_with("\"hourly\";"), "{value}");
    (
        field("r=").parse().expect("a whole r"),
        field("t=").parse().expect("a whole t"),
    )
}

#[tokio::test]
async fn the_free_tier_answers_100_requests_an_hour_then_429_with_retry_after() {
    let app = spawn_app().await;

    for n in 1..=100u32 {
        let response = app.get_as(FREE_KEY, "/api/v1/balance").await;
        assert_eq!(response.status(), StatusCode::OK, "request {n}");
        assert_eq!(
            header_of(&response, "ratelimit-policy"),
            Some("\"hourly\";q=100;w=3600")
        );
        let (remaining, reset) = remaining_and_reset(&response);
        assert_eq!(remaining, 100 - n, "request {n}");
        assert!((1..=3600).contains(&reset), "request {n}: t={reset}");
    }

    let refused = app.get_as(FREE_KEY, "/api/v1/balance").await;

    let retry_after: u64 = header_of(&refused, "retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    // One request's worth of the hour comes back every 36 s.
    assert!((1..=36).contains(&retry_after), "{retry_after}");
    assert_eq!(remaining_and_reset(&refused).0, 0);
    assert_eq!(
        header_of(&refused, "ratelimit-policy"),
        Some("\"hourly\";q=100;w=3600")
    );
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    // A POST is refused the same, and does nothing.
    let transfer = app
        .post_as(
            FREE_KEY,
            "/api/v1/transfers/local",
            &json!({"recipient_phone": CI_PHONE, "amount": 1000}),
        )
        .await;
    assert_error(transfer, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    // Each key has its own quota.
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn advancing_the_sandboxs_clock_refills_a_spent_quota() {
    let app = spawn_app().await;
    for n in 1..=100u32 {
        let response = app.get_as(FREE_KEY, "/api/v1/balance").await;
        assert_eq!(response.status(), StatusCode::OK, "request {n}");
    }
    let refused = app.get_as(FREE_KEY, "/api/v1/balance").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);

    // What waiting the Retry-After would do, without the wait.
    app.advance_clock(40).await;
    let again = app.get_as(FREE_KEY, "/api/v1/balance").await;
    assert_eq!(again.status(), StatusCode::OK);
    // A whole hour later the whole quota is back.
    app.advance_clock(3600).await;
    let refilled = app.get_as(FREE_KEY, "/api/v1/balance").await;
    assert_eq!(refilled.status(), StatusCode::OK);
    assert_eq!(remaining_and_reset(&refilled).0, 99);
}

#[tokio::test]
async fn the_merchant_tier_reports_a_quota_of_1000_an_hour() {
    let app = spawn_app().await;

    let response = app.get_as(MERCHANT_KEY, "/api/v1/balance").await;

    assert_eq!(
        header_of(&response, "ratelimit-policy"),
        Some("\"hourly\";q=1000;w=3600")
    );
    let (remaining, reset) = remaining_and_reset(&response);
    assert_eq!(remaining, 999);
    assert!(
        (1..=4).contains(&reset),
        "one request is 3.6 s of the hour: {reset}"
    );
    let second = app.get_as(MERCHANT_KEY, "/api/v1/transactions").await;
    assert_eq!(remaining_and_reset(&second).0, 998);
}

#[tokio::test]
async fn a_login_token_has_its_accounts_tier_and_its_own_quota() {
    let app = spawn_app().await;
    let token = app.login_token().await;

    let response = app.get_as(&token.token, "/api/v1/balance").await;

    assert_eq!(
        header_of(&response, "ratelimit-policy"),
        Some("\"hourly\";q=1000;w=3600")
    );
    assert_eq!(remaining_and_reset(&response).0, 999);
}

#[tokio::test]
async fn error_answers_carry_the_remaining_quota_too() {
    let app = spawn_app().await;

    let response = app
        .post_as(
            FREE_KEY,
            "/api/v1/transfers/local",
            &json!({"recipient_phone": "+225XXXXXXXXX", "amount": 1000}),
        )
        .await;

    assert_eq!(remaining_and_reset(&response).0, 99);
    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
}

#[tokio::test]
async fn the_enterprise_tier_is_unlimited_and_sends_no_quota_headers() {
    let app = spawn_app().await;

    for n in 1..=150 {
        let response = app.get_as(ENTERPRISE_KEY, "/api/v1/balance").await;
        assert_eq!(response.status(), StatusCode::OK, "request {n}");
        assert!(header_of(&response, "ratelimit").is_none());
        assert!(header_of(&response, "ratelimit-policy").is_none());
    }
}

#[tokio::test]
async fn public_routes_are_not_counted_against_a_key() {
    let app = spawn_app().await;

    let response = app.get("/sandbox/v1/clock").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_of(&response, "ratelimit").is_none());
}
