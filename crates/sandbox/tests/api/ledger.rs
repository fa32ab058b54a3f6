//! The ledger invariant — the balance is the sum of the account's ledger entries and never
//! negative, every transaction's entries sum to zero — under hundreds of concurrent transfers.

use axum::http::StatusCode;
use mobilepay_wire::api::{Balance, Transfer};
use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::*;

/// How many transfers are in flight at once.
const CONCURRENT: usize = 300;

#[tokio::test]
async fn hundreds_of_concurrent_transfers_never_overdraw_the_account_and_keep_the_ledger_balanced()
{
    let app = spawn_app().await;
    // 2,000 – 6,000 FCFA each, 1,200,000 in all: the opening 1,000,000 cannot cover them all.
    let amounts: Vec<u64> = (0..CONCURRENT)
        .map(|i| 2_000 + 1_000 * (i as u64 % 5))
        .collect();
    assert!(amounts.iter().sum::<u64>() > OPENING_BALANCE as u64);
    let mut requests = JoinSet::new();
    for (i, amount) in amounts.iter().copied().enumerate() {
        let http = app.http.clone();
        // Local and international alike, to the same and to different recipients.
        let (path, body) = if i % 2 == 0 {
            (
                "/api/v1/transfers/local",
                json!({"recipient_phone": CI_PHONE, "amount": amount}),
            )
        } else {
            (
                "/api/v1/transfers/international",
                json!({"recipient_country": "SN", "recipient_phone": SN_PHONE, "amount": amount}),
            )
        };
        // The Entreprise key: no rate limit to interfere.
        let request = http
            .post(app.url(path))
            .bearer_auth(ENTERPRISE_KEY)
            .json(&body);
        requests.spawn(async move {
            let response = request.send().await.expect("the sandbox answers");
            (amount, response.status(), response.bytes().await)
        });
    }

    let mut completed: Vec<(u64, Transfer)> = Vec::new();
    let mut refused = 0;
    while let Some(joined) = tokio::time::timeout(PROMPTLY * 6, requests.join_next())
        .await
        .expect("every transfer answers in time")
    {
        let (amount, status, body) = joined.expect("the request task ends normally");
        let body = body.expect("a body");
        match status {
            StatusCode::CREATED => {
                completed.push((amount, serde_json::from_slice(&body).expect("a Transfer")))
            }
            StatusCode::PAYMENT_REQUIRED => {
                let error: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
                assert_error_body(&error, "INSUFFICIENT_FUNDS");
                refused += 1;
            }
            other => panic!("a transfer answered {other}: {body:?}"),
        }
    }

    assert_eq!(completed.len() + refused, CONCURRENT);
    assert!(refused > 0, "some transfers had to be refused");
    let spent: u64 = completed.iter().map(|(amount, _)| amount).sum();
    let balance: Balance = app
        .get_as(ENTERPRISE_KEY, "/api/v1/balance")
        .await
        .json()
        .await
        .expect("a Balance");
    assert_eq!(balance.balance, OPENING_BALANCE as u64 - spent);
    // Each refusal saw a balance below its amount, which only the last few can have seen.
    assert!(
        balance.balance < 6_000,
        "refusals only at the end: {balance:?}"
    );

    // Serialized: the balances answered, from highest, each follow from the previous one.
    completed.sort_by_key(|(_, t)| std::cmp::Reverse(t.balance_after));
    let mut before = OPENING_BALANCE as u64;
    for (amount, transfer) in &completed {
        assert_eq!(transfer.balance_after, before - amount, "{transfer:?}");
        before = transfer.balance_after;
    }

    let (all_entries, wallet) = app.ledger_sums().await;
    assert_eq!(all_entries, 0, "every transaction's entries sum to zero");
    assert_eq!(wallet, i64::try_from(balance.balance).expect("fits"));
    let running: Vec<i64> = sqlx::query_scalar(
        "SELECT SUM(amount) OVER (ORDER BY id) FROM ledger_entries WHERE ledger_account = ?",
    )
    .bind(mobilepay_sandbox::ledger::wallet(
        mobilepay_sandbox::accounts::DEMO_ACCOUNT_ID,
    ))
    .fetch_all(&app.state.db)
    .await
    .expect("the wallet's running balance");
    assert!(
        running.iter().all(|b| *b >= 0),
        "the wallet never went negative"
    );
    let unbalanced: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT transaction_id FROM ledger_entries
         GROUP BY transaction_id HAVING SUM(amount) != 0)",
    )
    .fetch_one(&app.state.db)
    .await
    .expect("a count");
    assert_eq!(unbalanced, 0);

    let history = app.transactions(&[("limit", "100")]).await;
    assert_eq!(
        history.total,
        1 + CONCURRENT as u64,
        "each attempt is recorded"
    );
    let failed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM transactions WHERE status = 'failed' AND error_code = 'INSUFFICIENT_FUNDS'",
    )
    .fetch_one(&app.state.db)
    .await
    .expect("a count");
    assert_eq!(failed, i64::try_from(refused).expect("fits"));
}

#[tokio::test]
async fn the_balance_is_always_the_sum_of_the_ledger_and_of_the_history() {
    let app = spawn_app().await;
    app.local(CI_PHONE, 12_345).await;
    app.local("+2250700000402", 500).await;
    let payment = app.create_payment(7_000).await;
    app.pay_with(&payment.payment_id, "success").await;
    let declined = app.create_payment(9_000).await;
    app.pay_with(&declined.payment_id, "declined").await;

    let balance = app.balance().await;

    assert_eq!(balance, OPENING_BALANCE as u64 - 12_345 + 7_000);
    let history_sum: i64 = app.history().await.iter().map(|t| t.amount).sum();
    assert_eq!(history_sum, i64::try_from(balance).expect("fits"));
    assert_eq!(
        app.ledger_sums().await,
        (0, i64::try_from(balance).expect("fits"))
    );
}
