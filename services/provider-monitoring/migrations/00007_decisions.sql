-- +goose Up
-- Issue 17: decisions (beschikkingen). A decided, granted decision issues its allocation in
-- the same transaction; the allocation carries the decision number (iJw/iWmo 301).
ALTER TABLE allocations ADD COLUMN decision_number text;
CREATE INDEX allocations_decision ON allocations (decision_number) WHERE decision_number IS NOT NULL;

-- Decision numbers "<municipality>-<year>-<seq>": one counter per municipality and year, drawn
-- in the deciding transaction (a rolled-back decision leaves no gap: the counter rolls back too).
CREATE TABLE decision_numbers (
    municipality_code text    NOT NULL,
    year              integer NOT NULL,
    last              integer NOT NULL,
    PRIMARY KEY (municipality_code, year)
);

-- Decisions. Free text (rejection grounds, motivation text) and the stored letter are sealed (bsn.Protector, AES-GCM
-- with the decision id as associated data); everything else is ids, codes, dates and the
-- municipality's standard paragraphs.
CREATE TABLE decisions (
    id                      uuid PRIMARY KEY,
    number                  text UNIQUE,
    municipality_code       text        NOT NULL,
    district_code           text        NOT NULL DEFAULT '',
    resident_id             text        NOT NULL DEFAULT '',
    household_id            text        NOT NULL DEFAULT '',
    intake_id               uuid,
    case_id                 uuid,
    team_oin                text        NOT NULL DEFAULT '',
    legal_basis             text        NOT NULL CHECK (legal_basis IN ('WMO_2_3_5', 'JEUGDWET_2_3')),
    granted                 boolean     NOT NULL,
    rejection_grounds       bytea,
    product_category        text        NOT NULL,
    product_code            text        NOT NULL,
    provider_agb            text        NOT NULL DEFAULT '',
    form                    text        NOT NULL DEFAULT '',
    start_date              date,
    end_date                date,
    volume_amount           integer     NOT NULL DEFAULT 0,
    volume_unit             text        NOT NULL DEFAULT '',
    volume_frequency        text        NOT NULL DEFAULT '',
    budget_cents            bigint      NOT NULL DEFAULT 0,
    -- Goals (id, life domain, ZRM scores), intake life domains, triage outcome and rule.
    motivation              jsonb       NOT NULL DEFAULT '{}',
    motivation_text         bytea,
    own_contribution_notice text        NOT NULL DEFAULT '',
    objection_clause        text        NOT NULL DEFAULT '',
    paragraphs_version      integer     NOT NULL DEFAULT 0,
    application_date        date        NOT NULL,
    due_date                date        NOT NULL,
    status                  text        NOT NULL CHECK (status IN ('DRAFT', 'PROPOSED', 'DECIDED', 'SENT', 'AMENDED', 'WITHDRAWN')),
    drafted_by              text        NOT NULL DEFAULT '',
    proposed_by             text        NOT NULL DEFAULT '',
    first_signer            text        NOT NULL DEFAULT '',
    first_signer_role       text        NOT NULL DEFAULT '',
    first_signed_at         timestamptz,
    mandate                 text        NOT NULL DEFAULT '',
    mandate_version         integer     NOT NULL DEFAULT 0,
    decided_by              text        NOT NULL DEFAULT '',
    second_official         text        NOT NULL DEFAULT '',
    second_official_role    text        NOT NULL DEFAULT '',
    decided_at              timestamptz,
    within_term             boolean     NOT NULL DEFAULT false,
    sent_at                 timestamptz,
    objection_deadline      date,
    objection_received_on   date,
    objection_registered_at timestamptz,
    objection_on_time       boolean,
    withdrawn_at            timestamptz,
    withdrawal_reason       text        NOT NULL DEFAULT '',
    replaces                uuid REFERENCES decisions (id),
    replaced_by             uuid REFERENCES decisions (id),
    allocation_request_id   uuid,
    allocation_numbers      text[]      NOT NULL DEFAULT '{}',
    overdue_alerted_at      timestamptz,
    letter                  bytea,
    letter_content_type     text        NOT NULL DEFAULT '',
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL
);
-- ListDecisions: a municipality's decisions, newest first, keyset (created_at, id).
CREATE INDEX decisions_municipality_created ON decisions (municipality_code, created_at DESC, id DESC);
-- The overdue scheduler: open decisions by due date, not yet alerted.
CREATE INDEX decisions_overdue ON decisions (due_date) WHERE status IN ('DRAFT', 'PROPOSED') AND overdue_alerted_at IS NULL;
CREATE INDEX decisions_case ON decisions (case_id) WHERE case_id IS NOT NULL;

-- Mandate registers and standard paragraphs per municipality, one immutable row per version
-- (like intake's triage policies); a municipality without a row uses the built-in default
-- (version 0).
CREATE TABLE mandate_registers (
    municipality_code text        NOT NULL,
    version           integer     NOT NULL CHECK (version > 0),
    register          jsonb       NOT NULL,
    adopted_at        timestamptz NOT NULL,
    adopted_by        text        NOT NULL DEFAULT '',
    PRIMARY KEY (municipality_code, version)
);

-- +goose Down
DROP TABLE mandate_registers;
DROP TABLE decisions;
DROP TABLE decision_numbers;
DROP INDEX allocations_decision;
ALTER TABLE allocations DROP COLUMN decision_number;
