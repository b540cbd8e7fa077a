-- +goose Up
-- The W3C tracestate of the writing request travels with its event (header "tracestate" next
-- to "traceparent"), so vendors' trace state survives the hop through NATS as the standard
-- propagator carries it over HTTP and gRPC.
ALTER TABLE outbox ADD COLUMN tracestate text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN tracestate;
