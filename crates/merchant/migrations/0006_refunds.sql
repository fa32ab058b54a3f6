-- Refunds: MOBILE-PAY has no refund endpoint, so a refund is a transfer from the merchant's
-- account back to the phone that paid the checkout.

-- What the checkout's pending and succeeded refunds add up to (whole FCFA). A refund reserves
-- its amount here with one conditional UPDATE (`refunded + amount <= amount`), atomic on SQLite
-- and PostgreSQL alike, so concurrent refunds on any number of instances never give back more
-- than was paid; a failed refund gives its amount back.
ALTER TABLE checkouts ADD COLUMN refunded BIGINT NOT NULL DEFAULT 0;

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,     -- rf_…
    checkout_id       TEXT NOT NULL REFERENCES checkouts (id),
    amount            BIGINT NOT NULL,      -- whole FCFA
    reason            TEXT NOT NULL,
    status            TEXT NOT NULL,        -- pending | succeeded | failed
    recipient_phone   TEXT NOT NULL,        -- the checkout's payer
    recipient_country TEXT NOT NULL,        -- CI (a local transfer) or another UEMOA country
    -- MOBILE-PAY's transfer (TRF…), once it answered; NULL while the transfer's fate is unknown.
    transfer_id       TEXT,
    failure_code      TEXT,
    failure_message   TEXT,
    created_at        BIGINT NOT NULL,      -- Unix seconds
    updated_at        BIGINT NOT NULL
);
CREATE INDEX refunds_by_checkout ON refunds (checkout_id, created_at);
CREATE INDEX refunds_pending ON refunds (status, created_at);
CREATE UNIQUE INDEX refunds_by_transfer ON refunds (transfer_id) WHERE transfer_id IS NOT NULL;
