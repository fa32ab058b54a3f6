//! Each curl example of MOBILE-PAY's public API document (docs/mobilepay-api.md summarises it), sent verbatim —
//! same method, path, headers and body — with only the host (and `YOUR_TOKEN`) swapped, answering
//! as the document implies. Placeholders the document leaves in (`+225XXXXXXXXX`) get a clear
//! JSON 4xx.

use axum::http::{StatusCode, header};
use mobilepay_wire::api::{Balance, LoginToken, PaymentStatus, QrPayment, TransactionPage};

use crate::helpers::*;

impl TestApp {
    /// `curl -X {method} {host}{path} -H "Authorization: Bearer {token}" -H "Content-Type:
    /// application/json" -d '{body}'`, each part only when the example has it.
    async fn curl(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        json_content_type: bool,
        body: Option<&'static str>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if json_content_type {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        request.send().await.expect("the sandbox answers")
    }
}

const POST: reqwest::Method = reqwest::Method::POST;
const GET: reqwest::Method = reqwest::Method::GET;

#[tokio::test]
async fn the_authentication_example_with_its_live_key_is_refused_and_with_a_test_key_answers_the_balance()
 {
    let app = spawn_app().await;

    let verbatim = app
        .curl(
            GET,
            "/api/v1/balance",
            Some("sk_live_abc123def456"),
            true,
            None,
        )
        .await;
    assert_error(verbatim, StatusCode::UNAUTHORIZED, "LIVE_KEY_REFUSED").await;

    let swapped = app
        .curl(GET, "/api/v1/balance", Some(MERCHANT_KEY), true, None)
        .await;
    assert_eq!(swapped.status(), StatusCode::OK);
    let balance: Balance = swapped.json().await.expect("a Balance");
    assert_eq!(balance.balance, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn the_login_example_answers_a_clear_401_for_its_placeholder_email_and_a_token_for_the_demo_account()
 {
    let app = spawn_app().await;

    // The document's email is an e-mail obfuscator's leftover: no such account.
    let verbatim = app
        .curl(
            POST,
            "/api/v1/auth/login",
            None,
            true,
            // With the document's no-break space (U+00A0), byte for byte.
            Some("{\"email\":\"[email\u{a0}protected]\",\"password\":\"password123\"}"),
        )
        .await;
    assert_error(verbatim, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;

    let swapped = app
        .curl(
            POST,
            "/api/v1/auth/login",
            None,
            true,
            Some(r#"{"email":"demo@mobile-pay.test","password":"password123"}"#),
        )
        .await;
    assert_eq!(swapped.status(), StatusCode::OK);
    let token: LoginToken = swapped.json().await.expect("a LoginToken");
    assert_eq!(token.token_type, "Bearer");
}

#[tokio::test]
async fn the_local_transfer_example_refuses_its_placeholder_phone_with_invalid_phone() {
    let app = spawn_app().await;

    let response = app
        .curl(
            POST,
            "/api/v1/transfers/local",
            Some(MERCHANT_KEY),
            true,
            Some(r#"{"recipient_phone":"+225XXXXXXXXX","amount":10000,"description":"Payment"}"#),
        )
        .await;

    let message = assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
    assert!(
        message.contains("+2250701020304"),
        "shows a valid example: {message}"
    );
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn the_international_transfer_example_refuses_its_placeholder_phone_with_invalid_phone() {
    let app = spawn_app().await;

    let response = app
        .curl(
            POST,
            "/api/v1/transfers/international",
            Some(MERCHANT_KEY),
            true,
            Some(r#"{"recipient_country":"SN","recipient_phone":"+221XXXXXXXXX","amount":50000}"#),
        )
        .await;

    assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PHONE").await;
}

#[tokio::test]
async fn the_qr_payment_example_creates_a_pending_payment() {
    let app = spawn_app().await;

    let response = app
        .curl(
            POST,
            "/api/v1/payments/qr",
            Some(MERCHANT_KEY),
            true,
            Some(r#"{"amount":25000,"description":"Purchase","merchant_id":"MERCHANT123"}"#),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let payment: QrPayment = response.json().await.expect("a QrPayment");
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.amount, 25_000);
    assert_eq!(payment.description, "Purchase");
}

#[tokio::test]
async fn the_transactions_example_answers_the_first_page_of_ten() {
    let app = spawn_app().await;

    let response = app
        .curl(
            GET,
            "/api/v1/transactions?limit=10&offset=0",
            Some(MERCHANT_KEY),
            false,
            None,
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let page: TransactionPage = response.json().await.expect("a TransactionPage");
    assert_eq!(page.limit, 10);
    assert_eq!(page.offset, 0);
    assert_eq!(page.total, 1, "the opening balance");
    assert_eq!(page.transactions.len(), 1);
}

#[tokio::test]
async fn the_balance_example_answers_the_balance() {
    let app = spawn_app().await;

    let response = app
        .curl(GET, "/api/v1/balance", Some(MERCHANT_KEY), false, None)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let balance: Balance = response.json().await.expect("a Balance");
    assert_eq!(balance.balance, OPENING_BALANCE as u64);
    assert_eq!(balance.currency, "FCFA");
    parse_time(&balance.as_of);
}
