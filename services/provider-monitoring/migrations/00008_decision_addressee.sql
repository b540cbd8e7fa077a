-- +goose Up
-- The applicant's name and address as intake registered them, read when a decision is drafted
-- so that nobody types them again for the letter: personal data, sealed JSON like the
-- decision's other free text (empty: none known).
ALTER TABLE decisions ADD COLUMN addressee bytea;

-- +goose Down
ALTER TABLE decisions DROP COLUMN addressee;
