-- +goose Up
-- Triage policies per municipality, one immutable row per adopted version. A municipality
-- without a row uses the built-in default (version 0). rules is the ordered rule list as JSON
-- (name, condition, parameters, outcome): data, not code.
CREATE TABLE triage_policies (
    municipality_code text        NOT NULL,
    version           integer     NOT NULL CHECK (version >= 1),
    positioning       text        NOT NULL,
    rules             jsonb       NOT NULL,
    contact_attempts  integer     NOT NULL,
    triage_days       integer     NOT NULL,
    adopted_at        timestamptz NOT NULL,
    adopted_by        text        NOT NULL,
    PRIMARY KEY (municipality_code, version)
);

-- Which MUNICIPALITY organisations (by certificate OIN) administer which municipality's
-- policy. Filled from WIJKBRUG_INTAKE_MUNICIPALITY_OINS at start-up and by the demo seed.
CREATE TABLE municipality_administrations (
    org_oin           text NOT NULL,
    municipality_code text NOT NULL,
    PRIMARY KEY (org_oin, municipality_code)
);

-- The policy version pinned at receipt, contact attempts, merging, who picked the intake up,
-- and when the triage-deadline scheduler announced it overdue (once).
ALTER TABLE intakes
    ADD COLUMN policy_version          integer     NOT NULL DEFAULT 0,
    ADD COLUMN failed_contact_attempts integer     NOT NULL DEFAULT 0,
    ADD COLUMN merged_into             uuid        REFERENCES intakes (id),
    ADD COLUMN triage_professional     text        NOT NULL DEFAULT '',
    ADD COLUMN overdue_announced_at    timestamptz;
-- The scheduler's work list: open intakes not yet announced overdue, by deadline.
CREATE INDEX intakes_overdue_pending ON intakes (triage_due)
    WHERE status IN ('RECEIVED', 'IN_TRIAGE') AND overdue_announced_at IS NULL;
-- The queue order: urgency rank first, then deadline.
CREATE INDEX intakes_open_queue ON intakes (team_oin, triage_due) WHERE status IN ('RECEIVED', 'IN_TRIAGE');

CREATE TABLE contact_attempts (
    id          uuid        PRIMARY KEY,
    intake_id   uuid        NOT NULL REFERENCES intakes (id),
    kind        text        NOT NULL,
    reached     boolean     NOT NULL,
    at          timestamptz NOT NULL,
    recorded_by text        NOT NULL
);
CREATE INDEX contact_attempts_intake ON contact_attempts (intake_id, at);

-- A duplicate resident found later points at the one kept; its BSN keeps finding that one.
ALTER TABLE residents ADD COLUMN merged_into uuid REFERENCES residents (id);

-- The teams that work with a resident (they registered the resident or own an intake of
-- theirs): the per-object rule for residents, households and assessments.
CREATE TABLE team_residents (
    team_oin    text NOT NULL,
    resident_id uuid NOT NULL REFERENCES residents (id),
    PRIMARY KEY (team_oin, resident_id)
);
INSERT INTO team_residents (team_oin, resident_id)
SELECT DISTINCT team_oin, resident_id FROM intakes ON CONFLICT DO NOTHING;

-- ZRM assessments of a resident or a household. Scores are codes ({"FINANCES": 2, …}).
CREATE TABLE assessments (
    id                 uuid        PRIMARY KEY,
    resident_id        uuid        REFERENCES residents (id),
    household_id       uuid        REFERENCES households (id),
    instrument_version text        NOT NULL,
    context            text        NOT NULL,
    scores             jsonb       NOT NULL,
    intake_id          uuid        REFERENCES intakes (id),
    assessed_by        text        NOT NULL,
    team_oin           text        NOT NULL,
    municipality_code  text        NOT NULL,
    assessed_at        timestamptz NOT NULL,
    CHECK ((resident_id IS NULL) <> (household_id IS NULL))
);
CREATE INDEX assessments_resident ON assessments (resident_id, assessed_at DESC) WHERE resident_id IS NOT NULL;
CREATE INDEX assessments_household ON assessments (household_id, assessed_at DESC) WHERE household_id IS NOT NULL;

-- +goose Down
DROP TABLE assessments;
DROP TABLE team_residents;
ALTER TABLE residents DROP COLUMN merged_into;
DROP TABLE contact_attempts;
DROP INDEX intakes_open_queue;
DROP INDEX intakes_overdue_pending;
ALTER TABLE intakes DROP COLUMN policy_version, DROP COLUMN failed_contact_attempts, DROP COLUMN merged_into,
    DROP COLUMN triage_professional, DROP COLUMN overdue_announced_at;
DROP TABLE municipality_administrations;
DROP TABLE triage_policies;
