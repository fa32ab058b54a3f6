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

use fantoccini::{Client, Locator};
use mobilepay_client::{ApiKey, TransactionQuery};
use mobilepay_e2e::{DEMO_API_KEY, DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD, Stack};
use mobilepay_sandbox::accounts::DEMO_MERCHANT_KEY;
use mobilepay_wire::api::Transaction;
use serde_json::{Value, json};

use super::a11y::axe_violations;
use super::{
    browser, create_checkout, eventually, js, json_answer, log_server_errors, patiently, phone,
    screenshot, simulate_payment,
};

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
    let reached = patiently(async || {
        let url = client.current_url().await.expect("a URL");
        let ready = js(
            client,
            "return document.readyState === 'complete' && !!document.querySelector('h1')",
        )
        .await;
        if url.path() == path && ready.as_bool() == Some(true) {
            Ok(())
        } else {
            Err(url)
        }
    })
    .await;
    if let Err(url) = reached {
        panic!(
            "never reached {path}: on {url} showing {:?}",
            js(client, "return document.body?.innerText ?? ''").await
        );
    }
}

/// Waits until an element matches `css` on a fully loaded page.
async fn wait_for_css(client: &Client, css: &str) {
    let script = format!(
        "return document.readyState === 'complete' && !!document.querySelector({})",
        serde_json::Value::from(css)
    );
    let shown = patiently(async || match js(client, &script).await.as_bool() {
        Some(true) => Ok(()),
        _ => Err(()),
    })
    .await;
    if shown.is_err() {
        panic!(
            "never showed {css}: {:?}",
            js(client, "return document.body?.innerText ?? ''").await
        );
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

/// Fills the page's form's `field` with `text`, sends it, and reads the secret the answer shows
/// once.
async fn submit_for_secret(client: &Client, field: &str, text: &str) -> Value {
    fill(client, field, text).await;
    click(client, "form.card button[type=submit]").await;
    wait_for_css(client, "code.secret-value").await;
    js(
        client,
        "return document.querySelector('code.secret-value').textContent",
    )
    .await
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

/// One pass through the console: its pages in `lang`, their screenshots taken with the suffix
/// `shots` (none when `None`).
struct Tour<'a> {
    client: &'a Client,
    /// `{store}/console`.
    console: String,
    lang: &'a str,
    shots: Option<&'a str>,
}

impl Tour<'_> {
    /// Opens the console's `path` (`/payouts`) and waits until it is shown.
    async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.console))
            .await
            .expect("opens");
        wait_for_page(self.client, &format!("/console{path}")).await;
    }

    /// Fails with axe-core's findings on the page shown (`what`) if it has any.
    async fn assert_axe_clean(&self, what: &str) {
        let context = format!("{what} ({}, {:?})", self.lang, self.shots);
        assert_axe_clean(self.client, &context).await;
    }

    /// The page's screenshot `console-{name}{suffix}.png`, if this pass takes them, with the
    /// element `scroll` (CSS) at the top.
    async fn screenshot(&self, name: &str, scroll: Option<&str>) {
        let Some(suffix) = self.shots else { return };
        if let Some(css) = scroll {
            scroll_to(self.client, css).await;
        }
        screenshot(self.client, &format!("console-{name}{suffix}.png")).await;
    }

    /// [`Tour::assert_axe_clean`], then [`Tour::screenshot`] as `name`.
    async fn check(&self, what: &str, name: &str) {
        self.assert_axe_clean(what).await;
        self.screenshot(name, None).await;
    }
}

/// The sandbox's balance for the demo merchant.
async fn sandbox_balance(mobilepay: &mobilepay_client::Client) -> u64 {
    mobilepay
        .balance()
        .await
        .expect("the sandbox answers")
        .balance
}

/// The sandbox's history for the demo merchant, newest first.
async fn sandbox_history(mobilepay: &mobilepay_client::Client) -> Vec<Transaction> {
    mobilepay
        .transactions(&TransactionQuery::default())
        .await
        .expect("the history")
        .transactions
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
    let tour = Tour {
        client,
        console: format!("{}/console", stack.store_url),
        lang,
        shots,
    };

    client
        .goto(&format!("{}/login?lang={lang}", tour.console))
        .await
        .expect("the login page opens");
    wait_for_page(client, "/console/login").await;
    let html_lang = js(client, "return document.documentElement.lang").await;
    assert_eq!(html_lang.as_str(), Some(lang));
    tour.check("login", "login").await;
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
    tour.check("balance", "balance").await;

    tour.open("/payouts").await;
    tour.check("payout form", "payout").await;
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
    tour.check("payout confirmation", "payout-confirm").await;
    click(client, "form[action='/console/payouts/confirm'] button").await;
    let payout_path = eventually(async || {
        let url = client.current_url().await.expect("a URL");
        if url.path().starts_with("/console/payouts/po_") {
            Ok(url.path().to_owned())
        } else {
            Err(format!("no payout page: {url}"))
        }
    })
    .await;
    wait_for_page(client, &payout_path).await;
    assert_eq!(sandbox_balance(&mobilepay).await, before - amount);
    let transfer = sandbox_history(&mobilepay)
        .await
        .into_iter()
        .next()
        .expect("the newest transaction");
    assert_eq!(transfer.amount, -i64::try_from(amount).expect("small"));
    assert!(text(client).await.contains(&transfer.transaction_id));
    tour.check("payout sent", "payout-sent").await;

    tour.open("/history").await;
    let history = text(client).await;
    assert!(history.contains(&transfer.transaction_id), "{history}");
    tour.check("history", "history").await;

    webhooks_and_keys(&tour, stack, shop_hooks).await;
    checkout_and_refund(&tour, stack, &mobilepay).await;

    // A form whose token was tampered with: the error page, and nothing moves.
    let before = sandbox_balance(&mobilepay).await;
    tour.open("/payouts").await;
    js(
        client,
        "document.querySelector('form.card input[name=csrf]').value = 'forged'; return null;",
    )
    .await;
    fill(client, "#amount", "1000").await;
    click(client, "form.card button[type=submit]").await;
    eventually(async || {
        let shown = text(client).await;
        if shown.contains("CONSOLE_CSRF_INVALID") {
            Ok(())
        } else {
            Err(format!("no error page: {shown}"))
        }
    })
    .await;
    assert_eq!(sandbox_balance(&mobilepay).await, before);
    tour.check("error page", "error").await;

    tour.open("/").await;
    click(client, "form.logout button").await;
    wait_for_page(client, "/console/login").await;
    client
        .goto(&format!("{}/history", tour.console))
        .await
        .expect("opens");
    wait_for_page(client, "/console/login").await;
}

/// `GET` of a `/v1` path with the demo shop's key, as JSON.
async fn v1_get(stack: &Stack, path: &str) -> Value {
    let request = reqwest::Client::new()
        .get(format!("{}{path}", stack.store_url))
        .bearer_auth(DEMO_API_KEY);
    json_answer(request, "JSON").await
}

/// The status `GET /v1/checkouts` answers with `key`.
async fn checkouts_status_with(stack: &Stack, key: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("{}/v1/checkouts", stack.store_url))
        .bearer_auth(key)
        .send()
        .await
        .expect("the backend answers")
        .status()
}

/// Waits until `check` holds of `GET path`'s answer.
async fn wait_for_v1(
    stack: &Stack,
    path: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(async || {
        let answer = v1_get(stack, path).await;
        if check(&answer) {
            Ok(answer)
        } else {
            Err(format!("never {what}: {answer}"))
        }
    })
    .await
}

/// A checkout of `amount` made by the shop's server through `/v1` and paid through the
/// sandbox (its default phone); its id once the backend has it paid.
async fn paid_checkout(stack: &Stack, reference: &str, amount: u64) -> String {
    let body =
        json!({"amount": amount, "description": "Pagne wax 6 yards", "reference": reference});
    let checkout = create_checkout(stack, &body).await;
    let id = checkout["id"].as_str().expect("an id").to_owned();
    let session = reqwest::Client::new()
        .post(format!("{}/checkout/sessions", stack.store_url))
        .json(&json!({"order_id": id}));
    let session = json_answer(session, "a session").await;
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
    let reached = patiently(async || {
        let url = client.current_url().await.expect("a URL");
        if url.path() == path && url.query().unwrap_or_default().contains(query) {
            Ok(())
        } else {
            Err(url)
        }
    })
    .await;
    match reached {
        Ok(()) => wait_for_page(client, path).await,
        Err(url) => panic!(
            "never reached {path}?{query}: on {url} showing {:?}",
            text(client).await
        ),
    }
}

/// A checkout paid through the sandbox, found in the console's list by its reference, part of
/// it refunded from its page — the transfer seen at the sandbox, the refund `succeeded` on
/// `transfer.completed` — and its `checkout.paid` notification redelivered.
async fn checkout_and_refund(tour: &Tour<'_>, stack: &Stack, mobilepay: &mobilepay_client::Client) {
    let Tour {
        client,
        lang,
        shots,
        ..
    } = *tour;
    let reference = format!(
        "commande-{lang}-{}",
        shots.map_or("x", |s| if s.is_empty() { "d" } else { "p" })
    );
    let id = paid_checkout(stack, &reference, 10_000).await;

    tour.open("/checkouts").await;
    tour.assert_axe_clean("checkouts").await;
    fill(client, "#q", &reference).await;
    click(client, "form.filters button[type=submit]").await;
    wait_for_url(client, "/console/checkouts", &format!("q={reference}")).await;
    let listed = text(client).await;
    assert!(listed.contains(&reference), "{listed}");
    tour.assert_axe_clean("checkouts filtered").await;
    tour.open("/checkouts").await;
    tour.screenshot("checkouts", None).await;
    click(client, &format!("a[href='/console/checkouts/{id}']")).await;
    let page = format!("/console/checkouts/{id}");
    wait_for_page(client, &page).await;
    let shown = text(client).await;
    assert!(shown.contains("payment.received"), "{shown}");
    tour.assert_axe_clean("checkout").await;
    tour.screenshot("checkout", Some("#refunds")).await;

    let before = sandbox_balance(mobilepay).await;
    fill(client, "#amount", "4000").await;
    fill(client, "#reason", "Taille trop petite").await;
    click(client, "form[action$='/refunds'] button[type=submit]").await;
    wait_for_url(client, &page, "refund=rf_").await;
    // The money reached the sandbox: the merchant's balance and its history show the transfer.
    assert_eq!(sandbox_balance(mobilepay).await, before - 4_000);
    let transfer = sandbox_history(mobilepay)
        .await
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
    tour.assert_axe_clean("checkout refunded").await;
    tour.screenshot("checkout-refunded", Some("#refunds")).await;

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
    tour.assert_axe_clean("checkout redelivered").await;
    tour.screenshot("checkout-timeline", Some("#timeline"))
        .await;

    // The endpoints' health, now that they have had deliveries.
    tour.open("/webhooks").await;
    let health = text(client).await;
    let success = match lang {
        "fr" => "Dernière livraison réussie",
        _ => "Last successful delivery",
    };
    assert!(health.contains(success), "{health}");
    tour.assert_axe_clean("webhooks with deliveries").await;
    tour.screenshot("webhooks", Some("#endpoints")).await;
}

/// The webhooks page — an endpoint added (`shop_hooks`, the shop's receiver), its secret shown
/// once — and the API keys page — a key created, shown once, then revoked.
async fn webhooks_and_keys(tour: &Tour<'_>, stack: &Stack, shop_hooks: &str) {
    let client = tour.client;

    tour.open("/webhooks").await;
    tour.assert_axe_clean("webhooks").await;
    let secret = submit_for_secret(client, "#url", shop_hooks).await;
    assert!(
        secret.as_str().is_some_and(|s| s.starts_with("whsec_")),
        "{secret}"
    );
    tour.check("webhook endpoint added", "webhook-added").await;
    tour.open("/webhooks").await;
    let again = js(client, "return document.documentElement.outerHTML").await;
    assert!(
        !again.as_str().unwrap_or_default().contains("whsec_"),
        "the secret is shown once"
    );

    tour.open("/keys").await;
    tour.assert_axe_clean("API keys").await;
    let key = submit_for_secret(client, "#label", "Serveur de la boutique").await;
    let key = key.as_str().expect("the key").to_owned();
    assert!(key.starts_with("mk_live_"), "{key}");
    let works = checkouts_status_with(stack, &key).await;
    assert_eq!(works, 200, "the new key works on /v1");
    tour.check("API key created", "key-created").await;
    tour.open("/keys").await;
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
    let refused = checkouts_status_with(stack, &key).await;
    assert_eq!(refused, 401, "a revoked key is refused");
    tour.check("API keys, one revoked", "keys").await;
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
