//! `Idempotency-Key` on the API's POSTs: a retried request is answered from the record of the
//! first and does nothing again.

use axum::http::StatusCode;
use mobilepay_sandbox::sha256_hex;
use serde_json::{Value, json};

use crate::helpers::*;

const TRANSFER: &str = "/api/v1/transfers/local";

impl TestApp {
    async fn post_with_key(
        &self,
        api_key: &str,
        idempotency_key: &str,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(api_key)
            .header("Idempotency-Key", idempotency_key)
            .json(body)
            .send()
            .await
            .expect("the sandbox answers")
    }

    /// How many failed transactions the account's history holds.
    async fn failures(&self) -> usize {
        self.history()
            .await
            .into_iter()
            .filter(|t| t.status == "failed")
            .count()
    }

    /// How many transfers of `amount` the account's history holds.
    async fn transfers_of(&self, amount: i64) -> usize {
        self.history()
            .await
            .into_iter()
            .filter(|t| t.amount == -amount)
            .count()
    }
}

fn transfer_of(amount: u64) -> Value {
    json!({"recipient_phone": CI_PHONE, "amount": amount})
}

#[tokio::test]
async fn the_same_key_and_body_answer_the_first_response_and_transfer_only_once() {
    let (app, mut receiver) = spawn_app_with_receiver(0).await;

    let first = app
        .post_with_key(MERCHANT_KEY, "order-42", TRANSFER, &transfer_of(10_000))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(header_of(&first, "idempotent-replayed"), None);
    let first = first.text().await.expect("a body");
    let again = app
        .post_with_key(MERCHANT_KEY, "order-42", TRANSFER, &transfer_of(10_000))
        .await;

    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(header_of(&again, "idempotent-replayed"), Some("true"));
    assert!(header_of(&again, "content-type").is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(again.text().await.expect("a body"), first);
    assert_eq!(app.transfers_of(10_000).await, 1);
    assert_eq!(app.balance().await, OPENING_BALANCE as u64 - 10_000);
    receiver.next(PROMPTLY).await;
    receiver.assert_nothing_more().await;
}

#[tokio::test]
async fn a_refusal_is_replayed_too_and_recorded_once() {
    let app = spawn_app().await;
    let magic = json!({"recipient_phone": "+2250700000403", "amount": 10000});

    let first = app
        .post_with_key(MERCHANT_KEY, "declined-1", TRANSFER, &magic)
        .await;
    assert_eq!(first.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let again = app
        .post_with_key(MERCHANT_KEY, "declined-1", TRANSFER, &magic)
        .await;

    assert_eq!(header_of(&again, "idempotent-replayed"), Some("true"));
    assert_error(
        again,
        StatusCode::UNPROCESSABLE_ENTITY,
        "TRANSACTION_DECLINED",
    )
    .await;
    assert_eq!(app.failures().await, 1);
}

#[tokio::test]
async fn a_replayed_refusal_speaks_the_language_the_retry_asks_for() {
    let app = spawn_app().await;
    let magic = json!({"recipient_phone": "+2250700000403", "amount": 10000});
    let send = |language: &'static str| {
        app.http
            .post(app.url(TRANSFER))
            .bearer_auth(MERCHANT_KEY)
            .header("Idempotency-Key", "declined-in-two-languages")
            .header("Accept-Language", language)
            .json(&magic)
            .send()
    };
    // Each answer is the refusal; its message is returned.
    let declined = async |language: &'static str| {
        let response = send(language).await.expect("the sandbox answers");
        let replayed = header_of(&response, "idempotent-replayed").is_some();
        let message = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "TRANSACTION_DECLINED",
        )
        .await;
        (message, replayed)
    };

    let (french, first_replayed) = declined("fr-CI").await;
    let (english, replayed) = declined("en-GB").await;
    let (again, _) = declined("fr").await;

    assert!(!first_replayed && replayed);
    assert_ne!(french, english);
    assert_eq!(again, french);
    assert_eq!(app.failures().await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_or_path_is_refused() {
    let app = spawn_app().await;
    let first = app
        .post_with_key(MERCHANT_KEY, "order-43", TRANSFER, &transfer_of(10_000))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);

    let other_body = app
        .post_with_key(MERCHANT_KEY, "order-43", TRANSFER, &transfer_of(20_000))
        .await;
    assert_error(
        other_body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    let other_path = app
        .post_with_key(
            MERCHANT_KEY,
            "order-43",
            "/api/v1/payments/qr",
            &seed_body(),
        )
        .await;
    assert_error(
        other_path,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(app.balance().await, OPENING_BALANCE as u64 - 10_000);
}

#[tokio::test]
async fn keys_belong_to_the_api_key_that_sent_them() {
    let app = spawn_app().await;

    let merchant = app
        .post_with_key(MERCHANT_KEY, "shared", TRANSFER, &transfer_of(1_000))
        .await;
    let free = app
        .post_with_key(FREE_KEY, "shared", TRANSFER, &transfer_of(1_000))
        .await;

    assert_eq!(merchant.status(), StatusCode::CREATED);
    assert_eq!(free.status(), StatusCode::CREATED);
    assert_eq!(header_of(&free, "idempotent-replayed"), None);
    assert_eq!(app.balance().await, OPENING_BALANCE as u64 - 2_000);
}

#[tokio::test]
async fn a_key_is_forgotten_after_24_hours_on_the_sandbox_clock() {
    let app = spawn_app().await;
    let first = app
        .post_with_key(MERCHANT_KEY, "daily", TRANSFER, &transfer_of(1_000))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);

    app.advance_clock(24 * 3600 + 1).await;
    let later = app
        .post_with_key(MERCHANT_KEY, "daily", TRANSFER, &transfer_of(1_000))
        .await;

    assert_eq!(later.status(), StatusCode::CREATED);
    assert_eq!(header_of(&later, "idempotent-replayed"), None);
    assert_eq!(app.balance().await, OPENING_BALANCE as u64 - 2_000);
}

#[tokio::test]
async fn a_key_whose_first_request_is_still_running_is_a_conflict() {
    let app = spawn_app().await;
    let body = r#"{"recipient_phone":"+2250701020304","amount":1000}"#;
    // What the sandbox records when it starts the first request, and until it has answered.
    sqlx::query(
        "INSERT INTO idempotency_keys (principal, key, request_hash, state, created_at)
         VALUES (?, 'running', ?, 'in_flight', ?)",
    )
    .bind(sha256_hex(MERCHANT_KEY.as_bytes()))
    .bind(sha256_hex(format!("POST{TRANSFER}{body}").as_bytes()))
    .bind(app.state.clock.unix())
    .execute(&app.state.db)
    .await
    .expect("a claimed key");

    let response = app
        .http
        .post(app.url(TRANSFER))
        .bearer_auth(MERCHANT_KEY)
        .header("Idempotency-Key", "running")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the sandbox answers");

    assert_error(
        response,
        StatusCode::CONFLICT,
        "IDEMPOTENCY_KEY_IN_PROGRESS",
    )
    .await;
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
}

#[tokio::test]
async fn a_key_whose_process_died_mid_request_is_free_again_after_its_lease() {
    let app = spawn_app().await;
    let body = r#"{"recipient_phone":"+2250701020304","amount":1000}"#;
    // What a process that was killed after claiming the key left behind: a claim, no answer.
    sqlx::query(
        "INSERT INTO idempotency_keys (principal, key, request_hash, state, created_at)
         VALUES (?, 'crashed', ?, 'in_flight', ?)",
    )
    .bind(sha256_hex(MERCHANT_KEY.as_bytes()))
    .bind(sha256_hex(format!("POST{TRANSFER}{body}").as_bytes()))
    .bind(app.state.clock.unix())
    .execute(&app.state.db)
    .await
    .expect("an abandoned claim");
    let retry = || {
        app.http
            .post(app.url(TRANSFER))
            .bearer_auth(MERCHANT_KEY)
            .header("Idempotency-Key", "crashed")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    app.advance_clock(mobilepay_sandbox::idempotency::LEASE_SECONDS as u64 - 1)
        .await;
    let within_the_lease = retry().await.expect("the sandbox answers");
    assert_error(
        within_the_lease,
        StatusCode::CONFLICT,
        "IDEMPOTENCY_KEY_IN_PROGRESS",
    )
    .await;

    app.advance_clock(1).await;
    let after_the_lease = retry().await.expect("the sandbox answers");
    assert_eq!(after_the_lease.status(), StatusCode::CREATED);
    let replayed = retry().await.expect("the sandbox answers");
    assert_eq!(replayed.status(), StatusCode::CREATED);
    assert_eq!(header_of(&replayed, "idempotent-replayed"), Some("true"));
    assert_eq!(app.transfers_of(1_000).await, 1, "one transfer for the key");
}

#[tokio::test]
async fn a_request_whose_client_gave_up_still_ends_and_its_retry_gets_the_answer() {
    let app = spawn_app().await;
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_micros(300))
        .build()
        .expect("a client");
    const KEYS: usize = 40;
    for n in 0..KEYS {
        let _ = impatient
            .post(app.url(TRANSFER))
            .bearer_auth(MERCHANT_KEY)
            .header("Idempotency-Key", format!("impatient-{n}"))
            .json(&transfer_of(1_000))
            .send()
            .await;
    }

    // The client retries with the same keys: each gets the first request's answer, or (if that
    // never reached the sandbox) a first answer now; a 409 only while a first request still runs.
    for n in 0..KEYS {
        let response = eventually(PROMPTLY, async || {
            let response = app
                .post_with_key(
                    MERCHANT_KEY,
                    &format!("impatient-{n}"),
                    TRANSFER,
                    &transfer_of(1_000),
                )
                .await;
            match response.status() {
                StatusCode::CONFLICT => Err(format!("key impatient-{n}: still 409")),
                _ => Ok(response),
            }
        })
        .await;
        assert_eq!(response.status(), StatusCode::CREATED, "key impatient-{n}");
    }
    assert_eq!(app.transfers_of(1_000).await, KEYS, "one transfer per key");
    assert_eq!(
        app.balance().await,
        OPENING_BALANCE as u64 - 1_000 * KEYS as u64
    );
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused() {
    let app = spawn_app().await;

    for key in [String::new(), "a".repeat(256), "two words".to_owned()] {
        let response = app
            .post_with_key(MERCHANT_KEY, &key, TRANSFER, &transfer_of(1_000))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_IDEMPOTENCY_KEY").await;
    }
    let non_ascii = app
        .http
        .post(app.url(TRANSFER))
        .bearer_auth(MERCHANT_KEY)
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes("clé".as_bytes()).expect("a header value"),
        )
        .json(&transfer_of(1_000))
        .send()
        .await
        .expect("the sandbox answers");
    assert_error(
        non_ascii,
        StatusCode::BAD_REQUEST,
        "INVALID_IDEMPOTENCY_KEY",
    )
    .await;
    assert_eq!(app.balance().await, OPENING_BALANCE as u64);
    let longest = app
        .post_with_key(
            MERCHANT_KEY,
            &"a".repeat(255),
            TRANSFER,
            &transfer_of(1_000),
        )
        .await;
    assert_eq!(longest.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn every_post_of_the_api_honours_the_key() {
    let app = spawn_app().await;

    for (path, body) in [
        ("/api/v1/payments/qr", seed_body()),
        (
            "/api/v1/transfers/international",
            json!({"recipient_country": "SN", "recipient_phone": SN_PHONE, "amount": 500}),
        ),
    ] {
        // Visible ASCII only: a path makes a valid key.
        let first = app.post_with_key(MERCHANT_KEY, path, path, &body).await;
        assert_eq!(first.status(), StatusCode::CREATED, "{path}");
        let first = first.text().await.expect("a body");
        let again = app.post_with_key(MERCHANT_KEY, path, path, &body).await;
        assert_eq!(header_of(&again, "idempotent-replayed"), Some("true"));
        assert_eq!(again.text().await.expect("a body"), first, "{path}");
    }
}
