//! Leases: work that one instance at a time should do (reconciliation, the notification
//! worker) is done by whichever instance holds the work's lease, a row of the shared database
//! (`leases`), until it lapses; another instance takes it over then. Each take is one
//! statement, so two instances cannot both hold a lease.

use crate::db::{Db, now};

/// Takes or renews the lease `name` for `holder`, for `ttl_seconds`; `false` while another
/// holder's has not lapsed. A name never used before is created.
pub async fn try_acquire(
    db: &Db,
    name: &str,
    holder: &str,
    ttl_seconds: i64,
) -> anyhow::Result<bool> {
    sqlx::query("INSERT INTO leases (name, holder, held_until) VALUES ($1, '', 0) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(&db.pool)
        .await?;
    let at = now();
    let taken = sqlx::query(
        "UPDATE leases SET holder = $1, held_until = $2
         WHERE name = $3 AND (holder = $4 OR held_until < $5)",
    )
    .bind(holder)
    .bind(at.saturating_add(ttl_seconds))
    .bind(name)
    .bind(holder)
    .bind(at)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// Gives the lease `name` up, if `holder` has it, for another instance to take at once.
pub async fn release(db: &Db, name: &str, holder: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE leases SET held_until = 0 WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(&db.pool)
        .await?;
    Ok(())
}
