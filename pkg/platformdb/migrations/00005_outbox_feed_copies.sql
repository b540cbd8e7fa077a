-- +goose Up
-- Partner feeds (issue 11): besides the event itself, the outbox holds a copy for every partner
-- involved in it (recipient = the partner's OIN), published on wijkbrug.feed.<OIN>.<ce-type>
-- with the same ce-id, in the same transaction and order as the event.
ALTER TABLE outbox ADD COLUMN recipient text NOT NULL DEFAULT '';
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_recipient_key UNIQUE (event_id, recipient);

-- +goose Down
DELETE FROM outbox WHERE recipient <> '';
ALTER TABLE outbox DROP CONSTRAINT outbox_event_recipient_key;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id);
ALTER TABLE outbox DROP COLUMN recipient;
