//! The demo store: one product page embedding `<mobilepay-checkout>`, served under a strict
//! Content-Security-Policy so that the widget is proven to work under one.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;

/// What a merchant's own page would send: no inline script or style at all.
pub const STORE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// `GET /`: a fresh order for the demo product, and the widget to pay it.
pub async fn page(State(state): State<Arc<AppState>>) -> Response {
    let Some(product) = state.catalog.products().first() else {
        return crate::error::Error::NotFound.into_response();
    };
    let order = state.catalog.place_order(product);
    let html = format!(
        r#"<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Boutique démo — MOBILE-PAY Checkout</title>
<link rel="stylesheet" href="/store.css">
<script type="module" src="/widget/mobilepay-checkout.js"></script>
</head>
<body>
<header><strong>Boutique Akwaba</strong> <span class="tag">démo</span></header>
<main>
<section class="product">
<h1>{name}</h1>
<p>Coton imprimé, 6 yards. Livraison à Abidjan sous 48 h.</p>
<p class="price">{price}</p>
</section>
<section class="pay">
<h2>Paiement</h2>
<mobilepay-checkout order-id="{order_id}" locale="fr"></mobilepay-checkout>
</section>
</main>
</body>
</html>"#,
        name = product.name,
        price = mobilepay_wire::format_amount(product.price),
        order_id = order.id,
    );
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(STORE_CSP),
        )],
        Html(html),
    )
        .into_response()
}

/// `GET /store.css`: the demo store's own look (the widget styles itself inside its shadow root).
pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("store.css"),
    )
}
