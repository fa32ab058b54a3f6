//! Accessibility: axe-core (npm, installed by `cargo xtask test`) injected through WebDriver —
//! which the store's strict CSP does not block — and run over the whole page, the widget's
//! open shadow root included, in every state a shopper can reach, in both languages and both
//! themes. Also takes each state's screenshot, light (French) and dark (English).

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::Client;
use mobilepay_e2e::{Options, Stack};
use serde_json::Value;

use super::{
    attribute, browser, eventually, js, open_store, screenshot, simulate_payment, stack,
    wait_for_status,
};

/// The language and theme combinations; the first and last are the screenshots' light and dark.
const VARIANTS: [(&str, &str); 4] = [("fr", ""), ("fr", "dark"), ("en", ""), ("en", "dark")];

/// Screenshots other tests already take of the same state.
const TAKEN_ELSEWHERE: [&str; 4] = [
    "store-awaiting-payment.png",
    "store-awaiting-payment-dark.png",
    "store-paid.png",
    "store-failed.png",
];

/// axe-core's violations on the current page, summarised (rule, impact, where, why).
pub(super) async fn axe_violations(client: &Client) -> Vec<Value> {
    let path = std::env::var_os("MOBILEPAY_AXE_JS")
        .map(PathBuf::from)
        .expect("MOBILEPAY_AXE_JS must name axe.min.js: run `cargo xtask test`");
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    client
        .execute(&format!("{source}\nreturn typeof axe;"), vec![])
        .await
        .expect("axe-core loads into the page");
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(
               (r) => done(r.violations.map((v) => ({
                 id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map((n) => ({ target: n.target, why: n.failureSummary })),
               }))),
               (e) => done('axe failed: ' + e));",
            vec![],
        )
        .await
        .expect("axe runs");
    match result {
        Value::Array(violations) => violations,
        other => panic!("{other}"),
    }
}

/// How the test gets the widget into a state, on a page already showing it.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Loading,
    AwaitingPayment,
    Paid,
    Failed,
    Expired,
    Error,
}

impl Target {
    fn status(self) -> &'static str {
        match self {
            Target::Loading => "loading",
            Target::AwaitingPayment => "awaiting_payment",
            Target::Paid => "paid",
            Target::Failed => "failed",
            Target::Expired => "expired",
            Target::Error => "error",
        }
    }
}

/// Opens the store in every variant, brings the widget to `target`, asserts axe finds nothing,
/// and takes the state's light and dark screenshots.
async fn no_violations_in_any_variant(stack: &Stack, target: Target) {
    let browser = browser(480, 900).await;
    let client = &browser.client;
    for (locale, theme) in VARIANTS {
        open_store(client, stack, &format!("/?locale={locale}&theme={theme}")).await;
        match target {
            Target::Loading => {
                wait_for_any_status(client).await;
                // A backend that never answers: a fresh widget stays in `loading`.
                js(
                    client,
                    "window.fetch = () => new Promise(() => {});
                     document.querySelector('mobilepay-checkout').setAttribute('order-id', 'ord_slow');
                     return null;",
                )
                .await;
            }
            Target::Error => {
                js(
                    client,
                    "document.querySelector('mobilepay-checkout').setAttribute('order-id', 'ord_nope'); return null;",
                )
                .await;
            }
            Target::Paid | Target::Failed => {
                // The visitor's order is kept: a paid one stays paid, a failed one starts over.
                wait_for_any_status(client).await;
                if attribute(client, "status").await.as_deref() == Some("awaiting_payment") {
                    let payment = attribute(client, "payment-id").await.expect("a payment id");
                    let outcome = if target == Target::Paid {
                        "success"
                    } else {
                        "insufficient_funds"
                    };
                    simulate_payment(stack, &payment, outcome).await;
                }
            }
            Target::AwaitingPayment | Target::Expired => {}
        }
        wait_for_status(client, target.status()).await;
        let violations = axe_violations(client).await;
        assert!(
            violations.is_empty(),
            "axe finds violations with status={} locale={locale} theme={theme:?}:\n{}",
            target.status(),
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
        let shot = match (locale, theme) {
            ("fr", "") => format!("store-{}.png", target.status().replace('_', "-")),
            ("en", "dark") => format!("store-{}-dark.png", target.status().replace('_', "-")),
            _ => continue,
        };
        if !TAKEN_ELSEWHERE.contains(&shot.as_str()) {
            screenshot(client, &shot).await;
        }
    }
    client.clone().close().await.expect("browser closes");
}

/// Waits until the widget is past `loading`.
async fn wait_for_any_status(client: &Client) {
    eventually(async || match attribute(client, "status").await {
        Some(status) if status != "loading" => Ok(()),
        status => Err(format!("the widget never left loading: {status:?}")),
    })
    .await
}

#[tokio::test]
async fn axe_finds_no_violation_while_loading_in_both_languages_and_themes() {
    no_violations_in_any_variant(&stack().await, Target::Loading).await;
}

#[tokio::test]
async fn axe_finds_no_violation_while_awaiting_payment_in_both_languages_and_themes() {
    no_violations_in_any_variant(&stack().await, Target::AwaitingPayment).await;
}

#[tokio::test]
async fn axe_finds_no_violation_once_paid_in_both_languages_and_themes() {
    no_violations_in_any_variant(&stack().await, Target::Paid).await;
}

#[tokio::test]
async fn axe_finds_no_violation_after_a_failed_payment_in_both_languages_and_themes() {
    no_violations_in_any_variant(&stack().await, Target::Failed).await;
}

#[tokio::test]
async fn axe_finds_no_violation_on_an_error_in_both_languages_and_themes() {
    no_violations_in_any_variant(&stack().await, Target::Error).await;
}

#[tokio::test]
async fn axe_finds_no_violation_once_expired_in_both_languages_and_themes() {
    let widget = std::env::var_os("MOBILEPAY_WIDGET_DIR").map(PathBuf::from);
    // Payments that expire while the test watches: each variant's reload makes a new one.
    let stack = Stack::start_with_options(
        "127.0.0.1:0",
        "127.0.0.1:0",
        Options {
            widget_dir: widget,
            payment_ttl: Some(Duration::from_secs(3)),
            ..Options::default()
        },
    )
    .await
    .expect("sandbox and merchant backend start");
    no_violations_in_any_variant(&stack, Target::Expired).await;
}

#[tokio::test]
async fn axe_reports_a_violation_planted_inside_the_widgets_shadow_root() {
    let stack = stack().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;
    open_store(client, &stack, "/").await;
    wait_for_status(client, "awaiting_payment").await;
    // What the tests above would catch: an image with no text alternative, in the shadow DOM.
    js(
        client,
        "const img = document.createElement('img');
         img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
         document.querySelector('mobilepay-checkout').shadowRoot.querySelector('.checkout').append(img);
         return null;",
    )
    .await;
    let violations = axe_violations(client).await;
    let ids: Vec<&str> = violations.iter().filter_map(|v| v["id"].as_str()).collect();
    assert_eq!(ids, ["image-alt"], "{violations:#?}");
    let target = &violations[0]["nodes"][0]["target"];
    assert_eq!(
        target[0][0], "mobilepay-checkout",
        "found through the shadow host: {target}"
    );
    client.clone().close().await.expect("browser closes");
}
