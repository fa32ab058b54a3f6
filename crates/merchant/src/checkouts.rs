//! Checkouts: what the merchant's own system asks to be paid (`/v1/checkouts`), stored, with
//! every status change recorded as an event in the same transaction ([`crate::events`]).
//!
//! A checkout is `open` until it is `paid`, `expired` (past `expires_at`) or `canceled` (by the
//! merchant). A failed payment attempt leaves it open: the shopper may try again, which makes
//! a new session (a new MOBILE-PAY payment). A payment MOBILE-PAY confirms is never hidden: a
//! checkout whose shopper paid in time but whose webhook came after the expiry or after a
//! cancellation becomes `paid` all the same (the merchant is told, and may refund).
//!
//! One open checkout per `reference`, enforced by a partial unique index, so that two instances
//! asked at once cannot both create one.
//!
//! Must not: take an amount from anywhere but the merchant's `/v1` request; change a status
//! without recording its event in the same transaction.

use std::collections::BTreeMap;

use mobilepay_wire::Amount;
use mobilepay_wire::checkout::{Failure, SessionStatus};
use mobilepay_wire::ids::{CheckoutId, SessionId};
use mobilepay_wire::merchant::{self as wire, CheckoutStatus, CreateCheckout, EventType};
use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

use crate::db::{Db, now, parsed, rfc3339};
use crate::error::Error;
use crate::events;
use crate::ids;
use crate::sessions::{Session, Sessions};

/// MOBILE-PAY's bounds for a QR payment, in whole FCFA (the seed document's; the sandbox's
/// `payments::MAX_AMOUNT`, which a test compares).
pub const MIN_AMOUNT: Amount = Amount::new(1);
pub const MAX_AMOUNT: Amount = Amount::new(5_000_000);
/// MOBILE-PAY's longest payment description, in characters.
pub const MAX_DESCRIPTION: usize = 255;
pub const MAX_REFERENCE: usize = 128;
pub const MAX_METADATA_KEYS: usize = 20;
pub const MAX_METADATA_KEY: usize = 40;
pub const MAX_METADATA_VALUE: usize = 500;
pub const DEFAULT_EXPIRES_IN: i64 = 900;
/// A minute at least: a shopper must have time to open the wallet app.
pub const MIN_EXPIRES_IN: i64 = 60;
/// A week at most: a payment link sent by SMS may wait a few days, not forever.
pub const MAX_EXPIRES_IN: i64 = 7 * 86_400;
pub const MAX_RETURN_URL: usize = 2048;
/// Checkouts per page of a list: 20 by default, 100 at most.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// One checkout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub id: CheckoutId,
    pub status: CheckoutStatus,
    pub amount: Amount,
    pub description: String,
    pub reference: String,
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub return_url: Option<String>,
    /// The phone that paid.
    pub payer: Option<String>,
    /// What its pending and succeeded refunds add up to ([`crate::refunds`] reserves it).
    pub refunded: Amount,
}

impl Checkout {
    /// Whether a shopper may still start a payment for it.
    pub fn payable(&self, at: i64) -> bool {
        self.status == CheckoutStatus::Open && at < self.expires_at
    }
}

/// A checkout to create, every field within its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckout {
    pub amount: Amount,
    pub description: String,
    pub reference: String,
    pub metadata: BTreeMap<String, String>,
    /// Seconds.
    pub expires_in: i64,
    pub return_url: Option<String>,
}

impl NewCheckout {
    /// Checks every bound of `POST /v1/checkouts` (documented in the OpenAPI document).
    pub fn parse(body: CreateCheckout) -> Result<NewCheckout, Error> {
        if !(MIN_AMOUNT..=MAX_AMOUNT).contains(&body.amount) {
            return Err(Error::InvalidParameter(
                "amount must be whole FCFA from 1 to 5000000 (MOBILE-PAY's bounds for a QR payment)",
            ));
        }
        let description_length = body.description.chars().count();
        if !(1..=MAX_DESCRIPTION).contains(&description_length)
            || body.description.chars().any(char::is_control)
            // A BOM is a blank too, as in JSON Schema's regular expressions (the pattern).
            || !body
                .description
                .chars()
                .any(|c| !c.is_whitespace() && c != '\u{feff}')
        {
            return Err(Error::InvalidParameter(
                "description must be 1 to 255 characters, without control characters",
            ));
        }
        if !(1..=MAX_REFERENCE).contains(&body.reference.len())
            || !body.reference.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::InvalidParameter(
                "reference must be 1 to 128 visible ASCII characters (no spaces)",
            ));
        }
        let metadata = body.metadata.unwrap_or_default();
        if metadata.len() > MAX_METADATA_KEYS
            || metadata.iter().any(|(key, value)| {
                !(1..=MAX_METADATA_KEY).contains(&key.chars().count())
                    || value.chars().count() > MAX_METADATA_VALUE
            })
        {
            return Err(Error::InvalidParameter(
                "metadata must have at most 20 keys of 1 to 40 characters, with string values of at most 500 characters",
            ));
        }
        let expires_in = match body.expires_in {
            None => DEFAULT_EXPIRES_IN,
            Some(seconds) => i64::try_from(seconds)
                .ok()
                .filter(|s| (MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(s))
                .ok_or(Error::InvalidParameter(
                    "expires_in must be 60 to 604800 seconds (a week)",
                ))?,
        };
        if let Some(url) = &body.return_url {
            let parsed = url::Url::parse(url).ok();
            let valid = url.len() <= MAX_RETURN_URL
                && parsed.is_some_and(|u| {
                    matches!(u.scheme(), "https" | "http") && u.host_str().is_some()
                });
            if !valid {
                return Err(Error::InvalidParameter(
                    "return_url must be an https:// or http:// URL of at most 2048 characters",
                ));
            }
        }
        Ok(NewCheckout {
            amount: body.amount,
            description: body.description,
            reference: body.reference,
            metadata,
            expires_in,
            return_url: body.return_url,
        })
    }
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// A new checkout (`201`).
    New(Checkout),
    /// The reference's open checkout, of the same amount (`200`).
    Existing(Checkout),
}

/// How a payment attempt of a checkout ended, as MOBILE-PAY told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Paid {
        payer: Option<String>,
    },
    Failed(Failure),
    /// `payment.received` for another amount than the session's: not this checkout's payment.
    AmountMismatch {
        received: Amount,
    },
}

/// `GET /v1/checkouts`'s filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub reference: Option<String>,
    pub status: Option<CheckoutStatus>,
    pub limit: Option<u32>,
    /// Where the previous page ended (`ids::CURSOR_PATTERN`).
    pub cursor: Option<String>,
}

/// Where a page ended: the last checkout's creation time and id (the list's order).
fn encode_cursor(checkout: &Checkout) -> String {
    format!("{}.{}", checkout.created_at, checkout.id)
}

const COLUMNS: &str = "id, status, amount, description, reference, metadata, created_at, expires_at, return_url, payer, refunded";

/// A checkout of the columns [`COLUMNS`]; an unknown status, a malformed id or a negative
/// amount in the table is a decoding error, never a value.
impl<'r> sqlx::FromRow<'r, AnyRow> for Checkout {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        let metadata: String = row.try_get("metadata")?;
        Ok(Checkout {
            id: row.try_get("id")?,
            status: parsed(row, "status")?,
            amount: row.try_get("amount")?,
            description: row.try_get("description")?,
            reference: row.try_get("reference")?,
            metadata: serde_json::from_str(&metadata).unwrap_or_default(),
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            return_url: row.try_get("return_url")?,
            payer: row.try_get("payer")?,
            refunded: row.try_get("refunded")?,
        })
    }
}

/// The checkouts' store.
#[derive(Debug, Clone)]
pub struct Checkouts {
    pub db: Db,
    /// Where shoppers reach this backend: the base of `pay_url`.
    pub public_url: String,
}

/// One value bound to a query built piece by piece.
enum Bind {
    Text(String),
    Int(i64),
}

impl Checkouts {
    pub fn new(db: Db, public_url: &str) -> Checkouts {
        Checkouts {
            db,
            public_url: public_url.to_owned(),
        }
    }

    /// The `/v1` shape of `checkout`.
    pub fn wire(&self, checkout: &Checkout) -> wire::Checkout {
        wire::Checkout {
            id: checkout.id.clone(),
            status: checkout.status,
            amount: checkout.amount,
            currency: mobilepay_wire::CURRENCY.to_owned(),
            description: checkout.description.clone(),
            reference: checkout.reference.clone(),
            metadata: checkout.metadata.clone(),
            created_at: rfc3339(checkout.created_at),
            expires_at: rfc3339(checkout.expires_at),
            pay_url: format!("{}/pay/{}", self.public_url, checkout.id),
            return_url: checkout.return_url.clone(),
            payer: checkout.payer.clone(),
            amount_refunded: checkout.refunded,
            amount_refundable: match checkout.status {
                // `refunded` never exceeds `amount` (the reservation's condition).
                CheckoutStatus::Paid => checkout
                    .amount
                    .checked_sub(checkout.refunded)
                    .unwrap_or(Amount::ZERO),
                _ => Amount::ZERO,
            },
            refunds: None,
        }
    }

    /// Creates a checkout, or answers the reference's open one if it has the same amount.
    pub async fn create(&self, new: NewCheckout) -> Result<Created, Error> {
        // An open checkout of this reference past its expiry must not hold the reference.
        let due: Vec<CheckoutId> = sqlx::query_scalar(
            "SELECT id FROM checkouts WHERE reference = $1 AND status = 'open' AND expires_at <= $2",
        )
        .bind(&new.reference)
        .bind(now())
        .fetch_all(&self.db.pool)
        .await?;
        for id in due {
            self.expire(&id).await?;
        }
        let metadata = serde_json::to_string(&new.metadata).map_err(|_| Error::Internal)?;
        // Three tries: the reference's open checkout may close between our insert and our read.
        for _ in 0..3 {
            let at = now();
            let checkout = Checkout {
                id: ids::checkout_id(),
                status: CheckoutStatus::Open,
                amount: new.amount,
                description: new.description.clone(),
                reference: new.reference.clone(),
                metadata: new.metadata.clone(),
                created_at: at,
                expires_at: at + new.expires_in,
                return_url: new.return_url.clone(),
                payer: None,
                refunded: Amount::ZERO,
            };
            let inserted = sqlx::query(
                "INSERT INTO checkouts (id, status, amount, description, reference, metadata, created_at, expires_at, return_url, updated_at)
                 VALUES ($1, 'open', $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&checkout.id)
            .bind(checkout.amount)
            .bind(&checkout.description)
            .bind(&checkout.reference)
            .bind(&metadata)
            .bind(checkout.created_at)
            .bind(checkout.expires_at)
            .bind(&checkout.return_url)
            .bind(at)
            .execute(&self.db.pool)
            .await;
            match inserted {
                Ok(_) => {
                    tracing::info!(checkout_id = %checkout.id, amount = %checkout.amount, "checkout created");
                    return Ok(Created::New(checkout));
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
                Err(error) => return Err(error.into()),
            }
            let sql =
                format!("SELECT {COLUMNS} FROM checkouts WHERE reference = $1 AND status = 'open'");
            let open: Option<Checkout> = sqlx::query_as(&sql)
                .bind(&new.reference)
                .fetch_optional(&self.db.pool)
                .await?;
            if let Some(existing) = open {
                return if existing.amount == new.amount {
                    Ok(Created::Existing(existing))
                } else {
                    Err(Error::ReferenceInUse)
                };
            }
        }
        Err(Error::Internal)
    }

    /// The checkout `id`, its expiry applied if due.
    pub async fn get(&self, id: &CheckoutId) -> Result<Option<Checkout>, Error> {
        let Some(checkout) = self.by_id(id).await? else {
            return Ok(None);
        };
        if checkout.status == CheckoutStatus::Open && now() >= checkout.expires_at {
            self.expire(id).await?;
            return Ok(self.by_id(id).await?);
        }
        Ok(Some(checkout))
    }

    async fn by_id(&self, id: &CheckoutId) -> Result<Option<Checkout>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM checkouts WHERE id = $1");
        sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
    }

    async fn by_id_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &CheckoutId,
    ) -> Result<Option<Checkout>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM checkouts WHERE id = $1");
        sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
    }

    /// A page of checkouts, newest first, and the cursor of the next page if there is one.
    pub async fn list(&self, query: &ListQuery) -> Result<(Vec<Checkout>, Option<String>), Error> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::InvalidParameter("limit must be 1 to 100"));
        }
        let cursor = match &query.cursor {
            Some(cursor) => Some(ids::position(cursor).ok_or(Error::InvalidParameter(
                "cursor must be a created_at.id position, as next_cursor is",
            ))?),
            None => None,
        };
        // Statuses read as they are: what is due expires first.
        self.expire_due().await?;
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        if let Some(reference) = &query.reference {
            binds.push(Bind::Text(reference.clone()));
            conditions.push(format!("reference = ${}", binds.len()));
        }
        if let Some(status) = query.status {
            binds.push(Bind::Text(status.as_str().to_owned()));
            conditions.push(format!("status = ${}", binds.len()));
        }
        if let Some((created_at, id)) = cursor {
            binds.push(Bind::Int(created_at));
            let c = binds.len();
            binds.push(Bind::Int(created_at));
            let c2 = binds.len();
            binds.push(Bind::Text(id));
            let i = binds.len();
            conditions.push(format!(
                "(created_at < ${c} OR (created_at = ${c2} AND id < ${i}))"
            ));
        }
        binds.push(Bind::Int(i64::from(limit) + 1));
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM checkouts {where_clause} ORDER BY created_at DESC, id DESC LIMIT ${}",
            binds.len()
        );
        let mut select = sqlx::query_as::<_, Checkout>(&sql);
        for bind in binds {
            select = match bind {
                Bind::Text(text) => select.bind(text),
                Bind::Int(int) => select.bind(int),
            };
        }
        let mut page = select.fetch_all(&self.db.pool).await?;
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let next = if more {
            page.last().map(encode_cursor)
        } else {
            None
        };
        Ok((page, next))
    }

    /// Cancels the open checkout `id`, and ends its sessions still waiting for a payment (their
    /// widgets show `expired`).
    pub async fn cancel(&self, sessions: &Sessions, id: &CheckoutId) -> Result<Checkout, Error> {
        let current = self.get(id).await?.ok_or(Error::CheckoutNotFound)?;
        if current.status != CheckoutStatus::Open {
            return Err(Error::CheckoutNotOpen);
        }
        let waiting: Vec<SessionId> = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE checkout_id = $1 AND status = 'awaiting_payment'",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut tx = self.db.begin().await?;
        let Some(canceled) = self
            .transition_in(
                &mut tx,
                id,
                "status = 'open'",
                CheckoutStatus::Canceled,
                None,
            )
            .await?
        else {
            // Paid or expired in the meantime.
            return Err(Error::CheckoutNotOpen);
        };
        let mut ended = Vec::new();
        for session_id in waiting {
            if sessions
                .finish_in(&mut tx, &session_id, SessionStatus::Expired, None, None)
                .await?
                .is_some()
            {
                ended.push(session_id);
            }
        }
        events::record_in(&mut tx, &self.wire(&canceled), EventType::Canceled).await?;
        sessions.commit_then_wake(tx, &ended).await?;
        tracing::info!(checkout_id = %id, "checkout canceled");
        Ok(canceled)
    }

    /// Expires the open checkouts past their expiry (a bounded batch); returns how many.
    pub async fn expire_due(&self) -> Result<usize, Error> {
        let due: Vec<CheckoutId> = sqlx::query_scalar(
            "SELECT id FROM checkouts WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT 100",
        )
        .bind(now())
        .fetch_all(&self.db.pool)
        .await?;
        let mut expired = 0;
        for id in due {
            if self.expire(&id).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Marks `id` expired if it is open and due. Its sessions expire on their own: none
    /// outlives its checkout.
    async fn expire(&self, id: &CheckoutId) -> Result<bool, Error> {
        let mut tx = self.db.begin().await?;
        let condition = format!("status = 'open' AND expires_at <= {}", now());
        let Some(expired) = self
            .transition_in(&mut tx, id, &condition, CheckoutStatus::Expired, None)
            .await?
        else {
            return Ok(false);
        };
        events::record_in(&mut tx, &self.wire(&expired), EventType::Expired).await?;
        // No session changed: none outlives its checkout, each expires on its own. Nothing
        // wakes the notification worker either: it finds the event at its next poll (≤ 1 s),
        // soon enough for an expiry.
        tx.commit().await?;
        tracing::info!(checkout_id = %id, "checkout expired");
        Ok(true)
    }

    /// Moves checkout `id` to `to` where `condition` (SQL of ours, never input) holds; the
    /// checkout after the change, or `None` if nothing changed.
    async fn transition_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &CheckoutId,
        condition: &str,
        to: CheckoutStatus,
        payer: Option<&str>,
    ) -> Result<Option<Checkout>, sqlx::Error> {
        let sql = format!(
            "UPDATE checkouts SET status = $1, payer = COALESCE($2, payer), updated_at = $3
             WHERE id = $4 AND {condition} RETURNING {COLUMNS}"
        );
        sqlx::query_as(&sql)
            .bind(to.as_str())
            .bind(payer)
            .bind(now())
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
    }

    /// Applies what MOBILE-PAY said of `session`'s payment, in `tx`: the session's status, the
    /// checkout's, and their events. Returns whether the session changed (its streams are to be
    /// woken after the commit).
    pub async fn settle_in(
        &self,
        sessions: &Sessions,
        tx: &mut Transaction<'_, Any>,
        session: &Session,
        settlement: Settlement,
    ) -> Result<bool, sqlx::Error> {
        match settlement {
            Settlement::Paid { payer } => {
                if sessions
                    .finish_in(tx, &session.id, SessionStatus::Paid, None, None)
                    .await?
                    .is_none()
                {
                    return Ok(false);
                }
                if let Some(payer) = &payer {
                    sqlx::query("UPDATE sessions SET payer = $1 WHERE id = $2")
                        .bind(payer)
                        .bind(&session.id)
                        .execute(&mut **tx)
                        .await?;
                }
                let paid = self
                    .transition_in(
                        tx,
                        &session.checkout_id,
                        "status <> 'paid'",
                        CheckoutStatus::Paid,
                        payer.as_deref(),
                    )
                    .await?;
                match paid {
                    Some(checkout) => {
                        events::record_in(tx, &self.wire(&checkout), EventType::Paid).await?;
                    }
                    None => tracing::error!(
                        checkout_id = %session.checkout_id,
                        payment_id = %session.payment_id,
                        "a second payment of a paid checkout: refund one"
                    ),
                }
                Ok(true)
            }
            Settlement::Failed(failure) => {
                if sessions
                    .finish_in(tx, &session.id, SessionStatus::Failed, Some(failure), None)
                    .await?
                    .is_none()
                {
                    return Ok(false);
                }
                if let Some(checkout) = self.by_id_in(tx, &session.checkout_id).await? {
                    events::record_in(tx, &self.wire(&checkout), EventType::PaymentFailed).await?;
                }
                Ok(true)
            }
            Settlement::AmountMismatch { received } => {
                tracing::error!(
                    checkout_id = %session.checkout_id,
                    payment_id = %session.payment_id,
                    expected = %session.amount,
                    %received,
                    "payment.received with another amount than the checkout's: left open"
                );
                if let Some(checkout) = self.by_id_in(tx, &session.checkout_id).await? {
                    events::record_in(tx, &self.wire(&checkout), EventType::AmountMismatch).await?;
                }
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> CreateCheckout {
        CreateCheckout {
            amount: Amount::new(25_000),
            description: "Pagne wax".into(),
            reference: "order-1042".into(),
            metadata: None,
            expires_in: None,
            return_url: Some("https://shop.example/orders/1042".into()),
        }
    }

    fn refused(change: impl FnOnce(&mut CreateCheckout)) -> bool {
        let mut b = body();
        change(&mut b);
        matches!(NewCheckout::parse(b), Err(Error::InvalidParameter(_)))
    }

    #[test]
    fn a_checkout_request_within_its_bounds_parses_with_the_default_expiry() {
        let new = NewCheckout::parse(body()).expect("valid");
        assert_eq!(new.expires_in, DEFAULT_EXPIRES_IN);
        assert!(new.metadata.is_empty());
    }

    #[test]
    fn every_bound_of_a_checkout_request_is_enforced() {
        assert!(refused(|b| b.amount = Amount::ZERO));
        assert!(refused(|b| b.amount = Amount::new(MAX_AMOUNT.get() + 1)));
        assert!(!refused(|b| b.amount = MAX_AMOUNT));
        assert!(refused(|b| b.description = String::new()));
        assert!(refused(|b| b.description = "é".repeat(256)));
        assert!(!refused(|b| b.description = "é".repeat(255)));
        assert!(refused(|b| b.description = "a\nb".into()));
        assert!(refused(|b| b.reference = "order 1".into()));
        assert!(refused(|b| b.reference = "r".repeat(129)));
        assert!(refused(|b| b.expires_in = Some(59)));
        assert!(refused(|b| b.expires_in = Some(604_801)));
        assert!(!refused(|b| b.expires_in = Some(60)));
        assert!(refused(
            |b| b.return_url = Some("javascript:alert(1)".into())
        ));
        assert!(refused(
            |b| b.return_url = Some("ftp://shop.example/".into())
        ));
        assert!(!refused(
            |b| b.return_url = Some("http://127.0.0.1:3000/done".into())
        ));
        let many: BTreeMap<String, String> =
            (0..21).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(refused(|b| b.metadata = Some(many)));
        assert!(refused(
            |b| b.metadata = Some(BTreeMap::from([("k".repeat(41), String::new())]))
        ));
        assert!(refused(
            |b| b.metadata = Some(BTreeMap::from([("k".into(), "v".repeat(501))]))
        ));
        assert!(!refused(
            |b| b.metadata = Some(BTreeMap::from([("k".repeat(40), "v".repeat(500))]))
        ));
    }

    #[test]
    fn a_cursor_reads_back_and_a_forged_one_is_refused() {
        let checkout = Checkout {
            id: "chk_0123456789abcdef01234567"
                .parse()
                .expect("a checkout id"),
            status: CheckoutStatus::Open,
            amount: Amount::new(1),
            description: "x".into(),
            reference: "r".into(),
            metadata: BTreeMap::new(),
            created_at: 1_700_000_000,
            expires_at: 1_700_000_900,
            return_url: None,
            payer: None,
            refunded: Amount::ZERO,
        };
        assert_eq!(
            ids::position(&encode_cursor(&checkout)),
            Some((1_700_000_000, checkout.id.to_string()))
        );
        assert_eq!(ids::position("not a cursor"), None);
        assert_eq!(ids::position("no-dot"), None);
    }
}
