//! The npm package as a merchant's Vite app uses it: built by `cargo xtask test` from the
//! `npm pack` tarball (`e2e/npm-consumer/`), served here on an origin of its own, talking to
//! the merchant backend on another origin (allowed by its CORS configuration).

use std::path::PathBuf;

use mobilepay_e2e::{Options, Stack};
use serde_json::json;

use super::{browser, js, simulate_payment, wait_for_js};

/// The consumer app on its own origin, and a stack that lets that origin in.
struct Consumer {
    origin: String,
    stack: Stack,
    order_id: String,
}

async fn consumer() -> Consumer {
    let dist = std::env::var_os("MOBILEPAY_NPM_CONSUMER_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("index.html").exists())
        .expect(
            "MOBILEPAY_NPM_CONSUMER_DIR must name the consumer app's build: run `cargo xtask test`",
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the consumer app");
    let origin = format!("http://{}", listener.local_addr().expect("an address"));
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dist));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let stack = Stack::start_with_options(
        "127.0.0.1:0",
        "127.0.0.1:0",
        Options {
            allowed_origins: vec![origin.clone()],
            ..Options::default()
        },
    )
    .await
    .expect("sandbox and merchant backend start");
    // The merchant's own site places the order; the app only knows its id.
    let store = reqwest::get(format!("{}/", stack.store_url))
        .await
        .expect("the store answers")
        .text()
        .await
        .expect("the store page");
    let order_id = store
        .split_once(r#"order-id=""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(id, _)| id.to_owned())
        .expect("the store page names its order");
    Consumer {
        origin,
        stack,
        order_id,
    }
}

#[tokio::test]
async fn a_vite_app_built_from_the_npm_tarball_defines_the_element_and_is_paid_across_origins() {
    let consumer = consumer().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;
    client
        .goto(&format!(
            "{}/?order={}&endpoint={}",
            consumer.origin, consumer.order_id, consumer.stack.store_url
        ))
        .await
        .expect("the app opens");
    assert_eq!(js(client, "return window.__defined").await, true);
    let status = "document.querySelector('mobilepay-checkout').getAttribute('status')";
    wait_for_js(client, status, json!("awaiting_payment")).await;
    let svg = js(
        client,
        "return !!document.querySelector('mobilepay-checkout').shadowRoot.querySelector('[part=qr] svg')",
    )
    .await;
    assert_eq!(svg, true, "the QR code is drawn");
    let payment_id = js(
        client,
        "return document.querySelector('mobilepay-checkout').getAttribute('payment-id')",
    )
    .await;
    let payment_id = payment_id.as_str().expect("payment-id is reflected");
    simulate_payment(&consumer.stack, payment_id, "success").await;
    wait_for_js(client, status, json!("paid")).await;
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn a_vite_app_mounting_from_code_gets_its_callbacks_across_origins() {
    let consumer = consumer().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;
    client
        .goto(&format!(
            "{}/?mode=mount&order={}&endpoint={}",
            consumer.origin, consumer.order_id, consumer.stack.store_url
        ))
        .await
        .expect("the app opens");
    let status = "document.getElementById('mounted').getAttribute('status')";
    wait_for_js(client, status, json!("awaiting_payment")).await;
    let payment_id = js(
        client,
        "return document.getElementById('mounted').getAttribute('payment-id')",
    )
    .await;
    let payment_id = payment_id.as_str().expect("payment-id is reflected");
    simulate_payment(&consumer.stack, payment_id, "success").await;
    wait_for_js(
        client,
        "window.__calls.join(' ')",
        json!(format!(
            "change:loading change:awaiting_payment change:paid paid:{payment_id}"
        )),
    )
    .await;
    client.clone().close().await.expect("browser closes");
}
