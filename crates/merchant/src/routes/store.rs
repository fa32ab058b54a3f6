//! The demo store: one product page embedding `<mobilepay-checkout>`, served under a strict
//! Content-Security-Policy so that the widget is proven to work under one.
//!
//! The visitor's order is kept in a cookie, so a reload (or coming back from the wallet app)
//! shows the same order — and the backend resumes its payment rather than charging again.
//! A few query options make the variants the end-to-end tests and screenshots need:
//! `?theme=dark|light`, `?locale=fr|en`, `?widgets=2` (a second order and widget on the page).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;

/// What a merchant's own page would send: no inline script or style at all.
pub const STORE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The cookie holding the visitor's order id.
const ORDER_COOKIE: &str = "demo_order";

#[derive(Debug, Default, Deserialize)]
pub struct PageOptions {
    theme: Option<String>,
    locale: Option<String>,
    // Text, not a number: a malformed value must not turn the page into a rejection.
    widgets: Option<String>,
}

/// `GET /`: the visitor's order for the demo product (a fresh one on a first visit), and the
/// widget to pay it.
pub async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(options): Query<PageOptions>,
) -> Response {
    let Some(product) = state.catalog.products().first() else {
        return crate::error::Error::NotFound.into_response();
    };
    // Only known values reach the page: nothing from the URL is written into it as is.
    let theme = match options.theme.as_deref() {
        Some("dark") => "dark",
        Some("light") => "light",
        _ => "",
    };
    let locale = match options.locale.as_deref() {
        Some("en") => "en",
        _ => "fr",
    };
    let db = &state.sessions.db;
    let known = match cookie(&headers, ORDER_COOKIE) {
        Some(id) => state.catalog.order(db, id).await.ok().flatten(),
        None => None,
    };
    let order = match known {
        Some(order) => order,
        None => match state.catalog.place_order(db, product).await {
            Ok(order) => order,
            Err(error) => return crate::error::Error::from(error).into_response(),
        },
    };
    let widget = |order_id: &str| {
        let theme = if theme.is_empty() {
            String::new()
        } else {
            format!(r#" theme="{theme}""#)
        };
        format!(
            r#"<mobilepay-checkout order-id="{order_id}" locale="{locale}"{theme}></mobilepay-checkout>"#
        )
    };
    let mut widgets = widget(&order.id);
    if options.widgets.as_deref() == Some("2") {
        let second = match state.catalog.place_order(db, product).await {
            Ok(order) => order,
            Err(error) => return crate::error::Error::from(error).into_response(),
        };
        widgets.push('\n');
        widgets.push_str(&widget(&second.id));
    }
    let (lang, payment, text) = if locale == "en" {
        (
            "en",
            "Payment",
            "Printed cotton, 6 yards. Delivery in Abidjan within 48 h.",
        )
    } else {
        (
            "fr",
            "Paiement",
            "Coton imprimé, 6 yards. Livraison à Abidjan sous 48 h.",
        )
    };
    let manifest = match &state.config.widget_dir {
        Some(dir) => super::assets::Manifest::read(dir).await,
        None => None,
    };
    let widget_tags = super::assets::head_tags(manifest.as_ref());
    let html = format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Boutique démo — MOBILE-PAY Checkout</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/store.css">
{widget_tags}
</head>
<body class="{theme}">
<header><strong>Boutique Akwaba</strong> <span class="tag">démo</span></header>
<main>
<section class="product">
<h1>{name}</h1>
<p>{text}</p>
<p class="price">{price}</p>
</section>
<section class="pay">
<h2>{payment}</h2>
{widgets}
</section>
</main>
</body>
</html>"#,
        name = product.name,
        price = mobilepay_wire::format_amount(product.price),
    );
    let set_cookie = format!(
        "{ORDER_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax",
        order.id
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(STORE_CSP),
    );
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    response
}

/// The value of cookie `name` in the request, if any.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `GET /store.css`: the demo store's own look (the widget styles itself inside its shadow root).
/// Cached like the widget's stable names: the page waits for it before running its scripts,
/// and on a 3G link asking for it again would cost a repeat visit a round trip.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, super::assets::SHORT_LIVED),
        ],
        include_str!("store.css"),
    )
}
