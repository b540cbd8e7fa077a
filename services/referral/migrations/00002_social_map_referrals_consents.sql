-- +goose Up
-- The social map (after Open Referral HSDS): no personal data. search_doc is filled by the
-- service (description, target group, taxonomy terms) so the full-text vector can be a
-- generated column with only immutable functions.
CREATE TABLE provisions (
    id                        uuid PRIMARY KEY,
    organisation_oin          text        NOT NULL,
    organisation_name         text        NOT NULL DEFAULT '',
    name                      text        NOT NULL,
    description               text        NOT NULL DEFAULT '',
    kind                      text        NOT NULL,
    status                    text        NOT NULL,
    taxonomy                  text[]      NOT NULL DEFAULT '{}',
    life_domains              text[]      NOT NULL DEFAULT '{}',
    min_age                   integer     NOT NULL DEFAULT 0,
    max_age                   integer     NOT NULL DEFAULT 0,
    target_group              text        NOT NULL DEFAULT '',
    municipality_code         text        NOT NULL,
    districts                 text[]      NOT NULL DEFAULT '{}',
    locations                 jsonb       NOT NULL DEFAULT '[]',
    capacity_status           text        NOT NULL DEFAULT '',
    waiting_days              integer     NOT NULL DEFAULT 0,
    accepts_digital_referrals boolean     NOT NULL DEFAULT false,
    verified_at               timestamptz,
    url                       text        NOT NULL DEFAULT '',
    email                     text        NOT NULL DEFAULT '',
    phone                     text        NOT NULL DEFAULT '',
    maintainer_oin            text        NOT NULL,
    updated_at                timestamptz NOT NULL,
    search_doc                text        NOT NULL DEFAULT '',
    search                    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('dutch', name), 'A') || setweight(to_tsvector('dutch', search_doc), 'B')) STORED
);
CREATE INDEX provisions_municipality ON provisions (municipality_code, status);
CREATE INDEX provisions_search ON provisions USING gin (search);
CREATE INDEX provisions_districts ON provisions USING gin (districts);
CREATE INDEX provisions_life_domains ON provisions USING gin (life_domains);
CREATE INDEX provisions_taxonomy ON provisions USING gin (taxonomy);

-- Consents of residents, held by the organisation that recorded them. BSN encrypted, found
-- through the blind index.
CREATE TABLE consents (
    id                  uuid PRIMARY KEY,
    resident_bsn_enc    bytea       NOT NULL,
    resident_bsn_index  bytea       NOT NULL,
    holder_oin          text        NOT NULL,
    processing_activity text        NOT NULL,
    recipient_oins      text[]      NOT NULL,
    data_categories     text[]      NOT NULL,
    valid_from          date        NOT NULL,
    valid_until         date,
    recorded_at         timestamptz NOT NULL,
    recorded_by         text        NOT NULL,
    withdrawn_at        timestamptz,
    municipality_code   text        NOT NULL
);
CREATE INDEX consents_resident ON consents (resident_bsn_index);

-- Closed-loop referrals. The question and notes are stored encrypted.
CREATE TABLE referrals (
    id                 uuid PRIMARY KEY,
    status             text        NOT NULL,
    referrer_oin       text        NOT NULL,
    referrer_user      text        NOT NULL,
    recipient_oin      text        NOT NULL,
    provision_id       uuid        NOT NULL REFERENCES provisions (id),
    case_id            uuid,
    intake_id          uuid,
    goal_ids           uuid[]      NOT NULL DEFAULT '{}',
    resident_bsn_enc   bytea       NOT NULL,
    resident_bsn_index bytea       NOT NULL,
    municipality_code  text        NOT NULL,
    district_code      text        NOT NULL DEFAULT '',
    question_enc       bytea       NOT NULL,
    data_categories    text[]      NOT NULL,
    consent_id         uuid REFERENCES consents (id),
    legal_basis        text        NOT NULL,
    priority           text        NOT NULL,
    accept_by          timestamptz NOT NULL,
    reason             text        NOT NULL DEFAULT '',
    hold_reason        text        NOT NULL DEFAULT '',
    outcome            text        NOT NULL DEFAULT '',
    note_enc           bytea,
    replaces           uuid REFERENCES referrals (id),
    life_domains       text[]      NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK ((case_id IS NULL) <> (intake_id IS NULL))
);
CREATE INDEX referrals_referrer ON referrals (referrer_oin, created_at DESC, id DESC);
CREATE INDEX referrals_recipient ON referrals (recipient_oin, created_at DESC, id DESC) WHERE status <> 'DRAFT';
CREATE INDEX referrals_expiry ON referrals (accept_by) WHERE status = 'SENT';
CREATE INDEX referrals_consent ON referrals (consent_id) WHERE consent_id IS NOT NULL;
-- A referral is re-routed at most once; the replacement can itself be re-routed.
CREATE UNIQUE INDEX referrals_replaces ON referrals (replaces) WHERE replaces IS NOT NULL;

-- Every transition of a referral, who made it and why: the history, and the basis of the
-- recurring-theme counts (referrals sent and declines per period).
CREATE TABLE referral_transitions (
    referral_id uuid        NOT NULL REFERENCES referrals (id),
    seq         bigserial,
    from_status text        NOT NULL DEFAULT '',
    to_status   text        NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    side        text        NOT NULL,
    org_oin     text        NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (referral_id, seq)
);
CREATE INDEX referral_transitions_at ON referral_transitions (to_status, at);

CREATE INDEX signals_case ON signals (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX signals_themes ON signals (municipality_code, received_at);

-- +goose Down
DROP INDEX signals_themes;
DROP INDEX signals_case;
DROP TABLE referral_transitions;
DROP TABLE referrals;
DROP TABLE consents;
DROP TABLE provisions;
