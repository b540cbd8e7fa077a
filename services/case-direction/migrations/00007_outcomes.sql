-- +goose Up
-- Outcome reporting (issue 17): a read model built from events only (the outcomes-* durable
-- consumers), rebuildable by replay (docs/services/outcomes.md). One row per intake, case,
-- goal, referral and allocation, keyed by its pseudonymous aggregate id; codes and times only,
-- never a resident, household, name or free text. Scope (team, district) is resolved at query
-- time through case_id and intake_id, so the order in which the streams arrive does not matter.
CREATE TABLE outcome_intakes (
    intake_id        uuid PRIMARY KEY,
    municipality     text NOT NULL DEFAULT '',
    district         text NOT NULL DEFAULT '',
    team_oin         text NOT NULL DEFAULT '',
    channel          text NOT NULL DEFAULT '',
    source_type      text NOT NULL DEFAULT '',
    triage_outcome   text NOT NULL DEFAULT '',
    received_at      timestamptz,
    first_contact_at timestamptz,
    triaged_at       timestamptz
);
CREATE INDEX outcome_intakes_municipality ON outcome_intakes (municipality);

-- Signals partners submitted (the start of the funnel signal → intake → case → result).
CREATE TABLE outcome_signals (
    signal_id    uuid PRIMARY KEY,
    municipality text NOT NULL,
    district     text NOT NULL DEFAULT '',
    source_type  text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL
);
CREATE INDEX outcome_signals_municipality ON outcome_signals (municipality);

CREATE TABLE outcome_cases (
    case_id        uuid PRIMARY KEY,
    intake_id      uuid,
    municipality   text NOT NULL DEFAULT '',
    district       text NOT NULL DEFAULT '',
    team_oin       text NOT NULL DEFAULT '',
    opened_at      timestamptz,
    closed_at      timestamptz,
    handed_over    boolean NOT NULL DEFAULT false,
    result         text NOT NULL DEFAULT '',
    scaled_down_at timestamptz,
    reescalations  timestamptz[] NOT NULL DEFAULT '{}'
);
CREATE INDEX outcome_cases_municipality ON outcome_cases (municipality);

-- ZRM score per life domain at the baseline and at closing (from case.closed).
CREATE TABLE outcome_case_domains (
    case_id     uuid NOT NULL REFERENCES outcome_cases (case_id) ON DELETE CASCADE,
    life_domain text NOT NULL,
    baseline    int NOT NULL,
    closing     int NOT NULL,
    PRIMARY KEY (case_id, life_domain)
);

-- Goals that reached a final status (REACHED, PARTLY, NOT_REACHED).
CREATE TABLE outcome_goals (
    goal_id     uuid PRIMARY KEY,
    case_id     uuid NOT NULL,
    life_domain text NOT NULL DEFAULT '',
    status      text NOT NULL,
    settled_at  timestamptz NOT NULL
);
CREATE INDEX outcome_goals_case ON outcome_goals (case_id);

CREATE TABLE outcome_referrals (
    referral_id    uuid PRIMARY KEY,
    case_id        uuid,
    intake_id      uuid,
    municipality   text NOT NULL DEFAULT '',
    sent_at        timestamptz,
    accepted       boolean NOT NULL DEFAULT false,
    declined       boolean NOT NULL DEFAULT false,
    decline_reason text NOT NULL DEFAULT '',
    completed      boolean NOT NULL DEFAULT false,
    failed         boolean NOT NULL DEFAULT false
);
CREATE INDEX outcome_referrals_municipality ON outcome_referrals (municipality);

CREATE TABLE outcome_allocations (
    allocation_number text PRIMARY KEY,
    case_id           uuid,
    municipality      text NOT NULL DEFAULT '',
    issued_at         timestamptz,
    start_date        date,
    first_started_on  date,
    started_on_time   boolean NOT NULL DEFAULT false
);
CREATE INDEX outcome_allocations_municipality ON outcome_allocations (municipality);

-- A request to rebuild the read model (wijkbrug outcomes-rebuild): at its next start
-- case-direction deletes its outcome consumers, empties the outcome tables and lets the
-- consumers replay the streams from the start.
CREATE TABLE outcome_rebuild_requests (
    id           bigserial PRIMARY KEY,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by text NOT NULL,
    done_at      timestamptz
);

-- +goose Down
DROP TABLE outcome_rebuild_requests;
DROP TABLE outcome_allocations;
DROP TABLE outcome_referrals;
DROP TABLE outcome_goals;
DROP TABLE outcome_case_domains;
DROP TABLE outcome_cases;
DROP TABLE outcome_signals;
DROP TABLE outcome_intakes;
