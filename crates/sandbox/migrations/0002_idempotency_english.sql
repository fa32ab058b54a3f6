-- An error answer's English body, so that a replay answers in the language the retry asks for.
ALTER TABLE idempotency_keys ADD COLUMN response_body_en BLOB;
