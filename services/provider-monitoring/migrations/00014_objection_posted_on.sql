-- +goose Up
-- The day an objection sent by post was posted: posted within the objection period and
-- received no later than a week after it, it is on time (Awb art. 6:9 lid 2). NULL: not by
-- post, or not given (objections registered before keep NULL and their judgement).
ALTER TABLE decisions ADD COLUMN objection_posted_on date;

-- +goose Down
ALTER TABLE decisions DROP COLUMN objection_posted_on;
