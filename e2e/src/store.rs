//! The demo store: one product page embedding `<mobilepay-checkout>`, served under a strict
//! Content-Security-Policy so that the widget is proven to work under one. It is a shop like
//! any other — a client of the merchant API: for a visitor it creates a checkout with
//! `POST /v1/checkouts` over HTTP (with the demo's key), and embeds the widget for its id.
//! Mounted by the demo (`Stack`, `cargo xtask demo`) only; the backend itself serves no store.
//!
//! The visitor's checkout is kept in a cookie, so a reload (or coming back from the wallet app)
//! shows the same checkout — and the backend resumes its payment rather than charging again.
//! A few query options make the variants the end-to-end tests and screenshots need:
//! `?theme=dark|light`, `?locale=fr|en`, `?widgets=2` (a second checkout and widget).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mobilepay_merchant::routes::assets;
use mobilepay_merchant::routes::pay::STORE_CSP;
use serde::Deserialize;
use serde_json::{Value, json};

/// The cookie holding the visitor's checkout id.
const CHECKOUT_COOKIE: &str = "demo_checkout";
/// The store's one product.
const PRODUCT_NAME: &str = "Pagne wax 6 yards";
const PRODUCT_PRICE: u64 = 25_000;
/// How long a visitor's checkout can be paid: an hour, so that coming back later still works.
const CHECKOUT_SECONDS: u64 = 3600;

/// Where the merchant API is, and the shop's key for it.
#[derive(Debug)]
pub struct Store {
    /// The merchant backend's base URL (`http://127.0.0.1:8080`).
    pub api: String,
    pub key: String,
    pub http: reqwest::Client,
    /// The built widget, for its manifest's hashed names in the page's preload hints.
    pub widget_dir: Option<std::path::PathBuf>,
}

/// `GET /` and `GET /store.css`.
pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/store.css", get(stylesheet))
        .with_state(store)
}

#[derive(Debug, Default, Deserialize)]
pub struct PageOptions {
    theme: Option<String>,
    locale: Option<String>,
    // Text, not a number: a malformed value must not turn the page into a rejection.
    widgets: Option<String>,
}

impl Store {
    /// The visitor's checkout `id` if it can still be shown (open, or paid).
    async fn known(&self, id: &str) -> Option<String> {
        let answer = self
            .http
            .get(format!("{}/v1/checkouts/{id}", self.api))
            .bearer_auth(&self.key)
            .send()
            .await
            .ok()?;
        if answer.status() != StatusCode::OK {
            return None;
        }
        let checkout: Value = answer.json().await.ok()?;
        matches!(checkout["status"].as_str(), Some("open" | "paid")).then(|| id.to_owned())
    }

    /// A new checkout for the product, as a shop's server creates one for its order.
    async fn create(&self) -> anyhow::Result<String> {
        // The shop's own order reference; also the Idempotency-Key, so that a retry of this
        // request could never create a second checkout.
        let reference = mobilepay_merchant::ids::random_token("demo-", 8);
        let answer = self
            .http
            .post(format!("{}/v1/checkouts", self.api))
            .bearer_auth(&self.key)
            .header("idempotency-key", &reference)
            .json(&json!({
                "amount": PRODUCT_PRICE,
                "description": PRODUCT_NAME,
                "reference": reference,
                "metadata": {"sku": "pagne-wax"},
                "expires_in": CHECKOUT_SECONDS,
            }))
            .send()
            .await?
            .error_for_status()?;
        let checkout: Value = answer.json().await?;
        checkout["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("a checkout without an id"))
    }
}

/// `GET /`: the visitor's checkout for the product (a fresh one on a first visit), and the
/// widget to pay it.
async fn page(
    State(store): State<Arc<Store>>,
    headers: HeaderMap,
    Query(options): Query<PageOptions>,
) -> Response {
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
    let known = match cookie(&headers, CHECKOUT_COOKIE) {
        Some(id) => store.known(id).await,
        None => None,
    };
    let checkout = match known {
        Some(id) => id,
        None => match store.create().await {
            Ok(id) => id,
            Err(error) => return unavailable(&error),
        },
    };
    let widget = |checkout_id: &str| {
        let theme = if theme.is_empty() {
            String::new()
        } else {
            format!(r#" theme="{theme}""#)
        };
        format!(
            r#"<mobilepay-checkout order-id="{checkout_id}" locale="{locale}"{theme}></mobilepay-checkout>"#
        )
    };
    let mut widgets = widget(&checkout);
    if options.widgets.as_deref() == Some("2") {
        let second = match store.create().await {
            Ok(id) => id,
            Err(error) => return unavailable(&error),
        };
        widgets.push('\n');
        widgets.push_str(&widget(&second));
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
    let manifest = match &store.widget_dir {
        Some(dir) => assets::Manifest::read(dir).await,
        None => None,
    };
    let widget_tags = assets::head_tags(manifest.as_ref());
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
<h1>{PRODUCT_NAME}</h1>
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
        price = mobilepay_wire::format_amount(PRODUCT_PRICE),
    );
    let set_cookie = format!("{CHECKOUT_COOKIE}={checkout}; Path=/; HttpOnly; SameSite=Lax");
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

/// The merchant API did not create the checkout: the page says so in the usual error shape.
fn unavailable(error: &anyhow::Error) -> Response {
    eprintln!("demo store: no checkout: {error:#}");
    (
        StatusCode::BAD_GATEWAY,
        axum::Json(json!({
            "error_code": "CHECKOUT_UNAVAILABLE",
            "error_message": "The merchant API did not create a checkout",
        })),
    )
        .into_response()
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
async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, assets::SHORT_LIVED),
        ],
        include_str!("store.css"),
    )
}
