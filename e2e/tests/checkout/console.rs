//! The merchant's console in Chromium: every page, signed in through the login form, checked
//! with axe-core at 360 px (a touch phone) and on a desktop, in French and in English; a payout
//! made through the console against the sandbox, end to end. Takes the console's screenshots
//! (desktop in French, phone in English).
//!
//! Signing in at all proves that Chromium keeps a `Secure` cookie from `http://127.0.0.1`
//! (a secure context for browsers): without it, the login page would come back.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use mobilepay_client::{ApiKey, TransactionQuery};
use mobilepay_e2e::{DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD, Stack};
use mobilepay_sandbox::accounts::DEMO_MERCHANT_KEY;

use super::a11y::axe_violations;
use super::{PATIENCE, browser, js, log_server_errors, phone, screenshot};

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
async fn every_page(client: &Client, stack: &Stack, lang: &str, shots: Option<&str>, amount: u64) {
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

    // A form whose token was tampered with: the error page.
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
    assert_eq!(sandbox_balance(&mobilepay).await, before - amount);
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

#[tokio::test]
async fn every_console_page_is_axe_clean_on_a_phone_and_a_desktop_in_both_languages_and_a_payout_reaches_the_sandbox()
 {
    log_server_errors();
    let stack = Stack::start("127.0.0.1:0", "127.0.0.1:0", None)
        .await
        .expect("sandbox and merchant backend start");
    let desktop = browser(1280, 900).await;
    every_page(&desktop.client, &stack, "fr", Some(""), 25_000).await;
    every_page(&desktop.client, &stack, "en", None, 25_000).await;
    desktop
        .client
        .clone()
        .close()
        .await
        .expect("browser closes");
    let phone = phone().await;
    every_page(&phone.client, &stack, "fr", None, 25_000).await;
    every_page(&phone.client, &stack, "en", Some("-phone"), 25_000).await;
    phone.client.clone().close().await.expect("browser closes");
}
