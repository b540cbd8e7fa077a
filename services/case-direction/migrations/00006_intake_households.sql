-- +goose Up
-- Which household each intake is about (from intake's intake.received events): a referral made
-- for an intake of the household outside case direction is the household's open case's.
CREATE TABLE intake_households (
    intake_id    uuid PRIMARY KEY,
    household_id uuid NOT NULL
);

-- +goose Down
DROP TABLE intake_households;
