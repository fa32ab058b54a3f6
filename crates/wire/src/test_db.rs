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
