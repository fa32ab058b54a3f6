//! The outbox's write side: every status change of a checkout (and every payment of the wrong
//! amount) is a row of `events`, inserted in the transaction of the change — so a crash between
//! the change and its notification cannot lose the notification. The delivery worker reads
//! this table; nothing else writes it.

use mobilepay_wire::ids::{CheckoutId, EventId};
use mobilepay_wire::merchant::{Checkout, EventType};
use sqlx::{Any, Transaction};

use crate::db::now;
use crate::ids;

/// Records that `kind` happened to `checkout` (as it is after the change), in `tx`; returns
/// the event's id. Its sequence number is the checkout's next one (1, 2, …).
pub async fn record_in(
    tx: &mut Transaction<'_, Any>,
    checkout: &Checkout,
    kind: EventType,
) -> Result<EventId, sqlx::Error> {
    let data = serde_json::to_string(checkout).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    record_data_in(tx, &checkout.id, kind.as_str(), data).await
}

/// Records an event of type `kind` about the checkout `checkout_id` whose `data` is `data`
/// (JSON), in `tx`: [`record_in`] for a checkout, [`crate::refunds`] for one of its refunds (so
/// a refund's events are numbered in its checkout's sequence).
pub async fn record_data_in(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &CheckoutId,
    kind: &str,
    data: String,
) -> Result<EventId, sqlx::Error> {
    let at = now();
    // Touching the checkout's row first makes PostgreSQL lock it: two transactions recording an
    // event of one checkout take their turns, and cannot read the same next sequence number.
    // (SQLite runs one writing transaction at a time anyway.)
    sqlx::query("UPDATE checkouts SET updated_at = $1 WHERE id = $2")
        .bind(at)
        .bind(checkout_id)
        .execute(&mut **tx)
        .await?;
    let seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE checkout_id = $1")
            .bind(checkout_id)
            .fetch_one(&mut **tx)
            .await?;
    let id = ids::event_id();
    sqlx::query(
        "INSERT INTO events (id, checkout_id, seq, type, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(checkout_id)
    .bind(seq)
    .bind(kind)
    .bind(data)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    tracing::info!(event_id = %id, %checkout_id, seq, kind, "event recorded");
    Ok(id)
}
