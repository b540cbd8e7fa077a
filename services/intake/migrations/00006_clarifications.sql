-- +goose Up
-- Issue 10: the clarification conversation (vraagverheldering) is a record of the intake: the
-- day it was held, who took part (by role, a professional by opaque id; never names), the
-- summary (confidential free text, sealed like the question) and the next step agreed.
CREATE TABLE clarifications (
    id           uuid        PRIMARY KEY,
    intake_id    uuid        NOT NULL REFERENCES intakes (id),
    held_on      date        NOT NULL,
    participants jsonb       NOT NULL,
    summary_enc  bytea       NOT NULL,
    next_step    text        NOT NULL,
    recorded_by  text        NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX clarifications_intake ON clarifications (intake_id, recorded_at, id);

-- +goose Down
DROP TABLE clarifications;
