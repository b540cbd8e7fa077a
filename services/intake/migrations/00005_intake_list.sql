-- +goose Up
-- ListIntakes: a team's intakes, newest received first, paged by keyset (received_at, id).
CREATE INDEX intakes_team_received ON intakes (team_oin, received_at DESC, id DESC);
-- ListIntakes by household (by resident, intakes_resident serves it).
CREATE INDEX intakes_household ON intakes (household_id);

-- +goose Down
DROP INDEX intakes_household;
DROP INDEX intakes_team_received;
