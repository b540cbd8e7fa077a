-- +goose Up
-- Issue 10. The members of a case's household, as intake knows them: intake's resident id and
-- the access log's pseudonym (never a BSN), with the period each was a member while the case
-- was open. Every access-log entry about the case is written once per member, so a resident's
-- access history finds it; ListCases filters by resident through it.
CREATE TABLE case_residents (
    case_id     uuid        NOT NULL REFERENCES cases (id),
    resident_id uuid        NOT NULL,
    pseudonym   text        NOT NULL,
    since       timestamptz NOT NULL,
    until       timestamptz
);
CREATE UNIQUE INDEX case_residents_current ON case_residents (case_id, resident_id) WHERE until IS NULL;
CREATE INDEX case_residents_resident ON case_residents (resident_id, case_id);

-- ZRM once: an evaluation names intake's assessment and the baseline it was compared with, and
-- keeps the change per life domain intake computed; the case keeps the assessment made at
-- intake as the first baseline.
ALTER TABLE cases ADD COLUMN baseline_assessment_id uuid;
ALTER TABLE evaluations
    ADD COLUMN baseline_assessment_id uuid,
    ADD COLUMN changes jsonb NOT NULL DEFAULT '[]';

-- How an allocation of the case came about: the case asked for it, or a provider's request
-- (315) was granted for the case, or it was issued for the case otherwise.
ALTER TABLE case_allocations ADD COLUMN origin text NOT NULL DEFAULT 'CASE_REQUEST';

-- Referrals made for the case's intake (outside case direction) count as the case's.
ALTER TABLE case_referrals ADD COLUMN intake_id uuid;

-- +goose Down
ALTER TABLE case_referrals DROP COLUMN intake_id;
ALTER TABLE case_allocations DROP COLUMN origin;
ALTER TABLE evaluations DROP COLUMN changes, DROP COLUMN baseline_assessment_id;
ALTER TABLE cases DROP COLUMN baseline_assessment_id;
DROP TABLE case_residents;
