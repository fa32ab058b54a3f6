//! Checkout sessions for the widget: create or resume one for a checkout, read its status, follow
//! it as Server-Sent Events (the stream itself is [`crate::stream`]).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use mobilepay_wire::api::CreateQrPayment;
use mobilepay_wire::checkout::{CheckoutSession, CreateSession, StatusEvent};
use mobilepay_wire::ids::{CheckoutId, SessionId};
use mobilepay_wire::merchant::CheckoutStatus;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::db::now;
use crate::error::{ApiJson, Error};
use crate::sessions::{InsertError, NewSession, Session};

/// Under the idle timeouts of common proxies (nginx: 60 s).
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Session requests per client address: the public endpoint must not let a bot burn the
/// merchant's MOBILE-PAY quota (1,000 an hour on the Marchand tier).
pub struct Limits {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limits")
    }
}

impl Limits {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Limits {
            by_address: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    fn check(&self, address: Option<IpAddr>) -> Result<(), Error> {
        let Some(address) = address else {
            return Ok(());
        };
        self.by_address.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::TooManyRequests {
                retry_after: wait.max(Duration::from_secs(1)),
            }
        })
    }
}

/// The client's address, for a connection from `peer`. From a trusted proxy, it is the last
/// address of `X-Forwarded-For` that is not itself a trusted proxy: each proxy appends the
/// address it was connected from, so everything left of that may be the client's own invention.
/// From anyone else `X-Forwarded-For` is ignored: a client could write any address into it.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    let mut client = peer;
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for hop in hops.iter().rev() {
        let hop = hop.trim();
        // Some proxies write `address:port` or `[v6]:port`.
        let Some(address) = hop
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        else {
            // Unreadable: the last hop we could trust is all that is known.
            return client;
        };
        client = address;
        if !is_trusted(&client) {
            return client;
        }
    }
    client
}

#[utoipa::path(
    post,
    path = "/checkout/sessions",
    tag = "widget",
    request_body = CreateSession,
    responses(
        (status = 201, description = "A new session: a new MOBILE-PAY payment for the checkout's amount", body = CheckoutSession),
        (status = 200, description = "The checkout's session that can still be paid, or was paid", body = CheckoutSession),
        (status = 400, description = "INVALID_JSON, INVALID_ORDER_ID (1 to 64 letters, digits, '-' or '_')", body = mobilepay_wire::ApiError),
        (status = 404, description = "ORDER_NOT_FOUND: no checkout has this id", body = mobilepay_wire::ApiError),
        (status = 409, description = "CHECKOUT_CANCELED, CHECKOUT_EXPIRED: it can no longer be paid; CHECKOUT_NOT_OPEN", body = mobilepay_wire::ApiError),
        (status = 429, description = "TOO_MANY_REQUESTS: SESSIONS_PER_MINUTE for this address (with Retry-After)", body = mobilepay_wire::ApiError),
        (status = 502, description = "PAYMENT_PROVIDER_UNAVAILABLE, PAYMENT_PROVIDER_ERROR", body = mobilepay_wire::ApiError),
        (status = 503, description = "PAYMENT_PROVIDER_BUSY (with Retry-After)", body = mobilepay_wire::ApiError),
    )
)]
/// `POST /checkout/sessions` `{"order_id": "chk_…"}`: resumes the checkout's session if it can
/// still be paid (or was paid), otherwise creates a payment with MOBILE-PAY for the checkout's
/// amount. A canceled or expired checkout gets no new payment.
pub async fn create(
    State(state): State<Arc<AppState>>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateSession>,
) -> Result<(StatusCode, Json<CheckoutSession>), Error> {
    let address = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| {
            client_address(peer.ip(), &headers, &state.config.trusted_proxies)
        });
    state.limits.check(address)?;
    if !valid_order_id(&body.order_id) {
        return Err(Error::InvalidOrderId);
    }
    // Plain enough but not a checkout's id: no checkout has it.
    let order_id: CheckoutId = body.order_id.parse().map_err(|_| Error::OrderNotFound)?;
    let checkout = state
        .checkouts
        .get(&order_id)
        .await?
        .ok_or(Error::OrderNotFound)?;
    let _creating = state.sessions.lock_checkout(&checkout.id).await;
    if let Some(session) = state.sessions.latest_for_checkout(&checkout.id).await?
        && session.resumable(now())
    {
        return Ok((StatusCode::OK, Json(wire(&state, &session))));
    }
    match checkout.status {
        CheckoutStatus::Open if checkout.payable(now()) => {}
        CheckoutStatus::Canceled => return Err(Error::CheckoutCanceled),
        // Paid by a session that is no longer the latest: nothing more to pay.
        CheckoutStatus::Paid => return Err(Error::CheckoutNotOpen),
        CheckoutStatus::Open | CheckoutStatus::Expired => return Err(Error::CheckoutExpired),
    }
    let payment = state
        .mobilepay
        .create_qr_payment(&CreateQrPayment {
            // MOBILE-PAY's API counts in plain numbers.
            amount: checkout.amount.get(),
            description: checkout.description.clone(),
            merchant_id: state.config.merchant_id.clone(),
        })
        .await?;
    let expires_at = OffsetDateTime::parse(&payment.expires_at, &Rfc3339).map_err(|_| {
        tracing::error!(expires_at = %payment.expires_at, "MOBILE-PAY sent an unreadable expiry");
        Error::ProviderError("unreadable expires_at".into())
    })?;
    let inserted = state
        .sessions
        .insert(NewSession {
            checkout_id: checkout.id.clone(),
            amount: checkout.amount,
            description: checkout.description.clone(),
            payment_id: payment.payment_id,
            qr_payload: payment.qr_code,
            // The session must not outlive its checkout: past the checkout's expiry, its
            // payment would pay nothing the merchant still sells.
            expires_at: expires_at.unix_timestamp().min(checkout.expires_at),
        })
        .await;
    match inserted {
        Ok(session) => {
            metrics::counter!(crate::metrics::SESSIONS_CREATED).increment(1);
            tracing::info!(session_id = %session.id, checkout_id = %checkout.id, payment_id = %session.payment_id, "checkout session created");
            Ok((StatusCode::CREATED, Json(wire(&state, &session))))
        }
        // Another instance won the race for this checkout: show its session. The payment made
        // here is never shown and expires unpaid.
        Err(InsertError::CheckoutHasOpenSession) => {
            let session = state
                .sessions
                .latest_for_checkout(&checkout.id)
                .await?
                .ok_or(Error::Internal)?;
            Ok((StatusCode::OK, Json(wire(&state, &session))))
        }
        Err(InsertError::Database(error)) => Err(error.into()),
    }
}

/// Order references are ours, but arrive from browsers: keep them short and plain.
fn valid_order_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn wire(state: &AppState, session: &Session) -> CheckoutSession {
    let base = format!("{}/checkout/sessions/{}", state.public_url, session.id);
    let expires_at = OffsetDateTime::from_unix_timestamp(session.expires_at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    CheckoutSession {
        session_id: session.id.to_string(),
        order_id: session.checkout_id.to_string(),
        status: session.current.event.status,
        amount: session.amount,
        currency: mobilepay_wire::CURRENCY.to_owned(),
        description: session.description.clone(),
        payment_id: session.payment_id.clone(),
        qr_payload: session.qr_payload.clone(),
        expires_at,
        events_url: format!("{base}/events?token={}", session.token),
        status_url: format!("{base}/status?token={}", session.token),
        failure: session.current.event.failure.clone(),
    }
}

#[derive(Debug, Deserialize)]
pub struct Capability {
    #[serde(default)]
    token: String,
}

async fn authorized(state: &AppState, id: &str, cap: &Capability) -> Result<Session, Error> {
    // A malformed id names no session: answered as an unknown one (or a wrong capability).
    let id: SessionId = id.parse().map_err(|_| Error::SessionNotFound)?;
    state
        .sessions
        .get(&id, &cap.token)
        .await?
        .ok_or(Error::SessionNotFound)
}

#[utoipa::path(
    get,
    path = "/checkout/sessions/{session_id}/status",
    tag = "widget",
    params(
        ("session_id" = String, Path, description = "The session's id (cs_…)"),
        ("token" = String, Query, description = "The session's capability, from its status_url"),
    ),
    responses(
        (status = 200, description = "The current status", body = StatusEvent),
        (status = 404, description = "SESSION_NOT_FOUND: unknown session or wrong capability (alike)", body = mobilepay_wire::ApiError),
    )
)]
/// `GET /checkout/sessions/{id}/status?token=…`: the current status, for polling clients.
pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(cap): Query<Capability>,
) -> Result<Json<StatusEvent>, Error> {
    let session = authorized(&state, &id, &cap).await?;
    Ok(Json(session.current.event))
}

#[utoipa::path(
    get,
    path = "/checkout/sessions/{session_id}/events",
    tag = "widget",
    params(
        ("session_id" = String, Path, description = "The session's id (cs_…)"),
        ("token" = String, Query, description = "The session's capability, from its events_url"),
        ("Last-Event-ID" = Option<i64>, Header, description = "The last event received: the stream resumes after it"),
    ),
    responses(
        (status = 200, description = "text/event-stream of `status` events, each a StatusEvent whose SSE id is the session's sequence number; ends after a final status", content_type = "text/event-stream", body = StatusEvent),
        (status = 204, description = "Nothing left to send after Last-Event-ID: EventSource stops"),
        (status = 404, description = "SESSION_NOT_FOUND", body = mobilepay_wire::ApiError),
    )
)]
/// `GET /checkout/sessions/{id}/events?token=…`: each a `status` event whose `id` is the
/// session's sequence number. A new subscriber gets the current status, then every change; one
/// that reconnects with `Last-Event-ID` gets every status after that id from the database, then
/// the changes. The stream ends after a final status (or at server shutdown); a reconnection
/// with nothing left to send is answered `204 No Content`, which tells `EventSource` to stop.
pub async fn events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(cap): Query<Capability>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let session = authorized(&state, &id, &cap).await?;
    let current = session.current.seq;
    let last_seen = match headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(seen) => seen.clamp(0, current),
        // A new subscriber starts with the current status.
        None => current - 1,
    };
    if last_seen >= current && session.current.event.status.is_final() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let stream = crate::stream::status_stream(
        Arc::clone(&state),
        &session.id,
        session.expires_at,
        last_seen,
    );
    Ok((
        // Tells nginx and its kin not to buffer the stream.
        [(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        )],
        Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(of: &str) -> IpAddr {
        of.parse().expect("an address")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        headers
    }

    fn trusted() -> Vec<IpNet> {
        vec![
            "10.0.0.0/8".parse().expect("a network"),
            "::1/128".parse().expect("a network"),
        ]
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_connection_comes_from_a_trusted_proxy() {
        let spoofed = forwarded(&["203.0.113.9"]);
        assert_eq!(
            client_address(address("198.51.100.7"), &spoofed, &trusted()),
            address("198.51.100.7")
        );
        assert_eq!(
            client_address(address("10.0.0.2"), &spoofed, &[]),
            address("10.0.0.2")
        );
    }

    #[test]
    fn from_trusted_proxies_the_client_is_the_last_untrusted_hop() {
        // The client wrote the first address itself; nginx appended the one it saw.
        let chain = forwarded(&["192.0.2.66, 203.0.113.9", "10.1.2.3"]);
        assert_eq!(
            client_address(address("10.0.0.2"), &chain, &trusted()),
            address("203.0.113.9")
        );
        let v6 = forwarded(&["[2001:db8::7]:4711"]);
        assert_eq!(
            client_address(address("::1"), &v6, &trusted()),
            address("2001:db8::7")
        );
    }

    #[test]
    fn an_unreadable_or_missing_hop_leaves_the_last_trusted_one() {
        assert_eq!(
            client_address(
                address("10.0.0.2"),
                &forwarded(&["nonsense, 10.9.9.9"]),
                &trusted()
            ),
            address("10.9.9.9")
        );
        assert_eq!(
            client_address(address("10.0.0.2"), &HeaderMap::new(), &trusted()),
            address("10.0.0.2")
        );
    }
}
