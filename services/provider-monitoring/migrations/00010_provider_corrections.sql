-- +goose Up
-- A provider's registration can be corrected (CorrectProvider); each correction is kept with
-- what it changed, who made it and why.
CREATE TABLE provider_corrections (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_agb      text        NOT NULL REFERENCES providers (agb),
    corrected_at      timestamptz NOT NULL,
    corrected_by_oin  text        NOT NULL,
    corrected_by_user text        NOT NULL,
    old_name          text        NOT NULL,
    new_name          text        NOT NULL,
    old_oin           text        NOT NULL,
    new_oin           text        NOT NULL,
    reason            text        NOT NULL
);
CREATE INDEX provider_corrections_provider ON provider_corrections (provider_agb, corrected_at DESC, id DESC);

-- +goose Down
DROP TABLE provider_corrections;
