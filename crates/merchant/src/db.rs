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
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
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
        Ok(Db {
            pool,
            backend,
            url: url.into(),
            _scratch: scratch,
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
    use super::redact;

    #[test]
    fn database_urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/shop"),
            "postgres://app:…@db:5432/shop"
        );
        assert_eq!(redact("sqlite://shop.sqlite3"), "sqlite://shop.sqlite3");
    }
}
