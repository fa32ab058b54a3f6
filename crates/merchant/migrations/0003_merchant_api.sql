-- The merchant API (/v1): checkouts created by the merchant's own system, the events of their
-- status changes (the outbox's write side), the merchant's API keys and Idempotency-Key records.
-- Forward-only: a database made by 0001/0002 keeps its orders, as checkouts.

-- The demo catalog's orders become checkouts: the table is renamed (sessions' foreign key
-- follows it, on SQLite and PostgreSQL alike) and gains the merchant API's columns.
ALTER TABLE orders RENAME TO checkouts;
ALTER TABLE checkouts ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
-- The merchant's own reference for what is paid ("order-1042").
ALTER TABLE checkouts ADD COLUMN reference TEXT NOT NULL DEFAULT '';
-- A JSON object of string values, the merchant's.
ALTER TABLE checkouts ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE checkouts ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE checkouts ADD COLUMN return_url TEXT;
-- The phone that paid (`payer` of `payment.received`): a refund is a transfer back to it.
ALTER TABLE checkouts ADD COLUMN payer TEXT;
ALTER TABLE checkouts ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
-- An old order is its own reference; it could be paid for a day, and stays paid if it was.
UPDATE checkouts SET reference = id, expires_at = created_at + 86400, updated_at = created_at;
UPDATE checkouts SET status = 'paid'
    WHERE id IN (SELECT order_id FROM sessions WHERE status = 'paid');
-- One open checkout per reference, whichever instance creates it.
CREATE UNIQUE INDEX one_open_checkout_per_reference ON checkouts (reference) WHERE status = 'open';
-- Listing, newest first, and the expiry sweep.
CREATE INDEX checkouts_by_creation ON checkouts (created_at, id);
CREATE INDEX checkouts_by_expiry ON checkouts (status, expires_at);

-- A session is a payment attempt of a checkout.
ALTER TABLE sessions RENAME COLUMN order_id TO checkout_id;
ALTER TABLE sessions ADD COLUMN payer TEXT;

-- Every status change of a checkout (and every payment of the wrong amount), written in the
-- transaction of the change: what the notification worker delivers.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,      -- evt_…
    checkout_id TEXT NOT NULL,
    seq         BIGINT NOT NULL,       -- per-checkout sequence number: 1, 2, …
    type        TEXT NOT NULL,         -- checkout.paid | checkout.payment_failed | checkout.expired | checkout.canceled | checkout.amount_mismatch
    data        TEXT NOT NULL,         -- JSON: the /v1 checkout object as it is after the change
    created_at  BIGINT NOT NULL,       -- Unix seconds
    UNIQUE (checkout_id, seq)
);
CREATE INDEX events_by_checkout ON events (checkout_id, seq);

-- The merchant's API keys, hashed (SHA-256, hex): the table holds no key.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,     -- key_…: how the CLI and the logs name a key
    hash         TEXT NOT NULL UNIQUE,
    -- The key's first characters, to recognise it in a list (reveals nothing usable).
    hint         TEXT NOT NULL,
    label        TEXT NOT NULL,
    -- 'cli' (created by `mobilepay-merchant keys create`, valid until revoked) or 'config'
    -- (MERCHANT_API_KEYS: valid while configured; the row only records its last use).
    source       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- Idempotency-Key of /v1 POSTs, shared by every instance. A key is claimed `in_flight` until
-- `locked_until` (a lease: a request that died holding it does not block its retry for good),
-- then `completed` with the answer, replayed for 24 hours.
CREATE TABLE idempotency_keys (
    key             TEXT PRIMARY KEY,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL,
    locked_until    BIGINT NOT NULL,
    response_status BIGINT,
    response_body   TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
