//! The custom element's side of the widget: styles in the shadow root, the reflected `status` and
//! `payment-id` attributes, and the `mobilepay:*` DOM events.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement, ShadowRoot};

use crate::state::State;

/// Styles the shadow root with a constructed stylesheet: no `<style>` element and no `style`
/// attribute, so a `style-src` without `'unsafe-inline'` does not block it.
pub fn adopt_stylesheet(root: &ShadowRoot, css: &str) -> Result<(), JsValue> {
    let sheet = web_sys::CssStyleSheet::new()?;
    sheet.replace_sync(css)?;
    js_sys::Reflect::set(
        root,
        &JsValue::from_str("adoptedStyleSheets"),
        &js_sys::Array::of1(&sheet),
    )?;
    Ok(())
}

/// A fresh `<div>` in `root` for Leptos to mount into, replacing any earlier one.
pub fn container(root: &ShadowRoot) -> Result<HtmlElement, JsValue> {
    root.set_inner_html("");
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let div: HtmlElement = document.create_element("div")?.unchecked_into();
    root.append_child(&div)?;
    Ok(div)
}

/// Keeps `host`'s attributes in step with `state` and dispatches an event for every change of
/// status: `mobilepay:statuschange` always, and `mobilepay:paid` / `failed` / `expired` / `error`
/// for those. Events bubble and cross the shadow boundary (`composed`); their `detail` carries the
/// state at the moment of the change.
pub fn reflect(host: HtmlElement, state: RwSignal<State>, order_id: String) {
    Effect::new(move |previous: Option<&'static str>| {
        let current = state.get();
        let name = current.name();
        let _ = host.set_attribute("status", name);
        if let State::Session { session, .. } = &current {
            let _ = host.set_attribute("payment-id", &session.payment_id);
        }
        if previous != Some(name) {
            let detail = detail(&current, &order_id);
            dispatch(&host, "mobilepay:statuschange", &detail);
            if let Some(event) = event_of(name) {
                dispatch(&host, event, &detail);
            }
        }
        name
    });
}

/// The event of a status besides `mobilepay:statuschange`, each name written whole so that
/// `xtask/src/surface.rs` checks them against the documented surface.
fn event_of(status: &str) -> Option<&'static str> {
    Some(match status {
        "paid" => "mobilepay:paid",
        "failed" => "mobilepay:failed",
        "expired" => "mobilepay:expired",
        "error" => "mobilepay:error",
        _ => return None,
    })
}

fn detail(state: &State, order_id: &str) -> JsValue {
    let detail = js_sys::Object::new();
    let set = |key: &str, value: &str| {
        let _ = js_sys::Reflect::set(&detail, &JsValue::from_str(key), &JsValue::from_str(value));
    };
    set("status", state.name());
    set("orderId", order_id);
    match state {
        State::Session {
            session, failure, ..
        } => {
            set("paymentId", &session.payment_id);
            set("sessionId", &session.session_id);
            if let Some(failure) = failure {
                set("errorCode", &failure.error_code);
                set("errorMessage", &failure.error_message);
            }
        }
        State::Error(code) => set("errorCode", code),
        State::Loading => {}
    }
    detail.into()
}

fn dispatch(host: &HtmlElement, name: &str, detail: &JsValue) {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}
