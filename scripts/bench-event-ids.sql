-- The WAL and full-page images of consumer claims (processed_events) with random (UUIDv4) and
-- time-ordered (UUIDv7-like) event ids: docs/decisions.md, issue 12, item 33. Against any
-- PostgreSQL 15 database, once for each kind:
--   PGOPTIONS="-c exp.kind=v4" psql -v kind=v4 -f scripts/bench-event-ids.sql <database URL>
--   PGOPTIONS="-c exp.kind=v7" psql -v kind=v7 -f scripts/bench-event-ids.sql <database URL>
-- as a superuser (CHECKPOINT, pg_stat_wal), e.g. make run's
-- postgres://postgres@127.0.0.1:55432/postgres. It makes a table pe and a function evid there
-- and drops both at its end. The "v7" ids are text in time order, shaped like a UUID's text
-- (what processed_events stores); the v4 ones are gen_random_uuid()'s.
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS pe;
CREATE TABLE pe (consumer text NOT NULL, event_id text NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));
CREATE OR REPLACE FUNCTION evid(kind text, n bigint) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN kind = 'v4' THEN gen_random_uuid()::text
  ELSE lpad(to_hex(1700000000000 + n), 12, '0') || '-7' || substr(md5(random()::text), 1, 3) || '-8' || substr(md5(random()::text), 1, 15) END $$;
-- a table that has lived a while: 1,000,000 events of each of two consumers
INSERT INTO pe (consumer, event_id) SELECT c, evid(:'kind', n) FROM generate_series(1, 1000000) n, (VALUES ('intake-signals'), ('casedirection-outcomes')) v(c);
VACUUM ANALYZE pe;
SELECT pg_size_pretty(pg_relation_size('pe_pkey')) AS index_size;
CHECKPOINT;
SELECT wal_fpi AS fpi0, wal_bytes AS bytes0 FROM pg_stat_wal \gset
-- then 20,000 more events per consumer, 10 to a transaction (as consumer batches commit)
\timing on
DO $$ BEGIN FOR b IN 0..1999 LOOP
  INSERT INTO pe (consumer, event_id) SELECT c, evid(current_setting('exp.kind'), 1000000 + b * 10 + i) FROM generate_series(1, 10) i, (VALUES ('intake-signals'), ('casedirection-outcomes')) v(c);
  COMMIT;
END LOOP; END $$;
\timing off
SELECT pg_stat_force_next_flush();
SELECT :'kind' AS kind, wal_fpi - :fpi0 AS fpi, pg_size_pretty(wal_bytes - :bytes0) AS wal, round((wal_bytes - :bytes0) / 40000.0) AS wal_bytes_per_row FROM pg_stat_wal;
DROP TABLE pe;
DROP FUNCTION evid(text, bigint);
