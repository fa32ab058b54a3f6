//! Bearer authentication — API keys (`sk_test_…`) and login tokens alike — and, in the same
//! middleware, the rate limit of the caller's tier.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::accounts::Tier;
use crate::error::Error;
use crate::{AppState, sha256_hex};

/// Who a request acts for.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub merchant_id: String,
    pub tier: Tier,
    /// What the rate limit and idempotency keys are counted against: the key or token itself
    /// (by its hash), so two keys of one account have separate quotas, as the seed's tiers say.
    pub subject: String,
}

/// Resolves the caller, enforces its tier's rate limit, and reports the quota left on every
/// answer.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match resolve(&state, request.headers().get(AUTHORIZATION)).await {
        Ok(principal) => principal,
        Err(error) => return error.into_response(),
    };
    let quota = state.limits.check(&principal);
    let mut response = match quota.retry_after {
        Some(retry_after) => Error::RateLimited { retry_after }.into_response(),
        None => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
    };
    quota.write_headers(response.headers_mut());
    response
}

async fn resolve(
    state: &AppState,
    header: Option<&axum::http::HeaderValue>,
) -> Result<Principal, Error> {
    let token = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Error::MissingToken)?;
    if token.starts_with("sk_live_") {
        return Err(Error::LiveKeyRefused);
    }
    let hash = sha256_hex(token.as_bytes());
    let row: Option<(String, String, String)> = if token.starts_with("sk_") {
        sqlx::query_as(
            "SELECT a.id, a.merchant_id, k.tier FROM api_keys k JOIN accounts a ON a.id = k.account_id
             WHERE k.key_hash = ?",
        )
        .bind(&hash)
        .fetch_optional(&state.db)
        .await?
    } else {
        sqlx::query_as(
            "SELECT a.id, a.merchant_id, a.tier FROM login_tokens t JOIN accounts a ON a.id = t.account_id
             WHERE t.token_hash = ? AND t.expires_at > ?",
        )
        .bind(&hash)
        .bind(state.clock.unix())
        .fetch_optional(&state.db)
        .await?
    };
    let (account_id, merchant_id, tier) = row.ok_or(Error::InvalidToken)?;
    Ok(Principal {
        account_id,
        merchant_id,
        tier: Tier::parse(&tier).ok_or(Error::Internal)?,
        subject: hash,
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only routes behind `authenticate` extract a principal; elsewhere this is a bug.
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(Error::Internal)
    }
}
