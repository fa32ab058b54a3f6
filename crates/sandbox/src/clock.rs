//! The sandbox's clock: real time plus an offset that `POST /sandbox/v1/clock/advance` moves
//! forward (never back), so that expiries and webhook retry schedules can be tested without
//! waiting. The offset is stored, so a restart keeps it. Rate limits and login throttling read
//! it too, through [`LimiterClock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use governor::nanos::Nanos;
use time::OffsetDateTime;

#[derive(Debug)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

const SETTING: &str = "clock_offset_seconds";

impl Clock {
    pub async fn load(db: &sqlx::SqlitePool) -> Result<Clock, sqlx::Error> {
        let offset: Option<i64> = sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
            .bind(SETTING)
            .fetch_optional(db)
            .await?;
        Ok(Clock {
            offset_seconds: Arc::new(AtomicI64::new(offset.unwrap_or(0))),
        })
    }

    /// This clock as `governor`'s rate limiters read it.
    pub fn for_limiters(&self) -> LimiterClock {
        LimiterClock {
            offset_seconds: Arc::clone(&self.offset_seconds),
            start: std::time::Instant::now(),
        }
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

/// The sandbox's clock for `governor`: monotonic time since the start plus the sandbox's offset,
/// which only moves forward, so advancing the sandbox's clock refills quotas and ends throttles
/// as the same wait would.
#[derive(Debug, Clone)]
pub struct LimiterClock {
    offset_seconds: Arc<AtomicI64>,
    start: std::time::Instant,
}

impl governor::clock::Clock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let elapsed = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let offset = u64::try_from(self.offset_seconds.load(Ordering::SeqCst)).unwrap_or(0);
        Nanos::from(elapsed.saturating_add(offset.saturating_mul(1_000_000_000)))
    }
}
