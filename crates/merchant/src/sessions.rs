//! Checkout sessions: one per payment attempt of an order, its status state machine, and the
//! live subscribers of each session's status.
//!
//! A status moves only forward — `awaiting_payment` → `paid` | `failed` | `expired` — so a late
//! or duplicate webhook changes nothing. One exception, because money decides: `expired` →
//! `paid`, when MOBILE-PAY reports a payment made before the expiry whose webhook arrived after
//! it (or across a small clock difference between the two servers). Every change bumps the session's sequence number, which
//! the event stream sends as the SSE `id`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mobilepay_wire::checkout::{Failure, SessionStatus, StatusEvent};
use time::OffsetDateTime;
use tokio::sync::watch;

/// One checkout session. Everything but the status is fixed at creation.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    /// The capability: whoever holds it may read this session's status, nobody else.
    pub token: String,
    pub order_id: String,
    pub amount: u64,
    pub description: String,
    pub payment_id: String,
    pub qr_payload: String,
    pub expires_at: OffsetDateTime,
    status: watch::Sender<Versioned>,
}

/// A status and its place in the session's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub seq: u64,
    pub event: StatusEvent,
}

/// What a new session is made of; the store adds the id, capability and status.
#[derive(Debug)]
pub struct NewSession {
    pub order_id: String,
    pub amount: u64,
    pub description: String,
    pub payment_id: String,
    pub qr_payload: String,
    pub expires_at: OffsetDateTime,
}

impl Session {
    /// The status now, expiry applied.
    pub fn current(&self) -> Versioned {
        self.expire_if_due(OffsetDateTime::now_utc());
        self.status.borrow().clone()
    }

    /// Follows the status: the receiver sees every change from now on.
    pub fn subscribe(&self) -> watch::Receiver<Versioned> {
        self.status.subscribe()
    }

    /// Moves `awaiting_payment` to the final `to` (or `expired` to `paid`, see the module doc).
    /// Returns whether anything changed: otherwise a final session stays as it is.
    pub fn finish(&self, to: SessionStatus, failure: Option<Failure>) -> bool {
        debug_assert!(to.is_final());
        self.status.send_if_modified(|current| {
            let late_payment =
                current.event.status == SessionStatus::Expired && to == SessionStatus::Paid;
            if current.event.status.is_final() && !late_payment {
                return false;
            }
            current.seq += 1;
            current.event.status = to;
            current.event.failure = failure;
            true
        })
    }

    /// Marks the session expired once its payment can no longer be paid.
    pub fn expire_if_due(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at && self.finish(SessionStatus::Expired, None)
    }

    /// Whether a shopper coming back to this order should be shown this session again rather
    /// than a new payment: it can still be paid, or it was paid.
    pub fn resumable(&self) -> bool {
        matches!(
            self.current().event.status,
            SessionStatus::AwaitingPayment | SessionStatus::Paid
        )
    }

    /// Constant-time comparison of a presented capability with this session's.
    pub fn token_matches(&self, presented: &str) -> bool {
        let (a, b) = (self.token.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// All sessions, indexed by id, by order and by MOBILE-PAY payment id.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<Index>,
    /// Serializes session creation so that two concurrent requests for one order cannot create
    /// two payments. Coarse (one creation at a time) until sessions are stored in a database
    /// with a uniqueness constraint.
    pub creating: tokio::sync::Mutex<()>,
    stopping: watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Index {
    by_id: HashMap<String, Arc<Session>>,
    by_order: HashMap<String, Arc<Session>>,
    by_payment: HashMap<String, Arc<Session>>,
}

impl Sessions {
    pub fn insert(&self, new: NewSession) -> Arc<Session> {
        let event = StatusEvent {
            status: SessionStatus::AwaitingPayment,
            payment_id: new.payment_id.clone(),
            failure: None,
        };
        let session = Arc::new(Session {
            id: random_token("cs_", 20),
            token: random_token("", 32),
            order_id: new.order_id,
            amount: new.amount,
            description: new.description,
            payment_id: new.payment_id,
            qr_payload: new.qr_payload,
            expires_at: new.expires_at,
            status: watch::Sender::new(Versioned { seq: 1, event }),
        });
        let mut index = self.lock();
        index.by_id.insert(session.id.clone(), Arc::clone(&session));
        index
            .by_order
            .insert(session.order_id.clone(), Arc::clone(&session));
        index
            .by_payment
            .insert(session.payment_id.clone(), Arc::clone(&session));
        session
    }

    /// The session `id`, if `token` is its capability. A wrong token and an unknown id are
    /// indistinguishable to the caller.
    pub fn get(&self, id: &str, token: &str) -> Option<Arc<Session>> {
        self.lock()
            .by_id
            .get(id)
            .filter(|s| s.token_matches(token))
            .cloned()
    }

    /// The latest session of an order.
    pub fn for_order(&self, order_id: &str) -> Option<Arc<Session>> {
        self.lock().by_order.get(order_id).cloned()
    }

    pub fn for_payment(&self, payment_id: &str) -> Option<Arc<Session>> {
        self.lock().by_payment.get(payment_id).cloned()
    }

    /// Ends every open event stream (at shutdown).
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once [`Sessions::stop_streams`] was called.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut rx = self.stopping.subscribe();
        async move {
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `prefix` and `bytes` random bytes in lower-case hex: 16 bytes and more are unguessable.
pub fn random_token(prefix: &str, bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    let mut out = String::with_capacity(prefix.len() + 2 * bytes);
    out.push_str(prefix);
    for b in buf {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
