-- +goose Up
-- Issue 10: the residents (access-log pseudonyms, never a BSN) each case concerns, as
-- case-direction reports them (ListCaseResidents, refreshed on its case.opened and
-- case.residents_changed events). Every access-log entry about an allocation of a case is
-- written once per resident, so a resident's access history finds it.
CREATE TABLE case_residents (
    case_id   uuid NOT NULL,
    pseudonym text NOT NULL,
    PRIMARY KEY (case_id, pseudonym)
);

-- +goose Down
DROP TABLE case_residents;
