-- +goose Up
-- A request for allocation (315) is answered by at most one decision in force: drafting and
-- deciding look for one by the request.
CREATE INDEX decisions_allocation_request ON decisions (allocation_request_id) WHERE allocation_request_id IS NOT NULL;

-- +goose Down
DROP INDEX decisions_allocation_request;
