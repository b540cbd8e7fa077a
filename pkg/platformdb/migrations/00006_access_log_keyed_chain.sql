-- +goose Up
-- The chain is keyed (issue 16): hash = HMAC-SHA-256(key[key_id], prev_hash ‖ seal_seq ‖
-- key_id ‖ every column). The key lives outside the database (a file or secret), so someone
-- with only database access cannot recompute the chain after an edit; key_id keeps entries
-- sealed before a key rotation verifiable. The sealer sets key_id with the other chain
-- columns, once (the append-only trigger compares only the entry's content columns).
ALTER TABLE access_log ADD COLUMN key_id smallint;
ALTER TABLE access_log_head ADD COLUMN key_id smallint;

-- +goose Down
ALTER TABLE access_log_head DROP COLUMN key_id;
ALTER TABLE access_log DROP COLUMN key_id;
