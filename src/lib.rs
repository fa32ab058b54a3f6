//! `<mobilepay-checkout>`: the MOBILE-PAY checkout widget, a Leptos component compiled to wasm.
//!
//! It asks the merchant's backend for a checkout session for an order (`POST
//! {endpoint}/checkout/sessions`), shows the amount, the description and the payment's QR code,
//! and follows the session's status over Server-Sent Events until a final status.
//!
//! # Layout
//! - [`mount`] (wasm-bindgen export): what the custom element's JS shim (`www/`) calls to mount
//!   the widget into its shadow root; the host element reflects `status` and `payment-id` and
//!   dispatches the `mobilepay:*` DOM events ([`element`]).
//! - [`Checkout`]: the Leptos component itself, for Leptos apps that embed it directly.
//! - [`api`]: the two calls to the merchant backend (session, event stream).
//! - [`i18n`]: every text the shopper reads, in French (default) and English.
//! - [`qr`]: the QR code as one SVG path.
//!
//! Architecture invariant: the widget never holds a secret and never decides an amount. It sends
//! an order reference; everything it shows comes from the merchant's server.

pub mod api;
pub mod element;
pub mod i18n;
pub mod qr;

use std::sync::Arc;

use leptos::prelude::*;
use mobilepay_wire::checkout::{CheckoutSession, Failure, SessionStatus, StatusEvent};
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRoot};

use crate::api::{ErrorCode, EventStream};
use crate::i18n::{Locale, Texts};

/// What the widget shows.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Loading,
    Session {
        session: Arc<CheckoutSession>,
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

    fn apply(&mut self, event: StatusEvent) {
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
    #[prop(optional)] locale: Locale,
    #[prop(optional)] host: Option<HtmlElement>,
) -> impl IntoView {
    let texts = locale.texts();
    let state = RwSignal::new(State::Loading);
    let stream = StoredValue::new_local(None::<EventStream>);
    let order_id = StoredValue::new(order_id);
    let endpoint = StoredValue::new(endpoint);

    let start = move || {
        stream.set_value(None);
        state.set(State::Loading);
        leptos::task::spawn_local(async move {
            let created = api::create_session(&endpoint.get_value(), &order_id.get_value()).await;
            match created {
                Ok(session) => {
                    let follow = !session.status.is_final();
                    let events_url = session.events_url.clone();
                    state.set(State::Session {
                        status: session.status,
                        failure: session.failure.clone(),
                        session: Arc::new(session),
                    });
                    if follow {
                        let opened = EventStream::open(
                            &events_url,
                            move |event| {
                                let done = event.status.is_final();
                                state.update(|s| s.apply(event));
                                if done {
                                    stream.set_value(None);
                                }
                            },
                            move |code| {
                                stream.set_value(None);
                                state.set(State::Error(code));
                            },
                        );
                        match opened {
                            Ok(opened) => stream.set_value(Some(opened)),
                            Err(code) => state.set(State::Error(code)),
                        }
                    }
                }
                Err(code) => state.set(State::Error(code)),
            }
        });
    };
    start();
    on_cleanup(move || stream.set_value(None));

    if let Some(host) = host {
        element::reflect(host, state, order_id.get_value());
    }

    view! {
        <div class="checkout" part="container" aria-busy=move || (state.get() == State::Loading).to_string()>
            {move || match state.get() {
                State::Loading => view! { <p class="muted">{texts.loading}</p> }.into_any(),
                State::Error(code) => view! {
                    <p class="error" role="alert">{texts.error(&code)}</p>
                    <button type="button" part="button" on:click=move |_| start()>{texts.retry}</button>
                }.into_any(),
                State::Session { session, status, failure } => {
                    session_view(texts, &session, status, failure.as_ref(), start).into_any()
                }
            }}
            <p class="sr-only" role="status" aria-live="polite">{move || announcement(texts, &state.get())}</p>
        </div>
    }
}

fn session_view(
    texts: &'static Texts,
    session: &CheckoutSession,
    status: SessionStatus,
    failure: Option<&Failure>,
    start: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let amount = mobilepay_wire::format_amount(session.amount);
    let body = match status {
        SessionStatus::AwaitingPayment => {
            let label = texts.qr_label(&amount);
            view! {
                <div class="qr" part="qr">{qr::svg(&session.qr_payload, label)}</div>
                <p class="hint">{texts.scan}</p>
                <p class="muted">{texts.awaiting}</p>
            }
            .into_any()
        }
        SessionStatus::Paid => view! { <p class="final paid">{texts.paid}</p> }.into_any(),
        SessionStatus::Failed => {
            let reason = texts.failure_reason(failure.map(|f| f.error_code.as_str()));
            view! {
                <p class="final failed">{texts.failed}</p>
                <p class="reason">{reason}</p>
                <button type="button" part="button" on:click=move |_| start()>{texts.retry}</button>
            }
            .into_any()
        }
        SessionStatus::Expired => view! {
            <p class="final expired">{texts.expired}</p>
            <button type="button" part="button" on:click=move |_| start()>{texts.new_code}</button>
        }
        .into_any(),
    };
    view! {
        <p class="amount" part="amount">{amount}</p>
        <p class="description" part="description">{session.description.clone()}</p>
        {body}
    }
}

/// What the live region says for a state: every change of status is read out.
fn announcement(texts: &'static Texts, state: &State) -> String {
    match state {
        State::Loading => texts.loading.to_owned(),
        State::Error(code) => texts.error(code).to_owned(),
        State::Session {
            status, failure, ..
        } => match status {
            SessionStatus::AwaitingPayment => texts.awaiting.to_owned(),
            SessionStatus::Paid => texts.paid.to_owned(),
            SessionStatus::Failed => format!(
                "{}\u{a0}: {}",
                texts.failed,
                texts.failure_reason(failure.as_ref().map(|f| f.error_code.as_str()))
            ),
            SessionStatus::Expired => texts.expired.to_owned(),
        },
    }
}

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
/// French unless it or the browser asks for English.
#[wasm_bindgen]
pub fn mount(
    host: HtmlElement,
    root: ShadowRoot,
    order_id: String,
    endpoint: Option<String>,
    locale: Option<String>,
) -> Result<Handle, JsValue> {
    element::adopt_stylesheet(&root, include_str!("style.css"))?;
    let container = element::container(&root)?;
    let locale = Locale::choose(locale.as_deref());
    let endpoint = endpoint
        .filter(|e| !e.trim().is_empty())
        .map_or_else(api::page_origin, Ok)?;
    let endpoint = api::resolve(&endpoint)?;
    let mounted = leptos::mount::mount_to(container, move || {
        view! { <Checkout order_id endpoint locale host /> }
    });
    Ok(Handle {
        mounted: Some(Box::new(mounted)),
    })
}
