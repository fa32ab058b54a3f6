//! The widget's calls to the merchant backend: create (or resume) the checkout session, follow
//! its status as Server-Sent Events, or poll its status URL when a stream cannot be had.
//!
//! JSON goes through the browser's own `JSON` and is read field by field into the widget's own
//! types: no JSON library and no serde in the wasm. That is for size — serde's derived
//! deserializers for the wire types cost ~18 KB of wasm even over a minimal `Deserializer`
//! (measured with twiggy) — and it reads only the fields the widget uses, so a backend that adds
//! fields never breaks it. The browser tests feed it JSON made from `mobilepay_wire`'s own types.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{EventSource, MessageEvent, Request, RequestInit, Response};

use crate::state::{ErrorCode, Failure, INVALID_RESPONSE, NETWORK_ERROR, Session, Update};

/// The page's origin: the default endpoint.
pub fn page_origin() -> Result<String, JsValue> {
    web_sys::window()
        .ok_or_else(|| JsValue::from_str("no window"))?
        .location()
        .origin()
}

/// `endpoint` as an absolute URL without a trailing slash, relative ones resolved against the
/// page.
pub fn resolve(endpoint: &str) -> Result<String, JsValue> {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let url = web_sys::Url::new_with_base(endpoint, &base)?;
    Ok(url.href().trim_end_matches('/').to_owned())
}

fn field(object: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn text(object: &JsValue, name: &str) -> Option<String> {
    field(object, name).as_string()
}

/// A session from the JSON of `mobilepay_wire::checkout::CheckoutSession`.
fn read_session(json: &JsValue) -> Option<Session> {
    let amount = field(json, "amount").as_f64()?;
    // Whole FCFA only; JSON numbers are exact up to 2^53.
    if !(0.0..=9_007_199_254_740_991.0).contains(&amount) || amount.fract() != 0.0 {
        return None;
    }
    Some(Session {
        session_id: text(json, "session_id")?,
        payment_id: text(json, "payment_id")?,
        amount: mobilepay_wire::Amount::new(amount as u64),
        description: text(json, "description")?,
        qr_payload: text(json, "qr_payload")?,
        expires_at: js_sys::Date::parse(&text(json, "expires_at")?),
        events_url: text(json, "events_url")?,
        status_url: text(json, "status_url")?,
        update: read_update(json)?,
    })
}

/// A status from the JSON of `mobilepay_wire::checkout::StatusEvent`; an unknown status is no
/// status.
fn read_update(json: &JsValue) -> Option<Update> {
    let status = text(json, "status")?.parse().ok()?;
    let failure = field(json, "failure");
    Some(Update {
        status,
        payment_id: text(json, "payment_id")?,
        failure: text(&failure, "error_code").map(|error_code| Failure {
            error_code,
            error_message: text(&failure, "error_message").unwrap_or_default(),
        }),
    })
}

/// A session and the server's clock when it answered (ms since the epoch, from the `Date`
/// header, if the browser lets us read it), to count down to `expires_at` by the server's time
/// rather than a phone's clock that may be minutes off.
#[derive(Debug)]
pub struct Created {
    pub session: Session,
    pub server_now: Option<f64>,
}

/// `POST {endpoint}/checkout/sessions` `{"order_id"}`; or, when `sent` is given, the answer to
/// that same request already sent by the element's JS shim while the wasm was downloading
/// (`www/index.js`), read exactly as the widget reads its own.
pub async fn create_session(
    endpoint: &str,
    order_id: &str,
    sent: Option<js_sys::Promise>,
) -> Result<Created, ErrorCode> {
    let body = js_sys::Object::new();
    js_sys::Reflect::set(&body, &"order_id".into(), &order_id.into())
        .map_err(|_| INVALID_RESPONSE.to_owned())?;
    let body = js_sys::JSON::stringify(&body).map_err(|_| INVALID_RESPONSE.to_owned())?;
    let url = [endpoint, "/checkout/sessions"].concat();
    let (response, json) = match sent {
        Some(sent) => {
            let response = JsFuture::from(sent)
                .await
                .map_err(|_| NETWORK_ERROR.to_owned())?
                .dyn_into::<Response>()
                .map_err(|_| INVALID_RESPONSE.to_owned())?;
            read(response).await
        }
        None => call(&url, Some(&body)).await?,
    };
    let server_now = response
        .headers()
        .get("date")
        .ok()
        .flatten()
        .map(|date| js_sys::Date::parse(&date))
        .filter(|ms| ms.is_finite());
    let session = answer(&response, json, read_session)?;
    Ok(Created {
        session,
        server_now,
    })
}

/// `GET {status_url}`: the session's current status.
pub async fn status(url: &str) -> Result<Update, ErrorCode> {
    let (response, json) = call(url, None).await?;
    answer(&response, json, read_update)
}

/// The documented JSON of a success, read by `read`, or the `error_code` of an error body.
fn answer<T>(
    response: &Response,
    json: JsValue,
    read: fn(&JsValue) -> Option<T>,
) -> Result<T, ErrorCode> {
    if response.ok() {
        read(&json).ok_or_else(|| INVALID_RESPONSE.to_owned())
    } else {
        Err(text(&json, "error_code").unwrap_or_else(|| INVALID_RESPONSE.to_owned()))
    }
}

/// Sends the request; a body that is not JSON is `null`, for [`answer`] to refuse.
async fn call(
    url: &str,
    post: Option<&js_sys::JsString>,
) -> Result<(Response, JsValue), ErrorCode> {
    let network = |_| NETWORK_ERROR.to_owned();
    let init = RequestInit::new();
    if let Some(body) = post {
        init.set_method("POST");
        init.set_body(body);
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(network)?;
    if post.is_some() {
        request
            .headers()
            .set("content-type", "application/json")
            .map_err(network)?;
    }
    request
        .headers()
        .set("accept", "application/json")
        .map_err(network)?;
    let window = web_sys::window().ok_or_else(|| NETWORK_ERROR.to_owned())?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network)?
        .unchecked_into();
    Ok(read(response).await)
}

/// A response and its body as JSON (`null` if it is not JSON).
async fn read(response: Response) -> (Response, JsValue) {
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    (response, json)
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// What went wrong with an event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// It was open and dropped; the browser is reconnecting by itself.
    Reconnecting,
    /// It never opened, or the browser gave up on it (refused, not a stream, blocked).
    Failed,
}

/// An open `EventSource` on a session's events URL. Dropping it closes the connection.
pub struct EventStream {
    source: EventSource,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_status: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl EventStream {
    /// Calls `on_open` each time the stream (re)opens, `on_status` for every `status` event, and
    /// `on_trouble` when it drops or cannot be had.
    pub fn open(
        url: &str,
        mut on_open: impl FnMut() + 'static,
        mut on_status: impl FnMut(Update) + 'static,
        mut on_trouble: impl FnMut(Trouble) + 'static,
    ) -> Option<Self> {
        let source = EventSource::new(url).ok()?;
        let opened = Rc::new(Cell::new(false));
        let was_opened = opened.clone();
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            opened.set(true);
            on_open();
        });
        let on_status = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let parsed = event
                .data()
                .as_string()
                .and_then(|data| js_sys::JSON::parse(&data).ok())
                .and_then(|json| read_update(&json));
            if let Some(parsed) = parsed {
                on_status(parsed);
            }
        });
        let watched = source.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            if was_opened.get() && watched.ready_state() != EventSource::CLOSED {
                on_trouble(Trouble::Reconnecting);
            } else {
                on_trouble(Trouble::Failed);
            }
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source
            .add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref())
            .ok()?;
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(EventStream {
            source,
            _on_open: on_open,
            _on_status: on_status,
            _on_error: on_error,
        })
    }
}

impl EventStream {
    /// Whether the connection is open now (not reconnecting, not closed).
    pub fn is_open(&self) -> bool {
        self.source.ready_state() == EventSource::OPEN
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onerror(None);
        let _ = self.source.remove_event_listener_with_callback(
            "status",
            self._on_status.as_ref().unchecked_ref(),
        );
        self.source.close();
    }
}
