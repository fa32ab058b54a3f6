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

fn session(payment_id: &str, expires_at: &str) -> CheckoutSession {
    CheckoutSession {
        session_id: format!("cs_{payment_id}"),
        order_id: "ord_1".into(),
        status: SessionStatus::AwaitingPayment,
        amount: mobilepay_wire::Amount::new(25_000),
        currency: "FCFA".into(),
        description: "Pagne wax 6 yards".into(),
        payment_id: payment_id.into(),
        qr_payload: format!("http://127.0.0.1:8090/wallet/{payment_id}"),
        expires_at: expires_at.into(),
        events_url: format!("http://shop.test/checkout/sessions/cs_{payment_id}/events?token=t"),
        status_url: format!("http://shop.test/checkout/sessions/cs_{payment_id}/status?token=t"),
        failure: None,
    }
}

/// A fake answer to `fetch`: `[status, body]` as a JS array literal.
fn answer(status: u16, body: &impl serde::Serialize) -> String {
    format!(
        "[{status}, {:?}]",
        serde_json::to_string(body).expect("serializes")
    )
}

fn session_json() -> String {
    answer(201, &session(PAYMENT_ID, "2099-01-01T00:00:00Z"))
}

fn status_json(status: &str) -> String {
    format!(r#"[200, "{{\"status\":\"{status}\",\"payment_id\":\"{PAYMENT_ID}\"}}"]"#)
}

/// Runs a script in the page.
fn script(code: &str) -> JsValue {
    js_sys::Function::new_no_args(code)
        .call0(&JsValue::NULL)
        .expect("the script runs")
}

/// Replaces `fetch` with one answering each call with the next of `answers` (a JS array of
/// `[status, body, headers?]`, or `null` for a network failure; the last one repeats), and
/// `EventSource` with a fake that the test drives through `window.__sources`. Fetched URLs are
/// kept in `window.__urls`; copied text in `window.__copied`.
fn fake_backend(answers: &str) {
    script(&format!(
        "window.__answers = {answers};
         window.__urls = [];
         window.fetch = async (request) => {{
           window.__urls.push(request.url);
           const answer = window.__answers[Math.min(window.__urls.length - 1, window.__answers.length - 1)];
           if (answer === null) throw new TypeError('Failed to fetch');
           const headers = {{ 'content-type': 'application/json', ...(answer[2] ?? {{}}) }};
           return new Response(answer[1], {{ status: answer[0], headers }});
         }};
         window.__sources = [];
         window.EventSource = class extends EventTarget {{
           constructor(url) {{ super(); this.url = url; this.readyState = 0; window.__sources.push(this); }}
           close() {{ this.readyState = 2; }}
         }};
         window.__copied = null;
         Object.defineProperty(navigator, 'clipboard', {{ configurable: true, value: {{
           writeText: async (text) => {{ window.__copied = text; }},
         }} }});"
    ));
}

/// Sends a `status` event on the latest fake stream.
fn emit(status: &str, failure: Option<(&str, &str)>) {
    emit_on(-1, status, PAYMENT_ID, failure);
}

/// Sends a `status` event on fake stream `index` (negative: from the end).
fn emit_on(index: i32, status: &str, payment_id: &str, failure: Option<(&str, &str)>) {
    let failure = failure
        .map(|(code, message)| {
            format!(r#","failure":{{"error_code":"{code}","error_message":"{message}"}}"#)
        })
        .unwrap_or_default();
    script(&format!(
        r#"const s = window.__sources.at({index});
           s.dispatchEvent(new MessageEvent('status', {{ data: '{{"status":"{status}","payment_id":"{payment_id}"{failure}}}' }}));"#
    ));
}

/// The latest fake stream opens (again).
fn stream_opens() {
    script("const s = window.__sources.at(-1); s.readyState = 1; s.onopen?.(new Event('open'));");
}

/// The latest fake stream fails; the browser leaves it in `ready_state` (0: reconnecting by
/// itself, 2: given up).
fn stream_fails(ready_state: u8) {
    script(&format!(
        "const s = window.__sources.at(-1); s.readyState = {ready_state}; s.onerror?.(new Event('error'));"
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

    fn raw_text(&self) -> String {
        self.root.text_content().unwrap_or_default()
    }

    fn text(&self) -> String {
        self.raw_text().replace(['\u{202f}', '\u{a0}'], " ")
    }

    /// What the live region says.
    fn announced(&self) -> String {
        self.find("[role=status][aria-live]")
            .text_content()
            .unwrap_or_default()
            .replace(['\u{202f}', '\u{a0}'], " ")
    }

    fn find(&self, selector: &str) -> web_sys::Element {
        self.root
            .query_selector(selector)
            .expect("query")
            .unwrap_or_else(|| panic!("no {selector} in {:?}", self.text()))
    }

    /// Waits (bounded) until `check` holds.
    async fn until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        for _ in 0..500 {
            if check(self) {
                return;
            }
            tick().await;
        }
        panic!(
            "never {what}: status {:?}, text {:?}",
            self.status(),
            self.text()
        );
    }

    /// Waits (bounded) until the host reflects `status`.
    async fn reaches(&self, status: &str) {
        self.until(&format!("reached {status}"), |w| {
            w.status().as_deref() == Some(status)
        })
        .await;
    }

    /// Waits (bounded) until the widget's text contains `text`.
    async fn shows(&self, text: &str) {
        self.until(&format!("showed {text:?}"), |w| w.text().contains(text))
            .await;
    }

    fn click(&self, selector: &str) {
        self.find(selector).unchecked_into::<HtmlElement>().click();
    }

    fn click_button(&self) {
        self.click("button[part~=retry]");
    }
}

/// A new `<tag>` at the end of the page's body.
fn element_in_body(tag: &str) -> HtmlElement {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let element: HtmlElement = document
        .create_element(tag)
        .expect("element")
        .unchecked_into();
    document
        .body()
        .expect("body")
        .append_child(&element)
        .expect("appended");
    element
}

fn mount(locale: &str) -> Mounted {
    let host = element_in_body("mobilepay-test");
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
        None,
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

/// The URLs the widget fetched.
fn fetched() -> Vec<String> {
    js_sys::Array::from(&script("return window.__urls;"))
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

/// An RFC 3339 time `seconds` from now, by this browser's clock.
fn in_seconds(seconds: i32) -> String {
    script(&format!(
        "return new Date(Date.now() + {seconds} * 1000).toISOString();"
    ))
    .as_string()
    .expect("a date")
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
    fake_backend(&format!("[{}]", session_json()));
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
    fake_backend(&format!("[{}]", session_json()));
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
async fn a_failed_payment_shows_the_reason_in_the_chosen_language() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    emit("failed", Some(("INSUFFICIENT_FUNDS", "Solde insuffisant")));
    w.reaches("failed").await;
    assert!(w.text().contains("Insufficient funds"), "{}", w.text());
    assert!(events().contains(&"mobilepay:failed:failed:INSUFFICIENT_FUNDS".to_owned()));
}

#[wasm_bindgen_test]
async fn an_unreachable_backend_shows_an_error_and_retry_recovers() {
    fake_backend(&format!("[null, {}]", session_json()));
    let w = mount("fr");
    w.reaches("error").await;
    assert!(w.text().contains("Connexion impossible"), "{}", w.text());
    assert!(events().contains(&"mobilepay:error:error:NETWORK_ERROR".to_owned()));
    w.click_button();
    w.reaches("awaiting_payment").await;
}

#[wasm_bindgen_test]
async fn a_button_does_its_action_whatever_its_css_part_is_called() {
    fake_backend(&format!("[null, {}]", session_json()));
    let w = mount("fr");
    w.reaches("error").await;
    // A theme's `::part(…)` names are public and may be renamed; the button's action is not
    // read from them.
    let retry = w.find("button[part~=retry]");
    retry.set_attribute("part", "renamed").expect("part");
    retry.unchecked_into::<HtmlElement>().click();
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
    fake_backend(&format!("[{}]", session_json()));
    let mut w = mount("fr");
    w.reaches("awaiting_payment").await;
    w.handle.destroy();
    assert_eq!(
        script("return window.__sources[0].readyState;").as_f64(),
        Some(2.0)
    );
    assert_eq!(w.text(), "");
}

#[wasm_bindgen_test]
async fn amounts_are_written_in_fcfa_with_narrow_no_break_spaces_never_decimals() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    let amount = w.find("[part=amount]").text_content().unwrap_or_default();
    assert_eq!(amount, "25\u{202f}000\u{a0}FCFA");
}

#[wasm_bindgen_test]
async fn the_countdown_runs_to_expires_at_by_the_servers_clock() {
    // The server's clock is two minutes ahead of this browser's: five minutes by the server's
    // `expires_at` leave three (give or take the `Date` header's one-second precision).
    let server_now = script("return new Date(Date.now() + 120000).toUTCString();")
        .as_string()
        .expect("a date");
    let answer = format!(
        r#"[201, {:?}, {{ "date": {server_now:?} }}]"#,
        serde_json::to_string(&session(PAYMENT_ID, &in_seconds(300))).expect("json")
    );
    fake_backend(&format!("[{answer}]"));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    let countdown = || {
        w.find("[part=countdown]")
            .text_content()
            .unwrap_or_default()
    };
    let shown = countdown();
    assert!(
        ["Expire dans 3:01", "Expire dans 3:00", "Expire dans 2:59"].contains(&shown.as_str()),
        "{shown:?}"
    );
    // It ticks.
    w.until("ticked", |_| countdown() != shown).await;
}

#[wasm_bindgen_test]
async fn the_countdown_never_shows_less_than_zero() {
    fake_backend(&format!(
        "[{}]",
        answer(201, &session(PAYMENT_ID, "2000-01-01T00:00:00Z"))
    ));
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    let countdown = w
        .find("[part=countdown]")
        .text_content()
        .unwrap_or_default();
    assert_eq!(countdown, "Expires in 0:00");
}

#[wasm_bindgen_test]
async fn an_expired_code_offers_a_new_code_which_makes_a_new_payment() {
    let second = answer(201, &session("PAYTEST000002", "2099-01-01T00:00:00Z"));
    fake_backend(&format!("[{}, {second}]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    emit("expired", None);
    w.reaches("expired").await;
    assert!(w.text().contains("Ce code a expiré."), "{}", w.text());
    assert!(w.announced().contains("Ce code a expiré."));
    assert!(events().contains(&"mobilepay:expired:expired".to_owned()));
    assert_eq!(
        w.find("button[part~=retry]").text_content().as_deref(),
        Some("Nouveau code")
    );
    w.click_button();
    w.reaches("awaiting_payment").await;
    assert_eq!(
        w.host.get_attribute("payment-id").as_deref(),
        Some("PAYTEST000002")
    );
    assert_eq!(fetched().len(), 2, "one more session request");
}

#[wasm_bindgen_test]
async fn a_failed_payment_offers_try_again_which_makes_a_new_payment() {
    let second = answer(201, &session("PAYTEST000002", "2099-01-01T00:00:00Z"));
    fake_backend(&format!("[{}, {second}]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    emit("failed", Some(("INSUFFICIENT_FUNDS", "Solde insuffisant")));
    w.reaches("failed").await;
    assert!(
        w.announced().contains("Solde insuffisant"),
        "{}",
        w.announced()
    );
    w.click_button();
    w.reaches("awaiting_payment").await;
    assert_eq!(
        w.host.get_attribute("payment-id").as_deref(),
        Some("PAYTEST000002")
    );
}

#[wasm_bindgen_test]
async fn a_lost_stream_shows_reconnecting_and_recovers_by_itself() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    stream_opens();
    stream_fails(0);
    w.shows("Reconnexion…").await;
    assert_eq!(w.announced(), "Reconnexion…");
    assert_eq!(w.status().as_deref(), Some("awaiting_payment"));
    stream_opens();
    w.shows("En attente du paiement").await;
    assert!(!w.text().contains("Reconnexion"), "{}", w.text());
    emit("paid", None);
    w.reaches("paid").await;
    assert_eq!(
        script("return window.__sources.length;").as_f64(),
        Some(1.0),
        "the browser's own reconnection, no second stream"
    );
}

/// The status URL of [`session`]'s session.
const STATUS_URL: &str = "http://shop.test/checkout/sessions/cs_PAYTEST000001/status?token=t";

#[wasm_bindgen_test]
async fn coming_back_online_asks_the_status_at_once_and_opens_a_fresh_stream() {
    fake_backend(&format!("[{}, {}]", session_json(), status_json("paid")));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    stream_opens();
    // Offline: the stream dropped, and the browser's own retry would come seconds later.
    stream_fails(0);
    w.shows("Reconnexion…").await;
    script("window.dispatchEvent(new Event('online')); return null;");
    // At once, not after a retry delay: a fresh stream, and the status asked.
    assert_eq!(
        script("return window.__sources.length;").as_f64(),
        Some(2.0)
    );
    assert_eq!(
        script("return window.__sources[0].readyState;").as_f64(),
        Some(2.0),
        "the dropped stream is closed"
    );
    w.reaches("paid").await;
    assert_eq!(fetched().get(1).map(String::as_str), Some(STATUS_URL));
    assert!(events().contains(&"mobilepay:paid:paid".to_owned()));
}

/// Makes the page look hidden (`true`) or shown, as a phone's sleep or a background tab
/// does, and tells it.
fn set_hidden(hidden: bool) {
    script(&format!(
        "Object.defineProperty(document, 'hidden', {{ configurable: true, get: () => {hidden} }});
         Object.defineProperty(document, 'visibilityState', {{
           configurable: true, get: () => {hidden} ? 'hidden' : 'visible' }});
         document.dispatchEvent(new Event('visibilitychange'));
         if (!{hidden}) {{ delete document.hidden; delete document.visibilityState; }}
         return null;"
    ));
}

#[wasm_bindgen_test]
async fn a_tab_shown_again_asks_the_status_at_once_and_a_hidden_one_asks_nothing() {
    fake_backend(&format!("[{}, {}]", session_json(), status_json("paid")));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    stream_opens();
    set_hidden(true);
    assert_eq!(
        script("return window.__sources.length;").as_f64(),
        Some(1.0),
        "hiding the tab reopens nothing"
    );
    // Paid meanwhile, while the tab was in the background and its stream silent.
    set_hidden(false);
    w.reaches("paid").await;
    assert_eq!(
        fetched(),
        vec![
            "http://shop.test/checkout/sessions".to_owned(),
            STATUS_URL.to_owned()
        ]
    );
}

#[wasm_bindgen_test]
async fn a_final_status_is_not_asked_again_when_the_link_comes_back() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    stream_opens();
    emit("paid", None);
    w.reaches("paid").await;
    script("window.dispatchEvent(new Event('online')); return null;");
    set_hidden(false);
    assert_eq!(
        script("return window.__sources.length;").as_f64(),
        Some(1.0)
    );
    tick().await;
    assert_eq!(fetched().len(), 1, "{:?}", fetched());
}

#[wasm_bindgen_test]
async fn the_session_request_the_page_already_sent_is_read_instead_of_sending_another() {
    fake_backend(&format!("[{}]", session_json()));
    let host = element_in_body("mobilepay-test");
    let root = host
        .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
        .expect("shadow root");
    // What the element's JS shim does: the request sent while the wasm downloads.
    let sent: js_sys::Promise = script(
        "return fetch(new Request('http://shop.test/checkout/sessions', { method: 'POST' }));",
    )
    .unchecked_into();
    let handle = mobilepay_checkout::mount(
        host.clone(),
        root.clone(),
        "ord_1".into(),
        Some("http://shop.test".into()),
        Some("fr".into()),
        Some(sent),
    )
    .expect("mounts");
    let w = Mounted { host, root, handle };
    w.reaches("awaiting_payment").await;
    w.shows("25 000 FCFA").await;
    assert_eq!(fetched().len(), 1, "one session request: {:?}", fetched());
}

#[wasm_bindgen_test]
async fn a_stream_that_cannot_be_opened_falls_back_to_polling_the_status_url() {
    fake_backend(&format!(
        "[{}, {}, null, {}]",
        session_json(),
        status_json("awaiting_payment"),
        status_json("paid")
    ));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    // Refused before it ever opened: a proxy that does not pass streams, a blocked URL.
    stream_fails(2);
    let status_url = "http://shop.test/checkout/sessions/cs_PAYTEST000001/status?token=t";
    w.until("polled the status URL", |_| {
        fetched().get(1).map(String::as_str) == Some(status_url)
    })
    .await;
    // The second poll fails (network): "reconnecting", then the third one finds it paid.
    w.shows("Reconnexion…").await;
    w.reaches("paid").await;
    assert_eq!(fetched().len(), 4, "{:?}", fetched());
    assert!(
        fetched()[1..].iter().all(|url| url == status_url),
        "{:?}",
        fetched()
    );
    assert!(events().contains(&"mobilepay:paid:paid".to_owned()));
}

#[wasm_bindgen_test]
async fn polling_a_session_the_backend_no_longer_knows_is_an_error_with_retry() {
    fake_backend(&format!(
        r#"[{}, [404, "{{\"error_code\":\"SESSION_NOT_FOUND\",\"error_message\":\"x\"}}"]]"#,
        session_json()
    ));
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    stream_fails(2);
    w.reaches("error").await;
    assert!(
        w.text().contains("This payment cannot be found"),
        "{}",
        w.text()
    );
    assert!(events().contains(&"mobilepay:error:error:SESSION_NOT_FOUND".to_owned()));
}

#[wasm_bindgen_test]
async fn the_pay_with_the_app_button_opens_the_payments_link() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    let link = w.find("a[part~=open-app]");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("http://127.0.0.1:8090/wallet/PAYTEST000001")
    );
    assert_eq!(
        link.text_content().as_deref(),
        Some("Payer avec MOBILE-PAY")
    );
    // The QR code stays available beside it.
    w.find("[part=qr] svg");
}

#[wasm_bindgen_test]
async fn a_payment_link_that_would_run_script_gets_no_button() {
    let mut evil = session(PAYMENT_ID, "2099-01-01T00:00:00Z");
    evil.qr_payload = "javascript:alert(1)".into();
    fake_backend(&format!("[{}]", answer(201, &evil)));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    assert!(w.root.query_selector("a").expect("query").is_none());
}

#[wasm_bindgen_test]
async fn the_payment_code_is_shown_and_copied_with_one_press() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    assert!(
        w.text().contains("Code de paiement : PAYTEST000001"),
        "{}",
        w.text()
    );
    w.click("button[part~=copy]");
    w.shows("Code copié").await;
    assert_eq!(
        script("return window.__copied;").as_string().as_deref(),
        Some(PAYMENT_ID)
    );
}

#[wasm_bindgen_test]
async fn a_refused_copy_says_so_and_the_code_stays_on_screen() {
    fake_backend(&format!("[{}]", session_json()));
    script(
        "Object.defineProperty(navigator, 'clipboard', { configurable: true, value: {
           writeText: async () => { throw new DOMException('Document is not focused.', 'NotAllowedError'); },
         } });",
    );
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    w.click("button[part~=copy]");
    w.shows("Could not copy").await;
    assert!(w.text().contains("PAYTEST000001"));
}

#[wasm_bindgen_test]
async fn the_qr_codes_text_alternative_has_the_amount_and_the_code() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    let label = w
        .find("svg[role=img]")
        .get_attribute("aria-label")
        .unwrap_or_default()
        .replace(['\u{202f}', '\u{a0}'], " ");
    assert_eq!(
        label,
        "MOBILE-PAY payment QR code for 25 000 FCFA, code PAYTEST000001"
    );
}

#[wasm_bindgen_test]
async fn the_live_region_announces_every_status() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("en");
    w.reaches("awaiting_payment").await;
    assert_eq!(w.announced(), "Waiting for your payment…");
    emit("paid", None);
    w.reaches("paid").await;
    assert_eq!(w.announced(), "Payment received. Thank you!");
}

#[wasm_bindgen_test]
async fn two_widgets_on_one_page_follow_their_own_payments() {
    let second = answer(201, &session("PAYTEST000002", "2099-01-01T00:00:00Z"));
    fake_backend(&format!("[{}, {second}]", session_json()));
    let first = mount("fr");
    first.reaches("awaiting_payment").await;
    let other = mount("en");
    other.reaches("awaiting_payment").await;
    assert_eq!(
        other.host.get_attribute("payment-id").as_deref(),
        Some("PAYTEST000002")
    );
    emit_on(-1, "paid", "PAYTEST000002", None);
    other.reaches("paid").await;
    for _ in 0..5 {
        tick().await;
    }
    assert_eq!(first.status().as_deref(), Some("awaiting_payment"));
    assert!(first.text().contains("En attente"), "{}", first.text());
    emit_on(-2, "failed", PAYMENT_ID, Some(("INSUFFICIENT_FUNDS", "x")));
    first.reaches("failed").await;
    assert_eq!(other.status().as_deref(), Some("paid"));
}

#[wasm_bindgen_test]
async fn a_leptos_app_embeds_the_checkout_component_directly() {
    use leptos::prelude::*;
    use mobilepay_checkout::Checkout;
    fake_backend(&format!("[{}]", session_json()));
    let app = element_in_body("div");
    let _mounted = leptos::mount::mount_to(app.clone(), || {
        view! { <Checkout order_id="ord_1" endpoint="http://shop.test" /> }
    });
    let shows = |text: &str| {
        app.text_content()
            .unwrap_or_default()
            .replace(['\u{202f}', '\u{a0}'], " ")
            .contains(text)
    };
    let until_shown = async |text: &str| {
        for _ in 0..500 {
            if shows(text) {
                return;
            }
            tick().await;
        }
        panic!("never showed {text:?}: {:?}", app.text_content());
    };
    until_shown("25 000 FCFA").await;
    assert!(shows("PAYTEST000001"));
    assert!(app.query_selector("svg path").expect("query").is_some());
    emit("paid", None);
    until_shown("Paiement reçu").await;
}

#[wasm_bindgen_test]
async fn ticks_and_repeated_events_update_in_place_keeping_the_qr_code_and_the_focus() {
    fake_backend(&format!("[{}]", session_json()));
    let w = mount("fr");
    w.reaches("awaiting_payment").await;
    let svg = w.find("svg");
    let copy: HtmlElement = w.find("button[part~=copy]").unchecked_into();
    copy.focus().expect("focusable");
    let before = w.find("time").text_content().unwrap_or_default();
    w.until("the countdown to tick", |w| {
        w.find("time").text_content().unwrap_or_default() != before
    })
    .await;
    emit("awaiting_payment", None);
    for _ in 0..5 {
        tick().await;
    }
    assert!(
        svg.is_same_node(Some(&w.find("svg"))),
        "the QR code was redrawn"
    );
    let focused = w.root.active_element().expect("something has the focus");
    assert!(focused.is_same_node(Some(&copy)), "the focus moved");
}
