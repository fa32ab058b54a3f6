//! Checkout sessions for the widget: create or resume one for an order, read its status, follow
//! it as Server-Sent Events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use mobilepay_wire::api::CreateQrPayment;
use mobilepay_wire::checkout::{CheckoutSession, CreateSession, StatusEvent};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::error::{ApiJson, Error};
use crate::sessions::{NewSession, Session};

/// Under the idle timeouts of common proxies (nginx: 60 s).
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How soon a browser reconnects after losing the stream.
const RECONNECT_HINT: Duration = Duration::from_secs(2);

/// `POST /checkout/sessions` `{"order_id"}`: resumes the order's session if it can still be paid
/// (or was paid), otherwise creates a payment with MOBILE-PAY for the order's amount.
pub async fn create(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<CreateSession>,
) -> Result<(StatusCode, Json<CheckoutSession>), Error> {
    if !valid_order_id(&body.order_id) {
        return Err(Error::InvalidOrderId);
    }
    let order = state
        .catalog
        .order(&body.order_id)
        .ok_or(Error::OrderNotFound)?;
    let _creating = state.sessions.creating.lock().await;
    if let Some(session) = state.sessions.for_order(&order.id)
        && session.resumable()
    {
        return Ok((StatusCode::OK, Json(wire(&state, &session))));
    }
    let payment = state
        .mobilepay
        .create_qr_payment(&CreateQrPayment {
            amount: order.amount,
            description: order.description.clone(),
            merchant_id: state.config.merchant_id.clone(),
        })
        .await?;
    let expires_at = OffsetDateTime::parse(&payment.expires_at, &Rfc3339).map_err(|_| {
        tracing::error!(expires_at = %payment.expires_at, "MOBILE-PAY sent an unreadable expiry");
        Error::ProviderError("unreadable expires_at".into())
    })?;
    let session = state.sessions.insert(NewSession {
        order_id: order.id,
        amount: order.amount,
        description: order.description,
        payment_id: payment.payment_id,
        qr_payload: payment.qr_code,
        expires_at,
    });
    tracing::info!(session_id = %session.id, payment_id = %session.payment_id, "checkout session created");
    Ok((StatusCode::CREATED, Json(wire(&state, &session))))
}

/// Order references are ours, but arrive from browsers: keep them short and plain.
fn valid_order_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn wire(state: &AppState, session: &Session) -> CheckoutSession {
    let current = session.current().event;
    let base = format!("{}/checkout/sessions/{}", state.public_url, session.id);
    CheckoutSession {
        session_id: session.id.clone(),
        order_id: session.order_id.clone(),
        status: current.status,
        amount: session.amount,
        currency: mobilepay_wire::CURRENCY.to_owned(),
        description: session.description.clone(),
        payment_id: session.payment_id.clone(),
        qr_payload: session.qr_payload.clone(),
        expires_at: session.expires_at.format(&Rfc3339).unwrap_or_default(),
        events_url: format!("{base}/events?token={}", session.token),
        status_url: format!("{base}/status?token={}", session.token),
        failure: current.failure,
    }
}

#[derive(Debug, Deserialize)]
pub struct Capability {
    #[serde(default)]
    token: String,
}

fn authorized(state: &AppState, id: &str, cap: &Capability) -> Result<Arc<Session>, Error> {
    state
        .sessions
        .get(id, &cap.token)
        .ok_or(Error::SessionNotFound)
}

/// `GET /checkout/sessions/{id}/status?token=…`: the current status, for polling clients.
pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(cap): Query<Capability>,
) -> Result<Json<StatusEvent>, Error> {
    let session = authorized(&state, &id, &cap)?;
    Ok(Json(session.current().event))
}

/// `GET /checkout/sessions/{id}/events?token=…`: the current status at once, then every change,
/// each a `status` event whose `id` is the session's sequence number; the stream ends after a
/// final status (or at server shutdown).
pub async fn events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(cap): Query<Capability>,
) -> Result<impl IntoResponse, Error> {
    let session = authorized(&state, &id, &cap)?;
    let stream = status_stream(session, state.sessions.stopped());
    Ok((
        // Tells nginx and its kin not to buffer the stream.
        [(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        )],
        Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)),
    ))
}

fn status_stream(
    session: Arc<Session>,
    stopped: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> {
    struct Follow {
        session: Arc<Session>,
        rx: tokio::sync::watch::Receiver<crate::sessions::Versioned>,
        first: bool,
        stopped: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    }
    let rx = session.subscribe();
    let start = Follow {
        session,
        rx,
        first: true,
        stopped: Box::pin(stopped),
    };
    futures_util::stream::unfold(Some(start), |follow| async move {
        let mut follow = follow?;
        if follow.first {
            // Expiry may be due already: the first event must be the true status.
            follow.session.expire_if_due(OffsetDateTime::now_utc());
        } else {
            let until_expiry = (follow.session.expires_at - OffsetDateTime::now_utc())
                .try_into()
                .unwrap_or(Duration::ZERO);
            tokio::select! {
                changed = follow.rx.changed() => changed.ok()?,
                () = tokio::time::sleep(until_expiry) => {
                    follow.session.expire_if_due(OffsetDateTime::now_utc());
                }
                () = &mut follow.stopped => return None,
            }
        }
        let current = follow.rx.borrow_and_update().clone();
        let mut event = Event::default()
            .event("status")
            .id(current.seq.to_string())
            .json_data(&current.event)
            .unwrap_or_default();
        if follow.first {
            event = event.retry(RECONNECT_HINT);
        }
        follow.first = false;
        let next = (!current.event.status.is_final()).then_some(follow);
        Some((Ok(event), next))
    })
}
