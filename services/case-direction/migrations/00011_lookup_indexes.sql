-- +goose Up
-- Issue 12. Three lookups that read a whole table, found by running the bench with sequential
-- scans disabled and reading pg_stat_user_tables afterwards (only a table without a usable
-- index is then still scanned):
-- * A referral made for an intake is recorded on the case opened from that intake
--   (CaseOfIntake, once per referral event of the referral-events consumer): about 1,200
--   sequential scans of the caseload in one bench run; at 1,000,000 cases each reads them all.
CREATE INDEX cases_intake ON cases (intake_id) WHERE intake_id IS NOT NULL;
-- * Loading a case reads its evaluation to-dos, open and done; the unique index covers only
--   the open ones, so every load of a case read every to-do of the region (3,071 scans in one
--   bench run). It grows with every allocation started, ended or overdue.
CREATE INDEX evaluation_todos_case ON evaluation_todos (case_id);
-- * Loading a plan reads its goals' actions; the two unique indexes start with goal_id but each
--   holds one kind of action only, so the lookup read every action of the region (found the
--   same way, running the tests).
CREATE INDEX goal_actions_goal ON goal_actions (goal_id);

-- +goose Down
DROP INDEX goal_actions_goal;
DROP INDEX evaluation_todos_case;
DROP INDEX cases_intake;
