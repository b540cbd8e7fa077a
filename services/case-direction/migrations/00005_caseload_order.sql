-- +goose Up
-- Issue 12. A caseload page is a range of an index in the order the list shows it (newest
-- first, id as tie-breaker), so a page reads the page and not the whole caseload, and a team's
-- list stays as fast at 1,000,000 cases in the region as at 10,000: one index for the whole
-- team, one per status, one per director.
CREATE INDEX cases_team_opened ON cases (team_oin, opened_at DESC, id DESC);
CREATE INDEX cases_team_status_opened ON cases (team_oin, status, opened_at DESC, id DESC);
CREATE INDEX cases_team_director_opened ON cases (team_oin, director_professional_id, opened_at DESC, id DESC);
-- (team_oin, status) is a prefix of cases_team_status_opened, which also serves the counts.
DROP INDEX cases_team_caseload;

-- +goose Down
CREATE INDEX cases_team_caseload ON cases (team_oin, status);
DROP INDEX cases_team_director_opened;
DROP INDEX cases_team_status_opened;
DROP INDEX cases_team_opened;
