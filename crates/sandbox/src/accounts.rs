//! The sandbox's accounts and API keys, and Bearer authentication.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::Error;

/// The seed's rate-limit tiers. Limits are not enforced yet; the tier is recorded per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Gratuit,
    Marchand,
    Entreprise,
}

#[derive(Debug)]
pub struct Account {
    pub email: &'static str,
    pub merchant_id: &'static str,
}

#[derive(Debug)]
struct ApiKey {
    key: &'static str,
    account: usize,
    tier: Tier,
}

#[derive(Debug)]
pub struct Accounts {
    accounts: Vec<Arc<Account>>,
    keys: Vec<ApiKey>,
}

pub const DEMO_EMAIL: &str = "demo@mobile-pay.test";
pub const DEMO_PASSWORD: &str = "password123";
pub const DEMO_MERCHANT_KEY: &str = "sk_test_demo_merchant";
pub const DEMO_FREE_KEY: &str = "sk_test_demo_free";
pub const DEMO_MERCHANT_ID: &str = "MERCHANT123";

impl Accounts {
    /// The demo account of DESIGN.md, with a *Marchand* key and a *Gratuit* key.
    pub fn demo() -> Self {
        Accounts {
            accounts: vec![Arc::new(Account {
                email: DEMO_EMAIL,
                merchant_id: DEMO_MERCHANT_ID,
            })],
            keys: vec![
                ApiKey {
                    key: DEMO_MERCHANT_KEY,
                    account: 0,
                    tier: Tier::Marchand,
                },
                ApiKey {
                    key: DEMO_FREE_KEY,
                    account: 0,
                    tier: Tier::Gratuit,
                },
            ],
        }
    }

    fn by_key(&self, token: &str) -> Option<(Arc<Account>, Tier)> {
        self.keys
            .iter()
            .find(|k| k.key == token)
            .map(|k| (Arc::clone(&self.accounts[k.account]), k.tier))
    }
}

/// The account a request authenticated as, from `Authorization: Bearer <key>`.
#[derive(Debug)]
pub struct Authenticated {
    pub account: Arc<Account>,
    pub tier: Tier,
}

impl FromRequestParts<Arc<AppState>> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::MissingToken)?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Error::MissingToken)?;
        if token.starts_with("sk_live_") {
            return Err(Error::LiveKeyRefused);
        }
        let (account, tier) = state.accounts.by_key(token).ok_or(Error::InvalidToken)?;
        Ok(Authenticated { account, tier })
    }
}
