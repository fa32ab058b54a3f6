//! The webhook receiver's group commit (`ingest`): concurrent webhooks share one transaction,
//! and each is acknowledged only once that transaction committed; one that fails to store
//! loses none of the others; a duplicate, in the same batch or later, is acknowledged and
//! applied once. On SQLite and on PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::{PROMPTLY, TestApp, assert_error, checkout_body, eventually, payment_received};
use futures_util::StreamExt;
use serde_json::Value;
use sqlx::pool::PoolConnection;

/// A checkout with an open session: its payment's id and amount, and its stream's URL.
struct Open {
    checkout_id: String,
    payment_id: String,
    amount: u64,
    events_url: String,
}

async fn open_session(app: &TestApp, reference: &str) -> Open {
    let checkout = app.create_checkout(&checkout_body(reference, 15_000)).await;
    let checkout_id = checkout["id"].as_str().expect("an id").to_owned();
    let response = app.start_session(&checkout_id).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: Value = response.json().await.expect("a session");
    Open {
        checkout_id,
        payment_id: session["payment_id"]
            .as_str()
            .expect("a payment")
            .to_owned(),
        amount: session["amount"].as_u64().expect("an amount"),
        events_url: session["events_url"].as_str().expect("a stream").to_owned(),
    }
}

/// Posts each `(webhook_id, body)` at once, each from its own task; on a `2xx`, the task reads
/// at once, on another connection, whether its webhook is stored. Returns (status, stored) in
/// the order given.
fn post_all(
    app: &TestApp,
    webhooks: Vec<(String, String)>,
) -> Vec<tokio::task::JoinHandle<(StatusCode, Option<Value>, bool)>> {
    webhooks
        .into_iter()
        .map(|(id, body)| {
            let http = app.http.clone();
            let url = app.url("/webhooks/mobilepay");
            let pool = app.state.sessions.db.pool.clone();
            tokio::spawn(async move {
                let response = http
                    .post(url)
                    .headers(common::sign(
                        mobilepay_sandbox::DEMO_WEBHOOK_SECRET,
                        &id,
                        &body,
                    ))
                    .body(body)
                    .send()
                    .await
                    .expect("the backend answers");
                let status = response.status();
                let stored = stored(&pool, &id).await;
                let body = response.json().await.ok();
                (status, body, stored)
            })
        })
        .collect()
}

async fn stored(pool: &sqlx::AnyPool, webhook_id: &str) -> bool {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM received_webhooks WHERE webhook_id = $1")
            .bind(webhook_id)
            .fetch_one(pool)
            .await
            .expect("the database answers");
    count == 1
}

/// Takes SQLite's write lock on a connection of the backend's own pool: no webhook can be
/// committed until [`release`].
async fn hold_write_lock(app: &TestApp) -> PoolConnection<sqlx::Any> {
    let mut lock = app
        .state
        .sessions
        .db
        .pool
        .acquire()
        .await
        .expect("a connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *lock)
        .await
        .expect("the write lock");
    lock
}

async fn release(mut lock: PoolConnection<sqlx::Any>) {
    sqlx::query("COMMIT")
        .execute(&mut *lock)
        .await
        .expect("the lock released");
}

/// Waits (bounded) until `count` webhooks are queued to the writer, none answered.
async fn wait_until_waiting(app: &TestApp, count: usize) {
    eventually(PROMPTLY, async || match app.state.ingest.waiting() {
        waiting if waiting >= count => Ok(()),
        waiting => Err(format!("{count} webhooks queued in time (only {waiting})")),
    })
    .await;
}

/// Reads the stream at `url` until it sends `"status":"paid"` (bounded).
async fn stream_sends_paid(app: &TestApp, url: &str) -> impl std::future::Future<Output = ()> {
    let response = app.http.get(url).send().await.expect("a stream");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    async move {
        let mut seen = Vec::new();
        let paid = async {
            while let Some(chunk) = body.next().await {
                seen.extend_from_slice(&chunk.expect("stream bytes"));
                if String::from_utf8_lossy(&seen).contains(r#""status":"paid""#) {
                    return;
                }
            }
            panic!("the stream ended without paid");
        };
        tokio::time::timeout(PROMPTLY, paid)
            .await
            .expect("the stream sent paid in time");
    }
}

#[tokio::test]
async fn concurrent_webhooks_are_acknowledged_only_once_their_shared_transaction_committed() {
    let app = TestApp::spawn().await;
    let lock = hold_write_lock(&app).await;
    let webhooks: Vec<(String, String)> = (0..20)
        .map(|i| {
            (
                format!("msg_group_{i}"),
                payment_received(&format!("PAY_NONE_{i}"), 1_000),
            )
        })
        .collect();
    let ids: Vec<String> = webhooks.iter().map(|(id, _)| id.clone()).collect();
    let batches_before = app.state.ingest.batches();
    let posted = post_all(&app, webhooks);

    // Verified and queued, but the database cannot commit them: nobody is answered.
    wait_until_waiting(&app, 20).await;
    assert!(
        posted.iter().all(|p| !p.is_finished()),
        "no webhook is acknowledged before its commit"
    );
    for id in &ids {
        assert!(!stored(&app.state.sessions.db.pool, id).await);
    }
    release(lock).await;

    for posted in posted {
        let (status, body, stored) = posted.await.expect("the sender did not panic");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.expect("JSON")["received"], true);
        assert!(stored, "a webhook acknowledged is already stored");
    }
    assert_eq!(
        app.state.ingest.batches() - batches_before,
        1,
        "the twenty waited in one transaction"
    );
    assert_eq!(app.state.ingest.waiting(), 0);
}

#[tokio::test]
async fn a_webhook_that_fails_to_store_loses_none_of_the_others_in_its_batch_on_sqlite() {
    let app = TestApp::spawn().await;
    let open = open_session(&app, "batch-bad-row").await;
    let paid = stream_sends_paid(&app, &open.events_url).await;
    // A row the database refuses, as a full disk or a constraint would refuse it.
    sqlx::query(
        "CREATE TRIGGER refuse_one BEFORE INSERT ON received_webhooks
         WHEN NEW.webhook_id = 'msg_refused'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&app.state.sessions.db.pool)
    .await
    .expect("the trigger");
    let lock = hold_write_lock(&app).await;
    let batches_before = app.state.ingest.batches();
    let mut webhooks = vec![
        (
            "msg_before".to_owned(),
            payment_received("PAY_NONE_A", 1_000),
        ),
        (
            "msg_refused".to_owned(),
            payment_received("PAY_NONE_B", 1_000),
        ),
        (
            "msg_pays".to_owned(),
            payment_received(&open.payment_id, open.amount),
        ),
    ];
    webhooks.push((
        "msg_after".to_owned(),
        payment_received("PAY_NONE_C", 1_000),
    ));
    let posted = post_all(&app, webhooks);
    wait_until_waiting(&app, 4).await;
    release(lock).await;

    let answers: Vec<_> = futures_util::future::join_all(posted)
        .await
        .into_iter()
        .map(|p| p.expect("the sender did not panic"))
        .collect();
    assert_eq!(
        app.state.ingest.batches() - batches_before,
        1,
        "the four were one batch"
    );
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, ..)| *s).collect();
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK,
            StatusCode::OK
        ]
    );
    assert_eq!(
        answers[1].1.as_ref().expect("an error body")["error_code"],
        "INTERNAL_ERROR"
    );
    let stored: Vec<bool> = answers.iter().map(|(.., s)| *s).collect();
    assert_eq!(stored, [true, false, true, true]);
    // The payment in the batch took effect, and its stream was woken after the commit.
    paid.await;
    app.wait_for_checkout(&open.checkout_id, "paid").await;

    // Its retry, once the database takes it, is stored like any other.
    sqlx::query("DROP TRIGGER refuse_one")
        .execute(&app.state.sessions.db.pool)
        .await
        .expect("the trigger dropped");
    let retry = app
        .webhook("msg_refused", &payment_received("PAY_NONE_B", 1_000))
        .await;
    assert_eq!(retry.status(), StatusCode::OK);
}

#[tokio::test]
async fn duplicates_in_one_batch_and_after_it_are_acknowledged_and_applied_once() {
    let app = TestApp::spawn().await;
    let open = open_session(&app, "batch-duplicates").await;
    let body = payment_received(&open.payment_id, open.amount);
    let lock = hold_write_lock(&app).await;
    let posted = post_all(
        &app,
        (0..3)
            .map(|_| ("msg_twice".to_owned(), body.clone()))
            .collect(),
    );
    wait_until_waiting(&app, 3).await;
    release(lock).await;
    for posted in posted {
        let (status, _, stored) = posted.await.expect("the sender did not panic");
        assert_eq!(status, StatusCode::OK, "a duplicate is acknowledged");
        assert!(stored);
    }
    // MOBILE-PAY's retry, in a later batch.
    assert_eq!(
        app.webhook("msg_twice", &body).await.status(),
        StatusCode::OK
    );

    let kinds: Vec<String> = app
        .checkout_events(&open.checkout_id)
        .await
        .into_iter()
        .map(|(_, kind, _)| kind)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "checkout.paid").count(),
        1,
        "{kinds:?}"
    );
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM sessions WHERE payment_id = $1")
        .bind(&open.payment_id)
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("the session");
    assert_eq!(seq, 2, "awaiting_payment, then paid once");
}

#[tokio::test]
async fn a_webhook_with_a_bad_signature_is_refused_before_it_reaches_the_writer() {
    let app = TestApp::spawn().await;
    let body = payment_received("PAY_NONE", 1_000);
    let headers = common::sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_forged",
        &body,
    );
    let response = app
        .http
        .post(app.url("/webhooks/mobilepay"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("the backend answers");
    assert_error(response, StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE").await;
    assert_eq!(app.state.ingest.batches(), 0, "nothing was written");
    assert!(!stored(&app.state.sessions.db.pool, "msg_forged").await);
}

#[tokio::test]
async fn on_postgresql_a_failing_webhook_loses_none_of_its_batch_and_duplicates_apply_once() {
    let (pg, app) = TestApp::on_postgres().await;
    let open = open_session(&app, "pg-batch").await;
    let paid = stream_sends_paid(&app, &open.events_url).await;
    let pool = &app.state.sessions.db.pool;
    for statement in [
        "CREATE FUNCTION refuse_one() RETURNS trigger AS $$
         BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_one BEFORE INSERT ON received_webhooks
         FOR EACH ROW WHEN (NEW.webhook_id = 'msg_refused') EXECUTE FUNCTION refuse_one()",
    ] {
        sqlx::query(statement)
            .execute(pool)
            .await
            .expect("the trigger");
    }
    // A transaction that holds the table: the writer's batch waits behind it, and what is
    // posted meanwhile queues for the next batch.
    let mut lock = pool.acquire().await.expect("a connection");
    sqlx::query("BEGIN")
        .execute(&mut *lock)
        .await
        .expect("begin");
    sqlx::query("LOCK TABLE received_webhooks IN EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("the table locked");
    let first = post_all(
        &app,
        vec![(
            "msg_first".to_owned(),
            payment_received("PAY_NONE_0", 1_000),
        )],
    );
    wait_until_waiting(&app, 1).await;
    let body = payment_received(&open.payment_id, open.amount);
    let rest = post_all(
        &app,
        vec![
            ("msg_pays".to_owned(), body.clone()),
            (
                "msg_refused".to_owned(),
                payment_received("PAY_NONE_1", 1_000),
            ),
            ("msg_pays".to_owned(), body.clone()),
            ("msg_last".to_owned(), payment_received("PAY_NONE_2", 1_000)),
        ],
    );
    wait_until_waiting(&app, 5).await;
    assert!(first.iter().chain(&rest).all(|p| !p.is_finished()));
    sqlx::query("COMMIT")
        .execute(&mut *lock)
        .await
        .expect("the table released");
    drop(lock);

    let mut answers = Vec::new();
    for posted in first.into_iter().chain(rest) {
        answers.push(posted.await.expect("the sender did not panic"));
    }
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, ..)| *s).collect();
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK,
            StatusCode::OK
        ]
    );
    let stored: Vec<bool> = answers.iter().map(|(.., s)| *s).collect();
    assert_eq!(stored, [true, true, false, true, true]);
    paid.await;
    app.wait_for_checkout(&open.checkout_id, "paid").await;
    let paid_events = app
        .checkout_events(&open.checkout_id)
        .await
        .into_iter()
        .filter(|(_, kind, _)| kind == "checkout.paid")
        .count();
    assert_eq!(paid_events, 1);
    drop(pg);
}
