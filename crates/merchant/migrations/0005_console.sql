-- The merchant's console (src/console/): its operators, their sessions, and the payouts they
-- confirm. Portable types only, times in Unix seconds, amounts in whole FCFA.

-- People of the shop who may sign in to the console. `password_hash` is Argon2id, PHC format.
CREATE TABLE console_operators (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Signed-in browsers. The cookie holds a random token; only its SHA-256 is kept, so a copy of
-- the database signs nobody in. `csrf_token` is the synchronizer token every form of this
-- session must carry back.
CREATE TABLE console_sessions (
    token_hash  TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES console_operators (id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

-- A payout asked for (`pending`), then confirmed and sent (`sent`) or refused (`failed`). The
-- id is the confirmation token of the second step; MOBILE-PAY's Idempotency-Key is derived
-- from it, so confirming twice moves the money once.
CREATE TABLE console_payouts (
    id            TEXT PRIMARY KEY,
    operator_id   TEXT NOT NULL REFERENCES console_operators (id) ON DELETE CASCADE,
    phone         TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    status        TEXT NOT NULL,
    transfer_id   TEXT,
    balance_after BIGINT,
    error_code    TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
