-- +goose Up
-- A stored answer is sealed (AES-GCM under the service's encryption key, bound to its
-- organisation, method and key): answers carry BSNs and confidential free text, which the
-- database holds only encrypted. Rows written before this migration keep their plain answer
-- (response_sealed false) until the retention job removes them. Adding a column with a
-- constant default does not rewrite the table.
ALTER TABLE idempotency_keys ADD COLUMN response_sealed boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN response_sealed;
