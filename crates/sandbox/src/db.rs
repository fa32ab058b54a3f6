//! The SQLite database: opened, migrated (`migrations/`), and shared as a pool of one connection.
//!
//! One connection is a choice, not a limit we forgot: it serializes every change, so a balance
//! check and the debit that follows can never interleave with another request's, and SQLite never
//! answers `SQLITE_BUSY`. Every statement is a few microseconds; the sandbox serves a developer,
//! not a country. Nothing holds the connection across a network call.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::Database;

pub async fn connect(database: &Database) -> anyhow::Result<sqlx::SqlitePool> {
    let options = match database {
        Database::InMemory => SqliteConnectOptions::from_str("sqlite::memory:")?,
        Database::File(path) => SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal),
    }
    .foreign_keys(true)
    .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        // An in-memory database lives as long as its connection: never recycle it.
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .with_context(|| format!("opening the sandbox database ({database:?})"))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("migrating the sandbox database")?;
    Ok(pool)
}
