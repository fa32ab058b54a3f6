//! The console's changes go through `/v1` itself, in-process: the same routes, handlers and
//! `Idempotency-Key` layer as a shop's server gets, without a network hop or an API key (the
//! console's own [`super::guard`] has signed the operator in). A refund made in the console is
//! thus made exactly as `POST /v1/refunds` makes it, and a form submitted twice carries the same
//! `Idempotency-Key` twice, so it acts once and the second answer is the first one's, replayed.
//!
//! Must not: hand `/v1`'s JSON to a page as is. Callers read it and render their own words.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use axum::middleware::from_fn_with_state;
use mobilepay_wire::ApiError;
use sha2::{Digest, Sha256};

use super::PageError;
use crate::AppState;
use crate::{idempotency, routes};

/// The largest `/v1` answer read (a page of events with their attempts is far smaller).
const MAX_ANSWER: usize = 4 << 20;

/// `/v1`'s routes, built once: building them also builds their OpenAPI description.
static ROUTES: LazyLock<Router<Arc<AppState>>> =
    LazyLock::new(|| routes::v1::api().split_for_parts().0);

/// `/v1`'s routes behind its `Idempotency-Key` layer, without the API-key layer.
fn api(state: &Arc<AppState>) -> Router {
    ROUTES
        .clone()
        .route_layer(from_fn_with_state(Arc::clone(state), idempotency::layer))
        .with_state(Arc::clone(state))
}

/// A `/v1` answer: its status and its JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Answer {
    /// The body as `T`, if the answer succeeded and is one.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, PageError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            tracing::error!(%error, status = %self.status, "a /v1 answer the console cannot read");
            PageError::Internal
        })
    }

    /// The error code of a failed answer (`INTERNAL_ERROR` when it has none).
    pub fn error_code(&self) -> String {
        serde_json::from_slice::<ApiError>(&self.body)
            .map(|e| e.error_code)
            .unwrap_or_else(|_| "INTERNAL_ERROR".to_owned())
    }
}

/// Sends `method path` with `body` (JSON) to `/v1`, with `idempotency_key` if given.
pub async fn call(
    state: &Arc<AppState>,
    method: Method,
    path: &str,
    idempotency_key: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<Answer, PageError> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(key) = idempotency_key {
        request = request.header(idempotency::HEADER, key);
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(json).map_err(|_| PageError::Internal)?)
        }
        None => Body::empty(),
    };
    let request = request.body(body).map_err(|error| {
        tracing::error!(%error, "building an in-process /v1 request");
        PageError::Internal
    })?;
    // A Router is always ready: no `poll_ready` needed.
    let response = match tower_service::Service::call(&mut api(state), request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), MAX_ANSWER)
        .await
        .map_err(|_| PageError::Internal)?;
    if status.is_server_error() {
        tracing::error!(%status, path, "a /v1 call from the console failed");
    }
    Ok(Answer { status, body })
}

/// The `Idempotency-Key` of a console form: derived from the random token the form was
/// rendered with (its hidden `form` field), so that submitting that form twice sends the same
/// key, and from what the form does (`kind`), so that no two forms share one. `None` when the
/// token is not one the console renders.
pub fn form_key(kind: &str, token: &str) -> Option<String> {
    let valid = token.len() == FORM_TOKEN_LEN
        && token.starts_with(FORM_TOKEN_PREFIX)
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| {
        let digest = Sha256::digest(format!("console-{kind}:{token}").as_bytes());
        format!("console-{kind}-{}", &crate::ids::hex(&digest)[..40])
    })
}

const FORM_TOKEN_PREFIX: &str = "form_";
/// `form_` and 24 random bytes in hex.
const FORM_TOKEN_LEN: usize = FORM_TOKEN_PREFIX.len() + 48;

/// A fresh token for a form that changes something: each rendering of the form gets its own.
pub fn form_token() -> String {
    crate::ids::random_token(FORM_TOKEN_PREFIX, 24)
}

#[cfg(test)]
mod tests {
    use super::{form_key, form_token};

    #[test]
    fn a_form_always_has_the_same_key_and_two_forms_or_two_actions_never_share_one() {
        let token = form_token();
        let key = form_key("refund", &token).expect("a rendered token");
        assert_eq!(form_key("refund", &token), Some(key.clone()));
        assert_ne!(form_key("refund", &form_token()), Some(key.clone()));
        assert_ne!(form_key("redeliver", &token), Some(key.clone()));
        assert!(!key.contains(&token[5..]), "the token itself is not sent");
        assert!(key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()));
        for forged in ["", "form_", "form_zz", &format!("{token}x")] {
            assert_eq!(form_key("refund", forged), None, "{forged:?}");
        }
    }
}
