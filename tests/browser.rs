//! The widget in a real browser (headless Chromium through wasm-bindgen-test-runner), against a
//! stand-in backend: `fetch` and `EventSource` are replaced by scripted fakes, so each test
//! decides exactly what the backend answers and when each status event arrives.
#![cfg(target_arch = "wasm32")]

use mobilepay_wire::checkout::{CheckoutSession, SessionStatus};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, ShadowRoot, ShadowRootInit, ShadowRootMode};

wasm_bindgen_test_configure!(run_in_browser);

const PAYMENT_ID: &str = "PAYTEST000001";

fn session_json() -> String {
    serde_json::to_string(&CheckoutSession {
        session_id: "cs_test".into(),
        order_id: "ord_1".into(),
        status: SessionStatus::AwaitingPayment,
        amount: 25_000,
        currency: "FCFA".into(),
        description: "Pagne wax 6 yards".into(),
        payment_id: PAYMENT_ID.into(),
        qr_payload: "http://127.0.0.1:8090/wallet/PAYTEST000001".into(),
        expires_at: "2099-01-01T00:00:00Z".into(),
        events_url: "http://shop.test/checkout/sessions/cs_test/events?token=t".into(),
        status_url: "http://shop.test/checkout/sessions/cs_test/status?token=t".into(),
        failure: None,
    })
    .expect("serializes")
}

/// Runs a script in the page.
fn script(code: &str) -> JsValue {
    js_sys::Function::new_no_args(code)
        .call0(&JsValue::NULL)
        .expect("the script runs")
}

/// Replaces `fetch` with one answering each call with the next of `answers` (a JS array of
/// `[status, body]`, or `null` for a network failure), and `EventSource` with a fake that the test
/// drives through `window.__sources`.
fn fake_backend(answers: &str) {
    script(&format!(
        "window.__answers = {answers};
         window.__fetches = 0;
         window.fetch = async (request) => {{
           const answer = window.__answers[Math.min(window.__fetches++, window.__answers.length - 1)];
           if (answer === null) throw new TypeError('Failed to fetch');
           return new Response(answer[1], {{ status: answer[0], headers: {{ 'content-type': 'application/json' }} }});
         }};
         window.__sources = [];
         window.EventSource = class extends EventTarget {{
           constructor(url) {{ super(); this.url = url; this.readyState = 1; this.onerror = null; window.__sources.push(this); }}
           close() {{ this.readyState = 2; }}
         }};"
    ));
}

/// Sends a `status` event on the latest fake stream.
fn emit(status: &str, failure: Option<(&str, &str)>) {
    let failure = failure
        .map(|(code, message)| {
            format!(r#","failure":{{"error_code":"{code}","error_message":"{message}"}}"#)
        })
        .unwrap_or_default();
    script(&format!(
        r#"const s = window.__sources[window.__sources.length - 1];
           s.dispatchEvent(new MessageEvent('status', {{ data: '{{"status":"{status}","payment_id":"{PAYMENT_ID}"{failure}}}' }}));"#
    ));
}

struct Mounted {
    host: HtmlElement,
    root: ShadowRoot,
    handle: mobilepay_checkout::Handle,
}

impl Mounted {
    fn status(&self) -> Option<String> {
        self.host.get_attribute("status")
    }

    fn text(&self) -> String {
        self.root
            .text_content()
            .unwrap_or_default()
            .replace(['\u{202f}', '\u{a0}'], " ")
    }

    /// Waits (bounded) until the host reflects `status`.
    async fn reaches(&self, status: &str) {
        for _ in 0..300 {
            if self.status().as_deref() == Some(status) {
                return;
            }
            tick().await;
        }
        panic!(
            "never reached {status}: {:?}, {:?}",
            self.status(),
            self.text()
        );
    }

    fn click_button(&self) {
        let button: HtmlElement = self
            .root
            .query_selector("button")
            .expect("query")
            .expect("a button")
            .unchecked_into();
        button.click();
    }
}

fn mount(locale: &str) -> Mounted {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let host: HtmlElement = document
        .create_element("mobilepay-test")
        .expect("element")
        .unchecked_into();
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("appended");
    // Earlier tests' widgets stay in the page: listen on this host only.
    script("window.__events = []; return null;");
    for kind in ["statuschange", "paid", "failed", "expired", "error"] {
        let record = js_sys::Function::new_with_args(
            "e",
            "window.__events.push({ type: e.type, status: e.detail.status, errorCode: e.detail.errorCode });",
        );
        host.add_event_listener_with_callback(&format!("mobilepay:{kind}"), &record)
            .expect("listener");
    }
    let root = host
        .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
        .expect("shadow root");
    let handle = mobilepay_checkout::mount(
        host.clone(),
        root.clone(),
        "ord_1".into(),
        Some("http://shop.test".into()),
        Some(locale.into()),
    )
    .expect("mounts");
    Mounted { host, root, handle }
}

/// The `mobilepay:*` events the host dispatched, as `type:status[:errorCode]` strings. (That they
/// bubble out of the page's shadow roots to the document is checked end to end.)
fn events() -> Vec<String> {
    let list = script(
        "return window.__events.map(e => e.type + ':' + e.status + (e.errorCode ? ':' + e.errorCode : ''));",
    );
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

async fn tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[wasm_bindgen_test]
async fn the_session_shows_its_amount_description_and_qr_and_the_host_reflects_it() {
    fake_backend(&format!("[[201, {:?}]]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    assert_eq!(
        w.host.get_attribute("payment-id").as_deref(),
        Some(PAYMENT_ID)
    );
    let text = w.text();
    assert!(text.contains("25 000 FCFA"), "{text}");
    assert!(text.contains("Pagne wax 6 yards"), "{text}");
    let svg = w
        .root
        .query_selector("svg[role=img]")
        .expect("query")
        .expect("the QR's svg");
    let label = svg.get_attribute("aria-label").unwrap_or_default();
    assert!(
        label.contains("25") && label.contains("FCFA"),
        "a text alternative: {label}"
    );
    let path = w
        .root
        .query_selector("svg path")
        .expect("query")
        .expect("a path");
    assert!(path.get_attribute("d").unwrap_or_default().len() > 100);
    assert_eq!(
        script("return window.__sources.length;").as_f64(),
        Some(1.0)
    );
}

#[wasm_bindgen_test]
async fn a_paid_event_sets_paid_dispatches_mobilepay_paid_and_closes_the_stream() {
    fake_backend(&format!("[[201, {:?}]]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    emit("paid", None);
    w.reaches("paid").await;
    assert!(w.text().contains("Paiement reçu"), "{}", w.text());
    let events = events();
    assert!(
        events.contains(&"mobilepay:paid:paid".to_owned()),
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.starts_with("mobilepay:paid"))
            .count(),
        1
    );
    assert_eq!(
        script("return window.__sources[0].readyState;").as_f64(),
        Some(2.0)
    );
}

#[wasm_bindgen_test]
async fn a_late_failed_event_after_paid_changes_nothing() {
    fake_backend(&format!("[[201, {:?}]]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    emit("paid", None);
    w.reaches("paid").await;
    emit("failed", Some(("INSUFFICIENT_FUNDS", "Solde insuffisant")));
    for _ in 0..5 {
        tick().await;
    }
    assert_eq!(w.status().as_deref(), Some("paid"));
}

#[wasm_bindgen_test]
async fn a_failed_payment_shows_the_reason_in_the_chosen_language() {
    fake_backend(&format!("[[201, {:?}]]", session_json()));
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    emit("failed", Some(("INSUFFICIENT_FUNDS", "Solde insuffisant")));
    w.reaches("failed").await;
    assert!(w.text().contains("Insufficient funds"), "{}", w.text());
    assert!(events().contains(&"mobilepay:failed:failed:INSUFFICIENT_FUNDS".to_owned()));
}

#[wasm_bindgen_test]
async fn an_unreachable_backend_shows_an_error_and_retry_recovers() {
    fake_backend(&format!("[null, [201, {:?}]]", session_json()));
    let w = mount("fr");
    w.reaches("error").await;
    assert!(w.text().contains("Connexion impossible"), "{}", w.text());
    assert!(events().contains(&"mobilepay:error:error:NETWORK_ERROR".to_owned()));
    w.click_button();
    w.reaches("awaiting_payment").await;
}

#[wasm_bindgen_test]
async fn an_error_answer_is_shown_by_its_code_never_by_the_servers_text() {
    fake_backend(
        r#"[[404, "{\"error_code\":\"ORDER_NOT_FOUND\",\"error_message\":\"No order has this order_id\"}"]]"#,
    );
    let w = mount("fr");
    w.reaches("error").await;
    assert!(
        w.text().contains("Cette commande est introuvable"),
        "{}",
        w.text()
    );
    assert!(!w.text().contains("No order"), "{}", w.text());
}

#[wasm_bindgen_test]
async fn a_body_that_is_not_json_is_an_error_not_a_panic() {
    fake_backend(r#"[[200, "<html>proxy login</html>"]]"#);
    let w = mount("fr");
    w.reaches("error").await;
}

#[wasm_bindgen_test]
async fn destroy_unmounts_and_closes_the_event_stream() {
    fake_backend(&format!("[[201, {:?}]]", session_json()));
    let mut w = mount("fr");
    w.reaches("awaiting_payment").await;
    w.handle.destroy();
    assert_eq!(
        script("return window.__sources[0].readyState;").as_f64(),
        Some(2.0)
    );
    assert_eq!(w.text(), "");
}
