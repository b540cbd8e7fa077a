-- +goose Up
-- An emergency grant's reason is free text, often about the resident's health or safety: it is
-- stored sealed (reason_enc: AES-GCM under the service's encryption key, bound to the grant's
-- id), and reason stays empty. Reasons an earlier release stored in clear are sealed by the
-- service's re-encryption job (pkg/encrypted), which then empties reason. Adding a column
-- without a default does not rewrite the table.
ALTER TABLE emergency_grants ADD COLUMN reason_enc bytea;

-- +goose Down
ALTER TABLE emergency_grants DROP COLUMN reason_enc;
