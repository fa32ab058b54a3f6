//! Group commit of MOBILE-PAY's webhooks: verified webhooks, from however many concurrent
//! requests, are queued to one writer that stores a batch of them in one transaction, and only
//! after that transaction committed answers each request — so a `2xx` still means "committed",
//! while the database sees one transaction (one lock, one sync) for many webhooks instead of one
//! each.
//!
//! A webhook that fails to store loses none of the others: its batch is then stored again,
//! each webhook in a savepoint of its own, the failing one rolled back and its request answered
//! with the error (MOBILE-PAY retries it). Wake-ups follow the batch's commit ([`Sessions::commit_then_wake`]), as for a
//! single change.
//!
//! Must not: answer a request before its batch committed, or let one webhook's failure decide
//! another's answer (only a failure of the batch's own transaction fails them all, and then
//! none of them was stored).
//!
//! [`Sessions::commit_then_wake`]: crate::sessions::Sessions::commit_then_wake

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use mobilepay_wire::Amount;
use mobilepay_wire::checkout::Failure;
use mobilepay_wire::webhook::{EventKind, WebhookEvent};
use sqlx::Acquire as _;
use tokio::sync::{mpsc, oneshot};

use crate::AppState;
use crate::checkouts::Settlement;
use crate::db::now;
use crate::routes::webhooks::DEDUPLICATION_WINDOW_SECONDS;
use crate::sessions::Session;

/// The most webhooks one transaction stores: a bound on how long it holds the write lock.
const MAX_BATCH: usize = 512;
/// Webhooks waiting for the writer beyond which a request waits to queue (back-pressure rather
/// than unbounded memory).
const QUEUE: usize = 4_096;

/// One verified webhook, as the writer needs it.
#[derive(Debug)]
pub struct Webhook {
    pub id: String,
    pub event: WebhookEvent,
    /// The body as received (stored for the record).
    pub body: String,
    /// The session the event concerns, if any: read before queueing (what is read never
    /// changes), so that the writer's transaction does only writes.
    pub session: Option<Session>,
}

/// What storing a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Its `webhook-id` was seen before: nothing done again.
    Duplicate,
    /// It changed a session or a refund.
    Applied,
    /// New, but it concerned nothing here.
    Ignored,
}

impl Stored {
    pub fn as_str(self) -> &'static str {
        match self {
            Stored::Duplicate => "duplicate",
            Stored::Applied => "applied",
            Stored::Ignored => "ignored",
        }
    }
}

struct Job {
    webhook: Webhook,
    answer: oneshot::Sender<Result<Stored, sqlx::Error>>,
    /// When it was queued: for the batch's `debug` timings (where a webhook's wait goes).
    queued: Instant,
}

/// The queue to this process's webhook writer, started at the first webhook (and again if it
/// ever ended).
#[derive(Debug, Default)]
pub struct Ingest {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Queued and not yet answered.
    waiting: AtomicUsize,
    /// Transactions committed.
    batches: AtomicU64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("id", &self.webhook.id).finish()
    }
}

impl Ingest {
    /// Stores `webhook` in the next batch; returns once that batch committed (or failed).
    pub async fn store(
        &self,
        state: &Arc<AppState>,
        webhook: Webhook,
    ) -> Result<Stored, sqlx::Error> {
        let (answer, answered) = oneshot::channel();
        let queue = self.queue(state);
        self.counts.waiting.fetch_add(1, Ordering::AcqRel);
        let sent = queue
            .send(Job {
                webhook,
                answer,
                queued: Instant::now(),
            })
            .await;
        if sent.is_err() {
            self.counts.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(sqlx::Error::WorkerCrashed);
        }
        // The writer dropped the job unanswered only if it ended mid-batch: nothing was
        // committed for it then.
        answered.await.unwrap_or(Err(sqlx::Error::WorkerCrashed))
    }

    /// Webhooks queued or in a batch, not yet answered.
    pub fn waiting(&self) -> usize {
        self.counts.waiting.load(Ordering::Acquire)
    }

    /// Batches committed so far.
    pub fn batches(&self) -> u64 {
        self.counts.batches.load(Ordering::Acquire)
    }

    fn queue(&self, state: &Arc<AppState>) -> mpsc::Sender<Job> {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*queue {
            Some(sender) if !sender.is_closed() => sender.clone(),
            _ => {
                let (sender, receiver) = mpsc::channel(QUEUE);
                // Weak: the state owns the queue; the writer ends when the state goes.
                tokio::spawn(write(
                    Arc::downgrade(state),
                    receiver,
                    Arc::clone(&self.counts),
                ));
                *queue = Some(sender.clone());
                sender
            }
        }
    }
}

/// The writer: one batch at a time, each whatever queued while the previous one was written.
async fn write(state: Weak<AppState>, mut queue: mpsc::Receiver<Job>, counts: Arc<Counts>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        let Some(state) = state.upgrade() else {
            return;
        };
        let picked = Instant::now();
        let queue_wait = picked.saturating_duration_since(first.queued);
        batch.push(first);
        let tx = state.sessions.db.begin().await;
        let began = Instant::now();
        // Those that queued while the transaction waited for the write lock join it.
        while batch.len() < MAX_BATCH
            && let Ok(job) = queue.try_recv()
        {
            batch.push(job);
        }
        let answers = match tx {
            Ok(tx) => write_batch(&state, tx, &batch).await,
            Err(error) => Err(error),
        };
        // Where a webhook's time between its verification and its answer goes, for the stream
        // bench's tail (RUST_LOG=mobilepay_merchant::ingest=debug): the first one's wait in the
        // queue, the transaction's start (SQLite's write lock, a pooled connection), the
        // statements and the commit, and the longest any webhook of the batch waited in all.
        let done = Instant::now();
        tracing::debug!(
            webhooks = batch.len(),
            queue_us = queue_wait.as_micros() as u64,
            begin_us = began.saturating_duration_since(picked).as_micros() as u64,
            write_us = done.saturating_duration_since(began).as_micros() as u64,
            longest_us = batch
                .iter()
                .map(|job| done.saturating_duration_since(job.queued).as_micros() as u64)
                .max()
                .unwrap_or(0),
            "webhook batch written"
        );
        let answers = match answers {
            Ok(answers) => {
                counts.batches.fetch_add(1, Ordering::AcqRel);
                answers
            }
            Err(error) => {
                tracing::warn!(%error, webhooks = batch.len(), "webhook batch not committed");
                batch.iter().map(|_| Err(copy(&error))).collect()
            }
        };
        for (job, answer) in batch.drain(..).zip(answers) {
            counts.waiting.fetch_sub(1, Ordering::AcqRel);
            // The request may have gone away meanwhile: its webhook is stored all the same.
            let _ = job.answer.send(answer);
        }
    }
}

/// Stores `batch` in `tx` and commits. `Ok` holds each webhook's answer (its own failure, if it
/// failed); `Err` means nothing of the batch was committed.
///
/// Most batches have no failing webhook: they are stored in the transaction itself, a statement
/// or a few each. When one fails, that transaction is rolled back and the batch stored again in
/// a new one, each webhook in a savepoint of its own, so that the failing one is left out alone.
async fn write_batch(
    state: &AppState,
    tx: sqlx::Transaction<'static, sqlx::Any>,
    batch: &[Job],
) -> Result<Vec<Result<Stored, sqlx::Error>>, sqlx::Error> {
    if let Attempt::Committed(answers) = attempt(state, tx, batch, false).await? {
        return Ok(answers);
    }
    let tx = state.sessions.db.begin().await?;
    match attempt(state, tx, batch, true).await? {
        Attempt::Committed(answers) => Ok(answers),
        // With savepoints a failing webhook fails alone: not reached.
        Attempt::RowFailed => Err(sqlx::Error::Protocol(
            "a webhook failed outside its savepoint".to_owned(),
        )),
    }
}

enum Attempt {
    Committed(Vec<Result<Stored, sqlx::Error>>),
    /// A webhook failed without a savepoint: the transaction was rolled back.
    RowFailed,
}

async fn attempt(
    state: &AppState,
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    batch: &[Job],
    savepoints: bool,
) -> Result<Attempt, sqlx::Error> {
    let at = now();
    sqlx::query("DELETE FROM received_webhooks WHERE received_at < $1")
        .bind(at - DEDUPLICATION_WINDOW_SECONDS)
        .execute(&mut *tx)
        .await?;
    let mut answers = Vec::with_capacity(batch.len());
    let mut woken = Vec::new();
    let mut refunds_ended = false;
    for job in batch {
        let stored = if savepoints {
            // A failure to open, release or roll back a savepoint is the transaction's own: the
            // batch fails as a whole (`?`), never answered as if stored.
            let mut savepoint = tx.begin().await?;
            let stored = store_in(state, &mut savepoint, &job.webhook, at).await;
            match &stored {
                Ok(_) => savepoint.commit().await?,
                Err(_) => savepoint.rollback().await?,
            }
            stored
        } else {
            match store_in(state, &mut tx, &job.webhook, at).await {
                Ok(row) => Ok(row),
                Err(error) => {
                    tracing::debug!(%error, webhook_id = %job.webhook.id, "a webhook failed: its batch again, with savepoints");
                    tx.rollback().await?;
                    return Ok(Attempt::RowFailed);
                }
            }
        };
        match stored {
            Ok(row) => {
                if let Some(session_id) = row.woken {
                    woken.push(session_id);
                }
                refunds_ended |= row.refund_ended;
                answers.push(Ok(row.stored));
            }
            Err(error) => {
                tracing::warn!(%error, webhook_id = %job.webhook.id, "webhook not stored");
                answers.push(Err(error));
            }
        }
    }
    // Counted before the commit and wake-up: whoever sees the new status sees it counted.
    for (job, answer) in batch.iter().zip(&answers) {
        if let Ok(stored) = answer {
            metrics::counter!(
                crate::metrics::WEBHOOKS,
                "event" => job.webhook.event.kind.name().to_owned(),
                "outcome" => stored.as_str()
            )
            .increment(1);
        }
    }
    let committing = Instant::now();
    state.sessions.commit_then_wake(tx, &woken).await?;
    tracing::debug!(
        commit_us = committing.elapsed().as_micros() as u64,
        "webhook batch committed, its sessions woken"
    );
    if refunds_ended {
        state.outbox.wake();
    }
    Ok(Attempt::Committed(answers))
}

/// What one webhook changed.
struct Row {
    stored: Stored,
    /// The session whose status changed.
    woken: Option<String>,
    refund_ended: bool,
}

/// One webhook, inside the batch's transaction: remembered by its id, and applied if new.
async fn store_in(
    state: &AppState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    webhook: &Webhook,
    at: i64,
) -> Result<Row, sqlx::Error> {
    let kind = &webhook.event.kind;
    let first_time = sqlx::query(
        "INSERT INTO received_webhooks (webhook_id, event, body, received_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (webhook_id) DO NOTHING",
    )
    .bind(&webhook.id)
    .bind(kind.name())
    .bind(&webhook.body)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if !first_time {
        return Ok(Row {
            stored: Stored::Duplicate,
            woken: None,
            refund_ended: false,
        });
    }
    // What the event means for a session: how its payment attempt ended.
    let settlement = match kind {
        EventKind::PaymentReceived(d) => Some((
            Settlement::Paid {
                payer: Some(d.payer.clone()),
            },
            Some(Amount::new(d.amount)),
        )),
        EventKind::TransactionFailed(d) => Some((
            Settlement::Failed(Failure {
                error_code: d.error_code.clone(),
                error_message: d.error_message.clone(),
            }),
            None,
        )),
        EventKind::TransferCompleted(_) | EventKind::Unknown { .. } => None,
    };
    if let (Some(session), Some((settlement, amount))) = (&webhook.session, settlement) {
        // A payment of another amount than the checkout's is not this checkout's payment.
        let settlement = match amount {
            Some(received) if received != session.amount => Settlement::AmountMismatch { received },
            _ => settlement,
        };
        if state
            .checkouts
            .settle_in(&state.sessions, tx, session, settlement)
            .await?
        {
            return Ok(Row {
                stored: Stored::Applied,
                woken: Some(session.id.to_string()),
                refund_ended: false,
            });
        }
    }
    // A transfer's outcome ends the refund it was made for, if one was (matched by the
    // transfer's id; a failure of a payment was a session's, above).
    let refund = match kind {
        EventKind::TransferCompleted(d) => {
            Some((&d.transfer_id, crate::refunds::Outcome::Succeeded))
        }
        EventKind::TransactionFailed(d) => Some((
            &d.transaction_id,
            crate::refunds::Outcome::Failed {
                code: d.error_code.clone(),
                message: d.error_message.clone(),
            },
        )),
        _ => None,
    };
    let refund_ended = match refund {
        Some((transfer_id, outcome)) => {
            crate::refunds::finish_in(tx, "transfer_id", transfer_id, &outcome).await?
        }
        None => false,
    };
    Ok(Row {
        stored: if refund_ended {
            Stored::Applied
        } else {
            Stored::Ignored
        },
        woken: None,
        refund_ended,
    })
}

/// `sqlx::Error` is not `Clone`: the batch's one failure, told to each of its requests.
fn copy(error: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the webhook batch was not committed: {error}"))
}
