-- +goose Up
-- ListTeamQueue: a team's open intakes in the queue's order — urgency rank (CRISIS 0, HIGH 1,
-- otherwise 2), then triage deadline, then id — paged by keyset on that triple. The expression
-- must stay exactly the one in adapters/postgres/intakes.go (queueRank), or the planner cannot
-- match it and fetches and sorts the team's whole open queue again
-- (TestTeamQueuePagesAreIndexRanges). It replaces intakes_open_queue (team, deadline only),
-- which served neither the order nor the keyset.
CREATE INDEX intakes_team_queue_order ON intakes
    (team_oin, (CASE urgency WHEN 'CRISIS' THEN 0 WHEN 'HIGH' THEN 1 ELSE 2 END), triage_due, id)
    WHERE status IN ('RECEIVED', 'IN_TRIAGE');
DROP INDEX intakes_open_queue;

-- +goose Down
CREATE INDEX intakes_open_queue ON intakes (team_oin, triage_due) WHERE status IN ('RECEIVED', 'IN_TRIAGE');
DROP INDEX intakes_team_queue_order;
