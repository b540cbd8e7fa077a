-- +goose Up
-- ListMySignals: a source's signals newest first, ORDER BY received_at DESC, id DESC, paged by
-- keyset (received_at, id). signals_source (source_oin, received_at DESC) lacked the id: the
-- keyset could bound only received_at and ties were sorted. This index serves the order and
-- the whole keyset (TestSignalPagesAreIndexRanges) and replaces it.
CREATE INDEX signals_source_order ON signals (source_oin, received_at DESC, id DESC);
DROP INDEX signals_source;

-- +goose Down
CREATE INDEX signals_source ON signals (source_oin, received_at DESC);
DROP INDEX signals_source_order;
