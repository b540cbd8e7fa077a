-- +goose Up
-- A list logs every resident it shows in one entry (issue 12): the objects shown and, for each,
-- the resident it concerns, as two arrays of equal length (element i: object shown_objects[i]
-- about resident shown_residents[i]; '' when the object relates to no known resident). Such an
-- entry leaves object_id and resident_pseudonym empty. One row per list call instead of one per
-- resident shown: the row is written once and sealed once, where a page of 50 cases cost 50
-- rows, each rewritten by the sealer. Entries about one object keep the scalar columns and
-- empty arrays, so entries sealed before this migration keep their MACs (the chain covers the
-- arrays only when they are not empty).
ALTER TABLE access_log
    ADD COLUMN shown_objects   text[] NOT NULL DEFAULT '{}',
    ADD COLUMN shown_residents text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT access_log_shown_pairs CHECK (cardinality(shown_objects) = cardinality(shown_residents)),
    ADD CONSTRAINT access_log_shown_no_nulls CHECK (array_position(shown_objects, NULL) IS NULL
                                                    AND array_position(shown_residents, NULL) IS NULL);
-- A resident's access history finds list entries through this index (and the others through
-- access_log_resident). Partial: an entry about one object would otherwise put an "empty
-- array" item into the GIN index on every write of every service.
CREATE INDEX access_log_shown_residents ON access_log USING gin (shown_residents)
    WHERE cardinality(shown_residents) > 0;

-- The log as one row per object and resident accessed, whichever way it was stored: what an
-- auditor queries (and the tests count). shown_index is the element of a list entry (0 for an
-- entry about one object).
CREATE VIEW access_log_entries AS
SELECT a.id, a.at, a.action, a.object_type,
       coalesce(s.object_id, a.object_id) AS object_id,
       coalesce(s.resident_pseudonym, a.resident_pseudonym) AS resident_pseudonym,
       a.user_id, a.role, a.org_oin, a.org_type, a.on_behalf_of, a.purpose, a.access_point, a.route, a.outcome,
       a.trace_id, a.seal_seq, coalesce(s.n, 0) AS shown_index
FROM access_log a
LEFT JOIN LATERAL unnest(a.shown_objects, a.shown_residents) WITH ORDINALITY AS s(object_id, resident_pseudonym, n) ON true;

-- The append-only rule covers the new columns: sealing may set only the chain columns.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seal_seq IS NULL AND NEW.seal_seq IS NOT NULL
       AND (NEW.id, NEW.at, NEW.action, NEW.object_type, NEW.object_id, NEW.resident_pseudonym, NEW.user_id,
            NEW.role, NEW.org_oin, NEW.org_type, NEW.on_behalf_of, NEW.purpose, NEW.access_point, NEW.route,
            NEW.outcome, NEW.trace_id, NEW.shown_objects, NEW.shown_residents)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.action, OLD.object_type, OLD.object_id, OLD.resident_pseudonym, OLD.user_id,
            OLD.role, OLD.org_oin, OLD.org_type, OLD.on_behalf_of, OLD.purpose, OLD.access_point, OLD.route,
            OLD.outcome, OLD.trace_id, OLD.shown_objects, OLD.shown_residents) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'access_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- Going back would drop what list entries recorded; refuse once there are any.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM access_log WHERE cardinality(shown_objects) > 0) THEN
        RAISE EXCEPTION 'access_log holds list entries (shown_objects); migrating down would lose them';
    END IF;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seal_seq IS NULL AND NEW.seal_seq IS NOT NULL
       AND (NEW.id, NEW.at, NEW.action, NEW.object_type, NEW.object_id, NEW.resident_pseudonym, NEW.user_id,
            NEW.role, NEW.org_oin, NEW.org_type, NEW.on_behalf_of, NEW.purpose, NEW.access_point, NEW.route,
            NEW.outcome, NEW.trace_id)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.action, OLD.object_type, OLD.object_id, OLD.resident_pseudonym, OLD.user_id,
            OLD.role, OLD.org_oin, OLD.org_type, OLD.on_behalf_of, OLD.purpose, OLD.access_point, OLD.route,
            OLD.outcome, OLD.trace_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'access_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
DROP VIEW access_log_entries;
DROP INDEX access_log_shown_residents;
ALTER TABLE access_log DROP CONSTRAINT access_log_shown_no_nulls, DROP CONSTRAINT access_log_shown_pairs, DROP COLUMN shown_residents, DROP COLUMN shown_objects;
