-- +goose Up
-- The creditor that reported a Wgs signal's arrears: name, OIN and (encrypted) its own
-- reference for the debt. Signals recorded before carry their source as creditor.
ALTER TABLE signals
    ADD COLUMN creditor_name          text  NOT NULL DEFAULT '',
    ADD COLUMN creditor_oin           text  NOT NULL DEFAULT '',
    ADD COLUMN creditor_reference_enc bytea;
UPDATE signals SET creditor_oin = source_oin WHERE arrears_cents IS NOT NULL;

-- +goose Down
ALTER TABLE signals DROP COLUMN creditor_reference_enc, DROP COLUMN creditor_oin, DROP COLUMN creditor_name;
