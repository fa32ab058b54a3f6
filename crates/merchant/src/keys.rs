//! The merchant's API keys: `Authorization: Bearer mk_…` on every `/v1` route.
//!
//! Several keys are valid at once, so that a key is rotated without downtime: create the new
//! one, deploy it to the shop, revoke the old one. Keys come from two places: created by
//! `mobilepay-merchant keys create` (stored, valid until `keys revoke`), and the configuration
//! (`MERCHANT_API_KEYS`, valid while configured). Only a key's SHA-256 is kept, in the database
//! and in memory alike.
//!
//! Why SHA-256 rather than a password hash: a created key is 256 random bits, so nobody can
//! guess a preimage of its digest, slowly or fast; a slow hash (argon2) protects guessable
//! passwords and would cost every API request tens of milliseconds. And a fast digest can be
//! looked up by an index, which a salted hash cannot.
//!
//! Must not: write a key, or anything from which one could be recovered, to a log, an answer
//! or a `Debug`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db::{Db, now};
use crate::error::Error;
use crate::ids;

/// The prefix of every merchant API key.
pub const PREFIX: &str = "mk_";
/// Requests one key may make a second (bursts of twice as many): far above what a shop's
/// server needs, low enough that a leaked key cannot flood the database.
pub const REQUESTS_PER_SECOND: u32 = 100;
/// How often a key's `last_used_at` is written, at most: once a minute is precise enough to
/// tell a key in use from an abandoned one, and spares the database a write per request.
const USE_RECORDED_EVERY_SECONDS: i64 = 60;

/// The SHA-256 of `key`, lower-case hex.
pub fn digest(key: &str) -> String {
    ids::hex(&Sha256::digest(key.as_bytes()))
}

/// The id a configured key is known by: derived from its digest, so that every instance with
/// the same configuration names it alike (and names it without the key).
fn configured_id(digest: &str) -> String {
    format!("key_cfg_{}", &digest[..16])
}

/// The first characters of a key, to recognise it in `keys list`.
fn hint(key: &str) -> String {
    let shown: String = key.chars().take(12).collect();
    format!("{shown}…")
}

/// The keys of the configuration (`MERCHANT_API_KEYS`), as digests only.
#[derive(Clone, Default)]
pub struct ConfiguredKeys {
    /// (digest, id, hint)
    keys: Vec<(String, String, String)>,
}

impl std::fmt::Debug for ConfiguredKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfiguredKeys({} keys)", self.keys.len())
    }
}

impl ConfiguredKeys {
    /// `keys`, each an `mk_…` key of at least 16 characters (a demo's `mk_test_demo_shop` is
    /// one; a real one should come from `keys create`).
    pub fn new(keys: &[&str]) -> anyhow::Result<ConfiguredKeys> {
        let mut out = ConfiguredKeys::default();
        for key in keys {
            if !key.starts_with(PREFIX)
                || key.len() < 16
                || !key.bytes().all(|b| b.is_ascii_graphic())
            {
                anyhow::bail!(
                    "MERCHANT_API_KEYS must be mk_… keys of at least 16 visible characters, \
                     comma-separated"
                );
            }
            let digest = digest(key);
            let id = configured_id(&digest);
            out.keys.push((digest, id, hint(key)));
        }
        Ok(out)
    }

    /// Parses the comma-separated list of `MERCHANT_API_KEYS`.
    pub fn parse(list: &str) -> anyhow::Result<ConfiguredKeys> {
        let keys: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        ConfiguredKeys::new(&keys)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn find(&self, digest: &str) -> Option<&(String, String, String)> {
        self.keys.iter().find(|(d, _, _)| d == digest)
    }
}

/// The authenticated key of a `/v1` request, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId(pub String);

/// The keys' run-time side: configured digests, when each key's use was last written, and the
/// per-key request limit.
pub struct Keys {
    configured: ConfiguredKeys,
    recorded: Mutex<HashMap<String, i64>>,
    limiter: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("configured", &self.configured)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// `per_second` requests a key may make, with bursts of twice as many.
    pub fn new(configured: ConfiguredKeys, per_second: u32) -> Keys {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
        Keys {
            configured,
            recorded: Mutex::new(HashMap::new()),
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        }
    }

    /// The id of the valid key `presented`, if it is one.
    pub async fn authenticate(&self, db: &Db, presented: &str) -> Result<Option<String>, Error> {
        let digest = digest(presented);
        if let Some((digest, id, hint)) = self.configured.find(&digest) {
            self.record_use(db, id, Some((digest, hint))).await;
            return Ok(Some(id.clone()));
        }
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM api_keys WHERE hash = $1 AND source = 'cli' AND revoked_at IS NULL",
        )
        .bind(&digest)
        .fetch_optional(&db.pool)
        .await?;
        if let Some(id) = &id {
            self.record_use(db, id, None).await;
        }
        Ok(id)
    }

    /// Writes `last_used_at`, at most once a minute per key and instance. A configured key's
    /// row is created at its first use, so that `keys list` shows it too.
    async fn record_use(&self, db: &Db, id: &str, configured: Option<(&String, &String)>) {
        let at = now();
        {
            let mut recorded = self
                .recorded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if recorded
                .get(id)
                .is_some_and(|last| at - last < USE_RECORDED_EVERY_SECONDS)
            {
                return;
            }
            recorded.insert(id.to_owned(), at);
        }
        let written =
            match configured {
                Some((digest, hint)) => sqlx::query(
                    "INSERT INTO api_keys (id, hash, hint, label, source, created_at, last_used_at)
                     VALUES ($1, $2, $3, 'MERCHANT_API_KEYS', 'config', $4, $5)
                     ON CONFLICT (id) DO UPDATE SET last_used_at = excluded.last_used_at",
                )
                .bind(id)
                .bind(digest)
                .bind(hint)
                .bind(at)
                .bind(at)
                .execute(&db.pool)
                .await,
                None => {
                    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                        .bind(at)
                        .bind(id)
                        .execute(&db.pool)
                        .await
                }
            };
        if let Err(error) = written {
            tracing::warn!(%error, key_id = id, "last use of an API key not recorded");
        }
    }

    fn check_rate(&self, id: &str) -> Result<(), Error> {
        self.limiter.check_key(&id.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::TooManyRequests {
                retry_after: wait.max(std::time::Duration::from_secs(1)),
            }
        })
    }
}

/// The middleware of every `/v1` route: a valid `Authorization: Bearer mk_…` or `401
/// UNAUTHORIZED`; the key's id goes into the request's extensions ([`KeyId`]).
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| key.starts_with(PREFIX));
    let Some(presented) = presented else {
        return Error::Unauthorized.into_response();
    };
    let id = match state.keys.authenticate(&state.sessions.db, presented).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            tracing::info!("request with an unknown or revoked API key");
            return Error::Unauthorized.into_response();
        }
        Err(error) => return error.into_response(),
    };
    if let Err(error) = state.keys.check_rate(&id) {
        return error.into_response();
    }
    request.extensions_mut().insert(KeyId(id));
    next.run(request).await
}

/// A stored key, as `keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: String,
    pub hint: String,
    pub label: String,
    pub source: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// Creates a key labelled `label`; returns its id and the key, which is shown once and
/// stored only as its digest.
pub async fn create(db: &Db, label: &str) -> anyhow::Result<(String, String)> {
    let id = ids::random_token("key_", 8);
    let key = create_with_id(db, &id, label)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a random key id was taken"))?;
    Ok((id, key))
}

/// [`create`] under the id `id` chosen by the caller (the console derives it from its form, so
/// that a form sent twice makes one key); `None`, and nothing created, if `id` exists already.
pub async fn create_with_id(db: &Db, id: &str, label: &str) -> anyhow::Result<Option<String>> {
    let key = ids::random_token("mk_live_", 32);
    let inserted = sqlx::query(
        "INSERT INTO api_keys (id, hash, hint, label, source, created_at) VALUES ($1, $2, $3, $4, 'cli', $5)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(digest(&key))
    .bind(hint(&key))
    .bind(label)
    .bind(now())
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok((inserted == 1).then_some(key))
}

/// Revokes the created key `id`; `false` if there is no such key (or it was revoked already).
/// A configured key is revoked by removing it from `MERCHANT_API_KEYS`.
pub async fn revoke(db: &Db, id: &str) -> anyhow::Result<bool> {
    let revoked = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND source = 'cli' AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(revoked == 1)
}

/// Every key ever created or used, oldest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<StoredKey>> {
    type Row = (
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, hint, label, source, created_at, revoked_at, last_used_at FROM api_keys ORDER BY created_at, id",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, hint, label, source, created_at, revoked_at, last_used_at)| StoredKey {
                id,
                hint,
                label,
                source,
                created_at,
                revoked_at,
                last_used_at,
            },
        )
        .collect())
}

/// `mobilepay-merchant keys …`: the merchant's API keys, in the backend's database.
#[derive(Debug, clap::Parser)]
#[command(
    name = "mobilepay-merchant keys",
    about = "Create, revoke and list the merchant API keys (Authorization: Bearer mk_… on /v1)"
)]
pub struct KeysArgs {
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://mobilepay-merchant.sqlite3?mode=rwc"
    )]
    pub database_url: String,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Creates a key and prints it, once: only its digest is stored.
    Create {
        /// What the key is for ("shop backend", "staging").
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revokes a created key by its id (key_…): it is refused from then on.
    Revoke { id: String },
    /// Lists the keys: id, first characters, label, source, creation, last use, revocation.
    List,
}

/// Runs a `keys` command, printing its result on standard output.
pub async fn run_cli(args: KeysArgs) -> anyhow::Result<()> {
    let db = Db::connect(&args.database_url).await?;
    match args.command {
        KeysCommand::Create { label } => {
            let (id, key) = create(&db, &label).await?;
            println!("{id}\n{key}");
            eprintln!("The key is shown this once; only its SHA-256 is stored.");
        }
        KeysCommand::Revoke { id } => {
            if !revoke(&db, &id).await? {
                anyhow::bail!(
                    "no active created key has the id {id:?} (a configured key is revoked by \
                     removing it from MERCHANT_API_KEYS)"
                );
            }
            println!("revoked {id}");
        }
        KeysCommand::List => {
            let time = |t: Option<i64>| t.map_or_else(|| "-".to_owned(), crate::db::rfc3339);
            println!("id\thint\tlabel\tsource\tcreated_at\tlast_used_at\trevoked_at");
            for key in list(&db).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.hint,
                    key.label,
                    key.source,
                    crate::db::rfc3339(key.created_at),
                    time(key.last_used_at),
                    time(key.revoked_at),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_keys_keep_digests_only_and_never_show_them() {
        let keys =
            ConfiguredKeys::parse("mk_test_demo_shop, mk_live_0123456789abcdef").expect("valid");
        assert_eq!(keys.len(), 2);
        let debug = format!("{keys:?}");
        assert_eq!(debug, "ConfiguredKeys(2 keys)");
        assert!(keys.find(&digest("mk_test_demo_shop")).is_some());
        assert!(keys.find(&digest("mk_test_demo_shoq")).is_none());
        assert!(
            !keys
                .keys
                .iter()
                .any(|(d, id, _)| d.contains("demo") || id.contains("demo"))
        );
    }

    #[test]
    fn a_configured_key_that_is_not_an_mk_key_is_refused() {
        assert!(ConfiguredKeys::parse("sk_test_demo_merchant").is_err());
        assert!(ConfiguredKeys::parse("mk_short").is_err());
        assert!(ConfiguredKeys::parse("").expect("none is valid").is_empty());
    }
}
