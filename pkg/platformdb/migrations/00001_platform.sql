-- +goose Up
-- Transactional outbox: an event row commits with the state change that caused it; the relay
-- publishes rows in id order (per aggregate) and marks them after the JetStream ack.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    subject      text        NOT NULL,
    event_type   text        NOT NULL,
    source       text        NOT NULL,
    aggregate_id text        NOT NULL,
    payload      bytea       NOT NULL,
    traceparent  text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

-- Events an idempotent consumer has handled, written in the handler's own transaction.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Idempotency keys of mutating RPCs: scoped per organisation and method, with a hash of the
-- request (to refuse reuse with a different request) and the first answer.
CREATE TABLE idempotency_keys (
    org_oin      text        NOT NULL,
    method       text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_oin, method, key)
);

-- Access log (NEN 7513): who did what with whose personal data. Hash chaining and the
-- verification command come with the security hardening; rows are never updated.
CREATE TABLE access_log (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                 timestamptz NOT NULL DEFAULT now(),
    action             text        NOT NULL,
    object_type        text        NOT NULL,
    object_id          text        NOT NULL,
    resident_pseudonym text        NOT NULL DEFAULT '',
    user_id            text        NOT NULL,
    role               text        NOT NULL,
    org_oin            text        NOT NULL,
    org_type           text        NOT NULL,
    on_behalf_of       text        NOT NULL DEFAULT '',
    purpose            text        NOT NULL,
    access_point       text        NOT NULL,
    route              text        NOT NULL,
    outcome            text        NOT NULL,
    trace_id           text        NOT NULL DEFAULT ''
);
CREATE INDEX access_log_resident ON access_log (resident_pseudonym, at);

-- +goose Down
DROP TABLE access_log;
DROP TABLE idempotency_keys;
DROP TABLE processed_events;
DROP TABLE outbox;
