//! The merchant's console in Chromium: every page, signed in through the login form, checked
//! with axe-core at 360 px (a touch phone) and on a desktop, in French and in English; a payout
//! and a refund made through the console against the sandbox, end to end (the checkout paid
//! through the sandbox first, the refund's transfer seen at the sandbox, the refund turning
//! `succeeded` on `transfer.completed`); a notification redelivered, a webhook endpoint added,
//! an API key created and revoked. Takes the console's screenshots (desktop in French, phone in
//! English).
//!
//! Signing in at all proves that Chromium keeps a `Secure` cookie from `http://127.0.0.1`
//! (a secure context for browsers): without it, the login page would come back.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use mobilepay_client::{ApiKey, TransactionQuery};
use mobilepay_e2e::{DEMO_API_KEY, DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD, Stack};
use mobilepay_sandbox::accounts::DEMO_MERCHANT_KEY;
use serde_json::{Value, json};

use super::a11y::axe_violations;
use super::{PATIENCE, browser, js, log_server_errors, phone, screenshot, simulate_payment};

/// Fails with axe-core's findings if the page has any.
async fn assert_axe_clean(client: &Client, what: &str) {
    let violations = axe_violations(client).await;
    assert!(
        violations.is_empty(),
        "axe finds violations on {what}:\n{}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}

/// Waits until the page's path is `path` and its `h1` is there.
async fn wait_for_page(client: &Client, path: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let url = client.current_url().await.expect("a URL");
        let ready = js(
            client,
            "return document.readyState === 'complete' && !!document.querySelector('h1')",
        )
        .await;
        if url.path() == path && ready.as_bool() == Some(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never reached {path}: on {url} showing {:?}",
            js(client, "return document.body?.innerText ?? ''").await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until an element matches `css` on a fully loaded page.
async fn wait_for_css(client: &Client, css: &str) {
    let deadline = Instant::now() + PATIENCE;
    let script = format!(
        "return document.readyState === 'complete' && !!document.querySelector({})",
        serde_json::Value::from(css)
    );
    while js(client, &script).await.as_bool() != Some(true) {
        assert!(
            Instant::now() < deadline,
            "never showed {css}: {:?}",
            js(client, "return document.body?.innerText ?? ''").await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn fill(client: &Client, css: &str, text: &str) {
    let field = client.find(Locator::Css(css)).await.expect("the field");
    field.clear().await.expect("cleared");
    field.send_keys(text).await.expect("typed");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect("the button")
        .click()
        .await
        .expect("clicked");
}

/// Scrolls the element `css` to the top of the viewport (for a screenshot of that part).
async fn scroll_to(client: &Client, css: &str) {
    let script = format!(
        "document.querySelector({}).scrollIntoView({{ block: 'start' }}); return null;",
        serde_json::Value::from(css)
    );
    js(client, &script).await;
}

async fn text(client: &Client) -> String {
    js(client, "return document.body.innerText")
        .await
        .as_str()
        .unwrap_or_default()
        .replace(['\u{a0}', '\u{202f}'], " ")
}

/// The sandbox's balance for the demo merchant.
async fn sandbox_balance(mobilepay: &mobilepay_client::Client) -> u64 {
    mobilepay
        .balance()
        .await
        .expect("the sandbox answers")
        .balance
}

/// Goes through every page: login, balance, history, payout form, its confirmation, the sent
/// payout, the error page of a forged form, and signs out. `shots`: the screenshots' suffix,
/// `None` for none.
async fn every_page(
    client: &Client,
    stack: &Stack,
    shop_hooks: &str,
    lang: &str,
    shots: Option<&str>,
    amount: u64,
) {
    let mobilepay =
        mobilepay_client::Client::new(&stack.sandbox_url, ApiKey::new(DEMO_MERCHANT_KEY))
            .expect("a client");
    let context = |page: &str| format!("{page} ({lang}, {shots:?})");
    let shot = |page: &str| shots.map(|suffix| format!("console-{page}{suffix}.png"));
    let console = format!("{}/console", stack.store_url);

    client
        .goto(&format!("{console}/login?lang={lang}"))
        .await
        .expect("the login page opens");
    wait_for_page(client, "/console/login").await;
    let html_lang = js(client, "return document.documentElement.lang").await;
    assert_eq!(html_lang.as_str(), Some(lang));
    assert_axe_clean(client, &context("login")).await;
    if let Some(name) = shot("login") {
        screenshot(client, &name).await;
    }
    fill(client, "#email", DEMO_OPERATOR_EMAIL).await;
    fill(client, "#password", DEMO_OPERATOR_PASSWORD).await;
    click(client, "form.card button[type=submit]").await;
    wait_for_page(client, "/console/").await;
    // The session cookie is out of scripts' reach.
    let cookies = js(client, "return document.cookie").await;
    assert!(
        !cookies
            .as_str()
            .unwrap_or_default()
            .contains("mp_console_session"),
        "{cookies}"
    );
    let before = sandbox_balance(&mobilepay).await;
    let shown = text(client).await;
    let digits = before.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|group| std::str::from_utf8(group).expect("digits"))
        .collect();
    let grouped = groups.join(if lang == "fr" { " " } else { "," });
    assert!(
        shown.contains(&format!("{grouped} FCFA")),
        "{grouped} in {shown}"
    );
    assert_axe_clean(client, &context("balance")).await;
    if let Some(name) = shot("balance") {
        screenshot(client, &name).await;
    }

    client
        .goto(&format!("{console}/payouts"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/payouts").await;
    assert_axe_clean(client, &context("payout form")).await;
    if let Some(name) = shot("payout") {
        screenshot(client, &name).await;
    }
    fill(client, "#amount", &amount.to_string()).await;
    click(client, "form.card button[type=submit]").await;
    // The same path as the form's: wait for the confirmation's own form instead.
    wait_for_css(client, "form[action='/console/payouts/confirm']").await;
    let confirmation = text(client).await;
    let words = match lang {
        "fr" => "vingt-cinq mille francs CFA",
        _ => "twenty-five thousand CFA francs",
    };
    assert!(confirmation.contains(words), "{confirmation}");
    assert_axe_clean(client, &context("payout confirmation")).await;
    if let Some(name) = shot("payout-confirm") {
        screenshot(client, &name).await;
    }
    click(client, "form[action='/console/payouts/confirm'] button").await;
    let deadline = Instant::now() + PATIENCE;
    let payout_path = loop {
        let url = client.current_url().await.expect("a URL");
        if url.path().starts_with("/console/payouts/po_") {
            break url.path().to_owned();
        }
        assert!(Instant::now() < deadline, "no payout page: {url}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    wait_for_page(client, &payout_path).await;
    assert_eq!(sandbox_balance(&mobilepay).await, before - amount);
    let transfer = mobilepay
        .transactions(&TransactionQuery::default())
        .await
        .expect("the history")
        .transactions
        .into_iter()
        .next()
        .expect("the newest transaction");
    assert_eq!(transfer.amount, -i64::try_from(amount).expect("small"));
    assert!(text(client).await.contains(&transfer.transaction_id));
    assert_axe_clean(client, &context("payout sent")).await;
    if let Some(name) = shot("payout-sent") {
        screenshot(client, &name).await;
    }

    client
        .goto(&format!("{console}/history"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/history").await;
    let history = text(client).await;
    assert!(history.contains(&transfer.transaction_id), "{history}");
    assert_axe_clean(client, &context("history")).await;
    if let Some(name) = shot("history") {
        screenshot(client, &name).await;
    }

    webhooks_and_keys(client, stack, shop_hooks, lang, shots).await;
    checkout_and_refund(client, stack, &mobilepay, lang, shots).await;

    // A form whose token was tampered with: the error page, and nothing moves.
    let before = sandbox_balance(&mobilepay).await;
    client
        .goto(&format!("{console}/payouts"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/payouts").await;
    js(
        client,
        "document.querySelector('form.card input[name=csrf]').value = 'forged'; return null;",
    )
    .await;
    fill(client, "#amount", "1000").await;
    click(client, "form.card button[type=submit]").await;
    let deadline = Instant::now() + PATIENCE;
    while !text(client).await.contains("CONSOLE_CSRF_INVALID") {
        assert!(
            Instant::now() < deadline,
            "no error page: {}",
            text(client).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sandbox_balance(&mobilepay).await, before);
    assert_axe_clean(client, &context("error page")).await;
    if let Some(name) = shot("error") {
        screenshot(client, &name).await;
    }

    client.goto(&format!("{console}/")).await.expect("opens");
    wait_for_page(client, "/console/").await;
    click(client, "form.logout button").await;
    wait_for_page(client, "/console/login").await;
    client
        .goto(&format!("{console}/history"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/login").await;
}

/// `GET` of a `/v1` path with the demo shop's key, as JSON.
async fn v1_get(stack: &Stack, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", stack.store_url))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .expect("the backend answers")
        .json()
        .await
        .expect("JSON")
}

/// Waits until `check` holds of `GET path`'s answer.
async fn wait_for_v1(
    stack: &Stack,
    path: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = v1_get(stack, path).await;
        if check(&answer) {
            return answer;
        }
        assert!(Instant::now() < deadline, "never {what}: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A checkout of `amount` made by the shop's server through `/v1` and paid through the
/// sandbox (its default phone); its id once the backend has it paid.
async fn paid_checkout(stack: &Stack, reference: &str, amount: u64) -> String {
    let http = reqwest::Client::new();
    let checkout: Value = http
        .post(format!("{}/v1/checkouts", stack.store_url))
        .bearer_auth(DEMO_API_KEY)
        .json(
            &json!({"amount": amount, "description": "Pagne wax 6 yards", "reference": reference}),
        )
        .send()
        .await
        .expect("the backend answers")
        .json()
        .await
        .expect("a checkout");
    let id = checkout["id"].as_str().expect("an id").to_owned();
    let session: Value = http
        .post(format!("{}/checkout/sessions", stack.store_url))
        .json(&json!({"order_id": id}))
        .send()
        .await
        .expect("the backend answers")
        .json()
        .await
        .expect("a session");
    simulate_payment(
        stack,
        session["payment_id"].as_str().expect("a payment"),
        "success",
    )
    .await;
    wait_for_v1(stack, &format!("/v1/checkouts/{id}"), "paid", |c| {
        c["status"] == "paid"
    })
    .await;
    id
}

/// Waits until the page's URL has `path` and a query holding `query`.
async fn wait_for_url(client: &Client, path: &str, query: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let url = client.current_url().await.expect("a URL");
        if url.path() == path && url.query().unwrap_or_default().contains(query) {
            wait_for_page(client, path).await;
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never reached {path}?{query}: on {url} showing {:?}",
            text(client).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A checkout paid through the sandbox, found in the console's list by its reference, part of
/// it refunded from its page — the transfer seen at the sandbox, the refund `succeeded` on
/// `transfer.completed` — and its `checkout.paid` notification redelivered.
async fn checkout_and_refund(
    client: &Client,
    stack: &Stack,
    mobilepay: &mobilepay_client::Client,
    lang: &str,
    shots: Option<&str>,
) {
    let context = |page: &str| format!("{page} ({lang}, {shots:?})");
    let shot = |page: &str| shots.map(|suffix| format!("console-{page}{suffix}.png"));
    let console = format!("{}/console", stack.store_url);
    let reference = format!(
        "commande-{lang}-{}",
        shots.map_or("x", |s| if s.is_empty() { "d" } else { "p" })
    );
    let id = paid_checkout(stack, &reference, 10_000).await;

    client
        .goto(&format!("{console}/checkouts"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/checkouts").await;
    assert_axe_clean(client, &context("checkouts")).await;
    fill(client, "#q", &reference).await;
    click(client, "form.filters button[type=submit]").await;
    wait_for_url(client, "/console/checkouts", &format!("q={reference}")).await;
    let listed = text(client).await;
    assert!(listed.contains(&reference), "{listed}");
    assert_axe_clean(client, &context("checkouts filtered")).await;
    client
        .goto(&format!("{console}/checkouts"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/checkouts").await;
    if let Some(name) = shot("checkouts") {
        screenshot(client, &name).await;
    }
    click(client, &format!("a[href='/console/checkouts/{id}']")).await;
    let page = format!("/console/checkouts/{id}");
    wait_for_page(client, &page).await;
    let shown = text(client).await;
    assert!(shown.contains("payment.received"), "{shown}");
    assert_axe_clean(client, &context("checkout")).await;
    if let Some(name) = shot("checkout") {
        scroll_to(client, "#refunds").await;
        screenshot(client, &name).await;
    }

    let before = sandbox_balance(mobilepay).await;
    fill(client, "#amount", "4000").await;
    fill(client, "#reason", "Taille trop petite").await;
    click(client, "form[action$='/refunds'] button[type=submit]").await;
    wait_for_url(client, &page, "refund=rf_").await;
    // The money reached the sandbox: the merchant's balance and its history show the transfer.
    assert_eq!(sandbox_balance(mobilepay).await, before - 4_000);
    let transfer = mobilepay
        .transactions(&TransactionQuery::default())
        .await
        .expect("the history")
        .transactions
        .into_iter()
        .find(|t| t.amount == -4_000)
        .expect("the refund's transfer in the sandbox's history");
    let checkout = wait_for_v1(
        stack,
        &page.replace("/console", "/v1"),
        "refund succeeded",
        |c| c["refunds"][0]["status"] == "succeeded",
    )
    .await;
    assert_eq!(
        checkout["refunds"][0]["transfer_id"],
        transfer.transaction_id.as_str()
    );
    assert_eq!(checkout["amount_refundable"], 6_000);
    let refund_id = checkout["refunds"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    client
        .goto(&format!("{}{page}?refund={refund_id}", stack.store_url))
        .await
        .expect("opens");
    wait_for_page(client, &page).await;
    let refunded = text(client).await;
    let (done, remains) = match lang {
        "fr" => ("4 000 FCFA · Effectué", "6 000 FCFA"),
        _ => ("4,000 FCFA · Succeeded", "6,000 FCFA"),
    };
    assert!(refunded.contains(done), "{refunded}");
    assert!(refunded.contains(remains), "{refunded}");
    assert!(refunded.contains("transfer.completed"), "{refunded}");
    assert!(refunded.contains(&transfer.transaction_id), "{refunded}");
    assert_axe_clean(client, &context("checkout refunded")).await;
    if let Some(name) = shot("checkout-refunded") {
        scroll_to(client, "#refunds").await;
        screenshot(client, &name).await;
    }

    // The checkout.paid event's notification, delivered to the shop, sent again.
    let timeline = text(client).await;
    let delivered = match lang {
        "fr" => "Livrée",
        _ => "Delivered",
    };
    assert!(
        timeline.contains(delivered) && timeline.contains("HTTP 200"),
        "{timeline}"
    );
    click(client, "ol.entries li[id^='evt_'] form.inline button").await;
    wait_for_url(client, &page, "redelivered=evt_").await;
    assert_axe_clean(client, &context("checkout redelivered")).await;
    if let Some(name) = shot("checkout-timeline") {
        scroll_to(client, "#timeline").await;
        screenshot(client, &name).await;
    }

    // The endpoints' health, now that they have had deliveries.
    client
        .goto(&format!("{console}/webhooks"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/webhooks").await;
    let health = text(client).await;
    let success = match lang {
        "fr" => "Dernière livraison réussie",
        _ => "Last successful delivery",
    };
    assert!(health.contains(success), "{health}");
    assert_axe_clean(client, &context("webhooks with deliveries")).await;
    if let Some(name) = shot("webhooks") {
        scroll_to(client, "#endpoints").await;
        screenshot(client, &name).await;
    }
}

/// The webhooks page — an endpoint added (`shop_hooks`, the shop's receiver), its secret shown
/// once — and the API keys page — a key created, shown once, then revoked.
async fn webhooks_and_keys(
    client: &Client,
    stack: &Stack,
    shop_hooks: &str,
    lang: &str,
    shots: Option<&str>,
) {
    let context = |page: &str| format!("{page} ({lang}, {shots:?})");
    let shot = |page: &str| shots.map(|suffix| format!("console-{page}{suffix}.png"));
    let console = format!("{}/console", stack.store_url);

    client
        .goto(&format!("{console}/webhooks"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/webhooks").await;
    assert_axe_clean(client, &context("webhooks")).await;
    fill(client, "#url", shop_hooks).await;
    click(client, "form.card button[type=submit]").await;
    wait_for_css(client, "code.secret-value").await;
    let secret = js(
        client,
        "return document.querySelector('code.secret-value').textContent",
    )
    .await;
    assert!(
        secret.as_str().is_some_and(|s| s.starts_with("whsec_")),
        "{secret}"
    );
    assert_axe_clean(client, &context("webhook endpoint added")).await;
    if let Some(name) = shot("webhook-added") {
        screenshot(client, &name).await;
    }
    client
        .goto(&format!("{console}/webhooks"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/webhooks").await;
    let again = js(client, "return document.documentElement.outerHTML").await;
    assert!(
        !again.as_str().unwrap_or_default().contains("whsec_"),
        "the secret is shown once"
    );

    client
        .goto(&format!("{console}/keys"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/keys").await;
    assert_axe_clean(client, &context("API keys")).await;
    fill(client, "#label", "Serveur de la boutique").await;
    click(client, "form.card button[type=submit]").await;
    wait_for_css(client, "code.secret-value").await;
    let key = js(
        client,
        "return document.querySelector('code.secret-value').textContent",
    )
    .await;
    let key = key.as_str().expect("the key").to_owned();
    assert!(key.starts_with("mk_live_"), "{key}");
    let works = reqwest::Client::new()
        .get(format!("{}/v1/checkouts", stack.store_url))
        .bearer_auth(&key)
        .send()
        .await
        .expect("the backend answers");
    assert_eq!(works.status(), 200, "the new key works on /v1");
    assert_axe_clean(client, &context("API key created")).await;
    if let Some(name) = shot("key-created") {
        screenshot(client, &name).await;
    }
    client
        .goto(&format!("{console}/keys"))
        .await
        .expect("opens");
    wait_for_page(client, "/console/keys").await;
    let hint = &key[..12];
    let revoke = format!(
        "//li[p/code[starts-with(., '{hint}')]]//form[contains(@action, '/revoke')]//button"
    );
    client
        .find(Locator::XPath(&revoke))
        .await
        .expect("the key's revoke button")
        .click()
        .await
        .expect("clicked");
    wait_for_url(client, "/console/keys", "revoked=1").await;
    let refused = reqwest::Client::new()
        .get(format!("{}/v1/checkouts", stack.store_url))
        .bearer_auth(&key)
        .send()
        .await
        .expect("the backend answers");
    assert_eq!(refused.status(), 401, "a revoked key is refused");
    assert_axe_clean(client, &context("API keys, one revoked")).await;
    if let Some(name) = shot("keys") {
        screenshot(client, &name).await;
    }
}

#[tokio::test]
async fn every_console_page_is_axe_clean_on_a_phone_and_a_desktop_in_both_languages_and_a_payout_and_a_refund_reach_the_sandbox()
 {
    log_server_errors();
    let stack = Stack::start("127.0.0.1:0", "127.0.0.1:0", None)
        .await
        .expect("sandbox and merchant backend start");
    // The shop's webhook receiver: every notification answered 200.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let shop_hooks = format!(
        "http://{}/webhooks/mobilepay-checkout",
        receiver.local_addr().expect("an address")
    );
    tokio::spawn(async move {
        let router = axum::Router::new().route(
            "/webhooks/mobilepay-checkout",
            axum::routing::post(|| async { "ok" }),
        );
        axum::serve(receiver, router).await
    });
    let desktop = browser(1280, 900).await;
    every_page(&desktop.client, &stack, &shop_hooks, "fr", Some(""), 25_000).await;
    every_page(&desktop.client, &stack, &shop_hooks, "en", None, 25_000).await;
    desktop
        .client
        .clone()
        .close()
        .await
        .expect("browser closes");
    let phone = phone().await;
    every_page(&phone.client, &stack, &shop_hooks, "fr", None, 25_000).await;
    every_page(
        &phone.client,
        &stack,
        &shop_hooks,
        "en",
        Some("-phone"),
        25_000,
    )
    .await;
    phone.client.clone().close().await.expect("browser closes");
}
