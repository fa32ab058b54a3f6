-- The sandbox's whole state. Times are Unix seconds on the sandbox's clock (real time plus the
-- offset in `settings`), amounts whole FCFA.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    merchant_id    TEXT NOT NULL UNIQUE,
    phone          TEXT NOT NULL,
    -- The tier of login tokens; API keys carry their own.
    tier           TEXT NOT NULL,
    webhook_url    TEXT,
    webhook_secret TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);

-- Keys are looked up by their SHA-256: the database never holds a usable key.
CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    tier       TEXT NOT NULL,
    label      TEXT NOT NULL
);

CREATE TABLE login_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    expires_at INTEGER NOT NULL
);

-- Every movement of money and every refused attempt, as the account sees it.
CREATE TABLE transactions (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL,
    -- Signed: positive in, negative out, 0 for a refused attempt.
    amount       INTEGER NOT NULL,
    counterparty TEXT,
    country      TEXT,
    description  TEXT,
    error_code   TEXT,
    created_at   INTEGER NOT NULL,
    seq          INTEGER NOT NULL
);
CREATE INDEX transactions_by_account ON transactions (account_id, created_at DESC, seq DESC);

-- Double entry: the entries of one transaction sum to zero; an account's balance is the sum of
-- its entries. `wallet:<account id>` are customer wallets; `external:<phone>` and `funding` are
-- the world outside the sandbox.
CREATE TABLE ledger_entries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id TEXT NOT NULL,
    ledger_account TEXT NOT NULL,
    amount         INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX ledger_by_account ON ledger_entries (ledger_account);

CREATE TABLE payments (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    merchant_id TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    description TEXT NOT NULL,
    status      TEXT NOT NULL,
    payer       TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    url             TEXT,
    status          TEXT NOT NULL,
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    seq             INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    at          INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT
);

CREATE TABLE idempotency_keys (
    principal       TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL,
    response_status INTEGER,
    response_body   BLOB,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
);
