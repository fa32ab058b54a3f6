//! Operator accounts of the console, and the `mobilepay-merchant operators …` command that
//! manages them (the console has no sign-up page: whoever runs the backend creates accounts).
//!
//! Passwords are read from `CONSOLE_OPERATOR_PASSWORD` or from standard input, never from a
//! flag (flags show in `ps` and in shell history), and stored as Argon2id hashes only.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use super::auth::{hash_password, verify_password};
use crate::db::{Db, now};
use crate::ids::random_token;

pub const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 1024;

/// An email as the console compares them: trimmed, lower case; refused unless it looks like one.
pub fn normalize_email(email: &str) -> anyhow::Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !valid {
        bail!("{email:?} is not an email address");
    }
    Ok(email)
}

fn check_password(password: &str) -> anyhow::Result<()> {
    let length = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
        bail!("a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters");
    }
    Ok(())
}

/// Creates an operator; refused if the email already has one.
pub async fn create(db: &Db, email: &str, password: &str) -> anyhow::Result<()> {
    let email = normalize_email(email)?;
    check_password(password)?;
    let hash = hash_blocking(password).await?;
    sqlx::query(
        "INSERT INTO console_operators (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(random_token("op_", 12))
    .bind(&email)
    .bind(hash)
    .bind(now())
    .execute(&db.pool)
    .await
    .map_err(|error| match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            anyhow::anyhow!("an operator {email} already exists")
        }
        _ => anyhow::Error::new(error).context("creating the operator"),
    })?;
    Ok(())
}

/// Creates the operator, or sets its password if it exists (the demo's, at each start).
pub async fn upsert(db: &Db, email: &str, password: &str) -> anyhow::Result<()> {
    let email = normalize_email(email)?;
    check_password(password)?;
    let hash = hash_blocking(password).await?;
    let updated = sqlx::query("UPDATE console_operators SET password_hash = $1 WHERE email = $2")
        .bind(&hash)
        .bind(&email)
        .execute(&db.pool)
        .await?;
    if updated.rows_affected() == 0 {
        create(db, &email, password).await?;
    }
    Ok(())
}

/// Every operator's email, with when it was created (Unix seconds), oldest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as(
            "SELECT email, created_at FROM console_operators ORDER BY created_at, email",
        )
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Deletes an operator and signs it out everywhere; `false` if there was none.
pub async fn delete(db: &Db, email: &str) -> anyhow::Result<bool> {
    let email = normalize_email(email)?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM console_sessions WHERE operator_id IN \
         (SELECT id FROM console_operators WHERE email = $1)",
    )
    .bind(&email)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM console_payouts WHERE operator_id IN \
         (SELECT id FROM console_operators WHERE email = $1)",
    )
    .bind(&email)
    .execute(&mut *tx)
    .await?;
    let deleted = sqlx::query("DELETE FROM console_operators WHERE email = $1")
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted.rows_affected() > 0)
}

/// The operator id for these credentials, `None` for a wrong email or password (the same
/// answer, in the same time).
pub async fn authenticate(db: &Db, email: &str, password: &str) -> anyhow::Result<Option<String>> {
    let account: Option<(String, String)> = match normalize_email(email) {
        Ok(email) => {
            sqlx::query_as("SELECT id, password_hash FROM console_operators WHERE email = $1")
                .bind(email)
                .fetch_optional(&db.pool)
                .await?
        }
        Err(_) => None,
    };
    let password = password.to_owned();
    let (id, hash) = account.unzip();
    let valid = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref()))
        .await
        .context("verifying a password")?;
    Ok(id.filter(|_| valid))
}

async fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .context("hashing a password")
}

/// `mobilepay-merchant operators …`: the console's operator accounts.
#[derive(Debug, Parser)]
#[command(
    name = "mobilepay-merchant operators",
    about = "Operator accounts of the merchant's console (/console/)"
)]
pub struct OperatorsArgs {
    /// The backend's database (the same as the server's).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://mobilepay-merchant.sqlite3?mode=rwc"
    )]
    pub database_url: String,
    #[command(subcommand)]
    pub command: OperatorsCommand,
}

#[derive(Debug, Subcommand)]
pub enum OperatorsCommand {
    /// Creates an operator. The password is read from CONSOLE_OPERATOR_PASSWORD, else from the
    /// first line of standard input (`read -rs P; echo "$P" | mobilepay-merchant operators create …`).
    Create { email: String },
    /// Lists the operators.
    List,
    /// Deletes an operator and ends its sessions.
    Delete { email: String },
}

/// Runs an `operators` command, writing what it did to `out`.
pub async fn cli(
    args: OperatorsArgs,
    stdin: impl BufRead,
    mut out: impl std::io::Write,
) -> anyhow::Result<()> {
    let db = Db::connect(&args.database_url).await?;
    match args.command {
        OperatorsCommand::Create { email } => {
            let password = match std::env::var("CONSOLE_OPERATOR_PASSWORD") {
                Ok(password) => password,
                Err(_) => stdin
                    .lines()
                    .next()
                    .context("no password on standard input")?
                    .context("reading the password from standard input")?,
            };
            create(&db, &email, password.trim_end_matches(['\r', '\n'])).await?;
            writeln!(out, "operator {} created", normalize_email(&email)?)?;
        }
        OperatorsCommand::List => {
            for (email, created_at) in list(&db).await? {
                let created = time::OffsetDateTime::from_unix_timestamp(created_at)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default();
                writeln!(out, "{email}\t{created}")?;
            }
        }
        OperatorsCommand::Delete { email } => {
            if !delete(&db, &email).await? {
                bail!("no operator {email}");
            }
            writeln!(out, "operator {} deleted", normalize_email(&email)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

    #[test]
    fn emails_are_compared_trimmed_and_in_lower_case_and_must_look_like_one() {
        assert_eq!(
            normalize_email("  Admin@Boutique.TEST ").expect("valid"),
            "admin@boutique.test"
        );
        for bad in [
            "",
            "admin",
            "@boutique.test",
            "admin@localhost",
            "a b@shop.test",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }
}
