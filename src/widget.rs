//! The `Checkout` component and the `mount` export: where the browser meets the model.
//!
//! What the browser reports — the session's answer, a stream's event, a poll, a click, the
//! clock's tick, the link coming back — becomes an [`Event`] for [`State::apply`] (or the
//! `now`, `link` and `copied` signals); one effect hands the result to the painter (`view`),
//! which only draws. Leptos is the scheduler and the owner here: signals, effects, disposal with
//! the component, mounting (what that costs and gives: docs/widget.md).
//!
//! Must not: decide a status (that is [`State::apply`]'s, from the backend's answers), or draw.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRoot};

use crate::api::{self, EventStream, Trouble};
use crate::clock::ServerClock;
use crate::i18n::Locale;
use crate::state::{Action, Event, Link, NETWORK_ERROR, State};
use crate::{POLL_EVERY_MS, element, view};

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

/// Gives `event` to the state ([`State::apply`]); the signal's subscribers hear of it only
/// when it changed something. Whether the state is final now (`None`: the component is gone).
fn apply(state: RwSignal<State>, event: Event) -> Option<bool> {
    state.try_maybe_update(|s| {
        let changed = s.apply(event);
        (changed, s.is_final())
    })
}

/// The countdown's clock: the browser's time, ticked every second while a payment is awaited
/// (and only then), by an interval that goes with the component.
fn tick_while_awaiting(state: RwSignal<State>) -> RwSignal<f64> {
    let now = RwSignal::new(js_sys::Date::now());
    // Disposed with the component, which drops the ticker and so clears its interval.
    let ticker = StoredValue::new_local(None::<Ticker>);
    Effect::new(move || {
        let awaiting = state.with(State::is_awaiting);
        if awaiting == ticker.with_value(Option::is_some) {
            return;
        }
        let started = awaiting.then(|| {
            now.set(js_sys::Date::now());
            set_interval_with_handle(
                move || now.set(js_sys::Date::now()),
                std::time::Duration::from_secs(1),
            )
            .ok()
            .map(Ticker)
        });
        ticker.set_value(started.flatten());
    });
    now
}

/// An interval that is cleared when dropped.
struct Ticker(IntervalHandle);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.clear();
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
    // Set from each session's answer, before the state shows the session.
    let clock = StoredValue::new(ServerClock::default());
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
        apply(state, Event::Start);
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
                    clock.set_value(ServerClock::new(created.server_now, js_sys::Date::now()));
                    apply(state, Event::Created(created.session));
                    follow(state, link, follower);
                }
                Err(code) => {
                    apply(state, Event::Error(code));
                }
            }
        });
    };
    start();
    on_cleanup(move || follower.set_value(None));
    let now = tick_while_awaiting(state);
    wake_on_return(state, now, link, follower);

    // One click listener for the whole widget, dispatching by the pressed button's
    // `data-action`, rather than `on:click` on each button: Leptos's event handlers bring its
    // event-delegation code along, and this listener made the download 3.3 KB (brotli) smaller
    // (measured). It is set up by a directive on the root `<div>`, which Leptos builds once and
    // never rebuilds.
    let copy = move || {
        let code = state.with_untracked(|s| s.payment_id().map(str::to_owned));
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
            let action = event
                .target()
                .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                .and_then(|target| target.closest("[data-action]").ok().flatten())
                .and_then(|button| button.get_attribute("data-action"));
            match action.as_deref().and_then(Action::parse) {
                Some(Action::Retry) => start(),
                Some(Action::Copy) => copy(),
                None => {}
            }
        });
        let _ = div.add_event_listener_with_callback("click", listener.as_ref().unchecked_ref());
        clicks.set_value(Some(listener));
        let Some(painter) = view::Painter::new(div, texts) else {
            return;
        };
        let painter = StoredValue::new_local(painter);
        Effect::new(move || {
            let frame = view::Frame {
                state: &state.read(),
                link: link.get(),
                now: clock.get_value().now(now.get()),
                copied: copied.get(),
            };
            painter.update_value(|painter| painter.paint(&frame));
        });
    };

    if let Some(host) = host {
        element::reflect(host, state, order_id);
    }

    view! { <div class="checkout" part="container" lang=locale.tag() use:draw></div> }
}

/// Follows the session the state shows while a payment is awaited, over its event stream;
/// falls back to polling its status URL if the stream cannot be had (blocked, refused, or a
/// proxy that does not pass streams).
fn follow(
    state: RwSignal<State>,
    link: RwSignal<Link>,
    follower: StoredValue<Option<Follower>, LocalStorage>,
) {
    let urls = state.try_with_untracked(|s| {
        s.followed()
            .map(|session| (session.events_url.clone(), session.status_url.clone()))
    });
    let Some((events_url, status_url)) = urls.flatten() else {
        return;
    };
    let poll_url = status_url.clone();
    let stream = EventStream::open(
        &events_url,
        move || link.set(Link::Streaming),
        move |update| {
            if apply(state, Event::Status(update)) == Some(true) {
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
    now: RwSignal<f64>,
    link: RwSignal<Link>,
    follower: StoredValue<Option<Follower>, LocalStorage>,
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
        let status_url = state.try_with_untracked(|s| s.followed().map(|s| s.status_url.clone()));
        let Some(status_url) = status_url.flatten() else {
            return;
        };
        let streaming = follower
            .try_with_value(|f| matches!(f, Some(Follower::Stream(_))))
            .unwrap_or(false);
        if streaming {
            follow(state, link, follower);
        }
        leptos::task::spawn_local(async move {
            if let Ok(update) = api::status(&status_url).await
                && apply(state, Event::Status(update)) == Some(true)
            {
                follower.try_set_value(None);
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
                Ok(update) => {
                    link.set(Link::Polling);
                    if apply(state, Event::Status(update)) != Some(false) {
                        return;
                    }
                }
                Err(code) if code == NETWORK_ERROR => link.set(Link::Reconnecting),
                Err(code) => {
                    apply(state, Event::Error(code));
                    return;
                }
            }
            api::sleep(POLL_EVERY_MS).await;
        }
    });
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
    let browser = web_sys::window().and_then(|w| w.navigator().language());
    let locale = Locale::choose(locale.as_deref(), browser.as_deref());
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
