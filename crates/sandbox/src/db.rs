//! The SQLite database: opened, migrated (`migrations/`), and shared as a pool of one connection.
//!
//! One connection is a choice, not a limit we forgot: it serializes every change, so a balance
//! check and the debit that follows can never interleave with another request's, and SQLite never
//! answers `SQLITE_BUSY`. Every statement is a few microseconds; the sandbox serves a developer,
//! not a country. Nothing holds the connection across a network call.

use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::Database;

/// The pool, and for [`Database::InMemory`] the temporary folder holding its file (removed when
/// dropped).
///
/// "In memory" is a file in a temporary folder, not SQLite's `:memory:`: sqlx closes a connection
/// whose query was cancelled (a client that went away mid-request), and a `:memory:` database
/// vanishes with its connection — the next request would find an empty sandbox.
pub async fn connect(
    database: &Database,
) -> anyhow::Result<(sqlx::SqlitePool, Option<tempfile::TempDir>)> {
    let (path, scratch) = match database {
        Database::InMemory => {
            let dir = tempfile::Builder::new()
                .prefix("mobilepay-sandbox-")
                .tempdir()?;
            (dir.path().join("sandbox.sqlite3"), Some(dir))
        }
        Database::File(path) => (path.clone(), None),
    };
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .with_context(|| format!("opening the sandbox database ({database:?})"))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("migrating the sandbox database")?;
    Ok((pool, scratch))
}
