-- +goose Up
-- Webhook subscriptions of the Subscriptions API (pkg/feed), which the referral service serves
-- as the event plane's feed manager. The delivery position is the subscription's durable
-- JetStream consumer; this table holds the endpoint, the signing secret (sealed with the
-- service's encryption key) and the delivery state the partner sees in ListSubscriptions.
-- No personal data.
CREATE TABLE feed_webhooks (
    subscription_id   text PRIMARY KEY,
    org_oin           text NOT NULL,
    url               text NOT NULL,
    secret            bytea NOT NULL,
    status            text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'PAUSED_FAILING', 'PAUSED')),
    failures          integer NOT NULL DEFAULT 0,
    last_error        text NOT NULL DEFAULT '',
    last_attempt_at   timestamptz,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_delivered_at timestamptz,
    delivered         bigint NOT NULL DEFAULT 0,
    -- A replica delivering this subscription holds it until lease_until (several replicas).
    lease_until       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feed_webhooks_org ON feed_webhooks (org_oin);
CREATE INDEX feed_webhooks_due ON feed_webhooks (next_attempt_at) WHERE status = 'ACTIVE';

-- +goose Down
DROP TABLE feed_webhooks;
