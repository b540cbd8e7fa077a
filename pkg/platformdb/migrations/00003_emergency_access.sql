-- +goose Up
-- Emergency ("break the glass") access: one professional of one organisation may read one
-- record for a short time, with a reason. Reads under a grant are logged with route
-- EMERGENCY; grants are never updated or deleted.
CREATE TABLE emergency_grants (
    id          uuid PRIMARY KEY,
    object_type text        NOT NULL,
    object_id   text        NOT NULL,
    org_oin     text        NOT NULL,
    user_id     text        NOT NULL,
    role        text        NOT NULL,
    reason      text        NOT NULL,
    granted_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX emergency_grants_lookup ON emergency_grants (object_type, object_id, org_oin, user_id, expires_at);

-- +goose Down
DROP TABLE emergency_grants;
