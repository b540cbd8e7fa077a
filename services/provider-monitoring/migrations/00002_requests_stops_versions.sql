-- +goose Up
-- Contracts cover several products (categories from the national iJw/iWmo list, codes from
-- the municipality's product list) and may state a capacity.
CREATE TABLE contract_products (
    contract_id      uuid NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    product_category text NOT NULL,
    product_code     text NOT NULL,
    PRIMARY KEY (contract_id, product_category, product_code)
);
INSERT INTO contract_products (contract_id, product_category, product_code)
SELECT id, product_category, product_code FROM contracts;
ALTER TABLE contracts
    DROP COLUMN product_category,
    DROP COLUMN product_code,
    ADD COLUMN capacity integer NOT NULL DEFAULT 0 CHECK (capacity >= 0);

-- Organisations (teams, the municipality itself) that act for a municipality: they answer its
-- requests, change and withdraw its allocations, manage its contracts and see its figures.
-- Configuration data (SeedMunicipalOrganisation), not an API yet.
CREATE TABLE municipal_organisations (
    oin               text NOT NULL,
    municipality_code text NOT NULL,
    PRIMARY KEY (oin, municipality_code)
);

-- Allocations: versions, budget and form, the contract they were issued under, the request
-- they grant, the latest stop and the not-started alert. A granted GP referral need not be in
-- case direction, so case_id may be empty.
ALTER TABLE allocations
    ALTER COLUMN case_id DROP NOT NULL,
    ADD COLUMN version               integer NOT NULL DEFAULT 1,
    ADD COLUMN budget_cents          bigint  NOT NULL DEFAULT 0 CHECK (budget_cents >= 0),
    ADD COLUMN form                  text    NOT NULL DEFAULT 'IN_KIND' CHECK (form IN ('IN_KIND', 'PGB')),
    ADD COLUMN contract_id           uuid,
    ADD COLUMN request_id            uuid,
    ADD COLUMN first_started_on      date,
    ADD COLUMN stopped_on            date,
    ADD COLUMN stop_reason           text,
    ADD COLUMN stop_reported_at      timestamptz,
    ADD COLUMN stop_reported_on_time boolean,
    ADD COLUMN withdrawal_reason     text,
    ADD COLUMN not_started_alerted_at timestamptz;
UPDATE allocations SET first_started_on = (SELECT min(started_on) FROM deliveries d WHERE d.allocation_number = number);

-- Monitoring per provider in a municipality and per contract; per case.
DROP INDEX allocations_provider_status;
CREATE INDEX allocations_provider ON allocations (provider_agb, municipality_code, status);
CREATE INDEX allocations_contract ON allocations (contract_id, status);
-- The not-started scheduler scans only issued allocations that were not alerted yet.
CREATE INDEX allocations_not_started ON allocations (start_date) WHERE status = 'ISSUED' AND not_started_alerted_at IS NULL;

-- Every version of an allocation (version 1 = as issued), so its history stays readable.
CREATE TABLE allocation_versions (
    allocation_number text        NOT NULL REFERENCES allocations (number),
    version           integer     NOT NULL,
    change_reason     text        NOT NULL DEFAULT '',
    valid_from        timestamptz NOT NULL,
    start_date        date        NOT NULL,
    end_date          date,
    volume_amount     integer     NOT NULL,
    volume_unit       text        NOT NULL,
    volume_frequency  text        NOT NULL,
    budget_cents      bigint      NOT NULL,
    changed_by_oin    text        NOT NULL,
    PRIMARY KEY (allocation_number, version)
);
INSERT INTO allocation_versions (allocation_number, version, valid_from, start_date, end_date, volume_amount, volume_unit, volume_frequency, budget_cents, changed_by_oin)
SELECT number, 1, issued_at, start_date, end_date, volume_amount, volume_unit, volume_frequency, 0, '' FROM allocations;

-- Stops of a period of care (307) and their timeliness.
ALTER TABLE deliveries
    ADD COLUMN stop_reported_at timestamptz,
    ADD COLUMN stop_on_time     boolean;

-- Every start (305) and stop (307) report with its timeliness: the monitoring figures count
-- these. A stop after a pause ends the allocation without opening a period, so reports and
-- periods are kept apart. The allocation's provider, municipality and contract (which never
-- change) are copied in, so the figures per provider and per contract read one index each
-- instead of joining every allocation.
CREATE TABLE delivery_reports (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    allocation_number text        NOT NULL REFERENCES allocations (number),
    kind              text        NOT NULL CHECK (kind IN ('START', 'STOP')),
    day               date        NOT NULL,
    reason            text,
    reported_at       timestamptz NOT NULL,
    on_time           boolean     NOT NULL,
    provider_agb      text        NOT NULL,
    municipality_code text        NOT NULL,
    contract_id       uuid
);
INSERT INTO delivery_reports (allocation_number, kind, day, reported_at, on_time, provider_agb, municipality_code, contract_id)
SELECT d.allocation_number, 'START', d.started_on, d.reported_at, d.on_time, a.provider_agb, a.municipality_code, NULL
FROM deliveries d JOIN allocations a ON a.number = d.allocation_number;
CREATE INDEX delivery_reports_allocation ON delivery_reports (allocation_number, kind);
CREATE INDEX delivery_reports_provider ON delivery_reports (provider_agb, municipality_code, kind) INCLUDE (on_time);
CREATE INDEX delivery_reports_contract ON delivery_reports (contract_id, kind) INCLUDE (on_time);

-- Requests for allocation (315) and for change (317) and their answers (319).
CREATE TABLE allocation_requests (
    id                  uuid PRIMARY KEY,
    kind                text        NOT NULL CHECK (kind IN ('ALLOCATION', 'CHANGE')),
    provider_agb        text        NOT NULL REFERENCES providers (agb),
    municipality_code   text        NOT NULL,
    district_code       text        NOT NULL DEFAULT '',
    allocation_number   text REFERENCES allocations (number),
    product_category    text        NOT NULL,
    product_code        text        NOT NULL,
    start_date          date        NOT NULL,
    end_date            date,
    volume_amount       integer     NOT NULL,
    volume_unit         text        NOT NULL,
    volume_frequency    text        NOT NULL,
    referrer_type       text        NOT NULL DEFAULT '',
    referrer_code       text        NOT NULL DEFAULT '',
    change_reason_text  text        NOT NULL DEFAULT '',
    status              text        NOT NULL,
    received_at         timestamptz NOT NULL,
    answer_due          date        NOT NULL,
    answered_at         timestamptz,
    answered_on_time    boolean,
    decision_due        date,
    decided_at          timestamptz,
    decided_on_time     boolean,
    refusal_reason      text        NOT NULL DEFAULT '',
    resulting_allocation text REFERENCES allocations (number)
);
CREATE INDEX allocation_requests_provider ON allocation_requests (provider_agb, municipality_code);
CREATE INDEX allocation_requests_municipality ON allocation_requests (municipality_code, received_at, id);
CREATE INDEX allocation_requests_open ON allocation_requests (municipality_code, received_at, id) WHERE status IN ('RECEIVED', 'UNDER_INVESTIGATION');

-- Progress reports on the case's goals.
CREATE TABLE progress_reports (
    id                 uuid PRIMARY KEY,
    allocation_number  text        NOT NULL REFERENCES allocations (number),
    goal_ids           uuid[]      NOT NULL,
    judgement          text        NOT NULL CHECK (judgement IN ('ON_TRACK', 'REACHED', 'NOT_REACHED')),
    reported_at        timestamptz NOT NULL,
    scale_down_advised boolean     NOT NULL
);
CREATE INDEX progress_reports_allocation ON progress_reports (allocation_number, reported_at);

-- +goose Down
DROP TABLE progress_reports;
DROP TABLE allocation_requests;
DROP TABLE delivery_reports;
ALTER TABLE deliveries DROP COLUMN stop_reported_at, DROP COLUMN stop_on_time;
DROP TABLE allocation_versions;
DROP INDEX allocations_not_started;
DROP INDEX allocations_contract;
DROP INDEX allocations_provider;
CREATE INDEX allocations_provider_status ON allocations (provider_agb, status);
ALTER TABLE allocations
    DROP COLUMN version, DROP COLUMN budget_cents, DROP COLUMN form, DROP COLUMN contract_id,
    DROP COLUMN request_id, DROP COLUMN first_started_on, DROP COLUMN stopped_on, DROP COLUMN stop_reason,
    DROP COLUMN stop_reported_at, DROP COLUMN stop_reported_on_time, DROP COLUMN withdrawal_reason,
    DROP COLUMN not_started_alerted_at;
DROP TABLE municipal_organisations;
ALTER TABLE contracts ADD COLUMN product_category text, ADD COLUMN product_code text, DROP COLUMN capacity;
UPDATE contracts c SET product_category = p.product_category, product_code = p.product_code
FROM contract_products p WHERE p.contract_id = c.id;
DROP TABLE contract_products;
