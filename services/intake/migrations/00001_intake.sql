-- +goose Up
-- Residents are found by a keyed blind index of the BSN; the BSN itself is stored only
-- encrypted. The unique index is what makes registering the same resident twice, also
-- concurrently, end in one row (INSERT … ON CONFLICT). The pseudonym is the cross-service one
-- used in the access log, kept so reads need not decrypt the BSN.
CREATE TABLE residents (
    id                uuid PRIMARY KEY,
    bsn_enc           bytea       NOT NULL,
    bsn_index         bytea       NOT NULL,
    pseudonym         text        NOT NULL,
    municipality_code text        NOT NULL,
    district_code     text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT residents_bsn_index_key UNIQUE (bsn_index)
);

CREATE TABLE households (
    id                uuid PRIMARY KEY,
    municipality_code text        NOT NULL,
    district_code     text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE household_members (
    household_id uuid NOT NULL REFERENCES households (id),
    resident_id  uuid NOT NULL REFERENCES residents (id),
    role         text NOT NULL,
    PRIMARY KEY (household_id, resident_id)
);
CREATE INDEX household_members_resident ON household_members (resident_id);

-- Intakes. The question is confidential free text and stored only encrypted. source_type is
-- the partner type of a SIGNAL intake, kept because triage reads it (a Veilig Thuis signal).
CREATE TABLE intakes (
    id                uuid PRIMARY KEY,
    channel           text        NOT NULL,
    signal_ids        uuid[]      NOT NULL DEFAULT '{}',
    source_type       text        NOT NULL DEFAULT '',
    resident_id       uuid        NOT NULL REFERENCES residents (id),
    household_id      uuid        NOT NULL REFERENCES households (id),
    question_enc      bytea,
    life_domains      text[]      NOT NULL DEFAULT '{}',
    urgency           text        NOT NULL,
    safety_concern    boolean     NOT NULL DEFAULT false,
    status            text        NOT NULL,
    municipality_code text        NOT NULL,
    district_code     text        NOT NULL DEFAULT '',
    team_oin          text        NOT NULL,
    received_at       timestamptz NOT NULL,
    triage_due        timestamptz NOT NULL,
    triage_outcome    text        NOT NULL DEFAULT '',
    triage_rule       text        NOT NULL DEFAULT '',
    case_id           uuid
);
-- The team's triage queue: its open intakes, most urgent deadline first.
CREATE INDEX intakes_team_queue ON intakes (team_oin, status, triage_due);
CREATE INDEX intakes_resident ON intakes (resident_id);

-- +goose Down
DROP TABLE intakes;
DROP TABLE household_members;
DROP TABLE households;
DROP TABLE residents;
