-- +goose Up
-- Plans, goals and their actions; evaluations and their to-dos; case conferences; the pilot
-- light (waakvlam); safety concerns; handover and closing. Still no BSN, names or free text
-- in plain form: conference decisions are stored encrypted.
ALTER TABLE cases
    ADD COLUMN plan_version            int NOT NULL DEFAULT 0,
    ADD COLUMN result                  text,
    ADD COLUMN safety_concern          boolean NOT NULL DEFAULT false,
    ADD COLUMN watch_interval_days     int,
    ADD COLUMN watch_until             date,
    ADD COLUMN next_check_at           timestamptz,
    ADD COLUMN last_check_in_at        timestamptz,
    ADD COLUMN missed_check_ins        int NOT NULL DEFAULT 0,
    ADD COLUMN handover_recipient      text,
    ADD COLUMN handover_recipient_oin  text,
    ADD COLUMN handover_municipality   text;
-- A director's caseload.
CREATE INDEX cases_director_caseload ON cases (team_oin, director_professional_id, status);
-- The pilot-light scheduler's work list.
CREATE INDEX cases_watch_due ON cases (next_check_at) WHERE status = 'WATCH';

-- Every adopted plan version; goal_ids is the set of goals of that version.
CREATE TABLE plans (
    case_id            uuid        NOT NULL REFERENCES cases (id),
    version            int         NOT NULL,
    adopted_at         timestamptz NOT NULL,
    adopted_by         text        NOT NULL,
    resident_agreed    boolean     NOT NULL,
    resident_agreed_on date,
    evaluation_date    date        NOT NULL,
    goal_ids           uuid[]      NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE TABLE goals (
    id             uuid PRIMARY KEY,
    case_id        uuid        NOT NULL REFERENCES cases (id),
    life_domain    text        NOT NULL,
    baseline_score int         NOT NULL CHECK (baseline_score BETWEEN 1 AND 5),
    target_score   int         NOT NULL CHECK (target_score BETWEEN 1 AND 5),
    status         text        NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX goals_case ON goals (case_id);

-- Referrals made for a case, as the referral service last reported them.
CREATE TABLE case_referrals (
    referral_id uuid PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES cases (id),
    status      text        NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX case_referrals_case ON case_referrals (case_id);

-- The actions behind a goal: a referral or an allocation of the same case.
CREATE TABLE goal_actions (
    goal_id           uuid        NOT NULL REFERENCES goals (id),
    referral_id       uuid        REFERENCES case_referrals (referral_id),
    allocation_number text        REFERENCES case_allocations (allocation_number),
    added_at          timestamptz NOT NULL,
    CHECK ((referral_id IS NULL) <> (allocation_number IS NULL))
);
CREATE UNIQUE INDEX goal_actions_referral ON goal_actions (goal_id, referral_id) WHERE referral_id IS NOT NULL;
CREATE UNIQUE INDEX goal_actions_allocation ON goal_actions (goal_id, allocation_number) WHERE allocation_number IS NOT NULL;

ALTER TABLE case_allocations
    ADD COLUMN last_progress    text,
    ADD COLUMN last_progress_at timestamptz;

CREATE TABLE evaluations (
    id            uuid PRIMARY KEY,
    case_id       uuid        NOT NULL REFERENCES cases (id),
    evaluated_at  timestamptz NOT NULL,
    evaluated_by  text        NOT NULL,
    assessment_id uuid,
    decision      text        NOT NULL,
    -- [{"domain": "FINANCES", "score": 3}, ...]
    scores        jsonb       NOT NULL
);
CREATE INDEX evaluations_case ON evaluations (case_id, evaluated_at);

-- Evaluations to be done. At most one open to-do per allocation and reason, so repeated
-- advice does not pile up.
CREATE TABLE evaluation_todos (
    id                uuid PRIMARY KEY,
    case_id           uuid        NOT NULL REFERENCES cases (id),
    reason            text        NOT NULL,
    allocation_number text        NOT NULL DEFAULT '',
    goal_ids          text[]      NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    done_at           timestamptz,
    evaluation_id     uuid REFERENCES evaluations (id)
);
CREATE UNIQUE INDEX evaluation_todos_one_open ON evaluation_todos (case_id, reason, allocation_number) WHERE done_at IS NULL;

CREATE TABLE case_conferences (
    id          uuid PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES cases (id),
    held_on     date        NOT NULL,
    -- [{"organisation_type": "GP", "organisation_oin": "...", "professional_id": "...", "external": true}]
    attendees   jsonb       NOT NULL,
    -- AES-GCM sealed decisions (bsn.Protector.Seal, additional data "case_conferences.decisions").
    decisions   bytea[]     NOT NULL,
    recorded_at timestamptz NOT NULL,
    recorded_by text        NOT NULL
);
CREATE INDEX case_conferences_case ON case_conferences (case_id, held_on);

CREATE TABLE check_ins (
    id          bigserial PRIMARY KEY,
    case_id     uuid        NOT NULL REFERENCES cases (id),
    at          timestamptz NOT NULL,
    by_user     text        NOT NULL,
    reopened    boolean     NOT NULL
);

-- One row per missed check-in: the scheduler inserts it in the transaction of the
-- watch_check_overdue event, and the primary key refuses a second one for the same due time.
CREATE TABLE watch_check_overdue (
    case_id    uuid        NOT NULL REFERENCES cases (id),
    due_at     timestamptz NOT NULL,
    emitted_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, due_at)
);

CREATE TABLE safety_concerns (
    case_id       uuid        NOT NULL REFERENCES cases (id),
    kind          text        NOT NULL,
    meldcode_step int         NOT NULL CHECK (meldcode_step BETWEEN 1 AND 5),
    recorded_at   timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (case_id, kind)
);

-- Outcome per life domain from the closing assessment.
CREATE TABLE domain_outcomes (
    case_id        uuid NOT NULL REFERENCES cases (id),
    life_domain    text NOT NULL,
    baseline_score int  NOT NULL,
    target_score   int  NOT NULL,
    closing_score  int  NOT NULL,
    outcome        text NOT NULL,
    PRIMARY KEY (case_id, life_domain)
);

-- +goose Down
DROP TABLE domain_outcomes;
DROP TABLE safety_concerns;
DROP TABLE watch_check_overdue;
DROP TABLE check_ins;
DROP TABLE case_conferences;
DROP TABLE evaluation_todos;
DROP TABLE evaluations;
ALTER TABLE case_allocations DROP COLUMN last_progress, DROP COLUMN last_progress_at;
DROP TABLE goal_actions;
DROP TABLE case_referrals;
DROP TABLE goals;
DROP TABLE plans;
DROP INDEX cases_watch_due;
DROP INDEX cases_director_caseload;
ALTER TABLE cases
    DROP COLUMN plan_version, DROP COLUMN result, DROP COLUMN safety_concern,
    DROP COLUMN watch_interval_days, DROP COLUMN watch_until, DROP COLUMN next_check_at,
    DROP COLUMN last_check_in_at, DROP COLUMN missed_check_ins, DROP COLUMN handover_recipient,
    DROP COLUMN handover_recipient_oin, DROP COLUMN handover_municipality;
