//! Every failure the sandbox answers, as `{error_code, error_message}` with a stable code
//! (`docs/errors.md` lists them all). Messages are French, as MOBILE-PAY's own ("Solde
//! insuffisant"), or English when `Accept-Language` prefers it ([`localize`]). Details that help
//! debugging go to the log, never to the client.

use std::time::Duration;

use axum::Json;
use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mobilepay_wire::ApiError;

/// Why a transfer or payment was refused: each is also the `error_code` of its
/// `transaction.failed` webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    InsufficientFunds,
    RecipientNotFound,
    TransactionDeclined,
    PaymentCancelled,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Refusal::RecipientNotFound => "RECIPIENT_NOT_FOUND",
            Refusal::TransactionDeclined => "TRANSACTION_DECLINED",
            Refusal::PaymentCancelled => "PAYMENT_CANCELLED",
        }
    }

    /// French, as the seed's webhook writes it.
    pub fn message_fr(self) -> &'static str {
        match self {
            Refusal::InsufficientFunds => "Solde insuffisant",
            Refusal::RecipientNotFound => "Destinataire introuvable",
            Refusal::TransactionDeclined => "Transaction refusée",
            Refusal::PaymentCancelled => "Paiement annulé par le client",
        }
    }

    /// Its `transaction.failed` webhook, about `transaction_id`.
    pub fn failed_event(self, transaction_id: &str) -> mobilepay_wire::webhook::EventKind {
        mobilepay_wire::webhook::EventKind::TransactionFailed(
            mobilepay_wire::webhook::TransactionFailed {
                transaction_id: transaction_id.to_owned(),
                error_code: self.code().to_owned(),
                error_message: self.message_fr().to_owned(),
            },
        )
    }

    fn message_en(self) -> &'static str {
        match self {
            Refusal::InsufficientFunds => "Insufficient funds",
            Refusal::RecipientNotFound => "Recipient not found",
            Refusal::TransactionDeclined => "Transaction declined",
            Refusal::PaymentCancelled => "Payment cancelled by the customer",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("missing bearer token")]
    MissingToken,
    #[error("unknown API key or token")]
    InvalidToken,
    #[error("live key sent to the sandbox")]
    LiveKeyRefused,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("too many login attempts")]
    LoginThrottled { retry_after: Duration },
    #[error("rate limit reached")]
    RateLimited { retry_after: Duration },
    #[error("malformed JSON body: {0}")]
    InvalidJson(String),
    #[error("invalid field {field}")]
    InvalidField {
        field: &'static str,
        fr: &'static str,
        en: &'static str,
    },
    #[error("invalid phone number")]
    InvalidPhone,
    #[error("unsupported country")]
    UnsupportedCountry,
    #[error("phone and country disagree")]
    CountryMismatch,
    #[error("refused: {0:?}")]
    Refused(Refusal, String),
    #[error("merchant_id does not belong to the key's account")]
    MerchantMismatch,
    #[error("payment not found")]
    PaymentNotFound,
    #[error("payment already settled")]
    PaymentAlreadySettled,
    #[error("payment expired")]
    PaymentExpired,
    #[error("delivery not found")]
    DeliveryNotFound,
    #[error("Idempotency-Key reused with another request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is in progress")]
    IdempotencyInProgress,
    #[error("invalid Idempotency-Key")]
    InvalidIdempotencyKey,
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::MissingToken
            | Error::InvalidToken
            | Error::LiveKeyRefused
            | Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Error::LoginThrottled { .. } | Error::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Error::InvalidJson(_)
            | Error::InvalidField { .. }
            | Error::InvalidPhone
            | Error::UnsupportedCountry
            | Error::CountryMismatch
            | Error::InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            Error::Refused(Refusal::InsufficientFunds, _) => StatusCode::PAYMENT_REQUIRED,
            Error::Refused(..) | Error::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Error::MerchantMismatch => StatusCode::FORBIDDEN,
            Error::PaymentNotFound | Error::DeliveryNotFound | Error::NotFound => {
                StatusCode::NOT_FOUND
            }
            Error::PaymentAlreadySettled | Error::PaymentExpired | Error::IdempotencyInProgress => {
                StatusCode::CONFLICT
            }
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Database(_) | Error::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, documented code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingToken => "UNAUTHENTICATED",
            Error::InvalidToken => "INVALID_API_KEY",
            Error::LiveKeyRefused => "LIVE_KEY_REFUSED",
            Error::InvalidCredentials => "INVALID_CREDENTIALS",
            Error::LoginThrottled { .. } => "TOO_MANY_LOGIN_ATTEMPTS",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::InvalidJson(_) => "INVALID_JSON",
            Error::InvalidField { .. } => "INVALID_PARAMETER",
            Error::InvalidPhone => "INVALID_PHONE",
            Error::UnsupportedCountry => "UNSUPPORTED_COUNTRY",
            Error::CountryMismatch => "COUNTRY_MISMATCH",
            Error::Refused(refusal, _) => refusal.code(),
            Error::MerchantMismatch => "MERCHANT_MISMATCH",
            Error::PaymentNotFound => "PAYMENT_NOT_FOUND",
            Error::PaymentAlreadySettled => "PAYMENT_ALREADY_SETTLED",
            Error::PaymentExpired => "PAYMENT_EXPIRED",
            Error::DeliveryNotFound => "DELIVERY_NOT_FOUND",
            Error::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Error::IdempotencyInProgress => "IDEMPOTENCY_KEY_IN_PROGRESS",
            Error::InvalidIdempotencyKey => "INVALID_IDEMPOTENCY_KEY",
            Error::NotFound => "NOT_FOUND",
            Error::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Error::Database(_) | Error::Internal => "INTERNAL_ERROR",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let (fr, en): (&str, &str) = match self {
            Error::MissingToken => (
                "En-tête Authorization: Bearer manquant",
                "Missing Authorization: Bearer header",
            ),
            Error::InvalidToken => ("Clé API ou jeton invalide", "Invalid API key or token"),
            Error::LiveKeyRefused => (
                "Clé de production refusée : le bac à sable n'accepte que les clés sk_test_…",
                "Live key refused: the sandbox only accepts sk_test_… keys",
            ),
            Error::InvalidCredentials => {
                ("Email ou mot de passe incorrect", "Wrong email or password")
            }
            Error::LoginThrottled { .. } => (
                "Trop de tentatives de connexion ; réessayez plus tard",
                "Too many login attempts; try again later",
            ),
            Error::RateLimited { .. } => (
                "Limite de requêtes atteinte ; attendez avant de réessayer",
                "Rate limit reached; wait before retrying",
            ),
            Error::InvalidJson(_) => (
                "Corps JSON invalide ou champ d'un mauvais type",
                "Invalid JSON body or a field of the wrong type",
            ),
            Error::InvalidField { field, fr, en } => {
                return match lang {
                    Lang::Fr => format!("Paramètre {field} invalide : {fr}"),
                    Lang::En => format!("Invalid parameter {field}: {en}"),
                };
            }
            Error::InvalidPhone => (
                "Numéro de téléphone invalide : format international attendu, par exemple +2250701020304",
                "Invalid phone number: international format expected, e.g. +2250701020304",
            ),
            Error::UnsupportedCountry => (
                "Pays non pris en charge : BJ, BF, CI, GW, ML, NE, SN ou TG",
                "Unsupported country: BJ, BF, CI, GW, ML, NE, SN or TG",
            ),
            Error::CountryMismatch => (
                "L'indicatif du numéro ne correspond pas au pays du transfert",
                "The phone's country code does not match the transfer's country",
            ),
            Error::Refused(refusal, _) => (refusal.message_fr(), refusal.message_en()),
            Error::MerchantMismatch => (
                "Ce merchant_id n'appartient pas au compte de la clé API",
                "This merchant_id does not belong to the API key's account",
            ),
            Error::PaymentNotFound => ("Paiement introuvable", "Payment not found"),
            Error::PaymentAlreadySettled => (
                "Ce paiement est déjà réglé",
                "This payment is already settled",
            ),
            Error::PaymentExpired => ("Ce paiement a expiré", "This payment has expired"),
            Error::DeliveryNotFound => (
                "Livraison de webhook introuvable",
                "Webhook delivery not found",
            ),
            Error::IdempotencyKeyReused => (
                "Cette Idempotency-Key a déjà servi pour une autre requête",
                "This Idempotency-Key was already used for another request",
            ),
            Error::IdempotencyInProgress => (
                "Une requête avec cette Idempotency-Key est en cours",
                "A request with this Idempotency-Key is in progress",
            ),
            Error::InvalidIdempotencyKey => (
                "Idempotency-Key invalide : 1 à 255 caractères ASCII visibles",
                "Invalid Idempotency-Key: 1 to 255 visible ASCII characters",
            ),
            Error::NotFound => ("Ressource introuvable", "Resource not found"),
            Error::MethodNotAllowed => ("Méthode non autorisée", "Method not allowed"),
            Error::Database(_) | Error::Internal => ("Erreur interne", "Internal error"),
        };
        match lang {
            Lang::Fr => fr.to_owned(),
            Lang::En => en.to_owned(),
        }
    }

    pub fn body(&self, lang: Lang) -> ApiError {
        ApiError {
            error_code: self.code().to_owned(),
            error_message: self.message(lang),
        }
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        Error::InvalidJson(rejection.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(_: QueryRejection) -> Self {
        Error::InvalidField {
            field: "query",
            fr: "paramètres de requête mal formés",
            en: "malformed query parameters",
        }
    }
}

/// The English body of an error response, kept for [`localize`] (and, with an answer kept for
/// `Idempotency-Key` replays, stored beside the French one).
#[derive(Debug, Clone)]
pub(crate) struct English(pub(crate) ApiError);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
        let mut response = (self.status(), Json(self.body(Lang::Fr))).into_response();
        response
            .extensions_mut()
            .insert(English(self.body(Lang::En)));
        if let Error::RateLimited { retry_after } | Error::LoginThrottled { retry_after } = &self
            && let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The language of error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// The first of French and English in an `Accept-Language` header, by quality; French when
    /// it names neither.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Fr;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("fr") => Lang::Fr,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Fr, |(_, lang)| lang)
    }
}

/// Rewrites error bodies in English for clients whose `Accept-Language` prefers it.
pub async fn localize(request: Request, next: Next) -> Response {
    let lang = Lang::from_accept_language(
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut response = next.run(request).await;
    if lang == Lang::En
        && let Some(English(body)) = response.extensions_mut().remove::<English>()
    {
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        let json = serde_json::to_vec(&body).unwrap_or_default();
        return Response::from_parts(parts, axum::body::Body::from(json));
    }
    response
}

/// `Json` whose rejection is our error shape rather than axum's plain text.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);

/// `Query` whose rejection is our error shape.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct ApiQuery<T>(pub T);

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn accept_language_picks_the_preferred_of_french_and_english() {
        assert_eq!(Lang::from_accept_language(None), Lang::Fr);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("fr-CI, en;q=0.5")),
            Lang::Fr
        );
        assert_eq!(
            Lang::from_accept_language(Some("de, en;q=0.3, fr;q=0.2")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("de, wo")), Lang::Fr);
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.1, fr;q=0.9")),
            Lang::Fr
        );
    }
}
