-- +goose Up
-- ListCases answers every page with the team's (or director's) number of cases per status.
-- Counting them from cases read the team's whole caseload on every page (a bitmap heap scan of
-- 2,000 rows and 1,045 buffers for a team of 2,000). The counts are kept here instead, as
-- append-only +n/-n rows written by triggers on cases: a case write adds a row and never
-- updates a shared counter, so writes of one team do not queue behind each other on a counter
-- row until COMMIT. The scheduler job "caseload-counts" folds a group's rows into one
-- (Cases.FoldCounts), so a team's counts stay a few rows per director and status.
CREATE TABLE caseload_counts (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_oin text   NOT NULL,
    director text   NOT NULL,
    status   text   NOT NULL,
    n        bigint NOT NULL
);
CREATE INDEX caseload_counts_group ON caseload_counts (team_oin, director, status) INCLUDE (n);

-- +goose StatementBegin
-- A case's team, director or status changed: -1 for the old group, +1 for the new one.
CREATE FUNCTION caseload_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO caseload_counts (team_oin, director, status, n)
    VALUES (OLD.team_oin, COALESCE(OLD.director_professional_id, ''), OLD.status, -1),
           (NEW.team_oin, COALESCE(NEW.director_professional_id, ''), NEW.status, 1);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
-- Cases inserted or deleted: one row per group a statement touched (a bulk load of 50,000
-- cases adds a few rows, not 50,000).
CREATE FUNCTION caseload_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO caseload_counts (team_oin, director, status, n)
        SELECT team_oin, COALESCE(director_professional_id, ''), status, count(*) FROM new_cases GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO caseload_counts (team_oin, director, status, n)
        SELECT team_oin, COALESCE(director_professional_id, ''), status, -count(*) FROM old_cases GROUP BY 1, 2, 3;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER cases_count_inserts AFTER INSERT ON cases REFERENCING NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION caseload_count_rows();
CREATE TRIGGER cases_count_deletes AFTER DELETE ON cases REFERENCING OLD TABLE AS old_cases
    FOR EACH STATEMENT EXECUTE FUNCTION caseload_count_rows();
-- Row level with a condition: the many updates that change none of the three cost nothing.
CREATE TRIGGER cases_count_changes AFTER UPDATE OF team_oin, director_professional_id, status ON cases
    FOR EACH ROW WHEN (OLD.team_oin IS DISTINCT FROM NEW.team_oin
                       OR OLD.director_professional_id IS DISTINCT FROM NEW.director_professional_id
                       OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION caseload_count_change();
-- The triggers and this copy are one transaction holding cases' SHARE ROW EXCLUSIVE lock from
-- CREATE TRIGGER on: no case write falls between the copy and the triggers.
INSERT INTO caseload_counts (team_oin, director, status, n)
SELECT team_oin, COALESCE(director_professional_id, ''), status, count(*) FROM cases GROUP BY 1, 2, 3;

-- +goose Down
DROP TRIGGER cases_count_changes ON cases;
DROP TRIGGER cases_count_deletes ON cases;
DROP TRIGGER cases_count_inserts ON cases;
DROP FUNCTION caseload_count_rows();
DROP FUNCTION caseload_count_change();
DROP TABLE caseload_counts;
