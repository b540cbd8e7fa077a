-- +goose Up
-- Outcome reporting (issue 17), "decisions within the statutory term": one row per decision
-- from provider-monitoring's decision.decided and decision.overdue (consumer
-- casedirection-outcomes-providermonitoring). Codes, days and flags only: the pseudonymous
-- decision id, never a resident, a product or a text. The team (and, when the event has none,
-- the district) is resolved at query time through case_id, else intake_id, like the other rows.
CREATE TABLE outcome_decisions (
    decision_id   uuid PRIMARY KEY,
    case_id       uuid,
    intake_id     uuid,
    municipality  text NOT NULL DEFAULT '',
    district      text NOT NULL DEFAULT '',
    legal_basis   text NOT NULL DEFAULT '',
    granted       boolean NOT NULL DEFAULT false,
    due_date      date,
    decided_on    date,
    within_term   boolean NOT NULL DEFAULT false,
    overdue       boolean NOT NULL DEFAULT false
);
CREATE INDEX outcome_decisions_municipality ON outcome_decisions (municipality);

-- +goose Down
DROP TABLE outcome_decisions;
