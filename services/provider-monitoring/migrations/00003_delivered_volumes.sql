-- +goose Up
-- Delivered volume (after the iJw/iWmo declaration, 303): per allocation, periods that do not
-- overlap (checked by the application under the allocation's row lock), each with an amount
-- in the allocation's unit at the time. "Volume used vs allocated" compares their sum in the
-- allocation's current unit with the allocated volume for the elapsed part of the allocation.
CREATE TABLE delivered_volumes (
    id                uuid PRIMARY KEY,
    allocation_number text        NOT NULL REFERENCES allocations (number),
    period_start      date        NOT NULL,
    period_end        date        NOT NULL,
    amount            integer     NOT NULL CHECK (amount > 0),
    unit              text        NOT NULL,
    reported_at       timestamptz NOT NULL,
    CHECK (period_end >= period_start)
);
-- The monitoring views sum an allocation's delivered volume in its unit from this index alone
-- (index-only scan); an allocation's own list reads it by allocation number.
CREATE INDEX delivered_volumes_allocation ON delivered_volumes (allocation_number, unit) INCLUDE (amount);

-- +goose Down
DROP TABLE delivered_volumes;
