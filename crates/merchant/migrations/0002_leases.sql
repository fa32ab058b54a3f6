-- Work that one instance at a time should do (reconciliation): whoever holds a name's lease
-- until `held_until` (Unix seconds) does it; another instance takes it over once it has lapsed.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    held_until BIGINT NOT NULL
);
INSERT INTO leases (name, holder, held_until) VALUES ('reconcile', '', 0);
