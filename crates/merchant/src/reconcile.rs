//! Reconciliation: a session still waiting after its webhook should have come is checked
//! against MOBILE-PAY's transaction history (`GET /api/v1/transactions`), so that a lost webhook
//! still ends in the true status. Sessions that expired are checked too: a payment made just
//! before the expiry whose webhook never came is still a payment.
//!
//! One instance at a time reconciles, whichever holds the `reconcile` lease (a row of the shared
//! database): N instances make the history calls of one, not N times as many against the
//! merchant's quota (the Marchand tier's 1,000 calls an hour). An instance that stops releases
//! the lease ([`crate::lease`]); if one dies, another takes it over once it lapses. Each pass
//! makes one or a few transaction calls, and only when some session or refund is waiting.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mobilepay_client::TransactionQuery;
use mobilepay_wire::api::TransactionKind;
use mobilepay_wire::checkout::{Failure, SessionStatus};

use crate::AppState;
use crate::checkouts::Settlement;
use crate::db::now;
use crate::lease;

/// How long after its creation a session's webhook is overdue.
pub const OVERDUE_AFTER_SECONDS: i64 = 60;
/// How far back waiting sessions are looked for.
const HORIZON_SECONDS: i64 = 2 * 86_400;
/// Pages of history read per pass, at most.
const MAX_PAGES: u64 = 10;
const PAGE: u32 = 100;

/// Runs a pass every `every` while this instance holds the `reconcile` lease, until the process
/// ends.
pub async fn run(state: Arc<AppState>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Held across two periods: one late tick does not hand it over.
    let term = i64::try_from(every.as_secs().saturating_mul(2))
        .unwrap_or(i64::MAX)
        .max(2);
    loop {
        ticker.tick().await;
        match lease::try_acquire(&state.sessions.db, "reconcile", &state.instance, term).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "reconciliation lease not read");
                continue;
            }
        }
        match pass(&state, OVERDUE_AFTER_SECONDS).await {
            Ok(0) => {}
            Ok(settled) => tracing::info!(settled, "reconciliation settled sessions"),
            Err(error) => tracing::warn!(%error, "reconciliation pass failed"),
        }
    }
}

/// One pass over the sessions and the pending refunds ([`crate::refunds::reconcile`]) created
/// `overdue_after` seconds ago or earlier; returns how many of them it settled.
pub async fn pass(state: &Arc<AppState>, overdue_after: i64) -> anyhow::Result<usize> {
    let sessions = sessions_pass(state, overdue_after).await?;
    let refunds = crate::refunds::reconcile(state, overdue_after).await?;
    Ok(sessions + refunds)
}

async fn sessions_pass(state: &AppState, overdue_after: i64) -> anyhow::Result<usize> {
    let at = now();
    let waiting: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT id, payment_id, created_at FROM sessions
         WHERE status IN ('awaiting_payment', 'expired') AND created_at <= $1 AND created_at >= $2
         ORDER BY created_at LIMIT 500",
    )
    .bind(at - overdue_after)
    .bind(at - HORIZON_SECONDS)
    .fetch_all(&state.sessions.db.pool)
    .await?;
    let Some(oldest) = waiting.iter().map(|(_, _, created)| *created).min() else {
        return Ok(0);
    };
    let start_date = time::OffsetDateTime::from_unix_timestamp(oldest - 60)?
        .format(&time::format_description::well_known::Rfc3339)?;
    // What MOBILE-PAY knows of our payments, newest first: status, failure code, payer.
    type Known = (String, Option<String>, Option<String>);
    let mut known: HashMap<String, Known> = HashMap::new();
    for page in 0..MAX_PAGES {
        let history = state
            .mobilepay
            .transactions(&TransactionQuery {
                limit: Some(PAGE),
                offset: Some(page * u64::from(PAGE)),
                start_date: Some(start_date.clone()),
                end_date: None,
            })
            .await?;
        let count = history.transactions.len();
        for tx in history.transactions {
            if tx.kind == TransactionKind::QrPayment {
                known.insert(
                    tx.transaction_id,
                    (tx.status, tx.error_code, tx.counterparty),
                );
            }
        }
        if count < PAGE as usize {
            break;
        }
    }
    let mut settled = 0;
    for (session_id, payment_id, _) in waiting {
        let (to, settlement) = match known.get(&payment_id) {
            Some((status, _, payer)) if status == "completed" => (
                SessionStatus::Paid,
                Settlement::Paid {
                    payer: payer.clone(),
                },
            ),
            Some((status, code, _)) if status == "failed" => {
                let code = code
                    .clone()
                    .unwrap_or_else(|| "TRANSACTION_FAILED".to_owned());
                let message = failure_message(&code).to_owned();
                (
                    SessionStatus::Failed,
                    Settlement::Failed(Failure {
                        error_code: code,
                        error_message: message,
                    }),
                )
            }
            _ => continue,
        };
        let Some(session) = state.sessions.for_payment(&payment_id).await? else {
            continue;
        };
        let mut tx = state.sessions.db.begin().await?;
        let changed = state
            .checkouts
            .settle_in(&state.sessions, &mut tx, &session, settlement)
            .await?;
        let woken: &[&str] = if changed { &[&session_id] } else { &[] };
        state.sessions.commit_then_wake(tx, woken).await?;
        if changed {
            tracing::warn!(%session_id, %payment_id, status = to.as_str(), "settled by reconciliation: its webhook never came");
            settled += 1;
        }
    }
    Ok(settled)
}

/// The history gives a code, not the webhook's message: MOBILE-PAY's wording for the known ones.
fn failure_message(code: &str) -> &'static str {
    match code {
        "INSUFFICIENT_FUNDS" => "Solde insuffisant",
        "TRANSACTION_DECLINED" => "Transaction refusée",
        "PAYMENT_CANCELLED" => "Paiement annulé par le client",
        _ => "Transaction échouée",
    }
}
