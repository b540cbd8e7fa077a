-- +goose Up
-- A running allocation shows no stop: a restart after a pause (JZ588 20) now clears the
-- pause's stopped_on, stop_reason and stop report from the allocation, which describe only a
-- stop that holds (PAUSED or ENDED). Each pause stays in deliveries (the period it closed, with
-- its reason and timeliness) and delivery_reports. Allocations an earlier release restarted
-- still carry their last pause: cleared here the same way.
UPDATE allocations
SET stopped_on = NULL, stop_reason = NULL, stop_reported_at = NULL, stop_reported_on_time = NULL
WHERE status = 'STARTED' AND (stopped_on IS NOT NULL OR stop_reason IS NOT NULL);

-- +goose Down
-- Nothing to undo: the pauses are still in deliveries.
SELECT 1;
