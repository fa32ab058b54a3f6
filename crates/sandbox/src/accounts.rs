//! Accounts, their API keys and tiers, and the demo account every sandbox starts with.

use anyhow::Context;

use crate::clock::Clock;
use crate::{Config, ledger, sha256_hex};

/// The seed's rate-limit tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// 100 requests an hour.
    Gratuit,
    /// 1,000 requests an hour.
    Marchand,
    /// Unlimited.
    Entreprise,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Gratuit => "gratuit",
            Tier::Marchand => "marchand",
            Tier::Entreprise => "entreprise",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "gratuit" => Some(Tier::Gratuit),
            "marchand" => Some(Tier::Marchand),
            "entreprise" => Some(Tier::Entreprise),
            _ => None,
        }
    }
}

pub const DEMO_ACCOUNT_ID: &str = "acct_demo";
pub const DEMO_EMAIL: &str = "demo@mobile-pay.test";
pub const DEMO_PASSWORD: &str = "password123";
pub const DEMO_MERCHANT_KEY: &str = "sk_test_demo_merchant";
pub const DEMO_FREE_KEY: &str = "sk_test_demo_free";
pub const DEMO_ENTERPRISE_KEY: &str = "sk_test_demo_enterprise";
pub const DEMO_MERCHANT_ID: &str = "MERCHANT123";
pub const DEMO_PHONE: &str = "+2250700000001";
/// What the demo account's wallet holds when the sandbox is first created.
pub const DEMO_OPENING_BALANCE: i64 = 1_000_000;

/// Creates the demo account on a new database; on an existing one, applies the configuration's
/// webhook wiring.
pub async fn seed_demo(
    db: &sqlx::SqlitePool,
    clock: &Clock,
    config: &Config,
) -> anyhow::Result<()> {
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
        .bind(DEMO_ACCOUNT_ID)
        .fetch_optional(db)
        .await?;
    let now = clock.unix();
    if exists.is_none() {
        let hash = tokio::task::spawn_blocking(|| crate::login::hash_password(DEMO_PASSWORD))
            .await
            .context("hashing the demo password")?;
        let mut tx = db.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, merchant_id, phone, tier, webhook_url, webhook_secret, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(DEMO_ACCOUNT_ID)
        .bind(DEMO_EMAIL)
        .bind(hash)
        .bind(DEMO_MERCHANT_ID)
        .bind(DEMO_PHONE)
        .bind(Tier::Marchand.as_str())
        .bind(&config.webhook_url)
        .bind(&config.webhook_secret)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (key, tier, label) in [
            (DEMO_MERCHANT_KEY, Tier::Marchand, "demo merchant key"),
            (DEMO_FREE_KEY, Tier::Gratuit, "demo free key"),
            (DEMO_ENTERPRISE_KEY, Tier::Entreprise, "demo enterprise key"),
        ] {
            sqlx::query(
                "INSERT INTO api_keys (key_hash, account_id, tier, label) VALUES (?, ?, ?, ?)",
            )
            .bind(sha256_hex(key.as_bytes()))
            .bind(DEMO_ACCOUNT_ID)
            .bind(tier.as_str())
            .bind(label)
            .execute(&mut *tx)
            .await?;
        }
        ledger::fund(&mut tx, DEMO_ACCOUNT_ID, DEMO_OPENING_BALANCE, now).await?;
        tx.commit().await?;
    } else {
        sqlx::query("UPDATE accounts SET webhook_secret = ? WHERE id = ?")
            .bind(&config.webhook_secret)
            .bind(DEMO_ACCOUNT_ID)
            .execute(db)
            .await?;
        if let Some(url) = &config.webhook_url {
            sqlx::query("UPDATE accounts SET webhook_url = ? WHERE id = ?")
                .bind(url)
                .bind(DEMO_ACCOUNT_ID)
                .execute(db)
                .await?;
        }
    }
    Ok(())
}
