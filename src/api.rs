//! The widget's two calls to the merchant backend: create (or resume) the checkout session, then
//! follow its status as Server-Sent Events.

use mobilepay_wire::ApiError;
use mobilepay_wire::checkout::{CheckoutSession, CreateSession, StatusEvent};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{EventSource, MessageEvent, Request, RequestInit, Response};

/// Why the widget could not show a session: the backend's `error_code`, or one of the widget's
/// own codes below. The shopper reads a localized message chosen by it.
pub type ErrorCode = String;

/// The backend could not be reached (offline, DNS, CORS, blocked).
pub const NETWORK_ERROR: &str = "NETWORK_ERROR";
/// The backend answered something that is not the documented JSON.
pub const INVALID_RESPONSE: &str = "INVALID_RESPONSE";
/// The event stream was refused or closed for good.
pub const STREAM_CLOSED: &str = "STREAM_CLOSED";

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

/// `POST {endpoint}/checkout/sessions` `{"order_id"}`.
pub async fn create_session(endpoint: &str, order_id: &str) -> Result<CheckoutSession, ErrorCode> {
    let body = serde_json::to_string(&CreateSession {
        order_id: order_id.to_owned(),
    })
    .map_err(|_| INVALID_RESPONSE.to_owned())?;
    let (ok, text) = post_json(&format!("{endpoint}/checkout/sessions"), &body)
        .await
        .map_err(|_| NETWORK_ERROR.to_owned())?;
    if ok {
        serde_json::from_str(&text).map_err(|_| INVALID_RESPONSE.to_owned())
    } else {
        Err(serde_json::from_str::<ApiError>(&text)
            .map(|e| e.error_code)
            .unwrap_or_else(|_| INVALID_RESPONSE.to_owned()))
    }
}

async fn post_json(url: &str, body: &str) -> Result<(bool, String), JsValue> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let request = Request::new_with_str_and_init(url, &init)?;
    request.headers().set("content-type", "application/json")?;
    request.headers().set("accept", "application/json")?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let text = JsFuture::from(response.text()?).await?;
    Ok((response.ok(), text.as_string().unwrap_or_default()))
}

/// An open `EventSource` on a session's events URL. Dropping it closes the connection.
pub struct EventStream {
    source: EventSource,
    _on_status: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("url", &self.source.url())
            .finish()
    }
}

impl EventStream {
    /// Calls `on_status` for every `status` event, and `on_closed` if the browser gives up on the
    /// stream (a refused or non-stream answer). Transient drops are retried by the browser.
    pub fn open(
        url: &str,
        mut on_status: impl FnMut(StatusEvent) + 'static,
        mut on_closed: impl FnMut(ErrorCode) + 'static,
    ) -> Result<Self, ErrorCode> {
        let source = EventSource::new(url).map_err(|_| STREAM_CLOSED.to_owned())?;
        let on_status = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let parsed = event
                .data()
                .as_string()
                .and_then(|data| serde_json::from_str::<StatusEvent>(&data).ok());
            if let Some(parsed) = parsed {
                on_status(parsed);
            }
        });
        let watched = source.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            if watched.ready_state() == EventSource::CLOSED {
                on_closed(STREAM_CLOSED.to_owned());
            }
        });
        source
            .add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref())
            .map_err(|_| STREAM_CLOSED.to_owned())?;
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(EventStream {
            source,
            _on_status: on_status,
            _on_error: on_error,
        })
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.set_onerror(None);
        self.source.close();
    }
}
