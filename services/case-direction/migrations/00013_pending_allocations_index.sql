-- +goose NO TRANSACTION
-- +goose Up
-- The "pending-allocations" job (case-direction) looks every minute for allocations attached
-- more than five minutes ago and still unconfirmed (migration 00012): a partial index of the
-- pending ones, which are a handful at any moment, so the look is not a scan of every
-- allocation of the region. Built CONCURRENTLY, as docs/operations.md ("Upgrade") asks.
CREATE INDEX CONCURRENTLY IF NOT EXISTS case_allocations_pending ON case_allocations (pending_since)
    WHERE pending_since IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS case_allocations_pending;
