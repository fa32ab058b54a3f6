//! `/console/login` and `/console/logout`. One answer for a wrong email and a wrong password;
//! too many attempts for one account or from one address answer `429` with `Retry-After`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Extension, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::alert;
use crate::AppState;
use crate::console::auth::{self, LOGIN_COOKIE, Operator, SESSION_COOKIE};
use crate::console::i18n::Lang;
use crate::console::{PageError, layout, operators};
use crate::ids::random_token;
use crate::routes::checkout::client_address;

/// How long a login form may stay open before it must be reloaded.
const LOGIN_FORM_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn form(lang: Lang, csrf: &str, email: &str, error: Option<&str>) -> Markup {
    let title = lang.t("Connexion", "Sign in");
    layout(
        lang,
        title,
        "/console/login",
        None,
        html! {
            h1 { (title) }
            @if let Some(error) = error { (alert(error)) }
            form.card method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="email" { (lang.t("Adresse e-mail", "Email address")) }
                input id="email" name="email" type="email" autocomplete="username" required value=(email);
                label for="password" { (lang.t("Mot de passe", "Password")) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (lang.t("Se connecter", "Sign in")) }
            }
        },
    )
}

/// `GET /console/login`: the form, with its pre-session token (kept in a cookie of its own).
pub async fn page(
    Extension(lang): Extension<Lang>,
    operator: Option<Extension<Operator>>,
    headers: HeaderMap,
) -> Response {
    if operator.is_some() {
        return Redirect::to("/console/").into_response();
    }
    let (csrf, set) = match auth::cookie(&headers, LOGIN_COOKIE) {
        Some(token) if token.starts_with("login_") => (token, None),
        _ => {
            let token = random_token("login_", 32);
            let cookie = auth::set_cookie(LOGIN_COOKIE, &token, LOGIN_FORM_TTL);
            (token, Some(cookie))
        }
    };
    let mut response = form(lang, &csrf, "", None).into_response();
    if let Some(cookie) = set {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /console/login` (its CSRF token already checked): a session and the balance page, or
/// the form again with one generic error.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(login): Form<LoginForm>,
) -> Result<Response, PageError> {
    let csrf = auth::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let email = login.email.trim().to_lowercase();
    let address = client_address(peer.ip(), &headers, &state.config.trusted_proxies);
    if let Err(wait) = state.console.throttle.check(&email, address) {
        tracing::info!(%address, "console login throttled");
        let minutes = wait.as_secs().div_ceil(60);
        let message = match lang {
            Lang::Fr => format!("Trop de tentatives : réessayez dans {minutes} min."),
            Lang::En => format!("Too many attempts: try again in {minutes} min."),
        };
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            form(lang, &csrf, &email, Some(&message)),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let Some(operator_id) =
        operators::authenticate(&state.console.db, &email, &login.password).await?
    else {
        tracing::info!("console login refused");
        let message = lang.t(
            "Adresse e-mail ou mot de passe incorrect.",
            "Wrong email address or password.",
        );
        return Ok((
            StatusCode::UNAUTHORIZED,
            form(lang, &csrf, &email, Some(message)),
        )
            .into_response());
    };
    let token = state.console.sessions.open(&operator_id).await?;
    let mut response = Redirect::to("/console/").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        auth::set_cookie(SESSION_COOKIE, &token, auth::SESSION_TTL),
    );
    cookies.append(
        header::SET_COOKIE,
        auth::set_cookie(LOGIN_COOKIE, "", Duration::ZERO),
    );
    Ok(response)
}

/// `POST /console/logout`: the session ends here and in the browser.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    Extension(operator): Extension<Operator>,
) -> Result<Response, PageError> {
    state.console.sessions.close(&operator).await?;
    let mut response = Redirect::to("/console/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(SESSION_COOKIE, "", Duration::ZERO),
    );
    Ok(response)
}
