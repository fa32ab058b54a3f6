//! Every failure the merchant backend answers, as `{error_code, error_message}` with a stable
//! code. The widget shows shoppers a message of its own, in their language, chosen by the code.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mobilepay_wire::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed JSON body: {0}")]
    InvalidJson(String),
    #[error("order_id is not a valid order reference")]
    InvalidOrderId,
    #[error("unknown order")]
    OrderNotFound,
    #[error("unknown session, or wrong capability")]
    SessionNotFound,
    #[error("webhook signature missing or invalid")]
    InvalidSignature,
    #[error("webhook body is not a MOBILE-PAY event")]
    InvalidWebhook,
    #[error("MOBILE-PAY is unreachable")]
    ProviderUnavailable,
    #[error("MOBILE-PAY is rate limiting this merchant")]
    ProviderBusy { retry_after: Duration },
    #[error("MOBILE-PAY refused the request: {0}")]
    ProviderError(String),
    #[error("too many session requests from one address")]
    TooManyRequests { retry_after: Duration },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database does not answer")]
    NotReady,
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("internal error")]
    Internal,
    #[error("missing, unknown or revoked API key")]
    Unauthorized,
    /// A field or parameter out of its documented bounds; the message says which and how.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    #[error("unknown checkout")]
    CheckoutNotFound,
    #[error("the checkout is not open")]
    CheckoutNotOpen,
    #[error("the checkout was canceled")]
    CheckoutCanceled,
    #[error("the checkout expired")]
    CheckoutExpired,
    #[error("an open checkout has this reference with another amount")]
    ReferenceInUse,
    #[error("Idempotency-Key is not 1 to 255 visible ASCII characters")]
    InvalidIdempotencyKey,
    #[error("Idempotency-Key reused for another request")]
    IdempotencyKeyReused,
    #[error("the first request with this Idempotency-Key has not answered yet")]
    IdempotencyInProgress,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::InvalidJson(_)
            | Error::InvalidOrderId
            | Error::InvalidWebhook
            | Error::InvalidParameter(_)
            | Error::InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            Error::OrderNotFound
            | Error::SessionNotFound
            | Error::NotFound
            | Error::CheckoutNotFound => StatusCode::NOT_FOUND,
            Error::InvalidSignature | Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::CheckoutNotOpen
            | Error::CheckoutCanceled
            | Error::CheckoutExpired
            | Error::ReferenceInUse
            | Error::IdempotencyInProgress => StatusCode::CONFLICT,
            Error::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Error::ProviderUnavailable | Error::ProviderError(_) => StatusCode::BAD_GATEWAY,
            Error::ProviderBusy { .. } | Error::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Database(_) | Error::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, documented code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidJson(_) => "INVALID_JSON",
            Error::InvalidOrderId => "INVALID_ORDER_ID",
            Error::OrderNotFound => "ORDER_NOT_FOUND",
            Error::SessionNotFound => "SESSION_NOT_FOUND",
            Error::InvalidSignature => "INVALID_SIGNATURE",
            Error::InvalidWebhook => "INVALID_WEBHOOK",
            Error::ProviderUnavailable => "PAYMENT_PROVIDER_UNAVAILABLE",
            Error::ProviderBusy { .. } => "PAYMENT_PROVIDER_BUSY",
            Error::ProviderError(_) => "PAYMENT_PROVIDER_ERROR",
            Error::NotFound => "NOT_FOUND",
            Error::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Error::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Error::NotReady => "NOT_READY",
            Error::Database(_) | Error::Internal => "INTERNAL_ERROR",
            Error::Unauthorized => "UNAUTHORIZED",
            Error::InvalidParameter(_) => "INVALID_PARAMETER",
            Error::CheckoutNotFound => "CHECKOUT_NOT_FOUND",
            Error::CheckoutNotOpen => "CHECKOUT_NOT_OPEN",
            Error::CheckoutCanceled => "CHECKOUT_CANCELED",
            Error::CheckoutExpired => "CHECKOUT_EXPIRED",
            Error::ReferenceInUse => "REFERENCE_IN_USE",
            Error::InvalidIdempotencyKey => "INVALID_IDEMPOTENCY_KEY",
            Error::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Error::IdempotencyInProgress => "IDEMPOTENCY_KEY_IN_PROGRESS",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            Error::InvalidJson(_) => "The request body is not the expected JSON",
            Error::InvalidOrderId => "order_id must be 1 to 64 letters, digits, '-' or '_'",
            Error::OrderNotFound => "No order has this order_id",
            Error::SessionNotFound => "No such checkout session",
            Error::InvalidSignature => "Webhook signature missing or invalid",
            Error::InvalidWebhook => "The webhook body is not a MOBILE-PAY event",
            Error::ProviderUnavailable => "The payment service cannot be reached; try again",
            Error::ProviderBusy { .. } => "The payment service is busy; try again shortly",
            Error::ProviderError(_) => "The payment service refused the payment",
            Error::NotFound => "No such resource",
            Error::MethodNotAllowed => "Method not allowed",
            Error::TooManyRequests { .. } => "Too many requests; try again shortly",
            Error::NotReady => "Not ready: the database does not answer",
            Error::Database(_) | Error::Internal => "Internal error",
            Error::Unauthorized => {
                "A valid merchant API key is required: Authorization: Bearer mk_…"
            }
            Error::InvalidParameter(message) => message,
            Error::CheckoutNotFound => "No checkout has this id",
            Error::CheckoutNotOpen => "Only an open checkout can be canceled",
            Error::CheckoutCanceled => "This checkout was canceled: it can no longer be paid",
            Error::CheckoutExpired => "This checkout expired: it can no longer be paid",
            Error::ReferenceInUse => {
                "An open checkout has this reference with another amount; cancel it first"
            }
            Error::InvalidIdempotencyKey => {
                "Idempotency-Key must be 1 to 255 visible ASCII characters"
            }
            Error::IdempotencyKeyReused => {
                "This Idempotency-Key was used for another method, path or body"
            }
            Error::IdempotencyInProgress => {
                "The first request with this Idempotency-Key has not answered yet; retry later"
            }
        }
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        Error::InvalidJson(rejection.body_text())
    }
}

impl From<mobilepay_client::Error> for Error {
    fn from(error: mobilepay_client::Error) -> Self {
        // The detail goes to the log; the shopper's browser gets a stable code only.
        tracing::error!(%error, "MOBILE-PAY call failed");
        match error {
            mobilepay_client::Error::Transport(_) => Error::ProviderUnavailable,
            mobilepay_client::Error::RateLimited { retry_after } => {
                Error::ProviderBusy { retry_after }
            }
            mobilepay_client::Error::Unauthorized { error_code }
            | mobilepay_client::Error::InvalidRequest { error_code, .. }
            | mobilepay_client::Error::Api { error_code, .. } => Error::ProviderError(error_code),
            mobilepay_client::Error::InsufficientFunds => {
                Error::ProviderError("INSUFFICIENT_FUNDS".to_owned())
            }
            mobilepay_client::Error::RecipientNotFound => {
                Error::ProviderError("RECIPIENT_NOT_FOUND".to_owned())
            }
            mobilepay_client::Error::TransactionDeclined => {
                Error::ProviderError("TRANSACTION_DECLINED".to_owned())
            }
            mobilepay_client::Error::Decode { status } => {
                Error::ProviderError(format!("undecodable answer ({status})"))
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
        let body = Json(ApiError {
            error_code: self.code().to_owned(),
            error_message: self.message().to_owned(),
        });
        let mut response = (self.status(), body).into_response();
        if let Error::ProviderBusy { retry_after } | Error::TooManyRequests { retry_after } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// `Json` whose rejection is our error shape rather than axum's plain text.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);
