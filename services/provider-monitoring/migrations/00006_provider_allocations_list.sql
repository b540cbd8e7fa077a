-- +goose Up
-- ListMyAllocations: a provider's allocations, newest issued first, keyset (issued_at, number).
CREATE INDEX allocations_provider_issued ON allocations (provider_agb, issued_at DESC, number DESC);

-- +goose Down
DROP INDEX allocations_provider_issued;
