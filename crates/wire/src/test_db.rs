//! For the tests of the `sqlx` encodings: a table in a SQLite file of its own, through sqlx's
//! `Any` driver, as the merchant backend opens its database.

/// A pool on a new SQLite file holding one table made by `create` (`CREATE TABLE t …`); the
/// file goes with the folder.
pub(crate) async fn table(create: &str) -> (sqlx::AnyPool, tempfile::TempDir) {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("a scratch folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("t.sqlite3").display()
    );
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("opens");
    sqlx::query(create).execute(&pool).await.expect("creates");
    (pool, dir)
}

/// Asserts that reading `select`'s one value as a `T` is refused as a decoding error (a value
/// of the column that `T` does not accept), never read as something else.
pub(crate) async fn assert_refused_as<T>(pool: &sqlx::AnyPool, select: &str)
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + Unpin + std::fmt::Debug,
{
    let error = sqlx::query_scalar::<_, T>(select)
        .fetch_one(pool)
        .await
        .expect_err("refused");
    assert!(
        matches!(error, sqlx::Error::ColumnDecode { .. }),
        "{error:?}"
    );
}
