//! Every failure the sandbox answers, as `{error_code, error_message}` with a stable code and a
//! French message (the seed's language). Details that help debugging go to the log only.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mobilepay_wire::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("missing bearer token")]
    MissingToken,
    #[error("unknown API key")]
    InvalidToken,
    #[error("live key sent to the sandbox")]
    LiveKeyRefused,
    #[error("malformed JSON body: {0}")]
    InvalidJson(String),
    #[error("invalid field {field}: {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    #[error("merchant_id does not belong to the key's account")]
    MerchantMismatch,
    #[error("payment not found")]
    PaymentNotFound,
    #[error("payment already settled")]
    PaymentAlreadySettled,
    #[error("payment expired")]
    PaymentExpired,
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("internal error")]
    Internal,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::MissingToken | Error::InvalidToken | Error::LiveKeyRefused => {
                StatusCode::UNAUTHORIZED
            }
            Error::InvalidJson(_) | Error::InvalidField { .. } => StatusCode::BAD_REQUEST,
            Error::MerchantMismatch => StatusCode::FORBIDDEN,
            Error::PaymentNotFound | Error::NotFound => StatusCode::NOT_FOUND,
            Error::PaymentAlreadySettled | Error::PaymentExpired => StatusCode::CONFLICT,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, documented code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingToken => "UNAUTHENTICATED",
            Error::InvalidToken => "INVALID_API_KEY",
            Error::LiveKeyRefused => "LIVE_KEY_REFUSED",
            Error::InvalidJson(_) => "INVALID_JSON",
            Error::InvalidField { .. } => "INVALID_PARAMETER",
            Error::MerchantMismatch => "MERCHANT_MISMATCH",
            Error::PaymentNotFound => "PAYMENT_NOT_FOUND",
            Error::PaymentAlreadySettled => "PAYMENT_ALREADY_SETTLED",
            Error::PaymentExpired => "PAYMENT_EXPIRED",
            Error::NotFound => "NOT_FOUND",
            Error::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Error::Internal => "INTERNAL_ERROR",
        }
    }

    fn message(&self) -> String {
        match self {
            Error::MissingToken => "En-tête Authorization: Bearer manquant".into(),
            Error::InvalidToken => "Clé API invalide".into(),
            Error::LiveKeyRefused => {
                "Clé de production refusée : le bac à sable n'accepte que les clés sk_test_…".into()
            }
            Error::InvalidJson(_) => "Corps JSON invalide".into(),
            Error::InvalidField { field, reason } => {
                format!("Paramètre {field} invalide : {reason}")
            }
            Error::MerchantMismatch => {
                "Ce merchant_id n'appartient pas au compte de la clé API".into()
            }
            Error::PaymentNotFound => "Paiement introuvable".into(),
            Error::PaymentAlreadySettled => "Ce paiement est déjà réglé".into(),
            Error::PaymentExpired => "Ce paiement a expiré".into(),
            Error::NotFound => "Ressource introuvable".into(),
            Error::MethodNotAllowed => "Méthode non autorisée".into(),
            Error::Internal => "Erreur interne".into(),
        }
    }

    pub fn body(&self) -> ApiError {
        ApiError {
            error_code: self.code().to_owned(),
            error_message: self.message(),
        }
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        Error::InvalidJson(rejection.body_text())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
        (self.status(), Json(self.body())).into_response()
    }
}

/// `Json` whose rejection is our error shape rather than axum's plain text.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);
