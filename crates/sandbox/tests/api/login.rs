//! `POST /api/v1/auth/login`, its throttling, and login tokens as Bearer tokens.

use axum::http::{StatusCode, header};
use mobilepay_sandbox::accounts::{DEMO_EMAIL, DEMO_PASSWORD};
use mobilepay_sandbox::login::TOKEN_TTL_SECONDS;
use mobilepay_wire::api::{Balance, LoginToken};
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("the sandbox answers")
    }

    /// Logs in as the demo account; it must succeed.
    pub async fn login_token(&self) -> LoginToken {
        let response = self.login(DEMO_EMAIL, DEMO_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("a LoginToken")
    }
}

#[tokio::test]
async fn logging_in_answers_a_bearer_token_that_expires_in_an_hour() {
    let app = spawn_app().await;

    let token = app.login_token().await;

    assert_eq!(token.token_type, "Bearer");
    assert!(token.token.len() >= 32, "{token:?}");
    let clock: serde_json::Value = app
        .get("/sandbox/v1/clock")
        .await
        .json()
        .await
        .expect("the clock");
    let now = parse_time(clock["now"].as_str().expect("now"));
    let lifetime = (parse_time(&token.expires_at) - now).whole_seconds();
    assert!(
        (TOKEN_TTL_SECONDS - 5..=TOKEN_TTL_SECONDS).contains(&lifetime),
        "{lifetime}"
    );
}

#[tokio::test]
async fn a_login_token_is_accepted_as_a_bearer_token_for_the_account() {
    let app = spawn_app().await;
    let token = app.login_token().await;

    let response = app.get_as(&token.token, "/api/v1/balance").await;

    assert_eq!(response.status(), StatusCode::OK);
    let balance: Balance = response.json().await.expect("a Balance");
    assert_eq!(balance.balance, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn the_email_is_matched_whatever_its_case_and_surrounding_spaces() {
    let app = spawn_app().await;

    let response = app.login("  Demo@Mobile-Pay.TEST ", DEMO_PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_answer_the_same_401() {
    let app = spawn_app().await;

    let wrong_password = app.login(DEMO_EMAIL, "password124").await;
    let wrong_password = assert_error(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "INVALID_CREDENTIALS",
    )
    .await;
    let unknown_email = app.login("nobody@mobile-pay.test", DEMO_PASSWORD).await;
    let unknown_email = assert_error(
        unknown_email,
        StatusCode::UNAUTHORIZED,
        "INVALID_CREDENTIALS",
    )
    .await;

    assert_eq!(
        wrong_password, unknown_email,
        "neither says which part was wrong"
    );
}

#[tokio::test]
async fn a_login_body_without_a_password_is_invalid_json() {
    let app = spawn_app().await;

    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": DEMO_EMAIL}))
        .send()
        .await
        .expect("the sandbox answers");

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
}

/// Ten failed logins for the demo account: its throttle's whole burst.
async fn ten_wrong_passwords(app: &TestApp) {
    for _ in 0..10 {
        let response = app.login(DEMO_EMAIL, "wrong").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
    }
}

#[tokio::test]
async fn ten_failed_logins_for_one_email_throttle_it_with_retry_after() {
    let app = spawn_app().await;
    ten_wrong_passwords(&app).await;

    let throttled = app.login(DEMO_EMAIL, DEMO_PASSWORD).await;

    let retry_after: u64 = header_of(&throttled, "retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_error(
        throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_LOGIN_ATTEMPTS",
    )
    .await;
    // Another account is not throttled by this one's failures.
    let other = app.login("someone@mobile-pay.test", "wrong").await;
    assert_error(other, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
}

#[tokio::test]
async fn advancing_the_sandboxs_clock_ends_a_login_throttle() {
    let app = spawn_app().await;
    ten_wrong_passwords(&app).await;
    let throttled = app.login(DEMO_EMAIL, DEMO_PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);

    app.advance_clock(15 * 60).await;

    let response = app.login(DEMO_EMAIL, DEMO_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn thirty_logins_from_one_address_throttle_it_whatever_the_email() {
    let app = spawn_app().await;
    for n in 0..30 {
        let response = app
            .login(&format!("user{n}@mobile-pay.test"), "wrong")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    let throttled = app.login("fresh@mobile-pay.test", "wrong").await;

    assert!(throttled.headers().contains_key(header::RETRY_AFTER));
    assert_error(
        throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_LOGIN_ATTEMPTS",
    )
    .await;
}

#[tokio::test]
async fn a_login_token_is_refused_once_expired_on_the_sandbox_clock() {
    let app = spawn_app().await;
    let token = app.login_token().await;

    app.advance_clock(u64::try_from(TOKEN_TTL_SECONDS).expect("positive") + 1)
        .await;

    let response = app.get_as(&token.token, "/api/v1/balance").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_API_KEY").await;
}

#[tokio::test]
async fn a_made_up_token_is_refused() {
    let app = spawn_app().await;

    let response = app.get_as("mpt_NOTATOKEN", "/api/v1/balance").await;

    assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_API_KEY").await;
}
