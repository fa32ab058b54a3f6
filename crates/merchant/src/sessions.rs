//! Checkout sessions, stored: one per payment attempt of a checkout, with the history of its
//! statuses (`session_events`), which is what every status a browser sees is read from.
//!
//! A status moves only forward — `awaiting_payment` → `paid` | `failed` | `expired` — so a late
//! or duplicate webhook changes nothing. One exception, because money decides: `expired` →
//! `paid`, when MOBILE-PAY reports a payment made before the expiry whose webhook arrived after
//! it (or across a small clock difference between the two servers). Every change bumps the
//! session's sequence number, the SSE `id` of its event.
//!
//! After a change commits ([`Sessions::commit_then_wake`], the one place that does both),
//! [`Hub`](crate::hub::Hub) wakes the streams that follow the session, in this process and
//! (through PostgreSQL `NOTIFY`) in every other; a woken stream reads what it has not sent
//! from the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mobilepay_wire::Amount;
use mobilepay_wire::checkout::{Failure, SessionStatus, StatusEvent};
use mobilepay_wire::ids::{CheckoutId, SessionId};
use sqlx::Row as _;
use sqlx::any::AnyRow;
use tokio::sync::{OwnedMutexGuard, watch};

use crate::db::{Backend, Db, now, parsed};
use crate::hub::Hub;
use crate::ids;

/// One checkout session as stored. Everything but the status is fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    /// The capability: whoever holds it may read this session's status, nobody else.
    pub token: String,
    /// The checkout this session is a payment attempt of.
    pub checkout_id: CheckoutId,
    pub amount: Amount,
    pub description: String,
    pub payment_id: String,
    pub qr_payload: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The latest status.
    pub current: Versioned,
}

/// A status and its place in the session's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub seq: i64,
    pub event: StatusEvent,
}

/// What a new session is made of; the store adds the id, capability and status.
#[derive(Debug)]
pub struct NewSession {
    pub checkout_id: CheckoutId,
    /// The checkout's, never a browser's.
    pub amount: Amount,
    pub description: String,
    pub payment_id: String,
    pub qr_payload: String,
    pub expires_at: i64,
}

/// Why a session could not be inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// Another instance created the checkout's open session first.
    #[error("the checkout already has an open session")]
    CheckoutHasOpenSession,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const SESSION_COLUMNS: &str = "id, token, checkout_id, amount, description, payment_id, qr_payload, \
     expires_at, status, failure_code, failure_message, seq";

/// A status of a row that has `seq`, `status`, `failure_code`, `failure_message` and
/// `payment_id`: a session's latest (`sessions`) or one of its history (`session_events`). An
/// unknown status is a decoding error, never a status.
impl<'r> sqlx::FromRow<'r, AnyRow> for Versioned {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        let code: Option<String> = row.try_get("failure_code")?;
        let message: Option<String> = row.try_get("failure_message")?;
        Ok(Versioned {
            seq: row.try_get("seq")?,
            event: StatusEvent {
                status: parsed(row, "status")?,
                payment_id: row.try_get("payment_id")?,
                failure: code.map(|error_code| Failure {
                    error_code,
                    error_message: message.unwrap_or_default(),
                }),
            },
        })
    }
}

/// A session of the columns [`SESSION_COLUMNS`]; a malformed id or a negative amount is a
/// decoding error too.
impl<'r> sqlx::FromRow<'r, AnyRow> for Session {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Session {
            id: row.try_get("id")?,
            token: row.try_get("token")?,
            checkout_id: row.try_get("checkout_id")?,
            amount: row.try_get("amount")?,
            description: row.try_get("description")?,
            payment_id: row.try_get("payment_id")?,
            qr_payload: row.try_get("qr_payload")?,
            expires_at: row.try_get("expires_at")?,
            current: Versioned::from_row(row)?,
        })
    }
}

impl Session {
    /// Constant-time comparison of a presented capability with this session's.
    pub fn token_matches(&self, presented: &str) -> bool {
        let (a, b) = (self.token.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Whether a shopper coming back to this checkout should be shown this session again rather
    /// than a new payment: it can still be paid (awaiting its payment, before its expiry), or it
    /// was paid. An `expired` session is final but not terminal — a payment made in time may
    /// still make it `paid` (`SessionStatus::can_become`), which the checkout then shows — yet
    /// the shopper is given a new code rather than one that can no longer be paid.
    pub fn resumable(&self, now: i64) -> bool {
        match self.current.event.status {
            SessionStatus::AwaitingPayment => now < self.expires_at,
            SessionStatus::Paid => true,
            SessionStatus::Failed | SessionStatus::Expired => false,
        }
    }
}

/// The sessions, their store and their live followers.
#[derive(Debug)]
pub struct Sessions {
    pub db: Db,
    pub hub: Arc<Hub>,
    /// Serializes session creation per checkout within this process, so that two tabs of one
    /// shopper do not create two payments; across instances the unique index does.
    creating: Mutex<HashMap<CheckoutId, Arc<tokio::sync::Mutex<()>>>>,
    stopping: watch::Sender<bool>,
    /// The notification worker's wake-up: a commit may have recorded events for it to deliver.
    events_committed: Arc<tokio::sync::Notify>,
}

/// Held while a checkout's session is being created.
#[derive(Debug)]
pub struct CheckoutLock<'a> {
    sessions: &'a Sessions,
    checkout_id: CheckoutId,
    _guard: OwnedMutexGuard<()>,
}

impl Drop for CheckoutLock<'_> {
    fn drop(&mut self) {
        let mut creating = self
            .sessions
            .creating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Ours and the map's: nobody else waits on this checkout, so forget its lock.
        if creating
            .get(&self.checkout_id)
            .is_some_and(|lock| Arc::strong_count(lock) <= 2)
        {
            creating.remove(&self.checkout_id);
        }
    }
}

impl Sessions {
    /// `events_committed` is notified after every commit of [`Sessions::commit_then_wake`]:
    /// the notification worker ([`Outbox`](crate::outbox::Outbox)) holds the same `Notify`.
    pub fn new(db: Db, hub: Arc<Hub>, events_committed: Arc<tokio::sync::Notify>) -> Self {
        Sessions {
            db,
            hub,
            creating: Mutex::new(HashMap::new()),
            stopping: watch::Sender::new(false),
            events_committed,
        }
    }

    pub async fn lock_checkout(&self, checkout_id: &CheckoutId) -> CheckoutLock<'_> {
        let lock = {
            let mut creating = self
                .creating
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(creating.entry(checkout_id.clone()).or_default())
        };
        CheckoutLock {
            sessions: self,
            checkout_id: checkout_id.clone(),
            _guard: lock.lock_owned().await,
        }
    }

    /// The checkout's latest session, expiry applied: its open one if it has one (at most
    /// one, by the unique index), else its paid one, else the newest. Not by creation time
    /// alone: it counts whole seconds, and a failed session and the retry made in its second
    /// tie — the failed one, with the higher status sequence, used to win, so that a retried
    /// request resumed a payment that could no longer be paid (found by `cargo xtask chaos`).
    pub async fn latest_for_checkout(
        &self,
        checkout_id: &CheckoutId,
    ) -> Result<Option<Session>, sqlx::Error> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE checkout_id = $1
             ORDER BY CASE status WHEN 'awaiting_payment' THEN 2 WHEN 'paid' THEN 1 ELSE 0 END DESC,
                      created_at DESC, seq DESC
             LIMIT 1"
        );
        let session: Option<Session> = sqlx::query_as(&sql)
            .bind(checkout_id)
            .fetch_optional(&self.db.pool)
            .await?;
        self.fresh(session).await
    }

    /// Stores a new session and its first status, `awaiting_payment` (sequence 1).
    pub async fn insert(&self, new: NewSession) -> Result<Session, InsertError> {
        let session = Session {
            id: ids::session_id(),
            token: ids::capability(),
            checkout_id: new.checkout_id,
            amount: new.amount,
            description: new.description,
            payment_id: new.payment_id.clone(),
            qr_payload: new.qr_payload,
            expires_at: new.expires_at,
            current: Versioned {
                seq: 1,
                event: StatusEvent {
                    status: SessionStatus::AwaitingPayment,
                    payment_id: new.payment_id,
                    failure: None,
                },
            },
        };
        let at = now();
        let mut tx = self.db.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO sessions (id, token, checkout_id, amount, description, payment_id, qr_payload, expires_at, status, seq, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'awaiting_payment', 1, $9)",
        )
        .bind(&session.id)
        .bind(&session.token)
        .bind(&session.checkout_id)
        .bind(session.amount)
        .bind(&session.description)
        .bind(&session.payment_id)
        .bind(&session.qr_payload)
        .bind(session.expires_at)
        .bind(at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(InsertError::CheckoutHasOpenSession);
            }
            other => other?,
        };
        sqlx::query(
            "INSERT INTO session_events (session_id, seq, status, created_at) VALUES ($1, 1, 'awaiting_payment', $2)",
        )
        .bind(&session.id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The session `id`, if `token` is its capability, expiry applied. A wrong token and an
    /// unknown id are indistinguishable to the caller.
    pub async fn get(&self, id: &SessionId, token: &str) -> Result<Option<Session>, sqlx::Error> {
        let session = self.by_column("id", id).await?;
        self.fresh(session.filter(|s| s.token_matches(token))).await
    }

    pub async fn for_payment(&self, payment_id: &str) -> Result<Option<Session>, sqlx::Error> {
        self.by_column("payment_id", payment_id).await
    }

    async fn by_column(&self, column: &str, value: &str) -> Result<Option<Session>, sqlx::Error> {
        // `column` is one of ours, never input.
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE {column} = $1");
        sqlx::query_as(&sql)
            .bind(value)
            .fetch_optional(&self.db.pool)
            .await
    }

    /// `session` with its expiry applied if due.
    async fn fresh(&self, session: Option<Session>) -> Result<Option<Session>, sqlx::Error> {
        let Some(session) = session else {
            return Ok(None);
        };
        if session.current.event.status == SessionStatus::AwaitingPayment
            && now() >= session.expires_at
        {
            self.expire_if_due(&session.id).await?;
            return self.by_column("id", &session.id).await;
        }
        Ok(Some(session))
    }

    /// Moves the session to the final `to` (see the module doc for which moves are allowed).
    /// Returns the new status, or `None` when nothing changed. Commits before returning, then
    /// wakes the session's followers.
    pub async fn finish(
        &self,
        session_id: &str,
        to: SessionStatus,
        failure: Option<Failure>,
    ) -> Result<Option<Versioned>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let changed = self
            .finish_in(&mut tx, session_id, to, failure, None)
            .await?;
        let woken: &[&str] = if changed.is_some() {
            &[session_id]
        } else {
            &[]
        };
        self.commit_then_wake(tx, woken).await?;
        Ok(changed)
    }

    /// [`Sessions::finish`] inside the caller's transaction, with an optional extra condition
    /// (`not_before`: only if the session's expiry is at or before it — for expiry). The caller
    /// commits, then calls [`Hub::wake`].
    pub async fn finish_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        session_id: &str,
        to: SessionStatus,
        failure: Option<Failure>,
        not_before: Option<i64>,
    ) -> Result<Option<Versioned>, sqlx::Error> {
        // The statuses it may come from, by the one rule (`SessionStatus::can_become`): from
        // `awaiting_payment`, and to `paid` from `expired` too.
        let allowed_from = SessionStatus::ALL
            .iter()
            .filter(|from| from.can_become(to))
            .map(|from| ["'", from.as_str(), "'"].concat())
            .collect::<Vec<_>>()
            .join(", ");
        debug_assert!(!allowed_from.is_empty(), "nothing becomes {to:?}");
        let allowed_from = format!("status IN ({allowed_from})");
        let (code, message) = match &failure {
            Some(f) => (Some(f.error_code.clone()), Some(f.error_message.clone())),
            None => (None, None),
        };
        let sql = format!(
            "UPDATE sessions SET status = $1, failure_code = $2, failure_message = $3, seq = seq + 1
             WHERE id = $4 AND {allowed_from} AND expires_at <= $5
             RETURNING seq, payment_id"
        );
        let row: Option<(i64, String)> = sqlx::query_as(&sql)
            .bind(to.as_str())
            .bind(&code)
            .bind(&message)
            .bind(session_id)
            .bind(not_before.unwrap_or(i64::MAX))
            .fetch_optional(&mut **tx)
            .await?;
        let Some((seq, payment_id)) = row else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO session_events (session_id, seq, status, failure_code, failure_message, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session_id)
        .bind(seq)
        .bind(to.as_str())
        .bind(&code)
        .bind(&message)
        .bind(now())
        .execute(&mut **tx)
        .await?;
        if self.db.backend == Backend::Postgres {
            // Delivered to every listening instance when the transaction commits.
            sqlx::query("SELECT pg_notify('mobilepay_session_events', $1)")
                .bind(session_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(Some(Versioned {
            seq,
            event: StatusEvent {
                status: to,
                payment_id,
                failure,
            },
        }))
    }

    /// Marks the session expired if its payment can no longer be paid.
    pub async fn expire_if_due(&self, session_id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let changed = self
            .finish_in(
                &mut tx,
                session_id,
                SessionStatus::Expired,
                None,
                Some(now()),
            )
            .await?;
        let woken: &[&str] = if changed.is_some() {
            &[session_id]
        } else {
            &[]
        };
        self.commit_then_wake(tx, woken).await?;
        Ok(changed.is_some())
    }

    /// Commits `tx`, then wakes the streams of the `changed` sessions and the notification
    /// worker — in that order: a stream woken before the commit could read the old status and go
    /// back to sleep. (Waking the worker when `tx` recorded no event costs it one empty look.)
    pub async fn commit_then_wake(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Any>,
        changed: &[impl AsRef<str>],
    ) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        for session_id in changed {
            self.hub.wake(session_id.as_ref());
        }
        self.events_committed.notify_one();
        Ok(())
    }

    /// The session's statuses after `seq`, oldest first.
    pub async fn events_after(
        &self,
        session_id: &str,
        seq: i64,
    ) -> Result<Vec<Versioned>, sqlx::Error> {
        sqlx::query_as(
            "SELECT e.seq, e.status, e.failure_code, e.failure_message, s.payment_id
             FROM session_events e JOIN sessions s ON s.id = e.session_id
             WHERE e.session_id = $1 AND e.seq > $2 ORDER BY e.seq",
        )
        .bind(session_id)
        .bind(seq)
        .fetch_all(&self.db.pool)
        .await
    }

    /// Ends every open event stream (at shutdown).
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }

    /// Turns `true` once [`Sessions::stop_streams`] was called.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }
}
