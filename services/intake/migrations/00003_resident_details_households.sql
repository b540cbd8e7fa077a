-- +goose Up
-- A resident's name, date of birth and address are personal data: stored only encrypted
-- (each with its own additional data, so a ciphertext cannot be moved to another column).
ALTER TABLE residents
    ADD COLUMN name_enc       bytea,
    ADD COLUMN birth_date_enc bytea,
    ADD COLUMN address_enc    bytea;

-- A household's address, encrypted, and a keyed blind index of its normalised postcode, house
-- number and addition, so a second registration of the same household is recognised.
-- Households created automatically for a new resident have no address.
ALTER TABLE households
    ADD COLUMN address_enc   bytea,
    ADD COLUMN address_index bytea;
CREATE INDEX households_address_index ON households (address_index) WHERE address_index IS NOT NULL;

-- Memberships keep their history: a membership has a start and, once the member left, an
-- end. A resident may be a member of the same household more than once over time, so the
-- primary key becomes a surrogate id; a resident has at most one current membership.
ALTER TABLE household_members DROP CONSTRAINT household_members_pkey;
ALTER TABLE household_members
    ADD COLUMN id         uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    ADD COLUMN started_on date NOT NULL DEFAULT CURRENT_DATE,
    ADD COLUMN ended_on   date,
    ADD CONSTRAINT household_members_period CHECK (ended_on IS NULL OR ended_on >= started_on);
UPDATE household_members m SET started_on = h.created_at::date FROM households h WHERE h.id = m.household_id;
-- Should a resident be in several households already, the newest stays current.
UPDATE household_members m SET ended_on = GREATEST(m.started_on, CURRENT_DATE)
WHERE EXISTS (SELECT 1 FROM household_members n JOIN households hn ON hn.id = n.household_id
              JOIN households hm ON hm.id = m.household_id
              WHERE n.resident_id = m.resident_id AND n.id <> m.id AND (hn.created_at, hn.id) > (hm.created_at, hm.id));
CREATE UNIQUE INDEX household_members_current ON household_members (resident_id) WHERE ended_on IS NULL;
CREATE INDEX household_members_household ON household_members (household_id);

-- +goose Down
DROP INDEX household_members_household;
DROP INDEX household_members_current;
DELETE FROM household_members WHERE ended_on IS NOT NULL;
ALTER TABLE household_members DROP CONSTRAINT household_members_period, DROP COLUMN ended_on, DROP COLUMN started_on, DROP COLUMN id;
ALTER TABLE household_members ADD PRIMARY KEY (household_id, resident_id);
DROP INDEX households_address_index;
ALTER TABLE households DROP COLUMN address_index, DROP COLUMN address_enc;
ALTER TABLE residents DROP COLUMN address_enc, DROP COLUMN birth_date_enc, DROP COLUMN name_enc;
