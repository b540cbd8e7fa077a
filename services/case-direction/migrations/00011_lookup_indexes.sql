-- +goose NO TRANSACTION
-- +goose Up
-- Issue 12. Three lookups that read a whole table every time, found in pg_stat_user_tables
-- after bench and test runs (docs/decisions.md, issue 12, item 11). Built CONCURRENTLY, as
-- docs/operations.md ("Upgrade") asks of new indexes: a region's tables stay writable while
-- they are built; IF NOT EXISTS lets a migration that stopped halfway run again.

-- A referral made for an intake is recorded on the case opened from that intake (CaseOfIntake,
-- once per referral event of the referral-events consumer): about 1,200 sequential scans of the
-- caseload in one bench run; at 1,000,000 cases each reads them all.
CREATE INDEX CONCURRENTLY IF NOT EXISTS cases_intake ON cases (intake_id) WHERE intake_id IS NOT NULL;

-- Loading a case reads its evaluation to-dos, open and done; the unique index covers only the
-- open ones, so every load of a case read every to-do of the region (3,071 scans in one bench
-- run). The table grows with every allocation started, ended or overdue.
CREATE INDEX CONCURRENTLY IF NOT EXISTS evaluation_todos_case ON evaluation_todos (case_id);

-- Loading a plan reads its goals' actions; the two unique indexes start with goal_id but each
-- holds one kind of action only, so the lookup read every action of the region.
CREATE INDEX CONCURRENTLY IF NOT EXISTS goal_actions_goal ON goal_actions (goal_id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS goal_actions_goal;
DROP INDEX CONCURRENTLY IF EXISTS evaluation_todos_case;
DROP INDEX CONCURRENTLY IF EXISTS cases_intake;
