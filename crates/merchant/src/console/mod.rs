//! The merchant's console at `/console/`: server-rendered pages for the shop's staff — sign in,
//! MOBILE-PAY balance, transaction history, payouts to the merchant's own phone, checkouts with
//! their timelines and refunds, webhook endpoints and their health, API keys.
//!
//! # Layout
//! - [`auth`]: sessions (cookie + hashed row), CSRF tokens, login throttling, password hashes.
//! - [`operators`]: operator accounts and the `mobilepay-merchant operators …` command.
//! - [`i18n`]: French (default) and English; amounts as people write them.
//! - [`words`]: amounts in words, for the payout's confirmation.
//! - [`pages`]: one module per page, and the navigation that lists them.
//! - [`v1`]: `/v1` called in-process — refunds, redeliveries and webhook endpoints are made
//!   by the merchant API's own routes, with an `Idempotency-Key` derived from each form.
//!
//! Pages are `maud` templates: HTML checked at compile time, every interpolated value escaped.
//! No script at all, one stylesheet from this origin, and a strict Content-Security-Policy on
//! every answer (no inline script or style, forms only to this origin, never in a frame).
//!
//! Architecture invariants, all enforced by [`guard`], the one middleware every console route
//! goes through: every page but the login page needs a signed-in operator; every POST carries
//! the CSRF token of its session (the login form, that of its pre-session cookie), checked
//! before any handler runs. No secret is rendered: not MOBILE-PAY's API key, not a password
//! hash, not a session token (the session cookie is `HttpOnly`), not an API key's digest, not a
//! webhook endpoint's secret — except a new key or secret once, in the answer to the form that
//! made it; only the CSRF token, which is what it is for.

pub mod auth;
pub mod i18n;
pub mod operators;
pub mod pages;
pub mod v1;
pub mod words;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

use crate::AppState;
use crate::db::Db;
use auth::Operator;
use i18n::Lang;

/// Sent with every console answer.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The largest form body the console reads.
const MAX_FORM: usize = 16 * 1024;

/// The console's share of the backend's state.
#[derive(Debug)]
pub struct Console {
    pub sessions: auth::SessionStore,
    pub throttle: auth::Throttle,
    pub db: Db,
}

impl Console {
    pub fn new(db: Db) -> Self {
        Console {
            sessions: auth::SessionStore::new(db.clone()),
            throttle: auth::Throttle::default(),
            db,
        }
    }
}

/// Every console route, behind [`guard`] and [`frame`].
pub fn router(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/console.css", get(stylesheet))
        .route(
            "/console/login",
            get(pages::login::page).post(pages::login::submit),
        )
        .route("/console/logout", post(pages::login::logout))
        .route("/console/", get(pages::balance::page))
        .route("/console/history", get(pages::history::page))
        .route(
            "/console/payouts",
            get(pages::payouts::form).post(pages::payouts::ask),
        )
        .route("/console/payouts/confirm", post(pages::payouts::confirm))
        .route("/console/payouts/{payout_id}", get(pages::payouts::result))
        .route("/console/checkouts", get(pages::checkouts::list))
        .route(
            "/console/checkouts/{checkout_id}",
            get(pages::checkouts::show),
        )
        .route(
            "/console/checkouts/{checkout_id}/refunds",
            post(pages::checkouts::refund),
        )
        .route(
            "/console/checkouts/{checkout_id}/events/{event_id}/redeliver",
            post(pages::checkouts::redeliver),
        )
        .route(
            "/console/webhooks",
            get(pages::webhooks::list).post(pages::webhooks::create),
        )
        .route(
            "/console/webhooks/{endpoint_id}/delete",
            post(pages::webhooks::delete),
        )
        .route(
            "/console/keys",
            get(pages::api_keys::list).post(pages::api_keys::create),
        )
        .route(
            "/console/keys/{key_id}/revoke",
            post(pages::api_keys::revoke),
        )
        .route_layer(middleware::from_fn_with_state(Arc::clone(state), guard))
        .route_layer(middleware::from_fn(frame))
}

/// What may be reached without a session: the login page (its POST is checked against its
/// pre-session cookie instead) and the stylesheet.
fn is_public(method: &Method, path: &str) -> bool {
    matches!(path, "/console/login" | "/console/console.css" | "/console")
        && (method == Method::GET || method == Method::HEAD || path == "/console/login")
}

/// Signs the request in (or sends it to the login page) and checks every POST's CSRF token
/// before the handler runs. The operator is left in the request's extensions.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let public = is_public(&parts.method, parts.uri.path());
    let operator = match state.console.sessions.operator(&parts.headers).await {
        Ok(operator) => operator,
        Err(error) => {
            tracing::error!(%error, "reading a console session");
            return PageError::Internal.into_response();
        }
    };
    if operator.is_none() && !public {
        return Redirect::to("/console/login").into_response();
    }
    let mut request = Request::from_parts(parts, body);
    if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
            return PageError::FormTooLarge.into_response();
        };
        let presented = csrf_field(&bytes);
        let expected = match &operator {
            Some(operator) if parts.uri.path() != "/console/login" => Some(operator.csrf.clone()),
            _ => auth::cookie(&parts.headers, auth::LOGIN_COOKIE),
        };
        if !expected.is_some_and(|expected| auth::tokens_match(&expected, &presented)) {
            tracing::info!(path = parts.uri.path(), "console form refused: CSRF token");
            return PageError::CsrfInvalid.into_response();
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    if let Some(operator) = operator {
        request.extensions_mut().insert(operator);
    }
    next.run(request).await
}

fn csrf_field(form: &Bytes) -> String {
    form_urlencoded::parse(form)
        .find(|(key, _)| key == "csrf")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// The request's language for the handlers; the security headers, the language cookie and the
/// error pages (in that language) on the way out.
async fn frame(mut request: Request, next: Next) -> Response {
    let query = request.uri().query().map(str::to_owned);
    let lang = Lang::of_request(query.as_deref(), request.headers());
    request.extensions_mut().insert(lang);
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<PageError>() {
        let status = response.status();
        let mut page = (status, error_page(lang, &error)).into_response();
        page.headers_mut().extend(
            response
                .headers()
                .iter()
                .filter(|(name, _)| {
                    *name != header::CONTENT_TYPE && *name != header::CONTENT_LENGTH
                })
                .map(|(n, v)| (n.clone(), v.clone())),
        );
        response = page;
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages show a merchant's money: never kept by a browser or a shared cache.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if query.as_deref().and_then(i18n::lang_in_query).is_some() {
        headers.append(
            header::SET_COOKIE,
            auth::set_cookie(
                i18n::LANG_COOKIE,
                lang.code(),
                std::time::Duration::from_secs(365 * 86_400),
            ),
        );
    }
    response
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("console.css"),
    )
}

/// A failure shown as a page of its own, in the request's language, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    CsrfInvalid,
    FormTooLarge,
    /// A changing form without the `form` token the console renders in it.
    FormInvalid,
    PayoutNotFound,
    PayoutExpired,
    CheckoutNotFound,
    EventNotFound,
    Internal,
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::CsrfInvalid => StatusCode::FORBIDDEN,
            PageError::FormTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PageError::FormInvalid => StatusCode::BAD_REQUEST,
            PageError::PayoutNotFound | PageError::CheckoutNotFound | PageError::EventNotFound => {
                StatusCode::NOT_FOUND
            }
            PageError::PayoutExpired => StatusCode::GONE,
            PageError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, documented code (docs/errors.md).
    pub fn code(&self) -> &'static str {
        match self {
            PageError::CsrfInvalid => "CONSOLE_CSRF_INVALID",
            PageError::FormTooLarge => "CONSOLE_FORM_TOO_LARGE",
            PageError::FormInvalid => "CONSOLE_FORM_INVALID",
            PageError::PayoutNotFound => "CONSOLE_PAYOUT_NOT_FOUND",
            PageError::CheckoutNotFound => "CONSOLE_CHECKOUT_NOT_FOUND",
            PageError::EventNotFound => "CONSOLE_EVENT_NOT_FOUND",
            PageError::PayoutExpired => "CONSOLE_PAYOUT_EXPIRED",
            PageError::Internal => "INTERNAL_ERROR",
        }
    }

    fn message(&self, lang: Lang) -> &'static str {
        match self {
            PageError::CsrfInvalid => lang.t(
                "Ce formulaire a expiré ou ne vient pas de la console. Rechargez la page et recommencez.",
                "This form has expired or did not come from the console. Reload the page and try again.",
            ),
            PageError::FormTooLarge => lang.t("Formulaire trop long.", "Form too large."),
            PageError::FormInvalid => lang.t(
                "Ce formulaire est incomplet. Rechargez la page et recommencez.",
                "This form is incomplete. Reload the page and try again.",
            ),
            PageError::PayoutNotFound => lang.t("Aucun virement de ce numéro.", "No such payout."),
            PageError::CheckoutNotFound => {
                lang.t("Aucun encaissement de ce numéro.", "No such checkout.")
            }
            PageError::EventNotFound => lang.t(
                "Aucun événement de ce numéro pour cet encaissement.",
                "No such event for this checkout.",
            ),
            PageError::PayoutExpired => lang.t(
                "Cette confirmation a expiré : recommencez le virement.",
                "This confirmation has expired: start the payout again.",
            ),
            PageError::Internal => lang.t(
                "Erreur interne : le détail est dans le journal du serveur.",
                "Internal error: the details are in the server's log.",
            ),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self == PageError::Internal {
            tracing::error!("console page failed");
        }
        // [`frame`] renders it, in the request's language.
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<sqlx::Error> for PageError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "console database query");
        PageError::Internal
    }
}

impl From<anyhow::Error> for PageError {
    fn from(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "console");
        PageError::Internal
    }
}

fn error_page(lang: Lang, error: &PageError) -> Markup {
    let title = lang.t("Erreur", "Error");
    let body = html! {
        h1 { (title) }
        p role="alert" { (error.message(lang)) }
        p.code { (lang.t("Code : ", "Code: ")) code { (error.code()) } }
        p { a href="/console/" { (lang.t("Retour à la console", "Back to the console")) } }
    };
    layout(lang, title, "/console/", None, body)
}

/// The frame of every page: header with the navigation (when signed in), the language switch
/// to the same page (`here`), and `main`.
pub fn layout(
    lang: Lang,
    title: &str,
    here: &str,
    operator: Option<&Operator>,
    main: Markup,
) -> Markup {
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("Console du marchand", "Merchant console")) }
                link rel="stylesheet" href="/console/console.css";
            }
            body {
                a.skip href="#main" { (lang.t("Aller au contenu", "Skip to content")) }
                header {
                    p.brand { (lang.t("Console du marchand", "Merchant console")) }
                    @if let Some(operator) = operator {
                        (pages::nav(lang, here))
                        form.logout method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(operator.csrf);
                            span.who { (operator.email) }
                            button type="submit" { (lang.t("Se déconnecter", "Sign out")) }
                        }
                    }
                    a.lang href={ (here) "?lang=" (other.code()) } lang=(other.code()) hreflang=(other.code()) {
                        (other.name())
                    }
                }
                main id="main" tabindex="-1" {
                    (main)
                }
            }
        }
    }
}
