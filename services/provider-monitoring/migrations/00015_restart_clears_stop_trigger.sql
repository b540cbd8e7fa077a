-- +goose Up
-- Migration 00012 cleared the pause of allocations an earlier release had restarted, once. A
-- pod of that release still running during a rolling update (or deployed again in a rollback)
-- restarts care the way it did: status STARTED, the pause's stopped_on, stop_reason and stop
-- report left in place, so the allocation showed a stop while care ran. This trigger clears
-- them on every write that leaves an allocation STARTED, as the current code does itself; the
-- UPDATE clears what such pods wrote since 00012. (The trigger may go in a later release, once
-- no pod of a release before 00012 runs.)

-- +goose StatementBegin
CREATE FUNCTION allocations_started_shows_no_stop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'STARTED' THEN
        NEW.stopped_on := NULL;
        NEW.stop_reason := NULL;
        NEW.stop_reported_at := NULL;
        NEW.stop_reported_on_time := NULL;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER allocations_started_shows_no_stop BEFORE INSERT OR UPDATE OF status ON allocations
    FOR EACH ROW EXECUTE FUNCTION allocations_started_shows_no_stop();

UPDATE allocations
SET stopped_on = NULL, stop_reason = NULL, stop_reported_at = NULL, stop_reported_on_time = NULL
WHERE status = 'STARTED' AND (stopped_on IS NOT NULL OR stop_reason IS NOT NULL);

-- +goose Down
DROP TRIGGER allocations_started_shows_no_stop ON allocations;
DROP FUNCTION allocations_started_shows_no_stop();
