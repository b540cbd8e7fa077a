-- +goose Up
-- Cases: one per household while it is open ("1 huishouden, 1 plan, 1 regisseur"). No BSN,
-- names or free text here: the household and its members live in intake.
CREATE TABLE cases (
    id                       uuid PRIMARY KEY,
    household_id             uuid        NOT NULL,
    intake_id                uuid,
    municipality_code        text        NOT NULL,
    district_code            text        NOT NULL DEFAULT '',
    team_oin                 text        NOT NULL,
    status                   text        NOT NULL,
    director_professional_id text,
    director_since           timestamptz,
    life_domains             text[]      NOT NULL DEFAULT '{}',
    opened_at                timestamptz NOT NULL,
    closed_at                timestamptz
);
-- At most one open case per household. Enforced by the database rather than by a
-- check-then-insert, so two concurrent OpenCase calls cannot both succeed; the insert uses it
-- as its ON CONFLICT arbiter.
CREATE UNIQUE INDEX cases_one_open_per_household ON cases (household_id)
    WHERE status NOT IN ('CLOSED', 'HANDED_OVER');
-- A team's caseload.
CREATE INDEX cases_team_caseload ON cases (team_oin, status);

-- Every director a case has had, so a handover leaves a trace of who was responsible when.
-- The open row (valid_to NULL) is the current director.
CREATE TABLE director_history (
    id              bigserial PRIMARY KEY,
    case_id         uuid        NOT NULL REFERENCES cases (id),
    professional_id text        NOT NULL,
    team_oin        text        NOT NULL,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz
);
CREATE INDEX director_history_case ON director_history (case_id, valid_from);
CREATE UNIQUE INDEX director_history_one_current ON director_history (case_id) WHERE valid_to IS NULL;

-- Allocations of custom care taken as actions of a case. provider-monitoring owns the
-- allocation; this is case-direction's copy of its number and last known status.
CREATE TABLE case_allocations (
    case_id           uuid        NOT NULL REFERENCES cases (id),
    allocation_number text        NOT NULL UNIQUE,
    provider_agb      text        NOT NULL,
    product_category  text        NOT NULL,
    product_code      text        NOT NULL,
    status            text        NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX case_allocations_case ON case_allocations (case_id);

-- +goose Down
DROP TABLE case_allocations;
DROP TABLE director_history;
DROP TABLE cases;
