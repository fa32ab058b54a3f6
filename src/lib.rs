//! `<mobilepay-checkout>`: the MOBILE-PAY checkout widget, a Leptos component compiled to wasm.
//!
//! It asks the merchant's backend for a checkout session for an order (`POST
//! {endpoint}/checkout/sessions`), shows the amount, the description, the payment's QR code, a
//! button that opens the wallet app on a phone, the payment's code and a countdown to its
//! expiry, and follows the session's status over Server-Sent Events — or by polling its status
//! URL when a stream cannot be opened — until a final status.
//!
//! # Layout
//! - [`mount`] (wasm-bindgen export): what the custom element's JS shim (`www/`) calls to mount
//!   the widget into its shadow root; the host element reflects `status` and `payment-id` and
//!   dispatches the `mobilepay:*` DOM events ([`element`]).
//! - [`Checkout`]: the Leptos component itself, for Leptos apps that embed it directly.
//! - [`api`]: the calls to the merchant backend (session, event stream, status).
//! - `view` (private): the DOM, drawn from the component's signals with web-sys by one effect;
//!   smaller than `view!`'s typed views (docs/widget.md), the same elements and parts.
//! - [`i18n`]: every text the shopper reads, one file per language.
//! - [`qr`]: the QR code as one SVG path.
//!
//! Architecture invariant: the widget never holds a secret and never decides an amount. It sends
//! an order reference; everything it shows comes from the merchant's server, and a status it
//! shows never moves backwards.

pub mod api;
pub mod element;
pub mod i18n;
pub mod qr;
mod view;

use std::sync::Arc;

use leptos::prelude::*;
use mobilepay_wire::checkout::SessionStatus;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRoot};

use crate::api::{ErrorCode, EventStream, Failure, Session, Trouble};
use crate::i18n::Locale;

/// How often the status URL is asked when no event stream can be had.
pub const POLL_EVERY_MS: i32 = 2_000;

/// What the widget shows.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Loading,
    Session {
        session: Arc<Session>,
        status: SessionStatus,
        failure: Option<Failure>,
    },
    Error(ErrorCode),
}

impl State {
    /// The host's `status` attribute.
    pub fn name(&self) -> &'static str {
        match self {
            State::Loading => "loading",
            State::Session { status, .. } => status.as_str(),
            State::Error(_) => "error",
        }
    }

    fn apply(&mut self, event: api::Update) {
        if let State::Session {
            session,
            status,
            failure,
        } = self
        {
            // A status never moves backwards, whatever arrives late.
            if event.payment_id == session.payment_id && !status.is_final() {
                *status = event.status;
                *failure = event.failure;
            }
        }
    }

    fn is_final(&self) -> bool {
        matches!(self, State::Session { status, .. } if status.is_final())
    }
}

/// How status updates reach the widget while it awaits the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Streaming,
    /// The stream dropped and the browser is reopening it, or a poll failed.
    Reconnecting,
    /// No stream could be opened: the status URL is asked every [`POLL_EVERY_MS`].
    Polling,
}

/// Whatever follows the session's status; dropping it stops following. Held only to be
/// dropped, hence never read.
#[allow(dead_code)]
enum Follower {
    Stream(EventStream),
    Poll(Stop),
}

/// Ends a polling loop when dropped.
struct Stop(std::rc::Rc<std::cell::Cell<bool>>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// The checkout for `order_id`, against the merchant backend at `endpoint`.
///
/// `host`, when given, reflects the `status` and `payment-id` attributes and dispatches the
/// `mobilepay:*` events (the custom element passes itself).
#[component]
pub fn Checkout(
    /// The merchant's order reference; the backend decides the amount from it.
    #[prop(into)]
    order_id: String,
    /// The merchant backend's base URL.
    #[prop(into)]
    endpoint: String,
    /// French unless told otherwise.
    #[prop(optional)]
    locale: Locale,
    #[prop(optional)] host: Option<HtmlElement>,
    /// The session request's pending answer, when the page already sent it (the element's JS
    /// shim does, while the wasm downloads): the first start reads it instead of asking again.
    #[prop(optional_no_strip)]
    sent: Option<js_sys::Promise>,
) -> impl IntoView {
    let texts = locale.texts();
    let state = RwSignal::new(State::Loading);
    let link = RwSignal::new(Link::Streaming);
    // The server's clock minus ours, in ms: the countdown follows the server's clock.
    let skew = RwSignal::new(0.0);
    let follower = StoredValue::new_local(None::<Follower>);
    // Each start gets a number; an answer to an older start (or to a disposed widget) is dropped.
    let generation = StoredValue::new(0u32);
    let order = StoredValue::new(order_id.clone());
    let endpoint = StoredValue::new(endpoint);
    // Whether "copy the code" worked; `None` until it is pressed.
    let copied = RwSignal::new(None::<bool>);
    let sent = StoredValue::new_local(sent);

    let start = move || {
        follower.set_value(None);
        copied.set(None);
        state.set(State::Loading);
        link.set(Link::Streaming);
        generation.update_value(|g| *g += 1);
        let (Some(current), Some(order_id), Some(endpoint)) = (
            generation.try_get_value(),
            order.try_get_value(),
            endpoint.try_get_value(),
        ) else {
            return;
        };
        // Only the first start: a retry asks anew.
        let sent = sent.try_update_value(Option::take).flatten();
        leptos::task::spawn_local(async move {
            let created = api::create_session(&endpoint, &order_id, sent).await;
            if generation.try_get_value() != Some(current) {
                return;
            }
            match created {
                Ok(created) => {
                    let session = created.session;
                    if let Some(server_now) = created.server_now {
                        skew.set(server_now - js_sys::Date::now());
                    }
                    let follow = !session.update.status.is_final();
                    let events_url = session.events_url.clone();
                    let status_url = session.status_url.clone();
                    state.set(State::Session {
                        status: session.update.status,
                        failure: session.update.failure.clone(),
                        session: Arc::new(session),
                    });
                    if follow {
                        follow_stream(events_url, status_url, state, link, follower);
                    }
                }
                Err(code) => state.set(State::Error(code)),
            }
        });
    };
    start();
    on_cleanup(move || follower.set_value(None));
    // The countdown's clock, ticked every second while a payment is awaited.
    let now = RwSignal::new(js_sys::Date::now());
    wake_on_return(state, link, follower, now);

    // One click listener for the whole widget, dispatching by the pressed button's part, rather
    // than `on:click` on each button: Leptos's event handlers bring its event-delegation code
    // along, and this listener made the download 3.3 KB (brotli) smaller (measured). It is set
    // up by a directive on the root `<div>`, which Leptos builds once and never rebuilds.
    let copy = move || {
        let code = state.with_untracked(|s| match s {
            State::Session { session, .. } => Some(session.payment_id.clone()),
            _ => None,
        });
        if let Some(code) = code {
            leptos::task::spawn_local(async move {
                copied.set(Some(copy_text(&code).await));
            });
        }
    };
    let clicks = StoredValue::new_local(None::<Closure<dyn FnMut(web_sys::Event)>>);
    // Builds once, when Leptos creates the root `<div>`: the click listener and the effect that
    // draws the widget into it (`view`).
    let draw = move |div: web_sys::Element| {
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let part = event
                .target()
                .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                .and_then(|target| target.closest("button").ok().flatten())
                .and_then(|button| button.get_attribute("part"))
                .unwrap_or_default();
            if part.ends_with(" retry") {
                start();
            } else if part.ends_with(" copy") {
                copy();
            }
        });
        let _ = div.add_event_listener_with_callback("click", listener.as_ref().unchecked_ref());
        clicks.set_value(Some(listener));
        let Some(painter) = view::Painter::new(div, texts) else {
            return;
        };
        // Disposed with the component: the painter's `Drop` stops the countdown's ticker.
        let painter = StoredValue::new_local(painter);
        Effect::new(move || {
            let frame = view::Frame {
                state: &state.read(),
                link: link.get(),
                now: now.get() + skew.get(),
                copied: copied.get(),
            };
            painter.update_value(|painter| painter.paint(&frame, now));
        });
    };

    if let Some(host) = host {
        element::reflect(host, state, order_id);
    }

    view! { <div class="checkout" part="container" lang=locale.tag() use:draw></div> }
}

/// Follows the session over its event stream; falls back to polling its status URL if the
/// stream cannot be had (blocked, refused, or a proxy that does not pass streams).
fn follow_stream(
    events_url: String,
    status_url: String,
    state: RwSignal<State>,
    link: RwSignal<Link>,
    follower: StoredValue<Option<Follower>, LocalStorage>,
) {
    let poll_url = status_url.clone();
    let stream = EventStream::open(
        &events_url,
        move || link.set(Link::Streaming),
        move |event| {
            state.update(|s| s.apply(event));
            if state.try_with_untracked(State::is_final) == Some(true) {
                follower.set_value(None);
            }
        },
        move |trouble| match trouble {
            Trouble::Reconnecting => link.set(Link::Reconnecting),
            Trouble::Failed => poll(poll_url.clone(), state, link, follower),
        },
    );
    match stream {
        Some(stream) => follower.set_value(Some(Follower::Stream(stream))),
        None => poll(status_url, state, link, follower),
    }
}

/// When the phone comes back — the link returns (`online`) or the tab is shown again
/// (`visibilitychange`) — while a payment is awaited: the status is asked at once and the event
/// stream reopened, rather than waiting for the browser's own reconnection (seconds, backing
/// off) or the next poll. A stream that looks open after a sleep or a change of network may
/// be dead without knowing it; a fresh one starts with the current status. The countdown is
/// redrawn at once too (it is computed from the clock, so it was never wrong, only not drawn
/// while the tab was hidden). The listeners go with the component.
fn wake_on_return(
    state: RwSignal<State>,
    link: RwSignal<Link>,
    follower: StoredValue<Option<Follower>, LocalStorage>,
    now: RwSignal<f64>,
) {
    let (Some(window), Some(document)) = (
        web_sys::window(),
        web_sys::window().and_then(|w| w.document()),
    ) else {
        return;
    };
    let visible = document.clone();
    let wake = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        if visible.hidden() {
            return;
        }
        now.try_set(js_sys::Date::now());
        let urls = state.try_with_untracked(|s| match s {
            State::Session {
                session, status, ..
            } if !status.is_final() => {
                Some((session.events_url.clone(), session.status_url.clone()))
            }
            _ => None,
        });
        let Some((events_url, status_url)) = urls.flatten() else {
            return;
        };
        let streaming = follower
            .try_with_value(|f| matches!(f, Some(Follower::Stream(_))))
            .unwrap_or(false);
        if streaming {
            follow_stream(events_url, status_url.clone(), state, link, follower);
        }
        leptos::task::spawn_local(async move {
            if let Ok(update) = api::status(&status_url).await {
                state.try_update(|s| s.apply(update));
                if state.try_with_untracked(State::is_final) == Some(true) {
                    follower.try_set_value(None);
                }
            }
        });
    });
    let callback: &js_sys::Function = wake.as_ref().unchecked_ref();
    let _ = window.add_event_listener_with_callback("online", callback);
    let _ = document.add_event_listener_with_callback("visibilitychange", callback);
    // Disposed with the component, which removes the listeners.
    StoredValue::new_local(Listening {
        targets: [
            (window.into(), "online"),
            (document.into(), "visibilitychange"),
        ],
        callback: wake,
    });
}

/// Event listeners that are removed when this is dropped.
struct Listening {
    targets: [(web_sys::EventTarget, &'static str); 2],
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        for (target, kind) in &self.targets {
            let _ = target
                .remove_event_listener_with_callback(kind, self.callback.as_ref().unchecked_ref());
        }
    }
}

/// Asks the status URL now and every [`POLL_EVERY_MS`] until a final status; a failed request
/// shows "reconnecting" and is tried again, an error answer (the session is gone) is an error.
fn poll(
    status_url: String,
    state: RwSignal<State>,
    link: RwSignal<Link>,
    follower: StoredValue<Option<Follower>, LocalStorage>,
) {
    let stopped = std::rc::Rc::new(std::cell::Cell::new(false));
    // Replacing the follower closes the stream, if that is what called us.
    follower.set_value(Some(Follower::Poll(Stop(stopped.clone()))));
    link.set(Link::Polling);
    leptos::task::spawn_local(async move {
        while !stopped.get() {
            let answer = api::status(&status_url).await;
            if stopped.get() {
                return;
            }
            match answer {
                Ok(event) => {
                    link.set(Link::Polling);
                    state.update(|s| s.apply(event));
                    if state.try_with_untracked(State::is_final) != Some(false) {
                        return;
                    }
                }
                Err(code) if code == api::NETWORK_ERROR => link.set(Link::Reconnecting),
                Err(code) => {
                    state.set(State::Error(code));
                    return;
                }
            }
            api::sleep(POLL_EVERY_MS).await;
        }
    });
}

/// `m:ss` of what is left of `ms` (never negative).
pub fn countdown(ms: f64) -> String {
    let seconds = if ms.is_finite() && ms > 0.0 {
        (ms / 1000.0).ceil() as usize
    } else {
        0
    };
    let mut out = String::new();
    qr::push_number(&mut out, seconds / 60);
    out.push(':');
    if seconds % 60 < 10 {
        out.push('0');
    }
    qr::push_number(&mut out, seconds % 60);
    out
}

/// The payment's link for the "open the app" button, unless it is a scheme that would run
/// script or data in the page instead of opening an app.
pub fn app_link(payload: &str) -> Option<String> {
    let url = web_sys::Url::new(payload).ok()?;
    let scheme = url.protocol().to_ascii_lowercase();
    (!matches!(
        scheme.as_str(),
        "javascript:" | "data:" | "vbscript:" | "blob:" | "file:"
    ))
    .then(|| url.href())
}

/// Copies `text` to the clipboard; `false` if the browser refused (no permission, no focus).
async fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// The widget's stylesheet: minified by the widget's build (`cargo xtask`, which sets
/// `MOBILEPAY_CHECKOUT_CSS` to esbuild's output), as written otherwise (tests, other builds).
const STYLE: &str = match option_env!("MOBILEPAY_CHECKOUT_CSS") {
    Some(css) => css,
    None => include_str!("style.css"),
};

/// A mounted widget; `destroy()` unmounts it and closes its event stream.
#[wasm_bindgen]
pub struct Handle {
    mounted: Option<Box<dyn std::any::Any>>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("mounted", &self.mounted.is_some())
            .finish()
    }
}

#[wasm_bindgen]
impl Handle {
    pub fn destroy(&mut self) {
        self.mounted = None;
    }
}

/// Mounts the widget into `root` (the host's shadow root), styled by a constructed stylesheet
/// (allowed under a strict `style-src`). `endpoint` defaults to the page's origin; `locale` to
/// French unless it or the browser asks for another language the widget has. `session`, when
/// given, is the pending answer (a `fetch` promise) to the session request for `order_id`
/// that the page already sent to `endpoint` (see [`Checkout`]'s `sent`).
#[wasm_bindgen]
pub fn mount(
    host: HtmlElement,
    root: ShadowRoot,
    order_id: String,
    endpoint: Option<String>,
    locale: Option<String>,
    session: Option<js_sys::Promise>,
) -> Result<Handle, JsValue> {
    element::adopt_stylesheet(&root, STYLE)?;
    let container = element::container(&root)?;
    let locale = Locale::choose(locale.as_deref());
    let endpoint = endpoint
        .filter(|e| !e.trim().is_empty())
        .map_or_else(api::page_origin, Ok)?;
    let endpoint = api::resolve(&endpoint)?;
    let mounted = leptos::mount::mount_to(container, move || {
        view! { <Checkout order_id endpoint locale host sent=session /> }
    });
    Ok(Handle {
        mounted: Some(Box::new(mounted)),
    })
}

#[cfg(test)]
mod tests {
    use super::countdown;

    #[test]
    fn the_countdown_rounds_up_to_the_second_and_stops_at_zero() {
        assert_eq!(countdown(61_000.0), "1:01");
        assert_eq!(countdown(59_001.0), "1:00");
        assert_eq!(countdown(300_000.0), "5:00");
        assert_eq!(countdown(0.0), "0:00");
        assert_eq!(countdown(-5_000.0), "0:00");
        assert_eq!(countdown(f64::NAN), "0:00");
    }
}
