-- The merchant backend's state, for SQLite and PostgreSQL alike (portable types only).
-- Times are Unix seconds; amounts whole FCFA.

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    amount      BIGINT NOT NULL,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    -- The capability handed to the browser; whoever holds it may read this session.
    token           TEXT NOT NULL,
    order_id        TEXT NOT NULL REFERENCES orders (id),
    amount          BIGINT NOT NULL,
    description     TEXT NOT NULL,
    payment_id      TEXT NOT NULL UNIQUE,
    qr_payload      TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    status          TEXT NOT NULL,
    failure_code    TEXT,
    failure_message TEXT,
    -- The sequence number of the latest status: the SSE `id` of its event.
    seq             BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX sessions_by_order ON sessions (order_id, created_at);
-- One payable session per order, whichever instance creates it.
CREATE UNIQUE INDEX one_open_session_per_order ON sessions (order_id) WHERE status = 'awaiting_payment';

-- Every status a session has had, in order: what a reconnecting stream replays.
CREATE TABLE session_events (
    session_id      TEXT NOT NULL REFERENCES sessions (id),
    seq             BIGINT NOT NULL,
    status          TEXT NOT NULL,
    failure_code    TEXT,
    failure_message TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- Every verified webhook, stored before it is acknowledged; its `webhook-id` deduplicates
-- MOBILE-PAY's retries and replays.
CREATE TABLE received_webhooks (
    webhook_id  TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX received_webhooks_by_age ON received_webhooks (received_at);
