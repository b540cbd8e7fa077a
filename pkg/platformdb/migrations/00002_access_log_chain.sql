-- +goose Up
-- Tamper evidence for the access log (NEN 7513). Entries are written without coordination
-- (so the log never serialises the service's writes); a sealer then chains them in its own
-- order (seal_seq): hash = SHA-256(prev_hash ‖ seal_seq ‖ every column). The head of the
-- chain is kept in access_log_head. Editing, deleting or reordering a sealed entry breaks
-- the chain, which `<service> verify-accesslog` reports.
ALTER TABLE access_log
    ADD COLUMN seal_seq  bigint UNIQUE,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;
CREATE INDEX access_log_unsealed ON access_log (id) WHERE seal_seq IS NULL;

CREATE TABLE access_log_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seal_seq  bigint NOT NULL,
    hash      bytea  NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only: no DELETE, no TRUNCATE, and no UPDATE except the one-time sealing of an
-- entry (setting seal_seq, prev_hash and hash on an unsealed row, nothing else). In
-- production the service's role additionally gets no UPDATE/DELETE grant beyond this.
-- +goose StatementBegin
CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();

-- +goose Down
DROP TRIGGER access_log_no_truncate ON access_log;
DROP TRIGGER access_log_append_only ON access_log;
DROP FUNCTION access_log_append_only();
DROP TABLE access_log_head;
ALTER TABLE access_log DROP COLUMN hash, DROP COLUMN prev_hash, DROP COLUMN seal_seq;
