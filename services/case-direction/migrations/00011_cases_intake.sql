-- +goose Up
-- Issue 12. A referral made for an intake is recorded on the case opened from that intake
-- (CaseOfIntake, once per referral event of the referral-events consumer). Without an index on
-- intake_id that lookup read the whole cases table: in the bench about 1,200 sequential scans of
-- the caseload in one run, and at 1,000,000 cases each would read them all.
CREATE INDEX cases_intake ON cases (intake_id) WHERE intake_id IS NOT NULL;

-- +goose Down
DROP INDEX cases_intake;
