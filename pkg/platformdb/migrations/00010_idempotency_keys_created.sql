-- +goose NO TRANSACTION
-- +goose Up
-- The retention job (platformdb.Prune, every 10 minutes) deletes idempotency keys older than
-- WIJKBRUG_IDEMPOTENCY_RETENTION. Their primary key is the caller's key, in no time order, so
-- without this index every pass would read the whole table to find the few old ones. Keys are
-- written in time order, so this index only ever grows at its right end. Built CONCURRENTLY,
-- as docs/operations.md ("Upgrade") asks of new indexes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS idempotency_keys_created;
