//! The sandbox's clock: real time plus an offset that `POST /sandbox/v1/clock/advance` moves
//! forward (never back), so that expiries and webhook retry schedules can be tested without
//! waiting. The offset is stored, so a restart keeps it.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

#[derive(Debug)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

const SETTING: &str = "clock_offset_seconds";

impl Clock {
    pub async fn load(db: &sqlx::SqlitePool) -> Result<Clock, sqlx::Error> {
        let offset: Option<i64> = sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
            .bind(SETTING)
            .fetch_optional(db)
            .await?;
        Ok(Clock {
            offset_seconds: AtomicI64::new(offset.unwrap_or(0)),
        })
    }

    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.offset())
    }

    /// Unix seconds, as the database stores times.
    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    pub fn offset(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }

    /// Moves the clock `seconds` forward and stores the new offset.
    pub async fn advance(&self, db: &sqlx::SqlitePool, seconds: i64) -> Result<(), sqlx::Error> {
        let offset = self.offset_seconds.fetch_add(seconds, Ordering::SeqCst) + seconds;
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(SETTING)
        .bind(offset)
        .execute(db)
        .await?;
        Ok(())
    }
}
