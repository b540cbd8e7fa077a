-- +goose Up
-- The decision (beschikking) an allocation was issued under, as allocation.issued carries it
-- (issue 17): GetCase shows it beside the allocation. Empty for allocations issued without a
-- decision in Wijkbrug and for those recorded before.
ALTER TABLE case_allocations ADD COLUMN decision_number text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE case_allocations DROP COLUMN decision_number;
