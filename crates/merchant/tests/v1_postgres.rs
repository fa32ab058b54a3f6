//! The merchant API with several instances sharing one real PostgreSQL: what the database
//! enforces holds whichever instance is asked.

use axum::http::StatusCode;
use serde_json::Value;

mod common;
use common::*;

#[tokio::test]
async fn one_open_checkout_per_reference_whichever_of_two_instances_is_asked() {
    let (_pg, a) = TestApp::on_postgres().await;
    let b = a.another_instance().await;
    let http = reqwest::Client::new();

    // Twenty shops' retries at once, alternating instances, for one reference.
    let requests = (0..20).map(|n| {
        let address = if n % 2 == 0 { &a.address } else { &b.address };
        http.post(format!("{address}/v1/checkouts"))
            .bearer_auth(KEY)
            .json(&checkout_body("order-shared", 25_000))
            .send()
    });
    let answers = futures_util::future::join_all(requests).await;

    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for answer in answers {
        let answer = answer.expect("an instance answers");
        match answer.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}"),
        }
        let checkout: Value = answer.json().await.expect("a checkout");
        ids.insert(checkout["id"].as_str().expect("an id").to_owned());
    }
    assert_eq!(
        created, 1,
        "one instance created it, the others answered it"
    );
    assert_eq!(ids.len(), 1);
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM checkouts WHERE reference = 'order-shared' AND status = 'open'",
    )
    .fetch_one(&a.state.sessions.db.pool)
    .await
    .expect("a count");
    assert_eq!(open, 1);

    let other_amount = http
        .post(format!("{}/v1/checkouts", b.address))
        .bearer_auth(KEY)
        .json(&checkout_body("order-shared", 30_000))
        .send()
        .await
        .expect("B answers");
    assert_error(other_amount, StatusCode::CONFLICT, "REFERENCE_IN_USE").await;
}

#[tokio::test]
async fn an_idempotency_key_used_on_one_instance_is_replayed_by_another() {
    let (_pg, a) = TestApp::on_postgres().await;
    let b = a.another_instance().await;
    let http = reqwest::Client::new();
    let post = |address: &str, reference: &str| {
        http.post(format!("{address}/v1/checkouts"))
            .bearer_auth(KEY)
            .header("idempotency-key", "shared-key")
            .json(&checkout_body(reference, 1_000))
            .send()
    };

    let first = post(&a.address, "order-idem").await.expect("A answers");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("a checkout");
    let replay = post(&b.address, "order-idem").await.expect("B answers");
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert!(replay.headers().contains_key("idempotent-replayed"));
    let replay: Value = replay.json().await.expect("a checkout");
    assert_eq!(replay, first);
    let reused = post(&b.address, "order-other").await.expect("B answers");
    assert_error(
        reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
    )
    .await;
}

#[tokio::test]
async fn a_database_of_the_release_before_migrates_forward_on_postgresql() {
    let pg = TestPostgres::start();
    an_old_database_migrates_forward(&pg.url()).await;
}
