//! The double-entry ledger. Every movement writes entries that sum to zero in the same database
//! transaction as the movement itself; an account's balance is the sum of its wallet's entries.

use sqlx::SqliteConnection;

/// The ledger account of a customer's wallet.
pub fn wallet(account_id: &str) -> String {
    format!("wallet:{account_id}")
}

/// The ledger account of the world outside the sandbox, as seen through a phone number.
pub fn external(phone: &str) -> String {
    format!("external:{phone}")
}

/// The account's balance: the sum of its wallet's entries.
pub async fn balance(conn: &mut SqliteConnection, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE ledger_account = ?",
    )
    .bind(wallet(account_id))
    .fetch_one(conn)
    .await
}

/// Writes `entries` (ledger account, signed amount) for `transaction_id`. They must sum to zero.
pub async fn post(
    conn: &mut SqliteConnection,
    transaction_id: &str,
    entries: &[(String, i64)],
    at: i64,
) -> Result<(), sqlx::Error> {
    if entries.iter().map(|(_, amount)| amount).sum::<i64>() != 0 {
        return Err(sqlx::Error::Protocol("unbalanced ledger entries".into()));
    }
    for (account, amount) in entries {
        sqlx::query(
            "INSERT INTO ledger_entries (transaction_id, ledger_account, amount, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(transaction_id)
        .bind(account)
        .bind(amount)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The next value of the transactions' order tiebreaker.
pub async fn next_seq(conn: &mut SqliteConnection, table: &str) -> Result<i64, sqlx::Error> {
    // `table` is one of ours, never input.
    sqlx::query_scalar(&format!("SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}"))
        .fetch_one(conn)
        .await
}

/// A transaction row, as the account's history shows it.
#[derive(Debug)]
pub struct Record<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub amount: i64,
    pub counterparty: Option<&'a str>,
    pub country: Option<&'a str>,
    pub description: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub at: i64,
}

pub async fn record(conn: &mut SqliteConnection, r: &Record<'_>) -> Result<(), sqlx::Error> {
    let seq = next_seq(conn, "transactions").await?;
    sqlx::query(
        "INSERT INTO transactions (id, account_id, kind, status, amount, counterparty, country, description, error_code, created_at, seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.id)
    .bind(r.account_id)
    .bind(r.kind)
    .bind(r.status)
    .bind(r.amount)
    .bind(r.counterparty)
    .bind(r.country)
    .bind(r.description)
    .bind(r.error_code)
    .bind(r.at)
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(())
}

/// Credits `amount` to a new account's wallet from outside the sandbox (its opening balance).
pub async fn fund(
    conn: &mut SqliteConnection,
    account_id: &str,
    amount: i64,
    at: i64,
) -> Result<(), sqlx::Error> {
    let id = crate::random_id("FND", 10);
    record(
        conn,
        &Record {
            id: &id,
            account_id,
            kind: "funding",
            status: "completed",
            amount,
            counterparty: None,
            country: None,
            description: Some("Solde d'ouverture du bac à sable"),
            error_code: None,
            at,
        },
    )
    .await?;
    post(
        conn,
        &id,
        &[
            (wallet(account_id), amount),
            ("funding".to_owned(), -amount),
        ],
        at,
    )
    .await
}
