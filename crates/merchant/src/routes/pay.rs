//! The hosted pay page, `GET /pay/{chk_id}`: what a checkout's `pay_url` opens — a link a shop
//! sends by WhatsApp, SMS or e-mail. Phone first, French by default (`?locale=en`), the
//! merchant's name, the description, the widget for that checkout (which shows the amount), and once paid a
//! link back to the checkout's `return_url`. Served under the same strict CSP as a merchant's
//! own page ([`STORE_CSP`]): no inline script or style; the link is revealed by `/pay/pay.js`.
//!
//! Must not: write merchant input (name, description) into the page unescaped — maud escapes
//! every `(…)` splice.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use mobilepay_wire::ids::CheckoutId;
use mobilepay_wire::merchant::CheckoutStatus;
use serde::Deserialize;

use crate::AppState;
use crate::checkouts::Checkout;
use crate::routes::assets;

/// What a merchant's own page would send, and what the pay page sends: no inline script or
/// style at all; wasm allowed to compile.
pub const STORE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

#[derive(Debug, Default, Deserialize)]
pub struct PageOptions {
    locale: Option<String>,
}

/// The page's words, in one language.
struct Words {
    lang: &'static str,
    title: &'static str,
    back: &'static str,
    not_found_title: &'static str,
    not_found: &'static str,
    expired: &'static str,
    canceled: &'static str,
}

const FR: Words = Words {
    lang: "fr",
    title: "Paiement",
    back: "Retour chez",
    not_found_title: "Lien de paiement introuvable",
    not_found: "Ce lien de paiement n'existe pas. Vérifiez-le, ou demandez-en un nouveau au marchand.",
    expired: "Ce lien de paiement a expiré. Demandez-en un nouveau au marchand.",
    canceled: "Ce paiement a été annulé par le marchand.",
};

const EN: Words = Words {
    lang: "en",
    title: "Payment",
    back: "Back to",
    not_found_title: "Payment link not found",
    not_found: "This payment link does not exist. Check it, or ask the merchant for a new one.",
    expired: "This payment link has expired. Ask the merchant for a new one.",
    canceled: "The merchant canceled this payment.",
};

/// The page around `body`; `widget` is the widget's `<head>` tags (preload hints and its
/// script, [`assets::head_tags`]), empty on a page without the widget.
fn shell(words: &Words, title: &str, widget: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(words.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/pay/pay.css";
                // Our own build's file names, never input.
                (PreEscaped(widget))
                script type="module" src="/pay/pay.js" {}
            }
            body { main { (body) } }
        }
    }
}

fn page(state: &AppState, words: &Words, widget: &str, checkout: &Checkout) -> Markup {
    let merchant = state.config.merchant_name.as_str();
    let paid = checkout.status == CheckoutStatus::Paid;
    let body = html! {
        header { p.merchant { (merchant) } }
        // The amount is the widget's first line: said once, so that the QR code comes sooner
        // on a small screen.
        h1 { (checkout.description) }
        @match checkout.status {
            CheckoutStatus::Expired => { p.notice role="status" { (words.expired) } }
            CheckoutStatus::Canceled => { p.notice role="status" { (words.canceled) } }
            CheckoutStatus::Open | CheckoutStatus::Paid => {
                mobilepay-checkout order-id=(checkout.id) locale=(words.lang) {}
            }
        }
        @if let Some(url) = &checkout.return_url {
            p #return hidden[!paid] {
                a.back href=(url) { (words.back) " " (merchant) }
            }
        }
    };
    shell(
        words,
        &format!("{} — {merchant}", words.title),
        widget,
        body,
    )
}

fn with_headers(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(STORE_CSP),
    );
    // Its status changes: never shown from a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /pay/{id}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(options): Query<PageOptions>,
) -> Response {
    let words = match options.locale.as_deref() {
        Some("en") => &EN,
        _ => &FR,
    };
    let found = match id.parse::<CheckoutId>() {
        Ok(id) => state.checkouts.get(&id).await,
        Err(_) => Ok(None),
    };
    match found {
        Ok(Some(checkout)) => {
            let manifest = match &state.config.widget_dir {
                Some(dir) => assets::Manifest::read(dir).await,
                None => None,
            };
            let widget = assets::head_tags(manifest.as_ref());
            with_headers(StatusCode::OK, page(&state, words, &widget, &checkout))
        }
        Ok(None) => with_headers(
            StatusCode::NOT_FOUND,
            shell(
                words,
                words.not_found_title,
                "",
                html! {
                    h1 { (words.not_found_title) }
                    p.notice { (words.not_found) }
                },
            ),
        ),
        Err(error) => error.into_response(),
    }
}

/// `GET /pay/pay.css`: the page's look, phone first. Cached like the widget's stable names, so
/// that a shopper coming back on a slow link does not wait for it again.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, assets::SHORT_LIVED),
        ],
        include_str!("pay.css"),
    )
}

/// `GET /pay/pay.js`: reveals the way back to the shop once the widget says it is paid.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, assets::SHORT_LIVED),
        ],
        include_str!("pay.js"),
    )
}
