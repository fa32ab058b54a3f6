-- Notifications to the shop: its webhook endpoints, and one delivery per (event, endpoint),
-- each retried on its own, with every attempt recorded. Times in milliseconds are Unix ms.

-- Set once the event's deliveries exist (the fan-out): the worker looks for NULL only.
ALTER TABLE events ADD COLUMN dispatched_at BIGINT;
CREATE INDEX events_to_dispatch ON events (created_at) WHERE dispatched_at IS NULL;
CREATE INDEX events_by_time ON events (created_at, checkout_id, seq);

CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,      -- we_…
    url         TEXT NOT NULL,
    -- JSON array of event types, or ["*"] for every type.
    events      TEXT NOT NULL,
    -- whsec_…: it signs, so it is kept as is; emptied when the endpoint is deleted.
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,       -- Unix seconds
    -- Deleted endpoints stay, so that the deliveries made to them can still be listed.
    deleted_at  BIGINT
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,  -- wd_…
    event_id        TEXT NOT NULL REFERENCES events (id),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
    -- pending | succeeded | failed (for good) | canceled (its endpoint was deleted)
    status          TEXT NOT NULL,
    -- Attempts since it was (re)scheduled: the index into the retry schedule.
    failures        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,   -- Unix ms; meaningful while pending
    -- The instance sending it now, until when (Unix ms): a crashed sender's claim lapses.
    claimed_by      TEXT,
    claimed_until   BIGINT,
    created_at      BIGINT NOT NULL,   -- Unix seconds
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- A sender finds its batch by its claim token.
CREATE INDEX webhook_deliveries_claimed ON webhook_deliveries (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,     -- wa_…
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempted_at BIGINT NOT NULL,      -- Unix ms
    -- The receiver's HTTP status, or NULL when none came (then `error` says why).
    status_code  BIGINT,
    error        TEXT,
    latency_ms   BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, attempted_at);
