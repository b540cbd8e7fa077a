-- +goose Up
-- Involvements of organisations and professionals in a case (DESIGN §4): who directs, carries
-- out or advises, from which day to which day. An active involvement is also what lets a
-- partner organisation read the case (DESIGN §6). Rows are never deleted: ending one sets
-- valid_to (a last day) or ended_at (with immediate effect), so the history stays.
CREATE TABLE involvements (
    id                uuid PRIMARY KEY,
    case_id           uuid        NOT NULL REFERENCES cases (id),
    organisation_type text        NOT NULL,
    organisation_oin  text        NOT NULL,
    professional_id   text        NOT NULL DEFAULT '',
    role              text        NOT NULL CHECK (role IN ('DIRECTOR', 'EXECUTOR', 'ADVISOR')),
    valid_from        date        NOT NULL,
    valid_to          date,
    ended_at          timestamptz,
    created_at        timestamptz NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX involvements_case ON involvements (case_id, created_at);
-- "Which cases is this organisation involved in" (partner reads and, later, subscriptions).
CREATE INDEX involvements_organisation ON involvements (organisation_oin, case_id);
-- Exactly one director at a time: a handover ends the previous director's involvement in the
-- same transaction that adds the new one.
CREATE UNIQUE INDEX involvements_one_director ON involvements (case_id)
    WHERE role = 'DIRECTOR' AND ended_at IS NULL;

-- The directors so far become DIRECTOR involvements; director_history stays as it is.
INSERT INTO involvements (id, case_id, organisation_type, organisation_oin, professional_id, role,
                          valid_from, valid_to, ended_at, created_at)
SELECT gen_random_uuid(), case_id, 'TEAM', team_oin, professional_id, 'DIRECTOR',
       (valid_from AT TIME ZONE 'Europe/Amsterdam')::date,
       CASE WHEN valid_to IS NULL THEN NULL
            ELSE GREATEST((valid_from AT TIME ZONE 'Europe/Amsterdam')::date, (valid_to AT TIME ZONE 'Europe/Amsterdam')::date) END,
       valid_to, valid_from
FROM director_history;

-- +goose Down
DROP TABLE involvements;
