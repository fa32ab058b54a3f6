//! One session's status as a stream of Server-Sent Events: what `GET
//! /checkout/sessions/{id}/events` sends once the request was authorized.
//!
//! Every status sent is read from the database after the wake-up that announced it (a wake-up
//! carries no status), so a browser only ever sees committed changes, in order. The stream
//! ends after a final status, at the session's expiry once recorded, when the database fails
//! (the browser reconnects with `Last-Event-ID`), and at server shutdown.
//!
//! An idle stream is mostly waiting, and tens of thousands wait at once: what it holds while it
//! waits is kept small — the session's id and expiry rather than the whole session, and the
//! database reads boxed, so that their futures take memory only while they run.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::response::sse::Event;
use futures_util::Stream;

use crate::AppState;
use crate::db::now;
use crate::hub::Subscription;
use crate::sessions::{Sessions, Versioned};

/// How soon a browser reconnects after losing the stream.
const RECONNECT_HINT: Duration = Duration::from_secs(2);

/// What a stream holds between two events.
struct Follow {
    state: Arc<AppState>,
    // Subscribed before the first read, so that no change falls between read and wait. It also
    // holds the session's id.
    subscription: Subscription,
    /// Unix seconds.
    expires_at: i64,
    stopping: tokio::sync::watch::Receiver<bool>,
    last_seen: i64,
    pending: VecDeque<Versioned>,
    first: bool,
    /// When the wake-up that led to the pending events was sent (for the latency metric).
    woke_at: Option<Instant>,
    /// When the latest wake-up was sent: a shared read started after it is fresh enough.
    last_wake: Option<Instant>,
    _open: crate::metrics::OpenStream,
}

/// The events of session `session_id` (expiring at `expires_at`) after sequence `last_seen`,
/// then every change until a final status.
pub fn status_stream(
    state: Arc<AppState>,
    session_id: &str,
    expires_at: i64,
    last_seen: i64,
) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
    let start = Follow {
        subscription: state.sessions.hub.subscribe(session_id),
        stopping: state.sessions.stopping(),
        state,
        expires_at,
        last_seen,
        pending: VecDeque::new(),
        first: true,
        woke_at: None,
        last_wake: None,
        _open: crate::metrics::OpenStream::new(),
    };
    futures_util::stream::unfold(Some(start), |follow| async move {
        let mut follow = follow?;
        loop {
            if let Some(next) = follow.pending.pop_front() {
                return Some(follow.send(next));
            }
            // Boxed: a database read's future is large, and an idle stream should not carry
            // its room while it waits.
            let read = Box::pin(read_after(
                &follow.state.sessions,
                &follow.subscription,
                follow.last_seen,
                follow.last_wake,
            ))
            .await;
            match read {
                Ok(events) if !events.is_empty() => {
                    follow.pending.extend(events);
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    // The browser reconnects with Last-Event-ID and misses nothing.
                    tracing::warn!(%error, "event stream ends: database unavailable");
                    return None;
                }
            }
            let until_expiry =
                Duration::from_secs(u64::try_from(follow.expires_at - now()).unwrap_or(0));
            let stopping = &mut follow.stopping;
            let stopped = async move {
                // The guard it returns must not live across an await: dropped here.
                let _ = stopping.wait_for(|stopping| *stopping).await;
            };
            tokio::select! {
                changed = follow.subscription.rx.changed() => {
                    changed.ok()?;
                    follow.woke_at = *follow.subscription.rx.borrow_and_update();
                    follow.last_wake = follow.woke_at;
                }
                () = tokio::time::sleep(until_expiry) => {
                    let sessions = &follow.state.sessions;
                    let expired = Box::pin(sessions.expire_if_due(follow.subscription.session_id()));
                    if let Err(error) = expired.await {
                        tracing::warn!(%error, "expiry not recorded");
                        return None;
                    }
                }
                () = stopped => return None,
            }
        }
    })
}

impl Follow {
    /// `next` as an event, and what follows it: nothing after a final status.
    fn send(mut self, next: Versioned) -> (Result<Event, Infallible>, Option<Follow>) {
        self.last_seen = next.seq;
        if let Some(woke_at) = self.woke_at.take() {
            metrics::histogram!(crate::metrics::DELIVERY_SECONDS)
                .record(woke_at.elapsed().as_secs_f64());
        }
        let mut event = Event::default()
            .event("status")
            .id(next.seq.to_string())
            .json_data(&next.event)
            .unwrap_or_default();
        if self.first {
            event = event.retry(RECONNECT_HINT);
            self.first = false;
        }
        let more = (!next.event.status.is_final()).then_some(self);
        (Ok(event), more)
    }
}

/// The session's statuses after `last_seen`, read from the database unless a read that started
/// after the latest wake-up (`last_wake`) is already shared by the session's other streams.
async fn read_after(
    sessions: &Sessions,
    subscription: &Subscription,
    last_seen: i64,
    last_wake: Option<Instant>,
) -> Result<Vec<Versioned>, sqlx::Error> {
    let mut history = subscription.history.lock().await;
    let fresh =
        matches!((history.read_started, last_wake), (Some(read), Some(wake)) if read > wake);
    if !fresh {
        let started = Instant::now();
        history.events = sessions.events_after(subscription.session_id(), 0).await?;
        history.read_started = Some(started);
    }
    Ok(history
        .events
        .iter()
        .filter(|e| e.seq > last_seen)
        .cloned()
        .collect())
}
