//! Wake-ups for the event streams of each session. A wake-up carries no status: a woken stream
//! reads what it has not sent from the database, so a lost or duplicated wake-up can delay an
//! event but never lose or reorder one.
//!
//! Within a process, [`Hub::wake`] is called after each commit. Across instances sharing
//! PostgreSQL, each status change also sends `NOTIFY mobilepay_session_events`, which
//! [`listen`] turns into local wake-ups; when its connection drops (and notifications may have
//! been lost), every followed session is woken to resync from the table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::sessions::Versioned;

pub const CHANNEL: &str = "mobilepay_session_events";

#[derive(Debug, Default)]
pub struct Hub {
    followed: Mutex<HashMap<String, Followed>>,
}

#[derive(Debug)]
struct Followed {
    wake: watch::Sender<Option<Instant>>,
    history: Arc<tokio::sync::Mutex<History>>,
}

/// A session's statuses as last read from the database, shared by the streams that follow it
/// in this process: after a wake-up, the first stream reads, and the others (waiting on the
/// lock meanwhile) reuse what it read instead of each asking the database the same question.
#[derive(Debug, Default)]
pub struct History {
    /// When the read that produced `events` started: it saw every change committed before, so
    /// it answers for every wake-up sent strictly before (wake-ups follow their commit).
    pub read_started: Option<Instant>,
    pub events: Vec<Versioned>,
}

/// One stream's subscription to a session's wake-ups. Unsubscribes on drop.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<Hub>,
    session_id: String,
    /// Changes at each wake-up, to when it was sent.
    pub rx: watch::Receiver<Option<Instant>>,
    pub history: Arc<tokio::sync::Mutex<History>>,
}

impl Subscription {
    /// The session followed.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut followed = self.hub.lock();
        // `self.rx` is still alive here: it is the last one when the count is 1.
        if followed
            .get(&self.session_id)
            .is_some_and(|f| f.wake.receiver_count() <= 1)
        {
            followed.remove(&self.session_id);
        }
    }
}

impl Hub {
    pub fn subscribe(self: &Arc<Self>, session_id: &str) -> Subscription {
        let mut followed = self.lock();
        let entry = followed
            .entry(session_id.to_owned())
            .or_insert_with(|| Followed {
                wake: watch::Sender::new(None),
                history: Arc::default(),
            });
        Subscription {
            hub: Arc::clone(self),
            session_id: session_id.to_owned(),
            rx: entry.wake.subscribe(),
            history: Arc::clone(&entry.history),
        }
    }

    /// Wakes the streams following `session_id` in this process.
    pub fn wake(&self, session_id: &str) {
        if let Some(followed) = self.lock().get(session_id) {
            followed.wake.send_replace(Some(Instant::now()));
        }
    }

    /// Wakes every stream: after notifications may have been lost.
    pub fn wake_all(&self) {
        let now = Instant::now();
        for followed in self.lock().values() {
            followed.wake.send_replace(Some(now));
        }
    }

    /// How many sessions are followed, for metrics.
    pub fn followed(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Followed>> {
        self.followed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Turns PostgreSQL notifications into wake-ups, until the process ends. Reconnects with a
/// pause when the connection fails, waking everything after each (re)connection.
pub async fn listen(hub: Arc<Hub>, url: String) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(CHANNEL).await {
                    tracing::warn!(%error, "LISTEN failed");
                } else {
                    tracing::info!("listening for status changes of other instances");
                    hub.wake_all();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => hub.wake(notification.payload()),
                            // The connection dropped and was re-established: anything sent in
                            // between is lost, so every stream rereads the table.
                            Ok(None) => hub.wake_all(),
                            Err(error) => {
                                tracing::warn!(%error, "notification connection lost");
                                break;
                            }
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot open the notification connection"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
