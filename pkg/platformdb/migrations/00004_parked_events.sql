-- +goose Up
-- Events a consumer could not handle: 'retrying' while it fails and is redelivered with
-- back-off, 'parked' once it failed too often (or can never succeed, or waits behind a parked
-- event of the same aggregate), 'replay' when an operator asked for another try
-- (wijkbrug parked replay). The message is kept whole, so a replay needs nothing else.
CREATE TABLE parked_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    stream       text        NOT NULL,
    stream_seq   bigint      NOT NULL,
    subject      text        NOT NULL,
    event_type   text        NOT NULL DEFAULT '',
    aggregate_id text        NOT NULL DEFAULT '',
    headers      jsonb       NOT NULL,
    data         bytea       NOT NULL,
    state        text        NOT NULL CHECK (state IN ('retrying', 'parked', 'replay')),
    failures     int         NOT NULL DEFAULT 0,
    last_error   text        NOT NULL DEFAULT '',
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX parked_events_aggregate ON parked_events (consumer, aggregate_id, stream_seq);

-- +goose Down
DROP TABLE parked_events;
