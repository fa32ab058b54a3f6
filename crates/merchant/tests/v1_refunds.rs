//! Refunds through the merchant API (`/v1/refunds`) against a real sandbox, both in-process on
//! `127.0.0.1:0`: a refund is a transfer back to the payer, reserved so that never more is
//! refunded than was paid (under concurrent requests, on two instances sharing a real
//! PostgreSQL too), settled by MOBILE-PAY's webhook or by reconciliation, and told to the shop
//! through the outbox.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

mod common;
use common::*;

/// A checkout of `amount` under a fresh reference, paid from `payer` (the sandbox's default
/// phone if `None`); its id once it is paid.
async fn paid_checkout(app: &TestApp, amount: u64, payer: Option<&str>) -> String {
    let reference = mobilepay_merchant::ids::random_token("order-", 6);
    app.paid_checkout(&reference, amount, payer).await
}

async fn refund(app: &TestApp, checkout_id: &str, amount: u64) -> reqwest::Response {
    app.v1_post(
        "/v1/refunds",
        &json!({"checkout_id": checkout_id, "amount": amount, "reason": "Taille trop petite"}),
    )
    .await
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn get_refund(app: &TestApp, id: &str) -> Value {
    let response = app.v1_get(&format!("/v1/refunds/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a refund")
}

/// Waits (bounded) until refund `id` reads `status`.
async fn wait_for_refund(app: &TestApp, id: &str, status: &str) -> Value {
    eventually(PROMPTLY, async || {
        let refund = get_refund(app, id).await;
        if refund["status"] == status {
            Ok(refund)
        } else {
            Err(format!("refund {id} never became {status}: {refund}"))
        }
    })
    .await
}

/// A backend that reconciles only when the test runs [`reconcile`], a checkout of 8 000 FCFA
/// paid on it, and from then on MOBILE-PAY's webhooks going nowhere: the app, the checkout's id.
async fn paid_then_webhooks_lost() -> (TestApp, String) {
    let app = TestApp::with(|config| config.reconcile_every = None).await;
    let id = paid_checkout(&app, 8_000, None).await;
    app.state
        .mobilepay
        .set_webhook_endpoint("http://127.0.0.1:9/lost")
        .await
        .expect("the sandbox answers");
    (app, id)
}

/// One reconciliation pass, now: how many refunds it settled.
async fn reconcile(app: &TestApp) -> usize {
    mobilepay_merchant::reconcile::pass(&app.state, 0)
        .await
        .expect("a reconciliation pass")
}

async fn balance(app: &TestApp) -> u64 {
    app.state
        .mobilepay
        .balance()
        .await
        .expect("the sandbox answers")
        .balance
}

// ---------------------------------------------------------------------------------------------
// Refunding
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_full_refund_is_a_transfer_back_to_the_payer_that_succeeds_on_transfer_completed() {
    let app = TestApp::spawn().await;
    let id = paid_checkout(&app, 25_000, None).await;
    let before = balance(&app).await;

    let refund = created(refund(&app, &id, 25_000).await).await;

    // `pending` — unless the sandbox's `transfer.completed` came in before its answer to the
    // transfer did: the backend then applies it at once, and the answer is already the end.
    assert!(
        ["pending", "succeeded"].contains(&refund["status"].as_str().unwrap_or_default()),
        "{refund}"
    );
    assert_eq!(refund["checkout_id"], id.as_str());
    assert_eq!(refund["amount"], 25_000);
    assert_eq!(refund["currency"], "FCFA");
    assert_eq!(refund["reason"], "Taille trop petite");
    assert_eq!(
        refund["recipient_phone"],
        mobilepay_sandbox::payments::DEFAULT_PAYER
    );
    assert_eq!(refund["recipient_country"], "CI");
    let refund_id = refund["id"].as_str().expect("an id");
    assert!(refund_id.starts_with("rf_"), "{refund_id}");
    let succeeded = wait_for_refund(&app, refund_id, "succeeded").await;
    assert!(succeeded["transfer_id"].is_string(), "{succeeded}");
    assert_eq!(balance(&app).await, before - 25_000, "paid back once");
    let checkout = app.checkout(&id).await;
    assert_eq!(checkout["status"], "paid");
    assert_eq!(checkout["amount_refunded"], 25_000);
    assert_eq!(checkout["amount_refundable"], 0);
    assert_eq!(checkout["refunds"], json!([succeeded]));
    // The refund's event, in the checkout's sequence, carries the refund as it is after it.
    let events = app.checkout_events(&id).await;
    let last = events.last().expect("events");
    assert_eq!(last.1, "refund.succeeded");
    assert_eq!(last.2, succeeded);
}

#[tokio::test]
async fn partial_refunds_add_up_to_what_was_paid_and_no_further() {
    let app = TestApp::spawn().await;
    let id = paid_checkout(&app, 10_000, None).await;

    let first = created(refund(&app, &id, 4_000).await).await;
    let second = created(refund(&app, &id, 6_000).await).await;
    let over = refund(&app, &id, 100).await;

    assert_error(over, StatusCode::CONFLICT, "REFUND_EXCEEDS_REFUNDABLE").await;
    for refund in [&first, &second] {
        wait_for_refund(&app, refund["id"].as_str().expect("an id"), "succeeded").await;
    }
    let checkout = app.checkout(&id).await;
    assert_eq!(checkout["amount_refunded"], 10_000);
    assert_eq!(checkout["amount_refundable"], 0);
    let listed = app
        .v1_get(&format!("/v1/refunds?checkout_id={id}&limit=1"))
        .await;
    assert_eq!(listed.status(), StatusCode::OK);
    let page: Value = listed.json().await.expect("a page");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let (_, next) = app
        .get_json(&format!(
            "/v1/refunds?checkout_id={id}&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(next["data"].as_array().map(Vec::len), Some(1));
    assert!(next["next_cursor"].is_null());
    let mut seen = vec![page["data"][0]["id"].clone(), next["data"][0]["id"].clone()];
    seen.sort_by_key(ToString::to_string);
    let mut expected = vec![first["id"].clone(), second["id"].clone()];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn many_concurrent_refunds_never_give_back_more_than_was_paid() {
    let app = TestApp::spawn().await;
    let id = paid_checkout(&app, 10_000, None).await;
    let before = balance(&app).await;

    let answers = futures_util::future::join_all((0..20).map(|_| refund(&app, &id, 1_000))).await;

    let mut accepted = Vec::new();
    let mut refused = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => {
                let body: Value = answer.json().await.expect("a refund");
                accepted.push(body["id"].as_str().expect("an id").to_owned());
            }
            StatusCode::CONFLICT => {
                let body: Value = answer.json().await.expect("an error");
                assert_eq!(body["error_code"], "REFUND_EXCEEDS_REFUNDABLE");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((accepted.len(), refused), (10, 10));
    for refund_id in &accepted {
        wait_for_refund(&app, refund_id, "succeeded").await;
    }
    assert_eq!(balance(&app).await, before - 10_000);
    assert_eq!(app.checkout(&id).await["amount_refundable"], 0);
}

#[tokio::test]
async fn a_refund_the_balance_cannot_cover_is_refused_and_nothing_is_reserved() {
    let app = TestApp::spawn().await;
    let id = paid_checkout(&app, 5_000, None).await;
    // The merchant moves almost all its money out first.
    let drain = balance(&app).await - 1_000;
    app.state
        .mobilepay
        .local_transfer(&mobilepay_wire::api::LocalTransfer {
            recipient_phone: "+2250700000009".into(),
            amount: drain,
            description: None,
        })
        .await
        .expect("the balance moved out");

    let response = refund(&app, &id, 5_000).await;

    assert_error(response, StatusCode::PAYMENT_REQUIRED, "INSUFFICIENT_FUNDS").await;
    let checkout = app.checkout(&id).await;
    assert_eq!(checkout["amount_refunded"], 0);
    assert_eq!(checkout["amount_refundable"], 5_000);
    assert_eq!(checkout["refunds"], json!([]));
}

#[tokio::test]
async fn a_transfer_mobilepay_refuses_fails_the_refund_and_makes_its_amount_refundable_again() {
    let app = TestApp::spawn().await;
    // A magic phone of the sandbox: transfers to it are declined.
    let id = paid_checkout(&app, 5_000, Some("+2250700000403")).await;

    let refund = created(refund(&app, &id, 5_000).await).await;

    assert_eq!(refund["status"], "failed", "{refund}");
    assert_eq!(refund["failure_code"], "TRANSACTION_DECLINED");
    assert!(refund["failure_message"].is_string());
    let checkout = app.checkout(&id).await;
    assert_eq!(checkout["amount_refunded"], 0);
    assert_eq!(checkout["amount_refundable"], 5_000);
    let events = app.checkout_events(&id).await;
    let last = events.last().expect("events");
    assert_eq!(last.1, "refund.failed");
    assert_eq!(last.2, refund);
}

#[tokio::test]
async fn a_refund_whose_webhook_is_lost_is_settled_by_reconciliation() {
    let (app, id) = paid_then_webhooks_lost().await;

    let refund = created(refund(&app, &id, 3_000).await).await;
    let refund_id = refund["id"].as_str().expect("an id");
    assert_eq!(get_refund(&app, refund_id).await["status"], "pending");

    let settled = reconcile(&app).await;

    assert_eq!(settled, 1);
    let refund = get_refund(&app, refund_id).await;
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(
        app.checkout_events(&id).await.last().expect("events").1,
        "refund.succeeded"
    );
    let again = reconcile(&app).await;
    assert_eq!(again, 0, "settled once");
}

#[tokio::test]
async fn a_payer_of_another_uemoa_country_is_refunded_by_an_international_transfer() {
    let app = TestApp::spawn().await;
    let id = paid_checkout(&app, 20_000, Some("+221770000001")).await;

    let below = refund(&app, &id, 400).await;
    let body = assert_error(below, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    assert!(
        body["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("500 to 1,000,000")),
        "{body}"
    );
    let refund = created(refund(&app, &id, 600).await).await;

    assert_eq!(refund["recipient_country"], "SN");
    assert_eq!(refund["recipient_phone"], "+221770000001");
    wait_for_refund(&app, refund["id"].as_str().expect("an id"), "succeeded").await;
    let history = app
        .state
        .mobilepay
        .transactions(&mobilepay_client::TransactionQuery::default())
        .await
        .expect("the history");
    assert_eq!(
        history.transactions[0].kind,
        mobilepay_wire::api::TransactionKind::TransferInternational
    );
}

#[tokio::test]
async fn a_retried_refund_with_its_idempotency_key_refunds_once() {
    let app = TestApp::spawn().await;
    let id = paid_checkout(&app, 9_000, None).await;
    let before = balance(&app).await;
    let body = json!({"checkout_id": id, "amount": 2_000, "reason": "Retour"});

    let first = app
        .post("/v1/refunds", Some(KEY), Some("refund-order-1"), &body)
        .await;
    let first = created(first).await;
    let again = app
        .post("/v1/refunds", Some(KEY), Some("refund-order-1"), &body)
        .await;

    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again: Value = again.json().await.expect("a refund");
    assert_eq!(again["id"], first["id"]);
    wait_for_refund(&app, first["id"].as_str().expect("an id"), "succeeded").await;
    assert_eq!(balance(&app).await, before - 2_000);
    assert_eq!(
        app.checkout(&id).await["refunds"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_transfer_sent_again_with_the_refunds_key_is_not_a_second_transfer() {
    let app = TestApp::spawn().await;
    let id = paid_checkout(&app, 9_000, None).await;
    let refund = created(refund(&app, &id, 1_500).await).await;
    let refund = wait_for_refund(&app, refund["id"].as_str().expect("an id"), "succeeded").await;
    let before = balance(&app).await;

    // What the reconciler does for a transfer whose answer never came.
    let replayed = app
        .state
        .mobilepay
        .local_transfer_with_key(
            &mobilepay_wire::api::LocalTransfer {
                recipient_phone: mobilepay_sandbox::payments::DEFAULT_PAYER.into(),
                amount: 1_500,
                description: Some(format!(
                    "Remboursement {}",
                    refund["id"].as_str().expect("id")
                )),
            },
            &mobilepay_merchant::refunds::transfer_key(refund["id"].as_str().expect("an id")),
        )
        .await
        .expect("the recorded answer");

    assert_eq!(
        Some(replayed.transfer_id.as_str()),
        refund["transfer_id"].as_str()
    );
    assert_eq!(balance(&app).await, before);
}

#[tokio::test]
async fn refunds_are_refused_for_what_cannot_be_refunded() {
    let app = TestApp::spawn().await;
    let open = app
        .create_checkout(&checkout_body("order-open", 5_000))
        .await;
    let open_id = open["id"].as_str().expect("an id");
    let paid = paid_checkout(&app, 5_000, None).await;

    assert_error(
        refund(&app, open_id, 1_000).await,
        StatusCode::CONFLICT,
        "CHECKOUT_NOT_PAID",
    )
    .await;
    assert_error(
        refund(&app, "chk_000000000000000000000000", 1_000).await,
        StatusCode::NOT_FOUND,
        "CHECKOUT_NOT_FOUND",
    )
    .await;
    assert_error(
        refund(&app, "order-1", 1_000).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
    )
    .await;
    assert_error(
        refund(&app, &paid, 99).await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
    )
    .await;
    assert_error(
        refund(&app, &paid, 5_001).await,
        StatusCode::CONFLICT,
        "REFUND_EXCEEDS_REFUNDABLE",
    )
    .await;
    let blank = app
        .v1_post(
            "/v1/refunds",
            &json!({"checkout_id": paid, "amount": 1_000, "reason": " "}),
        )
        .await;
    assert_error(blank, StatusCode::BAD_REQUEST, "INVALID_PARAMETER").await;
    let unknown_field = app
        .v1_post(
            "/v1/refunds",
            &json!({"checkout_id": paid, "amount": 1_000, "reason": "x", "currency": "EUR"}),
        )
        .await;
    assert_error(unknown_field, StatusCode::BAD_REQUEST, "INVALID_JSON").await;
    assert_error(
        app.v1_get("/v1/refunds/rf_000000000000000000000000").await,
        StatusCode::NOT_FOUND,
        "REFUND_NOT_FOUND",
    )
    .await;
    assert_error(
        app.v1_get("/v1/refunds?cursor=forged").await,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
    )
    .await;
    assert_eq!(app.checkout(&paid).await["amount_refunded"], 0);
}

// ---------------------------------------------------------------------------------------------
// Notified to the shop
// ---------------------------------------------------------------------------------------------

/// The shop's webhook endpoint: records what it receives, answers 204.
async fn shop_receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Value)>>>) {
    let received: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let log = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = Arc::clone(&log);
            async move {
                let body: Value = serde_json::from_str(&body).expect("a JSON event");
                log.lock().expect("not poisoned").push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let (listener, url) = bind().await;
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("{url}/hooks"), received)
}

#[tokio::test]
async fn refund_events_reach_the_shops_endpoint_through_the_outbox() {
    let app = TestApp::spawn().await;
    let (url, received) = shop_receiver().await;
    let endpoint = app
        .v1_post(
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": ["refund.succeeded", "refund.failed"]}),
        )
        .await;
    assert_eq!(endpoint.status(), StatusCode::CREATED);
    let id = paid_checkout(&app, 7_000, None).await;

    let refund = created(refund(&app, &id, 7_000).await).await;
    let succeeded = wait_for_refund(&app, refund["id"].as_str().expect("an id"), "succeeded").await;

    let (headers, event) = eventually(PROMPTLY, async || {
        let first = received.lock().expect("not poisoned").first().cloned();
        first.ok_or("no event reached the shop")
    })
    .await;
    assert_eq!(event["type"], "refund.succeeded");
    assert_eq!(event["data"], succeeded);
    assert_eq!(
        headers.get("webhook-id").and_then(|v| v.to_str().ok()),
        event["id"].as_str()
    );
    assert!(headers.contains_key("webhook-signature"));
    // Only the refund's event: the endpoint did not ask for checkout.paid.
    assert_eq!(received.lock().expect("not poisoned").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Two instances
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn two_instances_on_postgresql_never_refund_more_than_was_paid_together() {
    let (_pg, app) = TestApp::on_postgres().await;
    let b = app.another_instance().await;
    let id = paid_checkout(&app, 10_000, None).await;
    let http = reqwest::Client::new();

    let requests = (0..20).map(|n| {
        let address = if n % 2 == 0 { &app.address } else { &b.address };
        http.post(format!("{address}/v1/refunds"))
            .bearer_auth(KEY)
            .json(&json!({"checkout_id": id, "amount": 1_000, "reason": "Retour"}))
            .send()
    });
    let answers = futures_util::future::join_all(requests).await;

    let mut statuses = Vec::new();
    for answer in answers {
        statuses.push(answer.expect("an instance answers").status());
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, refused), (10, 10), "{statuses:?}");
    let checkout = app.checkout(&id).await;
    assert_eq!(checkout["amount_refunded"], 10_000);
    assert_eq!(checkout["refunds"].as_array().map(Vec::len), Some(10));
}

#[tokio::test]
async fn the_openapi_document_states_the_refunds_bounds_statuses_and_codes() {
    let document = serde_json::to_value(mobilepay_merchant::routes::v1::document()).expect("JSON");

    let schemas = &document["components"]["schemas"];
    let create = &schemas["CreateRefund"]["properties"];
    assert_eq!(create["amount"]["minimum"], 100);
    assert_eq!(create["amount"]["maximum"], 2_000_000);
    assert_eq!(create["reason"]["maxLength"], 255);
    assert_eq!(
        schemas["RefundStatus"]["enum"],
        json!(["pending", "succeeded", "failed"])
    );
    assert!(schemas["Checkout"]["properties"]["amount_refundable"].is_object());
    let responses = &document["paths"]["/v1/refunds"]["post"]["responses"];
    for code in [
        "201", "400", "401", "402", "404", "409", "422", "429", "502", "503",
    ] {
        assert!(
            responses[code].is_object(),
            "POST /v1/refunds documents {code}"
        );
    }
}

#[tokio::test]
async fn a_transfer_whose_answer_was_lost_is_asked_again_with_its_key_and_paid_once() {
    let (app, id) = paid_then_webhooks_lost().await;
    let refund = created(refund(&app, &id, 2_500).await).await;
    let refund_id = refund["id"].as_str().expect("an id");
    let transfer_id = refund["transfer_id"]
        .as_str()
        .expect("a transfer")
        .to_owned();
    let after_refund = balance(&app).await;
    // As if MOBILE-PAY's answer had never reached the backend…
    sqlx::query("UPDATE refunds SET transfer_id = NULL WHERE id = $1")
        .bind(refund_id)
        .execute(&app.state.sessions.db.pool)
        .await
        .expect("the refund is updated");
    // …while its webhook did, before the backend knew the transfer's id: nothing to match yet.
    let body = json!({
        "event": "transfer.completed", "timestamp": "2026-12-01T10:00:00Z",
        "data": {"transfer_id": transfer_id, "amount": 2_500, "currency": "FCFA", "status": "completed"},
    })
    .to_string();
    assert_eq!(
        app.webhook("msg_transfer_early", &body).await.status(),
        StatusCode::OK
    );
    assert_eq!(get_refund(&app, refund_id).await["status"], "pending");

    let settled = reconcile(&app).await;

    assert_eq!(settled, 1);
    let refund = get_refund(&app, refund_id).await;
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(
        refund["transfer_id"],
        transfer_id.as_str(),
        "the same transfer"
    );
    assert_eq!(balance(&app).await, after_refund, "no second transfer");
}
