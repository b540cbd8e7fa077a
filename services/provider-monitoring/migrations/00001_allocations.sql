-- +goose Up
-- Providers (zorgaanbieders) by AGB code. The OIN links a partner's certificate to its AGB
-- code: an organisation proves who it is with its OIN, allocations name it by AGB code.
CREATE TABLE providers (
    agb  text PRIMARY KEY,
    name text NOT NULL,
    oin  text NOT NULL
);
CREATE INDEX providers_oin ON providers (oin);

-- Contracts between a municipality and a provider for one product. An empty districts array
-- means every district of the municipality; valid_to NULL means open-ended.
CREATE TABLE contracts (
    id                uuid PRIMARY KEY,
    provider_agb      text NOT NULL REFERENCES providers (agb),
    model             text NOT NULL CHECK (model IN ('CHOICE', 'CONSORTIUM')),
    municipality_code text NOT NULL,
    product_category  text NOT NULL,
    product_code      text NOT NULL,
    districts         text[] NOT NULL DEFAULT '{}',
    valid_from        date NOT NULL,
    valid_to          date,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX contracts_provider ON contracts (provider_agb, municipality_code);

-- Allocation numbers: "TW" + 10 digits. A sequence, so numbers never repeat, also not after
-- a rolled-back allocation (a gap is harmless, a reused number is not).
CREATE SEQUENCE allocation_number_seq;

-- Allocations (toewijzingen, iJw/iWmo 301) and their delivery state. No BSN here: the
-- allocation points at the case, which owns the household.
CREATE TABLE allocations (
    number                 text PRIMARY KEY,
    provider_agb           text        NOT NULL REFERENCES providers (agb),
    case_id                uuid        NOT NULL,
    municipality_code      text        NOT NULL,
    district_code          text        NOT NULL DEFAULT '',
    product_category       text        NOT NULL,
    product_code           text        NOT NULL,
    start_date             date        NOT NULL,
    end_date               date,
    volume_amount          integer     NOT NULL CHECK (volume_amount > 0),
    volume_unit            text        NOT NULL,
    volume_frequency       text        NOT NULL,
    status                 text        NOT NULL,
    issued_at              timestamptz NOT NULL,
    started_on             date,
    start_reported_at      timestamptz,
    start_reported_on_time boolean,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX allocations_provider_status ON allocations (provider_agb, status);
CREATE INDEX allocations_case ON allocations (case_id);

-- Deliveries (305 start / 307 stop): one row per period of care, so a pause (stop code 20)
-- followed by a new start keeps the history of every period and its timeliness.
CREATE TABLE deliveries (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    allocation_number text        NOT NULL REFERENCES allocations (number),
    started_on        date        NOT NULL,
    stopped_on        date,
    stop_reason       text,
    reported_at       timestamptz NOT NULL,
    on_time           boolean     NOT NULL
);
CREATE INDEX deliveries_allocation ON deliveries (allocation_number, started_on);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE allocations;
DROP SEQUENCE allocation_number_seq;
DROP TABLE contracts;
DROP TABLE providers;
