-- +goose Up
-- A request's reason for change and a refusal's reason are free text about the resident's
-- situation: they are stored sealed (AES-GCM under the service's encryption key, bound to the
-- request and the field), and the text columns stay empty. Texts an earlier release stored in
-- clear are sealed by the re-encryption `migrate` runs (pkg/encrypted), which then empties
-- them. Adding columns without a default does not rewrite the table.
ALTER TABLE allocation_requests
    ADD COLUMN change_reason_enc bytea,
    ADD COLUMN refusal_reason_enc bytea;

-- +goose Down
ALTER TABLE allocation_requests DROP COLUMN change_reason_enc, DROP COLUMN refusal_reason_enc;
