//! Who is signed in to the console, and proof that a form came from the console itself.
//!
//! - Sessions: a random token in a cookie (`HttpOnly; Secure; SameSite=Strict; Path=/console`),
//!   kept in `console_sessions` as its SHA-256 only, with an absolute expiry. A new token at each
//!   login (no fixation); logout deletes the row.
//! - CSRF: each session has a synchronizer token that every form carries back in its `csrf`
//!   field, compared in constant time. The login form, which has no session yet, carries a
//!   pre-session token that must equal its own cookie's.
//! - Login attempts are throttled per account and per client address (`governor`), before the
//!   password is checked; an unknown email is checked against a dummy hash so that it answers
//!   as slowly as a known one.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use governor::clock::{Clock as _, DefaultClock};
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::db::{Db, now};
use crate::ids::random_token;

/// The session cookie.
pub const SESSION_COOKIE: &str = "mp_console_session";
/// The login form's pre-session cookie (its CSRF token).
pub const LOGIN_COOKIE: &str = "mp_console_login";
/// How long a session lasts from its login, whatever is done with it.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Attempts allowed per account and per address, each refilling over [`REFILL`].
pub const PER_ACCOUNT: u32 = 10;
pub const PER_ADDRESS: u32 = 30;
const REFILL: Duration = Duration::from_secs(15 * 60);

/// A cookie of the console: never readable by scripts, never sent by another site, only over
/// HTTPS (browsers count `http://localhost` and `127.0.0.1` as secure too).
pub fn set_cookie(name: &str, value: &str, max_age: Duration) -> HeaderValue {
    let cookie = cookie::Cookie::build((name, value))
        .path("/console")
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of cookie `name` in a request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a presented token equals the expected one, in time that does not depend on where
/// they differ. An empty expected token matches nothing.
pub fn tokens_match(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// A signed-in operator, read from the session cookie.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: String,
    pub email: String,
    /// The synchronizer token the session's forms carry.
    pub csrf: String,
    /// The session's key in `console_sessions`, for logout.
    token_hash: String,
}

/// Sessions in the database.
#[derive(Debug, Clone)]
pub struct SessionStore {
    db: Db,
}

impl SessionStore {
    pub fn new(db: Db) -> Self {
        SessionStore { db }
    }

    /// Opens a session for `operator_id`: the cookie's token (to be set) is returned, its hash
    /// stored. Expired sessions of anyone are swept at the same time.
    pub async fn open(&self, operator_id: &str) -> Result<String, sqlx::Error> {
        let token = random_token("cs_", 32);
        let at = now();
        let ttl = i64::try_from(SESSION_TTL.as_secs()).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(at)
            .execute(&self.db.pool)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, operator_id, csrf_token, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(sha256_hex(&token))
        .bind(operator_id)
        .bind(random_token("csrf_", 32))
        .bind(at + ttl)
        .bind(at)
        .execute(&self.db.pool)
        .await?;
        Ok(token)
    }

    /// The operator whose unexpired session the request's cookie names.
    pub async fn operator(&self, headers: &HeaderMap) -> Result<Option<Operator>, sqlx::Error> {
        let Some(token) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let token_hash = sha256_hex(&token);
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT o.id, o.email, s.csrf_token FROM console_sessions s \
             JOIN console_operators o ON o.id = s.operator_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(&token_hash)
        .bind(now())
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.map(|(id, email, csrf)| Operator {
            id,
            email,
            csrf,
            token_hash,
        }))
    }

    pub async fn close(&self, operator: &Operator) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(&operator.token_hash)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

type Keyed<K> = RateLimiter<
    K,
    governor::state::keyed::DefaultKeyedStateStore<K>,
    DefaultClock,
    governor::middleware::NoOpMiddleware,
>;

/// Login attempts per account and per client address.
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

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            by_account: RateLimiter::keyed(quota(PER_ACCOUNT)),
            by_address: RateLimiter::keyed(quota(PER_ADDRESS)),
        }
    }
}

impl Throttle {
    /// Counts one attempt; `Err(wait)` when the account or the address has none left.
    pub fn check(&self, email: &str, address: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(now).max(Duration::from_secs(1));
        self.by_address.check_key(&address).map_err(wait)?;
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
    LazyLock::new(|| password_auth::generate_hash("not a password at all"));

/// Whether `password` matches `hash`, or — `hash` being `None` — the same work for nothing.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or(DUMMY_HASH.as_str());
    let matches = password_auth::verify_password(password, hash).is_ok();
    known && matches
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{PER_ACCOUNT, Throttle, cookie, hash_password, tokens_match, verify_password};

    #[test]
    fn a_csrf_token_matches_only_itself_and_an_empty_one_matches_nothing() {
        assert!(tokens_match("csrf_abc", "csrf_abc"));
        assert!(!tokens_match("csrf_abc", "csrf_abd"));
        assert!(!tokens_match("csrf_abc", "csrf_ab"));
        assert!(!tokens_match("", ""));
    }

    #[test]
    fn cookies_are_read_by_name_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mp_console_session=cs_x; b=2"),
        );
        assert_eq!(
            cookie(&headers, "mp_console_session").as_deref(),
            Some("cs_x")
        );
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("wrong horse battery", Some(&hash)));
        assert!(!verify_password("not a password at all", None));
    }

    #[test]
    fn an_account_is_throttled_after_its_attempts_whatever_the_address() {
        let throttle = Throttle::default();
        for i in 0..PER_ACCOUNT {
            let address = IpAddr::V4(Ipv4Addr::new(10, 0, 0, u8::try_from(i).expect("small")));
            assert!(
                throttle.check("a@shop.test", address).is_ok(),
                "attempt {i}"
            );
        }
        let wait = throttle
            .check("a@shop.test", IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)))
            .expect_err("throttled");
        assert!(wait.as_secs() >= 1);
        assert!(
            throttle
                .check("b@shop.test", IpAddr::V4(Ipv4Addr::LOCALHOST))
                .is_ok()
        );
    }
}
