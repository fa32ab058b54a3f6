//! End-to-end: the demo store in a real headless Chromium (Debian's, driven through
//! chromedriver), the merchant backend and the sandbox in this process on port 0. Each test is
//! what a shopper does: open the store, see the amount and the QR, pay with the phone, see the
//! result.
//!
//! Needs the widget built (`MOBILEPAY_WIDGET_DIR`), the npm consumer app built from its
//! tarball (`MOBILEPAY_NPM_CONSUMER_DIR`) and axe-core (`MOBILEPAY_AXE_JS`) — all three set by
//! `cargo xtask test` — chromedriver, and Node.js with npm (the Node shop of
//! `examples/node-shop/`, installed from its lock file by its test).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use mobilepay_e2e::Stack;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

// More tests of this binary (one binary for all end-to-end tests).
#[path = "checkout/a11y.rs"]
mod a11y;
#[path = "checkout/console.rs"]
mod console;
#[path = "checkout/flaky.rs"]
mod flaky;
#[path = "checkout/node_shop.rs"]
mod node_shop;
#[path = "checkout/npm.rs"]
mod npm;
#[path = "checkout/pay.rs"]
mod pay;
#[path = "checkout/slow_link.rs"]
mod slow_link;

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
    browser_with(width, height, None).await
}

/// A 360 px wide touch phone (Chromium's mobile emulation: touch, coarse pointer, no hover).
async fn phone() -> Browser {
    let emulation = json!({
        "deviceMetrics": { "width": 360, "height": 740, "pixelRatio": 2.0, "touch": true, "mobile": true },
    });
    browser_with(360, 740, Some(emulation)).await
}

async fn browser_with(width: u32, height: u32, mobile: Option<Value>) -> Browser {
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
    eventually(
        async || match http.get(format!("{url}/status")).send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(format!("chromedriver did not start: {error}")),
        },
    )
    .await;
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
    if let Some(mobile) = mobile {
        caps["goog:chromeOptions"]["mobileEmulation"] = mobile;
    }
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

/// The servers' warnings and errors, shown with a failing test's output.
fn log_server_errors() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

async fn stack() -> Stack {
    log_server_errors();
    let widget = std::env::var_os("MOBILEPAY_WIDGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("mobilepay-checkout.js").exists())
        .expect("MOBILEPAY_WIDGET_DIR must name the built widget: run `cargo xtask test`");
    Stack::start("127.0.0.1:0", "127.0.0.1:0", Some(widget))
        .await
        .expect("sandbox and merchant backend start")
}

/// Sends `request` to one of the stack's servers and reads its answer as JSON (`what`).
async fn json_answer(request: reqwest::RequestBuilder, what: &str) -> Value {
    let answer = request.send().await.expect("the server answers");
    answer.json().await.expect(what)
}

/// `POST /v1/checkouts` of `body` with the demo shop's key, as the shop's server makes a
/// checkout; the checkout.
async fn create_checkout(stack: &Stack, body: &Value) -> Value {
    let request = reqwest::Client::new()
        .post(format!("{}/v1/checkouts", stack.store_url))
        .bearer_auth(mobilepay_e2e::DEMO_API_KEY)
        .json(body);
    json_answer(request, "a checkout").await
}

/// Asks `check` every 25 ms until it answers `Ok`, for at most [`PATIENCE`]; its last `Err`
/// after that. The one way these tests wait for a condition: through [`eventually`], or directly
/// where what a failure shows costs more than asking again (the page's text, a process's log).
async fn patiently<T, E>(mut check: impl AsyncFnMut() -> Result<T, E>) -> Result<T, E> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match check().await {
            Ok(found) => return Ok(found),
            Err(last) if Instant::now() >= deadline => return Err(last),
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

/// [`patiently`], failing the test with the last `Err`, which says what was seen.
async fn eventually<T>(check: impl AsyncFnMut() -> Result<T, String>) -> T {
    patiently(check)
        .await
        .unwrap_or_else(|last| panic!("{last} (within {PATIENCE:?})"))
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
    let reached = patiently(async || match attribute(client, "status").await {
        Some(shown) if shown == status => Ok(()),
        shown => Err(shown),
    })
    .await;
    if let Err(shown) = reached {
        // The host's last event says why (its `errorCode`), when it recorded any.
        let events = js(client, "return window.__mobilepay ?? null").await;
        panic!(
            "the widget never reached status={status}: it shows {shown:?} with text {:?}; events {events}",
            shadow_text(client).await
        );
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

/// Opens the demo store's `page` (`/`, `/?widgets=2`…).
async fn open_store(client: &Client, stack: &Stack, page: &str) {
    client
        .goto(&format!("{}{page}", stack.store_url))
        .await
        .expect("the store opens");
}

/// The `status` of every checkout element on the page, in order.
async fn statuses(client: &Client) -> Vec<String> {
    let list = js(
        client,
        "return [...document.querySelectorAll('mobilepay-checkout')].map(e => e.getAttribute('status'))",
    )
    .await;
    list.as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until `check` holds for the page's widget statuses.
async fn wait_for_statuses(client: &Client, what: &str, check: impl Fn(&[String]) -> bool) {
    eventually(async || {
        let now = statuses(client).await;
        if check(&now) {
            Ok(())
        } else {
            Err(format!("never {what}: {now:?}"))
        }
    })
    .await
}

/// Waits until the sandbox's wallet page, after its form was sent, says the payment is made.
/// The shopper leaves only then: leaving earlier would cancel the form, and the page before the
/// answer also has a status line (reading it may race with the navigation).
async fn wait_for_wallet_confirmation(client: &Client) {
    eventually(async || {
        let text = match client.find(Locator::Css(".status")).await {
            Ok(status) => status.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains("Payé") {
            Ok(())
        } else {
            Err(format!("the wallet never confirmed: {text:?}"))
        }
    })
    .await
}

/// Pays on the sandbox's wallet page shown, and waits for its confirmation.
async fn pay_on_wallet_page(client: &Client) {
    client
        .find(Locator::Css("button[value=success]"))
        .await
        .expect("a pay button")
        .click()
        .await
        .expect("click");
    wait_for_wallet_confirmation(client).await;
}

/// Waits until `script` (an expression) evaluates to `wanted`.
async fn wait_for_js(client: &Client, script: &str, wanted: Value) {
    eventually(async || {
        let now = js(client, &format!("return {script}")).await;
        if now == wanted {
            Ok(())
        } else {
            Err(format!("`{script}` never became {wanted}: it is {now}"))
        }
    })
    .await
}

/// Opens the store and waits for the QR; returns the payment id.
async fn open_store_and_wait_for_qr(client: &Client, stack: &Stack) -> String {
    open_store(client, stack, "/").await;
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
    pay_on_wallet_page(client).await;

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
    open_store(client, &stack, "/").await;
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

#[tokio::test]
async fn a_reload_during_a_payment_resumes_the_same_payment_under_the_strict_csp() {
    let stack = stack().await;
    let page = reqwest::get(format!("{}/", stack.store_url))
        .await
        .expect("the store answers");
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let browser = browser(480, 900).await;
    let client = &browser.client;
    let payment_id = open_store_and_wait_for_qr(client, &stack).await;
    client.refresh().await.expect("reload");
    record_events(client).await;
    wait_for_status(client, "awaiting_payment").await;
    assert_eq!(
        attribute(client, "payment-id").await.as_deref(),
        Some(payment_id.as_str()),
        "the same payment, not a second charge"
    );
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn on_a_360px_phone_the_pay_button_comes_first_opens_the_wallet_and_the_store_shows_paid() {
    let stack = stack().await;
    let browser = phone().await;
    let client = &browser.client;
    let payment_id = open_store_and_wait_for_qr(client, &stack).await;
    let layout = js(
        client,
        "const root = document.querySelector('mobilepay-checkout').shadowRoot;
         const open = root.querySelector('a[part~=open-app]').getBoundingClientRect();
         const qr = root.querySelector('[part=qr]').getBoundingClientRect();
         return { openHeight: open.height, openBelowQr: open.top >= qr.bottom,
                  qrWidth: qr.width, pageWidth: document.documentElement.scrollWidth,
                  coarse: matchMedia('(pointer: coarse)').matches };",
    )
    .await;
    assert_eq!(layout["coarse"], true, "a touch phone: {layout}");
    assert!(
        layout["openHeight"].as_f64() >= Some(44.0),
        "a big button: {layout}"
    );
    assert_eq!(layout["openBelowQr"], false, "the button first: {layout}");
    assert!(
        layout["qrWidth"].as_f64() > Some(100.0),
        "the QR still there: {layout}"
    );
    assert!(
        layout["pageWidth"].as_f64() <= Some(360.0),
        "no sideways scrolling: {layout}"
    );
    screenshot(client, "phone-awaiting-payment.png").await;
    let violations = a11y::axe_violations(client).await;
    assert!(
        violations.is_empty(),
        "axe on the phone's layout (the app button shown): {violations:#?}"
    );

    // The link opens the wallet (the sandbox's page stands in for the app), which pays.
    js(
        client,
        "document.querySelector('mobilepay-checkout').shadowRoot.querySelector('a[part~=open-app]').click(); return null;",
    )
    .await;
    let wallet = format!("{}/wallet/{payment_id}", stack.sandbox_url);
    eventually(async || match client.current_url().await {
        Ok(url) if url.as_str() == wallet => Ok(()),
        other => Err(format!("the wallet page never opened: {other:?}")),
    })
    .await;
    pay_on_wallet_page(client).await;
    // Back in the store: the same order, its payment now paid.
    open_store(client, &stack, "/").await;
    wait_for_status(client, "paid").await;
    assert_eq!(
        attribute(client, "payment-id").await.as_deref(),
        Some(payment_id.as_str())
    );
    screenshot(client, "phone-paid.png").await;
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn two_widgets_on_one_page_are_paid_independently() {
    let stack = stack().await;
    let browser = browser(480, 1400).await;
    let client = &browser.client;
    open_store(client, &stack, "/?widgets=2").await;
    wait_for_statuses(client, "both awaiting", |s| {
        s == ["awaiting_payment", "awaiting_payment"]
    })
    .await;
    let ids = js(
        client,
        "return [...document.querySelectorAll('mobilepay-checkout')].map(e => e.getAttribute('payment-id'))",
    )
    .await;
    let second = ids[1].as_str().expect("a payment id").to_owned();
    assert_ne!(ids[0], ids[1], "two payments");
    simulate_payment(&stack, &second, "success").await;
    wait_for_statuses(client, "the second paid", |s| {
        s.get(1).map(String::as_str) == Some("paid")
    })
    .await;
    assert_eq!(statuses(client).await[0], "awaiting_payment");
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn the_dark_theme_in_english_reads_light_on_dark() {
    let stack = stack().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;
    open_store(client, &stack, "/?theme=dark&locale=en").await;
    wait_for_status(client, "awaiting_payment").await;
    let text = shadow_text(client).await;
    assert!(text.contains("Waiting for your payment"), "{text:?}");
    let colours = js(
        client,
        "const c = document.querySelector('mobilepay-checkout').shadowRoot.querySelector('.checkout');
         const s = getComputedStyle(c); return [s.backgroundColor, s.color];",
    )
    .await;
    assert_eq!(colours, json!(["rgb(27, 29, 31)", "rgb(242, 240, 234)"]));
    screenshot(client, "store-awaiting-payment-dark.png").await;
    client.clone().close().await.expect("browser closes");
}

#[tokio::test]
async fn the_js_api_mounts_into_a_div_and_calls_back_with_the_current_state() {
    let stack = stack().await;
    let browser = browser(480, 1400).await;
    let client = &browser.client;
    let payment_id = open_store_and_wait_for_qr(client, &stack).await;
    // The page's own order again, mounted from code: the backend resumes the same payment.
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             import('/widget/mobilepay-checkout.js').then(({ MobilePayCheckout }) => {
               const div = document.createElement('div');
               div.id = 'api';
               document.body.append(div);
               window.__calls = [];
               const orderId = document.querySelector('mobilepay-checkout').getAttribute('order-id');
               window.__handle = MobilePayCheckout.mount(div, {
                 orderId, locale: 'en', theme: 'dark',
                 onStatusChange: (d) => window.__calls.push('change:' + d.status),
                 onPaid: (d) => window.__calls.push('paid:' + d.status + ':' + d.paymentId),
               });
               done(true);
             }, (e) => done(String(e)));",
            vec![],
        )
        .await
        .expect("the module loads");
    // The mounted widget shows its QR.
    wait_for_js(
        client,
        "document.getElementById('api').getAttribute('status')",
        json!("awaiting_payment"),
    )
    .await;
    simulate_payment(&stack, &payment_id, "success").await;
    let calls = eventually(async || {
        let calls = js(client, "return window.__calls").await;
        let paid = calls.as_array().is_some_and(|c| {
            c.iter()
                .any(|x| x.as_str().is_some_and(|x| x.starts_with("paid:")))
        });
        if paid {
            Ok(calls)
        } else {
            Err(format!("no paid callback: {calls}"))
        }
    })
    .await;
    assert_eq!(
        calls,
        json!([
            "change:loading",
            "change:awaiting_payment",
            "change:paid",
            format!("paid:paid:{payment_id}")
        ])
    );
    js(client, "window.__handle.destroy(); return null;").await;
    assert_eq!(
        js(
            client,
            "return document.getElementById('api').shadowRoot.textContent"
        )
        .await,
        ""
    );
    client.clone().close().await.expect("browser closes");
}
