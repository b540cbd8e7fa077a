-- +goose Up
-- An allocation provider-monitoring records on a case before it commits it (AttachAllocation:
-- a granted 315, a decision in kind) is pending until its allocation.issued event confirms it.
-- CloseCase asks provider-monitoring about one still pending: it holds the closing when it
-- exists, and is dropped when provider-monitoring never committed it. NULL: confirmed (every
-- allocation recorded before, by RequestAllocation or from an event).
ALTER TABLE case_allocations ADD COLUMN pending_since timestamptz;

-- +goose Down
ALTER TABLE case_allocations DROP COLUMN pending_since;
