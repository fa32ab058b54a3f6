//! Reconciliation: one instance at a time holds its lease (SQLite and PostgreSQL), an instance
//! that stops gives it up, and a pass settles the sessions whose webhooks were lost.

use std::sync::Arc;
use std::time::Duration;

use mobilepay_wire::checkout::SessionStatus;

use crate::common::*;

/// Two instances on one database: the lease lets one reconcile, and the other take over only
/// once it has lapsed.
async fn one_instance_at_a_time_holds_the_reconciliation_lease(url: &str) {
    use mobilepay_merchant::db::Db;
    use mobilepay_merchant::lease::try_acquire as lease;
    let (a, b) = (
        Db::connect(url).await.expect("instance A's database"),
        Db::connect(url).await.expect("instance B's database"),
    );
    assert!(lease(&a, "reconcile", "A", 60).await.expect("read"));
    assert!(!lease(&b, "reconcile", "B", 60).await.expect("read"));
    assert!(lease(&a, "reconcile", "A", 60).await.expect("renewed"));
    // A stops renewing (it died); once its lease lapses, B takes over, and A is then refused.
    sqlx::query("UPDATE leases SET held_until = 0 WHERE name = 'reconcile'")
        .execute(&a.pool)
        .await
        .expect("lapsed");
    assert!(lease(&b, "reconcile", "B", 60).await.expect("read"));
    assert!(!lease(&a, "reconcile", "A", 60).await.expect("read"));
}

#[tokio::test]
async fn one_instance_at_a_time_reconciles_on_sqlite() {
    let (_data, url) = sqlite_file();
    one_instance_at_a_time_holds_the_reconciliation_lease(&url).await;
}

#[tokio::test]
async fn one_instance_at_a_time_reconciles_on_postgresql() {
    let pg = TestPostgres::start();
    one_instance_at_a_time_holds_the_reconciliation_lease(&pg.url()).await;
}

#[tokio::test]
async fn an_instance_that_stops_gives_the_reconciliation_lease_up() {
    let (_data, url) = sqlite_file();
    let (listener, address) = bind().await;
    let (sandbox, _stop_sandbox) = start_sandbox("http://127.0.0.1:9/unused").await;
    let merchant = start_merchant(listener, address, config(&sandbox, &url)).await;
    let state = Arc::clone(&merchant.state);
    // Its reconciler takes the lease at start.
    eventually(Duration::from_secs(10), async || {
        let holder: String =
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = 'reconcile'")
                .fetch_one(&state.sessions.db.pool)
                .await
                .expect("the lease");
        (holder == state.instance)
            .then_some(())
            .ok_or(format!("the lease was never taken: {holder} holds it"))
    })
    .await;
    let other = mobilepay_merchant::db::Db::connect(&url)
        .await
        .expect("another instance's database");
    assert!(
        !mobilepay_merchant::lease::try_acquire(&other, "reconcile", "B", 60)
            .await
            .expect("read")
    );

    merchant.stop().await;

    assert!(
        mobilepay_merchant::lease::try_acquire(&other, "reconcile", "B", 60)
            .await
            .expect("read")
    );
}

#[tokio::test]
async fn a_lost_webhook_is_made_up_for_by_reconciliation_with_the_history() {
    // MOBILE-PAY's webhooks go nowhere: every one of them is lost.
    let app = TestApp::build()
        .sandbox(|sandbox| sandbox.webhook_url = Some("http://127.0.0.1:9/lost".to_owned()))
        .spawn()
        .await;
    let paid = app.new_session().await;
    let failed = app.new_session().await;
    let waiting = app.new_session().await;
    app.pay(&paid.payment_id, "success").await;
    app.pay(&failed.payment_id, "insufficient_funds").await;

    let settled = mobilepay_merchant::reconcile::pass(&app.state, 0)
        .await
        .expect("the pass runs");

    assert_eq!(settled, 2);
    assert_eq!(app.status(&paid).await.status, SessionStatus::Paid);
    let status = app.status(&failed).await;
    assert_eq!(status.status, SessionStatus::Failed);
    let failure = status.failure.expect("the reason");
    assert_eq!(failure.error_code, "INSUFFICIENT_FUNDS");
    assert_eq!(failure.error_message, "Solde insuffisant");
    assert_eq!(
        app.status(&waiting).await.status,
        SessionStatus::AwaitingPayment
    );
    // A second pass finds nothing more to do.
    assert_eq!(
        mobilepay_merchant::reconcile::pass(&app.state, 0)
            .await
            .expect("the pass runs"),
        0
    );
}
