-- +goose NO TRANSACTION
-- +goose Up
-- Issue 12. A list entry's residents (shown_residents, 50 for a page) went into the GIN index
-- twice: when the entry was written, and again when the sealer set its seal, since that
-- UPDATE cannot be a HOT update (seal_seq is indexed) and so adds the new row version to every
-- index. The index now holds sealed entries only, so a list call's INSERT puts nothing into
-- it, and a GIN pending-list cleanup (the merge of what was added since the last one) falls
-- to the sealer or autovacuum, never to a list call. A resident's history finds the few
-- entries not sealed yet through access_log_seal_seq_key (seal_seq IS NULL; see
-- logstore.Logger.ResidentEntries). Built CONCURRENTLY, as docs/operations.md ("Upgrade")
-- asks of new indexes; IF [NOT] EXISTS lets a migration that stopped halfway run again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS access_log_shown_residents_sealed ON access_log USING gin (shown_residents)
    WHERE seal_seq IS NOT NULL AND cardinality(shown_residents) > 0;
DROP INDEX CONCURRENTLY IF EXISTS access_log_shown_residents;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS access_log_shown_residents ON access_log USING gin (shown_residents)
    WHERE cardinality(shown_residents) > 0;
DROP INDEX CONCURRENTLY IF EXISTS access_log_shown_residents_sealed;
