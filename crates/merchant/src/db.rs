//! The database: SQLite by default (one file, WAL), PostgreSQL when `DATABASE_URL` says so —
//! the same migrations (`migrations/`, portable SQL) run at start-up on either. Queries go
//! through sqlx's `Any` driver and use only `$1, $2, …` placeholders, in order, which both
//! understand.

use std::time::Duration;

use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// For PostgreSQL, the URL the LISTEN connection opens. Secret: it may hold a password, and
    /// the `Debug` of the state holds it.
    pub url: secrecy::SecretString,
    /// Holds an in-memory database's file; removed with the last clone.
    _scratch: Option<std::sync::Arc<tempfile::TempDir>>,
    /// SQLite's checkpointer ([`checkpoints`]), stopped with the last clone.
    _checkpoints: Option<std::sync::Arc<AbortOnDrop>>,
}

/// A task that ends when this is dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Db {
    /// Opens `url` (`sqlite://path`, `sqlite::memory:`, `postgres://…`) and migrates it.
    ///
    /// `sqlite::memory:` is a file in a temporary folder, removed with the `Db`, not SQLite's
    /// `:memory:`: sqlx closes a connection whose query was cancelled (a browser that went away
    /// mid-request), and a `:memory:` database vanishes with its connection.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let mut scratch = None;
        let mut url = url.to_owned();
        if url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory")) {
            let dir = tempfile::Builder::new()
                .prefix("mobilepay-merchant-")
                .tempdir()?;
            url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("merchant.sqlite3").display()
            );
            scratch = Some(std::sync::Arc::new(dir));
        }
        let url = url.as_str();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://");
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        options = match backend {
            Backend::Sqlite => options.max_connections(8),
            Backend::Postgres => options.max_connections(16),
        };
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    // No automatic checkpoint: SQLite would run it inside whichever commit
                    // crosses 1,000 pages of WAL, and that commit would wait for the copy and
                    // the fsync (measured: 1 commit in ~50 took 1-10 ms instead of 0.15).
                    // `checkpoints` runs them beside the writers instead.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                         PRAGMA wal_autocheckpoint = 0;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(url)
            .await
            .with_context(|| format!("opening the database ({})", redact(url)))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("migrating the database")?;
        let checkpoints = (backend == Backend::Sqlite)
            .then(|| std::sync::Arc::new(AbortOnDrop(tokio::spawn(checkpoints(pool.clone())))));
        Ok(Db {
            pool,
            backend,
            url: url.into(),
            _scratch: scratch,
            _checkpoints: checkpoints,
        })
    }

    /// A transaction that may write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), waiting for it under `busy_timeout`: a deferred transaction that reads
    /// first and writes later fails at once (`SQLITE_BUSY`, no wait) when another connection
    /// wrote in between — under concurrent requests, a 500 for no reason of the caller's.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ready(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// How often the WAL is copied back into the database file (SQLite).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The WAL's length, in pages, past which a checkpoint waits for the writers so that the WAL
/// can start over (16 MiB of 4 KiB pages; SQLite's own checkpoints run at 1,000).
const WAL_RESTART_PAGES: i64 = 4_096;

/// SQLite's checkpoints, off the commit path: every [`CHECKPOINT_EVERY`], a `PASSIVE` one on a
/// pooled connection, which copies back what no reader still needs without taking the write
/// lock or waiting for anyone, so commits never wait for it. A passive checkpoint cannot make
/// the WAL start over while writes follow each other without a pause (the next writer restarts
/// it only once everything is copied back): past [`WAL_RESTART_PAGES`] the checkpoint is a
/// `RESTART`, which waits for the current writer and holds the next ones until the little the
/// passive ones left is copied — rare and short. It too gives up while readers still need the
/// WAL (after `busy_timeout`), so under a long burst of writes and reads the WAL may grow past
/// the bound until the next tick manages. Aborted with the last [`Db`].
async fn checkpoints(pool: AnyPool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let passive: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        let result = match passive {
            Ok((_, pages, _)) if pages > WAL_RESTART_PAGES => {
                sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                    .execute(&pool)
                    .await
                    .map(drop)
            }
            other => other.map(drop),
        };
        if let Err(error) = result
            && !pool.is_closed()
        {
            tracing::warn!(%error, "WAL checkpoint failed; the next one retries");
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The text column `column` of `row` read through `T`'s `FromStr` (a status): an unknown value
/// is a decoding error, never a default.
pub fn parsed<T>(row: &sqlx::any::AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row as _;
    let text: String = row.try_get(column)?;
    text.parse().map_err(|error| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(error),
    })
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds as RFC 3339, UTC (`2026-12-01T10:00:00Z`), the API's time format.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{Db, redact};

    /// SQLite's WAL is checkpointed beside the writers: no pooled connection checkpoints in its
    /// commits, yet what they wrote reaches the database file and the WAL starts over instead
    /// of growing with every write.
    #[tokio::test]
    async fn sqlite_commits_never_checkpoint_yet_the_wal_is_copied_back() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let file = dir.path().join("shop.sqlite3");
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .expect("opens");
        let auto: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&db.pool)
            .await
            .expect("reads the pragma");
        assert_eq!(auto, 0, "commits would checkpoint");

        sqlx::query("CREATE TABLE t (body TEXT NOT NULL)")
            .execute(&db.pool)
            .await
            .expect("creates");
        let wal = file.with_extension("sqlite3-wal");
        let row = "x".repeat(3_000);
        let mut sizes = Vec::new();
        for round in 0..3 {
            // About 1,500 pages of 4 KiB each round: past SQLite's own threshold of 1,000.
            for _ in 0..1_500 {
                sqlx::query("INSERT INTO t (body) VALUES ($1)")
                    .bind(&row)
                    .execute(&db.pool)
                    .await
                    .expect("stores");
            }
            let expected = (round + 1) * 1_500 * 3_000;
            let reached = async {
                while std::fs::metadata(&file).map_or(0, |m| m.len()) < expected {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(20), reached)
                .await
                .expect("the rows reach the database file");
            sizes.push(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        // Started over once past its bound, though the writes never paused: without that, the
        // WAL would hold all three rounds, three times the first's size (measured: 19, 38 and
        // 57 MB); with it, 1.1–1.4 times.
        assert!(
            sizes[2] * 2 < sizes[0] * 5,
            "the WAL grows with every round: {sizes:?}"
        );
    }

    #[test]
    fn database_urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/shop"),
            "postgres://app:…@db:5432/shop"
        );
        assert_eq!(redact("sqlite://shop.sqlite3"), "sqlite://shop.sqlite3");
    }
}
