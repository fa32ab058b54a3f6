//! End-to-end: the demo store in a real headless Chromium (Debian's, driven through
//! chromedriver), the merchant backend and the sandbox in this process on port 0. Each test is
//! what a shopper does: open the store, see the amount and the QR, pay with the phone, see the
//! result.
//!
//! Needs the widget built (`MOBILEPAY_WIDGET_DIR`, set by `cargo xtask test`) and chromedriver.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use mobilepay_e2e::Stack;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// How long a page may take to reach a state; generous for a 2-core machine under load.
const PATIENCE: Duration = Duration::from_secs(30);

struct Browser {
    client: Client,
    _driver: Child,
    profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Starts chromedriver on a free port and opens a fresh headless Chromium session.
async fn browser(width: u32, height: u32) -> Browser {
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let driver = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {chromedriver} ({e}): run the tests with `cargo xtask test`, which installs it")
        });
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + PATIENCE;
    while http.get(format!("{url}/status")).send().await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = std::env::temp_dir().join(format!("mobilepay-e2e-{port}"));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={width},{height}"),
                "--lang=fr-CI",
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session");
    Browser {
        client,
        _driver: driver,
        profile,
    }
}

async fn stack() -> Stack {
    let widget = std::env::var_os("MOBILEPAY_WIDGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("mobilepay-checkout.js").exists())
        .expect("MOBILEPAY_WIDGET_DIR must name the built widget: run `cargo xtask test`");
    Stack::start("127.0.0.1:0", "127.0.0.1:0", Some(widget))
        .await
        .expect("sandbox and merchant backend start")
}

/// Runs `script` in the page and returns its value.
async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect("script runs")
}

/// The checkout element's attribute `name`.
async fn attribute(client: &Client, name: &str) -> Option<String> {
    let script = format!(
        "return document.querySelector('mobilepay-checkout')?.getAttribute('{name}') ?? null"
    );
    js(client, &script).await.as_str().map(str::to_owned)
}

/// Waits until the widget reflects `status`; fails with what it shows otherwise.
async fn wait_for_status(client: &Client, status: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if attribute(client, "status").await.as_deref() == Some(status) {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "the widget never reached status={status}: it shows {:?} with text {:?}",
                attribute(client, "status").await,
                shadow_text(client).await
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The text of the widget's shadow root, with no-break spaces as plain spaces.
async fn shadow_text(client: &Client) -> String {
    js(
        client,
        "return document.querySelector('mobilepay-checkout')?.shadowRoot?.textContent ?? ''",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .replace(['\u{202f}', '\u{a0}'], " ")
}

/// Records every `mobilepay:*` event that reaches the document (they bubble and are composed).
async fn record_events(client: &Client) {
    js(
        client,
        "window.__mobilepay = [];
         for (const type of ['statuschange', 'paid', 'failed', 'expired', 'error']) {
           document.addEventListener('mobilepay:' + type,
             (e) => window.__mobilepay.push({ type: e.type, detail: e.detail }));
         }
         return null;",
    )
    .await;
}

async fn recorded_events(client: &Client) -> Vec<Value> {
    js(client, "return window.__mobilepay")
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn simulate_payment(stack: &Stack, payment_id: &str, outcome: &str) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/v1/payments/{payment_id}/pay",
            stack.sandbox_url
        ))
        .json(&json!({ "outcome": outcome }))
        .send()
        .await
        .expect("the sandbox answers");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// Saves a screenshot under target/e2e-screenshots (and into docs/ when asked to refresh them).
async fn screenshot(client: &Client, name: &str) -> Vec<u8> {
    let png = client.screenshot().await.expect("a screenshot");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = vec![root.join("target/e2e-screenshots")];
    if std::env::var_os("MOBILEPAY_UPDATE_SCREENSHOTS").is_some() {
        dirs.push(root.join("docs/screenshots"));
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(name), &png).expect("screenshot written");
    }
    png
}

/// Decodes the QR codes visible in a screenshot, as a phone's camera would.
fn decode_qr(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory(png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

/// Opens the store and waits for the QR; returns the payment id.
async fn open_store_and_wait_for_qr(client: &Client, stack: &Stack) -> String {
    client
        .goto(&format!("{}/", stack.store_url))
        .await
        .expect("the store opens");
    record_events(client).await;
    wait_for_status(client, "awaiting_payment").await;
    attribute(client, "payment-id")
        .await
        .expect("payment-id is reflected")
}

#[tokio::test]
async fn a_shopper_sees_the_amount_and_a_scannable_qr_and_the_widget_flips_to_paid() {
    let stack = stack().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;

    let payment_id = open_store_and_wait_for_qr(client, &stack).await;
    let text = shadow_text(client).await;
    assert!(
        text.contains("25 000 FCFA"),
        "amount as French shoppers read it: {text:?}"
    );
    assert!(
        text.contains("Pagne wax 6 yards"),
        "the description: {text:?}"
    );
    assert!(
        text.contains("Scannez ce code"),
        "French by default: {text:?}"
    );

    let png = screenshot(client, "store-awaiting-payment.png").await;
    let wallet = format!("{}/wallet/{payment_id}", stack.sandbox_url);
    assert_eq!(
        decode_qr(&png),
        vec![wallet],
        "the QR on screen is the payment's wallet URL"
    );

    simulate_payment(&stack, &payment_id, "success").await;
    wait_for_status(client, "paid").await;
    let text = shadow_text(client).await;
    assert!(text.contains("Paiement reçu"), "{text:?}");
    screenshot(client, "store-paid.png").await;

    let events = recorded_events(client).await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(
        types.contains(&"mobilepay:paid"),
        "mobilepay:paid reached the document: {types:?}"
    );
    let paid = events
        .iter()
        .find(|e| e["type"] == "mobilepay:paid")
        .expect("paid event");
    assert_eq!(paid["detail"]["paymentId"], payment_id.as_str());
    assert_eq!(paid["detail"]["status"], "paid");
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn insufficient_funds_ends_in_failed_with_the_french_reason() {
    let stack = stack().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;

    let payment_id = open_store_and_wait_for_qr(client, &stack).await;
    simulate_payment(&stack, &payment_id, "insufficient_funds").await;
    wait_for_status(client, "failed").await;
    let text = shadow_text(client).await;
    assert!(
        text.contains("Solde insuffisant"),
        "the seed's reason, in French: {text:?}"
    );
    screenshot(client, "store-failed.png").await;

    let events = recorded_events(client).await;
    let failed = events
        .iter()
        .find(|e| e["type"] == "mobilepay:failed")
        .expect("failed event");
    assert_eq!(failed["detail"]["errorCode"], "INSUFFICIENT_FUNDS");

    // "Réessayer" makes a new payment for the same order.
    let retry = client
        .execute(
            "const b = document.querySelector('mobilepay-checkout').shadowRoot.querySelector('button');
             b.click(); return b.textContent;",
            vec![],
        )
        .await
        .expect("the retry button is there");
    assert_eq!(retry, "Réessayer");
    wait_for_status(client, "awaiting_payment").await;
    let new_payment = attribute(client, "payment-id").await.expect("a payment id");
    assert_ne!(new_payment, payment_id, "a new payment, not the failed one");
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn the_wallet_page_the_qr_points_at_pays_and_the_store_tab_shows_paid() {
    let stack = stack().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;

    let payment_id = open_store_and_wait_for_qr(client, &stack).await;
    let store_tab = client.window().await.expect("the store tab");
    let wallet_tab = client.new_window(true).await.expect("a new tab");
    client
        .switch_to_window(wallet_tab.handle)
        .await
        .expect("switch");
    client
        .goto(&format!("{}/wallet/{payment_id}", stack.sandbox_url))
        .await
        .expect("the wallet page opens");
    client
        .find(Locator::Css("button[value=success]"))
        .await
        .expect("a pay button")
        .click()
        .await
        .expect("click");
    let wallet_text = client
        .find(Locator::Css(".status"))
        .await
        .expect("a status")
        .text()
        .await
        .expect("text");
    assert!(wallet_text.contains("Payé"), "{wallet_text:?}");

    client
        .switch_to_window(store_tab)
        .await
        .expect("back to the store");
    wait_for_status(client, "paid").await;
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn an_unknown_order_shows_a_french_error_with_a_retry_button() {
    let stack = stack().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;
    client
        .goto(&format!("{}/", stack.store_url))
        .await
        .expect("the store opens");
    // What a tampered or stale page would send.
    js(
        client,
        "document.querySelector('mobilepay-checkout').setAttribute('order-id', 'ord_nope'); return null;",
    )
    .await;
    wait_for_status(client, "error").await;
    let text = shadow_text(client).await;
    assert!(text.contains("Cette commande est introuvable"), "{text:?}");
    assert!(text.contains("Réessayer"), "{text:?}");
    client.clone().close().await.expect("browser closes");
}
