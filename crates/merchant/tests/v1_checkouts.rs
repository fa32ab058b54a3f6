//! The merchant API (`/v1`) against a real sandbox, both in-process on `127.0.0.1:0`: keys and
//! their rotation, checkouts, idempotency, pagination, cancellation, the widget paying a
//! checkout, the events recorded with each change, the OpenAPI document, the hosted pay page.

use std::collections::BTreeSet;

use axum::http::{StatusCode, header};
use mobilepay_wire::checkout::CheckoutSession;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod common;
use common::*;

fn time_of(value: &Value) -> i64 {
    OffsetDateTime::parse(value.as_str().expect("a time"), &Rfc3339)
        .expect("RFC 3339")
        .unix_timestamp()
}

/// `POST /v1/checkouts/{id}/cancel`, as the shop's server cancels.
async fn cancel(app: &TestApp, checkout_id: &str) -> reqwest::Response {
    app.v1_post(&format!("/v1/checkouts/{checkout_id}/cancel"), &json!({}))
        .await
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_v1_route_refuses_a_missing_or_wrong_key_as_unauthorized() {
    let app = TestApp::spawn().await;

    for key in [
        None,
        Some("mk_test_not_a_key_of_ours"),
        Some("sk_test_demo_merchant"),
    ] {
        let list = app.get("/v1/checkouts", key).await;
        assert_error(list, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        let one = app
            .get("/v1/checkouts/chk_000000000000000000000000", key)
            .await;
        assert_error(one, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        let create = app
            .post("/v1/checkouts", key, None, &checkout_body("r-1", 100))
            .await;
        assert_error(create, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        let cancel = app
            .post(
                "/v1/checkouts/chk_000000000000000000000000/cancel",
                key,
                None,
                &json!({}),
            )
            .await;
        assert_error(cancel, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    let basic = app
        .http
        .get(app.url("/v1/checkouts"))
        .header(header::AUTHORIZATION, format!("Basic {KEY}"))
        .send()
        .await
        .expect("the backend answers");
    assert_error(basic, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // Nothing was created by the refused requests.
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checkouts")
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("a count");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn two_keys_are_valid_at_once_and_a_revoked_one_is_refused() {
    let app = TestApp::spawn().await;
    let db = &app.state.sessions.db;
    let (id, created) = mobilepay_merchant::keys::create(db, "shop backend")
        .await
        .expect("a key");
    assert!(created.starts_with("mk_live_"), "{created}");

    for key in [KEY, OTHER_KEY, created.as_str()] {
        let response = app.get("/v1/checkouts", Some(key)).await;
        assert_eq!(response.status(), StatusCode::OK, "{key} is valid");
    }
    assert!(
        mobilepay_merchant::keys::revoke(db, &id)
            .await
            .expect("revoked")
    );
    assert!(
        !mobilepay_merchant::keys::revoke(db, &id)
            .await
            .expect("read")
    );

    let refused = app.get("/v1/checkouts", Some(&created)).await;
    assert_error(refused, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let still = app.get("/v1/checkouts", Some(OTHER_KEY)).await;
    assert_eq!(still.status(), StatusCode::OK);
    let listed = mobilepay_merchant::keys::list(db).await.expect("the keys");
    let row = listed.iter().find(|k| k.id == id).expect("the created key");
    assert!(row.revoked_at.is_some());
    assert!(row.last_used_at.is_some(), "its use was recorded");
    assert!(
        listed
            .iter()
            .any(|k| k.source == "config" && k.last_used_at.is_some()),
        "a configured key's use is recorded too: {listed:?}"
    );
}

#[tokio::test]
async fn keys_are_stored_hashed_and_the_database_holds_no_key() {
    let app = TestApp::spawn().await;
    let db = &app.state.sessions.db;
    let (_, created) = mobilepay_merchant::keys::create(db, "")
        .await
        .expect("a key");
    for key in [KEY, created.as_str()] {
        assert_eq!(
            app.get("/v1/checkouts", Some(key)).await.status(),
            StatusCode::OK
        );
    }

    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT id, hash, hint, label FROM api_keys")
            .fetch_all(&db.pool)
            .await
            .expect("the keys");
    assert_eq!(rows.len(), 2);
    let hashes: BTreeSet<&str> = rows.iter().map(|(_, hash, _, _)| hash.as_str()).collect();
    assert_eq!(
        hashes,
        BTreeSet::from([
            mobilepay_merchant::keys::digest(KEY).as_str(),
            mobilepay_merchant::keys::digest(&created).as_str()
        ])
    );
    for row in &rows {
        let text = format!("{row:?}");
        assert!(!text.contains(KEY) && !text.contains(&created), "{text}");
    }
}

#[tokio::test]
async fn v1_answers_carry_no_cors_headers_even_for_an_allowed_origin() {
    let app =
        TestApp::with(|config| config.allowed_origins = vec!["https://shop.example".into()]).await;

    let answer = app
        .http
        .get(app.url("/v1/checkouts"))
        .bearer_auth(KEY)
        .header(header::ORIGIN, "https://shop.example")
        .send()
        .await
        .expect("the backend answers");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    let v1 = preflight(&app, "/v1/checkouts").await;
    assert_eq!(v1, None);
    // The widget's routes keep theirs.
    let widget = preflight(&app, "/checkout/sessions").await;
    assert_eq!(widget.as_deref(), Some("https://shop.example"));
}

/// A browser's CORS preflight of a `POST path` from `https://shop.example`: the
/// `Access-Control-Allow-Origin` of its answer.
async fn preflight(app: &TestApp, path: &str) -> Option<String> {
    let answer = app
        .http
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header(header::ORIGIN, "https://shop.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .send()
        .await
        .expect("the backend answers");
    answer
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().expect("an ASCII header").to_owned())
}

// ---------------------------------------------------------------------------------------------
// Checkouts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_checkout_is_created_open_with_every_documented_field() {
    let app = TestApp::spawn().await;

    let checkout = app
        .create_checkout(&json!({
            "amount": 25_000,
            "description": "Pagne wax 6 yards",
            "reference": "order-1042",
            "metadata": {"cart": "42"},
            "return_url": "https://shop.example/orders/1042",
        }))
        .await;

    let id = checkout["id"].as_str().expect("an id");
    assert!(
        id.parse::<mobilepay_wire::ids::CheckoutId>().is_ok(),
        "{id}"
    );
    assert_eq!(checkout["status"], "open");
    assert_eq!(checkout["amount"], 25_000);
    assert_eq!(checkout["currency"], "FCFA");
    assert_eq!(checkout["description"], "Pagne wax 6 yards");
    assert_eq!(checkout["reference"], "order-1042");
    assert_eq!(checkout["metadata"], json!({"cart": "42"}));
    assert_eq!(checkout["return_url"], "https://shop.example/orders/1042");
    assert_eq!(checkout["pay_url"], app.url(&format!("/pay/{id}")));
    assert_eq!(
        time_of(&checkout["expires_at"]) - time_of(&checkout["created_at"]),
        900,
        "the default expiry"
    );
    assert_eq!(checkout["amount_refunded"], 0);
    assert_eq!(checkout["amount_refundable"], 0, "nothing paid yet");
    // GET shows the same checkout, and its refunds (none).
    let mut read = app.checkout(id).await;
    let refunds = read.as_object_mut().and_then(|o| o.remove("refunds"));
    assert_eq!(refunds, Some(json!([])));
    assert_eq!(read, checkout);
}

#[tokio::test]
async fn a_checkout_out_of_its_bounds_is_refused_with_what_to_fix() {
    let app = TestApp::spawn().await;
    let invalid = [
        json!({"amount": 0, "description": "x", "reference": "r"}),
        json!({"amount": 5_000_001, "description": "x", "reference": "r"}),
        json!({"amount": 100, "description": "", "reference": "r"}),
        json!({"amount": 100, "description": "x", "reference": "with space"}),
        json!({"amount": 100, "description": "x", "reference": "r", "expires_in": 30}),
        json!({"amount": 100, "description": "x", "reference": "r", "return_url": "javascript:alert(1)"}),
        json!({"amount": 100, "description": "x", "reference": "r",
               "metadata": (0..21).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
    ];
    for body in &invalid {
        let response = app.v1_post("/v1/checkouts", body).await;
        let error = assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
        assert!(!error["error_message"].as_str().unwrap_or("").is_empty());
    }
    for body in [
        json!({"amount": 100.5, "description": "x", "reference": "r"}),
        json!({"amount": 100, "description": "x", "reference": "r", "expire_in": 60}),
        json!({"amount": 100, "description": "x"}),
        json!({"amount": 100, "description": "x", "reference": "r", "metadata": {"n": 1}}),
    ] {
        let response = app.v1_post("/v1/checkouts", &body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    }
    assert_eq!(
        mobilepay_merchant::checkouts::MAX_AMOUNT.get(),
        mobilepay_sandbox::payments::MAX_AMOUNT,
        "MOBILE-PAY's bound for a QR payment"
    );
}

#[tokio::test]
async fn the_same_reference_while_open_is_the_same_checkout_and_another_amount_conflicts() {
    let app = TestApp::spawn().await;
    let first = app.create_checkout(&checkout_body("order-7", 25_000)).await;

    let again = app
        .v1_post("/v1/checkouts", &checkout_body("order-7", 25_000))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.expect("a checkout");
    assert_eq!(again["id"], first["id"]);
    let other = app
        .v1_post("/v1/checkouts", &checkout_body("order-7", 30_000))
        .await;
    assert_error(other, StatusCode::CONFLICT, "REFERENCE_IN_USE").await;

    // Once it is no longer open, the reference is free for a new checkout.
    let id = first["id"].as_str().expect("an id");
    let canceled = cancel(&app, id).await;
    assert_eq!(canceled.status(), StatusCode::OK);
    let next = app.create_checkout(&checkout_body("order-7", 30_000)).await;
    assert_ne!(next["id"], first["id"]);
}

#[tokio::test]
async fn an_unknown_checkout_is_not_found() {
    let app = TestApp::spawn().await;
    let response = app
        .v1_get("/v1/checkouts/chk_000000000000000000000000")
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "CHECKOUT_NOT_FOUND").await;
    let cancel = cancel(&app, "chk_000000000000000000000000").await;
    assert_error(cancel, StatusCode::NOT_FOUND, "CHECKOUT_NOT_FOUND").await;
}

#[tokio::test]
async fn the_list_filters_by_reference_and_status_and_pages_with_an_opaque_cursor() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(
            app.create_checkout(&checkout_body(&format!("r-{n}"), 100 + n))
                .await,
        );
    }
    let canceled_id = created[3]["id"].as_str().expect("an id").to_owned();
    let canceled = cancel(&app, &canceled_id).await;
    assert_eq!(canceled.status(), StatusCode::OK);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/checkouts?limit=2&cursor={cursor}"),
            None => "/v1/checkouts?limit=2".to_owned(),
        };
        let (_, page) = app.get_json(&path).await;
        pages += 1;
        let data = page["data"].as_array().expect("data");
        assert!(data.len() <= 2);
        seen.extend(
            data.iter()
                .map(|c| c["id"].as_str().expect("an id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(page["next_cursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = created
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect();
    // Newest first; checkouts of one second in the order of their ids, descending.
    expected.sort_by_key(|id| {
        let c = created
            .iter()
            .find(|c| c["id"] == id.as_str())
            .expect("created");
        (
            std::cmp::Reverse(time_of(&c["created_at"])),
            std::cmp::Reverse(id.clone()),
        )
    });
    assert_eq!(seen, expected);

    let (_, by_status) = app.get_json("/v1/checkouts?status=canceled").await;
    assert_eq!(by_status["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_status["data"][0]["id"], canceled_id.as_str());
    let (_, open) = app.get_json("/v1/checkouts?status=open").await;
    assert_eq!(open["data"].as_array().map(Vec::len), Some(4));
    let (_, by_reference) = app.get_json("/v1/checkouts?reference=r-1").await;
    assert_eq!(by_reference["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_reference["data"][0]["reference"], "r-1");

    let too_long = format!("reference={}", "r".repeat(129));
    for bad in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "status=pending",
        "cursor=nope",
        &too_long,
    ] {
        let response = app.v1_get(&format!("/v1/checkouts?{bad}")).await;
        assert_error(response, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    }
}

#[tokio::test]
async fn cancel_closes_an_open_checkout_and_its_waiting_payment_and_records_the_event() {
    let app = TestApp::spawn().await;
    let session = app.checkout_session(&checkout_body("order-c", 5_000)).await;
    let id = session.order_id.as_str();

    let canceled = cancel(&app, id).await;
    assert_eq!(canceled.status(), StatusCode::OK);
    let canceled: Value = canceled.json().await.expect("a checkout");
    assert_eq!(canceled["status"], "canceled");

    app.wait_for_session(&session.payment_id, "expired").await;
    let again = cancel(&app, id).await;
    assert_error(again, StatusCode::CONFLICT, "CHECKOUT_NOT_OPEN").await;
    let widget = app.start_session(id).await;
    assert_error(widget, StatusCode::CONFLICT, "CHECKOUT_CANCELED").await;
    let events = app.checkout_events(id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].0, events[0].1.as_str()),
        (1, "checkout.canceled")
    );
    assert_eq!(events[0].2, canceled);
}

#[tokio::test]
async fn an_expired_checkout_reads_expired_records_the_event_and_gets_no_new_payment() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(&checkout_body("order-e", 5_000)).await;
    let id = checkout["id"].as_str().expect("an id");
    // Its expiry passes (the database's clock is ours to move; the backend reads it).
    sqlx::query("UPDATE checkouts SET expires_at = expires_at - 901 WHERE id = $1")
        .bind(id)
        .execute(&app.state.sessions.db.pool)
        .await
        .expect("moved");

    let read = app.checkout(id).await;
    assert_eq!(read["status"], "expired");
    let widget = app.start_session(id).await;
    assert_error(widget, StatusCode::CONFLICT, "CHECKOUT_EXPIRED").await;
    let cancel = cancel(&app, id).await;
    assert_error(cancel, StatusCode::CONFLICT, "CHECKOUT_NOT_OPEN").await;
    let events = app.checkout_events(id).await;
    assert_eq!(
        events.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["checkout.expired"]
    );
    // And its reference is free again.
    app.create_checkout(&checkout_body("order-e", 5_000)).await;
}

#[tokio::test]
async fn a_checkout_nobody_reads_still_expires_and_records_its_event() {
    let app = TestApp::spawn().await;
    let checkout = app
        .create_checkout(&checkout_body("order-sweep", 5_000))
        .await;
    let id = checkout["id"].as_str().expect("an id");
    sqlx::query("UPDATE checkouts SET expires_at = expires_at - 901 WHERE id = $1")
        .bind(id)
        .execute(&app.state.sessions.db.pool)
        .await
        .expect("moved");

    // Read only the outbox (a read of the checkout would expire it itself): the backend's
    // sweep does it, within its period of 10 s.
    let (kind, data) = eventually(std::time::Duration::from_secs(15), async || {
        match app.checkout_events(id).await.into_iter().next() {
            Some((_, kind, data)) => Ok((kind, data)),
            None => Err("never swept"),
        }
    })
    .await;
    assert_eq!(kind, "checkout.expired");
    assert_eq!(data["status"], "expired");
}

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

/// `POST /v1/checkouts` of `body` with `Idempotency-Key: idempotency_key`.
async fn create_with_key(app: &TestApp, idempotency_key: &str, body: &Value) -> reqwest::Response {
    app.post("/v1/checkouts", Some(KEY), Some(idempotency_key), body)
        .await
}

async fn checkouts_in_database(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM checkouts")
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("a count")
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_replays_the_answer_and_does_nothing_again() {
    let app = TestApp::spawn().await;
    let body = checkout_body("order-i", 1_000);

    let first = create_with_key(&app, "retry-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("a checkout");
    // With the other key of a rotation, too: the key belongs to the merchant, not to a key.
    let replay = app
        .post("/v1/checkouts", Some(OTHER_KEY), Some("retry-1"), &body)
        .await;

    // Without the key, the same reference would be a 200: the 201 is the stored answer.
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let replay: Value = replay.json().await.expect("a checkout");
    assert_eq!(replay, first);
    assert_eq!(checkouts_in_database(&app).await, 1);
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_request_is_refused() {
    let app = TestApp::spawn().await;
    let first = create_with_key(&app, "k-2", &checkout_body("a", 1_000)).await;
    assert_eq!(first.status(), StatusCode::CREATED);

    let other = create_with_key(&app, "k-2", &checkout_body("b", 1_000)).await;

    assert_error(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
    assert_eq!(checkouts_in_database(&app).await, 1);
    let bad = create_with_key(&app, "with space", &checkout_body("c", 1)).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "INVALID_IDEMPOTENCY_KEY").await;
}

#[tokio::test]
async fn a_key_in_flight_is_a_conflict_until_its_lease_lapses_then_a_retry_runs() {
    let app = TestApp::spawn().await;
    let body = checkout_body("order-crash", 2_000);
    let bytes = serde_json::to_vec(&body).expect("JSON");
    // What an instance that died mid-request leaves behind: the key claimed, no answer (the
    // request's bytes are `body`'s as `serde_json::to_vec` writes them, as reqwest sends it).
    let fingerprint = mobilepay_merchant::idempotency::fingerprint("POST", "/v1/checkouts", &bytes);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let db = &app.state.sessions.db.pool;
    sqlx::query(
        "INSERT INTO idempotency_keys (key, request_hash, state, locked_until, created_at)
         VALUES ('crashed', $1, 'in_flight', $2, $3)",
    )
    .bind(&fingerprint)
    .bind(now + mobilepay_merchant::idempotency::LEASE_SECONDS)
    .bind(now)
    .execute(db)
    .await
    .expect("claimed");

    let while_held = create_with_key(&app, "crashed", &body).await;
    assert_error(
        while_held,
        StatusCode::CONFLICT,
        "IDEMPOTENCY_KEY_IN_PROGRESS",
    )
    .await;
    assert_eq!(checkouts_in_database(&app).await, 0);

    sqlx::query("UPDATE idempotency_keys SET locked_until = $1 WHERE key = 'crashed'")
        .bind(now - 1)
        .execute(db)
        .await
        .expect("lapsed");
    let retry = create_with_key(&app, "crashed", &body).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(checkouts_in_database(&app).await, 1);
    let state: String =
        sqlx::query_scalar("SELECT state FROM idempotency_keys WHERE key = 'crashed'")
            .fetch_one(db)
            .await
            .expect("the key");
    assert_eq!(state, "completed");
}

// ---------------------------------------------------------------------------------------------
// Paying a checkout
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_widget_pays_a_checkout_for_its_amount_and_the_checkout_becomes_paid_with_its_payer() {
    let app = TestApp::spawn().await;
    let checkout = app.create_checkout(&checkout_body("order-p", 12_500)).await;
    let id = checkout["id"].as_str().expect("an id");

    let response = app
        .post(
            "/checkout/sessions",
            None,
            None,
            &json!({"order_id": id, "amount": 1}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: CheckoutSession = response.json().await.expect("a session");
    assert_eq!(session.order_id, id);
    assert_eq!(
        session.amount, 12_500,
        "the checkout's amount, not the browser's"
    );
    assert!(time_of(&json!(session.expires_at)) <= time_of(&checkout["expires_at"]));
    app.pay(&session.payment_id, "success").await;

    let paid = app.wait_for_checkout(id, "paid").await;
    assert_eq!(paid["payer"], mobilepay_sandbox::payments::DEFAULT_PAYER);
    let events = app.checkout_events(id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].0, events[0].1.as_str()), (1, "checkout.paid"));
    // The event carries the checkout; only GET /v1/checkouts/{id} lists its refunds too.
    let mut without_refunds = paid.clone();
    let refunds = without_refunds
        .as_object_mut()
        .and_then(|o| o.remove("refunds"));
    assert_eq!(refunds, Some(json!([])));
    assert_eq!(events[0].2, without_refunds);
    let payer: Option<String> =
        sqlx::query_scalar("SELECT payer FROM sessions WHERE payment_id = $1")
            .bind(&session.payment_id)
            .fetch_one(&app.state.sessions.db.pool)
            .await
            .expect("the session");
    assert_eq!(
        payer.as_deref(),
        Some(mobilepay_sandbox::payments::DEFAULT_PAYER)
    );
    // Coming back shows the paid session, not a new payment.
    let again = app.start_session(id).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: CheckoutSession = again.json().await.expect("a session");
    assert_eq!(again.payment_id, session.payment_id);
}

#[tokio::test]
async fn a_status_change_and_its_event_commit_together_or_not_at_all() {
    let app = TestApp::spawn().await;
    let session = app
        .checkout_session(&checkout_body("order-tx", 3_000))
        .await;
    let id = session.order_id.as_str();
    let db = &app.state.sessions.db.pool;
    // The outbox cannot be written: the change must not happen either.
    sqlx::query("CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'refused'); END")
        .execute(db)
        .await
        .expect("a trigger");

    let body = payment_received(&session.payment_id, 3_000);
    let refused = app.webhook("msg_tx_1", &body).await;
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.checkout(id).await["status"], "open");
    app.wait_for_session(&session.payment_id, "awaiting_payment")
        .await;

    sqlx::query("DROP TRIGGER refuse_events")
        .execute(db)
        .await
        .expect("dropped");
    // MOBILE-PAY retries the same webhook: nothing of the failed attempt was kept.
    let retried = app.webhook("msg_tx_1", &body).await;
    assert_eq!(retried.status(), StatusCode::OK);
    let paid = app.checkout(id).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payer"], "+2250700000001");
    let events = app.checkout_events(id).await;
    assert_eq!(
        events.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["checkout.paid"]
    );
}

#[tokio::test]
async fn a_failed_attempt_leaves_the_checkout_open_and_a_retry_makes_a_new_payment() {
    let app = TestApp::spawn().await;
    let first = app.checkout_session(&checkout_body("order-f", 8_000)).await;
    let id = first.order_id.as_str();

    app.pay(&first.payment_id, "insufficient_funds").await;
    app.wait_for_session(&first.payment_id, "failed").await;
    assert_eq!(app.checkout(id).await["status"], "open");

    let retry = app.start_session(id).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    let second: CheckoutSession = retry.json().await.expect("a session");
    assert_ne!(second.payment_id, first.payment_id);
    assert_eq!(second.amount, 8_000);
    app.pay(&second.payment_id, "success").await;
    app.wait_for_checkout(id, "paid").await;

    let events = app.checkout_events(id).await;
    let kinds: Vec<(i64, &str)> = events.iter().map(|e| (e.0, e.1.as_str())).collect();
    assert_eq!(
        kinds,
        [(1, "checkout.payment_failed"), (2, "checkout.paid")]
    );
    assert_eq!(events[0].2["status"], "open");
}

/// Found by `cargo xtask chaos`: a retried `POST /checkout/sessions` (its first try's instance
/// killed after the new session was stored) in the same second as the failed session resumed
/// the failed one — sessions were ordered by their creation second, then by their status
/// sequence, which the failed session's is higher — and the shopper was shown a payment that
/// could no longer be paid.
#[tokio::test]
async fn asking_again_after_a_failed_attempt_and_its_retry_resumes_the_retry_not_the_failure() {
    let app = TestApp::spawn().await;
    let first = app.checkout_session(&checkout_body("order-r", 6_000)).await;
    let id = first.order_id.as_str();
    app.pay(&first.payment_id, "declined").await;
    app.wait_for_session(&first.payment_id, "failed").await;
    let second = app.create_session(id).await;
    assert_ne!(second.payment_id, first.payment_id);

    // Asked again at once (a retry, another tab): the open retry, whatever the clock's second.
    for _ in 0..3 {
        let again = app.start_session(id).await;
        assert_eq!(again.status(), StatusCode::OK);
        let again: CheckoutSession = again.json().await.expect("a session");
        assert_eq!(again.session_id, second.session_id);
        assert_eq!(again.status.as_str(), "awaiting_payment");
    }
    app.pay(&second.payment_id, "success").await;
    app.wait_for_checkout(id, "paid").await;
}

#[tokio::test]
async fn a_payment_of_another_amount_leaves_the_checkout_open_and_tells_the_merchant() {
    let app = TestApp::spawn().await;
    let session = app
        .checkout_session(&checkout_body("order-m", 25_000))
        .await;
    let id = session.order_id.as_str();

    let response = app
        .webhook("msg_mismatch", &payment_received(&session.payment_id, 1))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.checkout(id).await["status"], "open");
    app.wait_for_session(&session.payment_id, "awaiting_payment")
        .await;
    let events = app.checkout_events(id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].1, "checkout.amount_mismatch");
    assert_eq!(events[0].2["status"], "open");
    assert_eq!(events[0].2["amount"], 25_000);
}

#[tokio::test]
async fn a_sessions_expiry_never_outlives_its_checkouts() {
    let app = TestApp::spawn().await;
    let checkout = app
        .create_checkout(
            &json!({"amount": 500, "description": "x", "reference": "short", "expires_in": 60}),
        )
        .await;
    let id = checkout["id"].as_str().expect("an id");

    let session = app.create_session(id).await;

    assert!(time_of(&json!(session.expires_at)) <= time_of(&checkout["expires_at"]));
}

// ---------------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------------

/// Every `/v1` route this suite knows.
const V1_ROUTES: [(&str, &str); 13] = [
    ("post", "/v1/checkouts"),
    ("get", "/v1/checkouts"),
    ("get", "/v1/checkouts/{id}"),
    ("post", "/v1/checkouts/{id}/cancel"),
    ("post", "/v1/webhook-endpoints"),
    ("get", "/v1/webhook-endpoints"),
    ("delete", "/v1/webhook-endpoints/{id}"),
    ("get", "/v1/events"),
    ("get", "/v1/events/{id}"),
    ("post", "/v1/events/{id}/redeliver"),
    ("post", "/v1/refunds"),
    ("get", "/v1/refunds"),
    ("get", "/v1/refunds/{id}"),
];

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                operations.push((method.clone(), path.clone(), operation.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn the_served_openapi_document_is_3_1_and_generated_from_the_code() {
    let app = TestApp::spawn().await;
    let response = app.get("/v1/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let served: Value = response.json().await.expect("a document");

    assert!(
        served["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        served["openapi"]
    );
    let generated = serde_json::to_value(mobilepay_merchant::routes::v1::document()).expect("JSON");
    assert_eq!(served, generated);
    assert_eq!(
        served["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let create = &served["components"]["schemas"]["CreateCheckout"]["properties"];
    assert_eq!(create["amount"]["minimum"], 1);
    assert_eq!(create["amount"]["maximum"], 5_000_000);
    assert_eq!(create["metadata"]["maxProperties"], 20);
    assert_eq!(create["expires_in"]["maximum"], 604_800);
    let statuses = &served["components"]["schemas"]["CheckoutStatus"]["enum"];
    assert_eq!(statuses, &json!(["open", "paid", "expired", "canceled"]));
}

#[tokio::test]
async fn every_v1_route_is_documented_with_its_error_codes_and_needs_a_key() {
    let app = TestApp::spawn().await;
    let document = serde_json::to_value(mobilepay_merchant::routes::v1::document()).expect("JSON");

    let documented: BTreeSet<(String, String)> = operations(&document)
        .into_iter()
        .filter(|(_, path, _)| path.starts_with("/v1/"))
        .map(|(method, path, _)| (method, path))
        .collect();
    let known: BTreeSet<(String, String)> = V1_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, known);

    for (method, path, operation) in operations(&document) {
        let codes: BTreeSet<&str> = operation["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .map(String::as_str)
            .collect();
        let concrete = path
            .replace("{id}", "chk_000000000000000000000000")
            .replace("{session_id}", "cs_unknown");
        let method =
            reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
        if path.starts_with("/v1/") {
            for code in ["401", "429"] {
                assert!(
                    codes.contains(code),
                    "{method} {path} documents {code}: {codes:?}"
                );
            }
            let needs_key = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert!(needs_key, "{method} {path}");
            let without = app
                .http
                .request(method.clone(), app.url(&concrete))
                .json(&json!({}))
                .send()
                .await
                .expect("the backend answers");
            assert_error(without, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
        }
        // Every documented operation is answered by a handler, never a 404 of the router.
        let mut request = app
            .http
            .request(method.clone(), app.url(&concrete))
            .bearer_auth(KEY);
        if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let answer = request.send().await.expect("the backend answers");
        let status = answer.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(!status.is_server_error(), "{method} {path}: {status}");
        if status != StatusCode::OK {
            let body: Value = answer.json().await.expect("a JSON answer");
            assert_ne!(body["error_code"], "NOT_FOUND", "{method} {path}");
            assert!(
                codes.contains(status.as_str()),
                "{method} {path} answered an undocumented {status}"
            );
        }
    }
    // The widget's routes are in the same document, without a key.
    assert!(document["paths"]["/checkout/sessions"]["post"]["security"].is_null());
}

// ---------------------------------------------------------------------------------------------
// The hosted pay page
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_pay_page_shows_the_merchant_and_the_checkout_escaped_under_the_strict_csp() {
    let app = TestApp::with(|config| config.merchant_name = "Chez <Awa> & fils".into()).await;
    let checkout = app
        .create_checkout(&json!({
            "amount": 25_000,
            "description": "<script>alert('x')</script> pagne",
            "reference": "order-page",
            "return_url": "https://shop.example/merci?o=1&b=2",
        }))
        .await;
    let id = checkout["id"].as_str().expect("an id");

    let page = app.get(&format!("/pay/{id}"), None).await;

    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("text")
        .to_owned();
    assert_eq!(csp, mobilepay_merchant::routes::pay::STORE_CSP);
    assert!(!csp.contains("unsafe-inline"));
    let html = page.text().await.expect("a page");
    assert!(html.contains(r#"<html lang="fr">"#), "{html}");
    assert!(html.contains("Chez &lt;Awa&gt; &amp; fils"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert('x')&lt;/script&gt; pagne"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains(&format!(
            r#"<mobilepay-checkout order-id="{id}" locale="fr">"#
        )),
        "{html}"
    );
    // The way back is there, hidden until paid.
    assert!(html.contains(r#"<p id="return" hidden><a class="back" href="https://shop.example/merci?o=1&amp;b=2">"#), "{html}");
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    let english = app
        .get(&format!("/pay/{id}?locale=en"), None)
        .await
        .text()
        .await
        .expect("a page");
    assert!(english.contains(r#"<html lang="en">"#));
    assert!(english.contains(r#"locale="en""#));
    let script = app.get("/pay/pay.js", None).await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("text")
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn an_unknown_pay_page_is_a_404_page_and_a_paid_one_shows_the_way_back() {
    let app = TestApp::spawn().await;
    for unknown in ["/pay/chk_000000000000000000000000", "/pay/whatever"] {
        let page = app.get(unknown, None).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        assert!(
            page.headers()[header::CONTENT_TYPE]
                .to_str()
                .expect("text")
                .starts_with("text/html")
        );
        let html = page.text().await.expect("a page");
        assert!(html.contains("Lien de paiement introuvable"), "{html}");
    }
    let checkout = app
        .create_checkout(
            &json!({"amount": 700, "description": "x", "reference": "r-paid",
                                  "return_url": "https://shop.example/merci"}),
        )
        .await;
    let id = checkout["id"].as_str().expect("an id");
    let session = app.create_session(id).await;
    app.pay(&session.payment_id, "success").await;
    app.wait_for_checkout(id, "paid").await;

    let html = app
        .get(&format!("/pay/{id}"), None)
        .await
        .text()
        .await
        .expect("a page");
    assert!(
        html.contains(r#"<p id="return"><a class="back" href="https://shop.example/merci">"#),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_database_of_the_release_before_migrates_with_its_orders_as_checkouts() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("old.sqlite3").display()
    );
    an_old_database_migrates_forward(&url).await;
}

#[tokio::test]
async fn the_keys_subcommand_creates_lists_and_revokes_keys_that_the_api_honours() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("keys.sqlite3").display()
    );
    let keys = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_mobilepay-merchant"))
            .arg("keys")
            .args(args)
            .env("DATABASE_URL", &url)
            .output()
            .expect("the binary runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("text")
    };
    let created = keys(&["create", "--label", "shop backend"]);
    let mut lines = created.lines();
    let (id, key) = (
        lines.next().expect("the key's id").to_owned(),
        lines.next().expect("the key").to_owned(),
    );
    assert!(
        id.starts_with("key_") && key.starts_with("mk_live_"),
        "{created}"
    );
    let (listener, address) = bind().await;
    let (sandbox, _stop_sandbox) = start_sandbox(&format!("{address}/webhooks/mobilepay")).await;
    let merchant = start_merchant(listener, address, config(&sandbox, &url)).await;
    let http = reqwest::Client::new();
    let list = |key: String| {
        http.get(format!("{}/v1/checkouts", merchant.address))
            .bearer_auth(key)
            .send()
    };

    assert_eq!(
        list(key.clone()).await.expect("answers").status(),
        StatusCode::OK
    );
    let listed = keys(&["list"]);
    assert!(
        listed.contains(&id) && listed.contains("shop backend"),
        "{listed}"
    );
    assert!(
        !listed.contains(&key),
        "the list never shows a key: {listed}"
    );
    assert_eq!(keys(&["revoke", &id]).trim(), format!("revoked {id}"));
    let refused = list(key).await.expect("answers");
    assert_error(refused, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}
