-- +goose Up
-- Signals from partners. The BSN and the free text are stored only encrypted (AES-GCM); the
-- blind index finds a resident's signals without decrypting.
CREATE TABLE signals (
    id                 uuid PRIMARY KEY,
    source_type        text        NOT NULL,
    source_oin         text        NOT NULL,
    reporter           text        NOT NULL,
    legal_basis        text        NOT NULL,
    resident_bsn_enc   bytea       NOT NULL,
    resident_bsn_index bytea       NOT NULL,
    municipality_code  text        NOT NULL,
    district_code      text        NOT NULL DEFAULT '',
    life_domains       text[]      NOT NULL DEFAULT '{}',
    category           text        NOT NULL DEFAULT '',
    description_enc    bytea,
    crisis             boolean     NOT NULL DEFAULT false,
    arrears_cents      bigint,
    arrears_months     integer,
    status             text        NOT NULL,
    feedback           text        NOT NULL DEFAULT '',
    received_at        timestamptz NOT NULL,
    fed_back_at        timestamptz,
    intake_id          uuid,
    case_id            uuid
);
CREATE INDEX signals_source ON signals (source_oin, received_at DESC);
CREATE INDEX signals_resident ON signals (resident_bsn_index);

-- +goose Down
DROP TABLE signals;
