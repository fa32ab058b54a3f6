//! `POST /api/v1/auth/login`: email and password (Argon2id hashes) for a Bearer token.
//!
//! Attempts are limited per account and per client address (`governor`): 10 per account and 30
//! per address, each refilling over 15 minutes. A wrong email and a wrong password answer the
//! same, in the same time (an unknown email is still checked against a dummy hash).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::Extensions;
use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use mobilepay_wire::api::{Login, LoginToken};

use crate::clock::LimiterClock;
use crate::error::{ApiJson, Error};
use crate::{AppState, rfc3339_unix, sha256_hex};

/// How long a login token is valid.
pub const TOKEN_TTL_SECONDS: i64 = 3600;
const PER_ACCOUNT: u32 = 10;
const PER_ADDRESS: u32 = 30;
const REFILL: Duration = Duration::from_secs(15 * 60);

type Keyed<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, LimiterClock, NoOpMiddleware<governor::nanos::Nanos>>;

pub struct Throttle {
    by_account: Keyed<String>,
    by_address: Keyed<IpAddr>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Throttle")
    }
}

fn quota(burst: u32) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(REFILL / burst.get())
        .unwrap_or_else(|| Quota::per_minute(burst))
        .allow_burst(burst)
}

fn keyed<K: Clone + std::hash::Hash + Eq>(burst: u32, clock: &LimiterClock) -> Keyed<K> {
    RateLimiter::new(
        quota(burst),
        DefaultKeyedStateStore::default(),
        clock.clone(),
    )
}

impl Throttle {
    /// On the sandbox's clock.
    pub fn new(clock: &LimiterClock) -> Self {
        Throttle {
            by_account: keyed(PER_ACCOUNT, clock),
            by_address: keyed(PER_ADDRESS, clock),
        }
    }

    fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), Error> {
        let now = self.by_account.clock().now();
        let wait = |n: governor::NotUntil<_>| Error::LoginThrottled {
            retry_after: n.wait_time_from(now).max(Duration::from_secs(1)),
        };
        if let Some(address) = address {
            self.by_address.check_key(&address).map_err(wait)?;
        }
        self.by_account.check_key(&email.to_owned()).map_err(wait)?;
        Ok(())
    }
}

/// An Argon2id hash (the `argon2` crate's defaults) in PHC format.
pub fn hash_password(password: &str) -> String {
    password_auth::generate_hash(password)
}

/// Checked when the email is unknown, so that the answer takes as long as for a known one.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password_auth::generate_hash("not a password"));

fn verify(password: &str, hash: &str) -> bool {
    password_auth::verify_password(password, hash).is_ok()
}

fn client_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = Login,
    responses(
        (status = 200, description = "A Bearer token", body = LoginToken),
        (status = 401, description = "Wrong email or password (INVALID_CREDENTIALS)", body = mobilepay_wire::ApiError),
        (status = 429, description = "Too many attempts (TOO_MANY_LOGIN_ATTEMPTS), with Retry-After", body = mobilepay_wire::ApiError),
    )
)]
pub async fn login(
    State(state): State<Arc<AppState>>,
    extensions: Extensions,
    ApiJson(body): ApiJson<Login>,
) -> Result<Json<LoginToken>, Error> {
    let email = body.email.trim().to_ascii_lowercase();
    state
        .login_throttle
        .check(&email, client_address(&extensions))?;
    let account: Option<(String, String)> =
        sqlx::query_as("SELECT id, password_hash FROM accounts WHERE email = ?")
            .bind(&email)
            .fetch_optional(&state.db)
            .await?;
    let password = body.password;
    let (account_id, hash) = match account {
        Some((id, hash)) => (Some(id), hash),
        None => (None, DUMMY_HASH.clone()),
    };
    let valid = tokio::task::spawn_blocking(move || verify(&password, &hash))
        .await
        .map_err(|_| Error::Internal)?;
    let Some(account_id) = account_id.filter(|_| valid) else {
        tracing::info!("login refused");
        return Err(Error::InvalidCredentials);
    };
    let token = crate::random_id("mpt_", 40);
    let expires_at = state.clock.unix() + TOKEN_TTL_SECONDS;
    sqlx::query("INSERT INTO login_tokens (token_hash, account_id, expires_at) VALUES (?, ?, ?)")
        .bind(sha256_hex(token.as_bytes()))
        .bind(&account_id)
        .bind(expires_at)
        .execute(&state.db)
        .await?;
    Ok(Json(LoginToken {
        token,
        token_type: "Bearer".to_owned(),
        expires_at: rfc3339_unix(expires_at),
    }))
}
