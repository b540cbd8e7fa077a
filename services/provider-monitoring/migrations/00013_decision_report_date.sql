-- +goose Up
-- The day the intake received the report (melding) or request for help, and for a Wmo
-- decision the last day of the investigation after it (six weeks, Wmo 2015 art. 2.3.2 lid 1).
-- Under the Wmo the statutory term of two weeks runs from the application (aanvraag), which
-- follows the report: application_date is no longer the intake's receipt. Decisions drafted
-- before keep NULL (what was reported when is not known here).
ALTER TABLE decisions ADD COLUMN report_date date, ADD COLUMN investigation_due date;

-- +goose Down
ALTER TABLE decisions DROP COLUMN report_date, DROP COLUMN investigation_due;
