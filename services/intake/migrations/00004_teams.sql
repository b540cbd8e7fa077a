-- +goose Up
-- Names of the teams that called intake (from their certificates), so a team told of a match
-- learns whom to contact. No personal data.
CREATE TABLE teams (
    oin       text PRIMARY KEY,
    name      text        NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now()
);
-- Other teams working with a household's current members are found through the members.
CREATE INDEX team_residents_resident ON team_residents (resident_id);

-- +goose Down
DROP INDEX team_residents_resident;
DROP TABLE teams;
