package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// statementTime is one statement's share of PostgreSQL's execution time during a measurement
// (pg_stat_statements, all databases of the cluster). Execution time excludes waiting for
// the client and the WAL flush at COMMIT.
type statementTime struct {
	DB      string
	Calls   int64
	TotalMS float64
	Share   float64 // of all statements' execution time in the measurement
	Rows    int64
	Query   string
}

// markdown is the statement as a list item of the results file.
func (s statementTime) markdown() string {
	return fmt.Sprintf("%.1f %% (%.0f ms, %d calls, %d rows, %s): `%s`", 100*s.Share, s.TotalMS, s.Calls, s.Rows, s.DB, strings.ReplaceAll(s.Query, "`", "'"))
}

// sinceReset is what PostgreSQL did since resetStatements (with -statements): the n statements
// it spent the most execution time on, and the WAL it wrote.
func (b *bench) sinceReset(ctx context.Context, n int) ([]statementTime, string, error) {
	top, err := b.topStatements(ctx, n)
	if err != nil {
		return nil, "", err
	}
	wal, err := b.walSince(ctx)
	if err != nil {
		return nil, "", err
	}
	seq, err := b.wholeTableReads(ctx)
	if seq != "" {
		wal += "; " + seq
	}
	return top, wal, err
}

func (s statementTime) String() string {
	return fmt.Sprintf("%5.1f%% %8.0f ms %7d calls %8d rows  %-18s %s", 100*s.Share, s.TotalMS, s.Calls, s.Rows, s.DB, s.Query)
}

// enableStatements creates the pg_stat_statements views (with -statements), once per run.
func (b *bench) enableStatements(ctx context.Context) error {
	if !b.o.statements {
		return nil
	}
	if _, err := b.raw.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return fmt.Errorf("pg_stat_statements: %w", err)
	}
	return nil
}

// resetStatements empties pg_stat_statements before a measurement (with -statements).
func (b *bench) resetStatements(ctx context.Context) error {
	if !b.o.statements {
		return nil
	}
	if _, err := b.raw.Exec(ctx, `SELECT pg_stat_statements_reset(), pg_stat_reset_shared('wal'), pg_stat_reset_shared('bgwriter')`); err != nil {
		return err
	}
	// Table statistics are per database.
	for _, db := range slices.Sorted(maps.Keys(b.quiet.Databases())) {
		if _, err := b.quiet.Databases()[db].Exec(ctx, `SELECT pg_stat_reset()`); err != nil {
			return fmt.Errorf("pg_stat_reset in %s: %w", db, err)
		}
	}
	return nil
}

// wholeTableReads names the service tables that sequential scans read 1,000 rows or more of
// since the reset (with -statements; at most three per database, most rows first). A lookup
// without a usable index, or with a plan made while its table was small, shows here
// (docs/performance-history.md, seventh session). PostgreSQL reports a backend's table
// statistics up to about a second late while it works and up to ten seconds late once it is
// idle, so the last moments of a short measurement may be missing.
func (b *bench) wholeTableReads(ctx context.Context) (string, error) {
	if !b.o.statements {
		return "", nil
	}
	var found []string
	for _, db := range slices.Sorted(maps.Keys(b.quiet.Databases())) {
		rows, err := b.quiet.Databases()[db].Query(ctx, `
			SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables
			WHERE seq_tup_read >= 1000 ORDER BY seq_tup_read DESC LIMIT 3`)
		if err != nil {
			return "", fmt.Errorf("pg_stat_user_tables in %s: %w", db, err)
		}
		for rows.Next() {
			var table string
			var scans, read int64
			if err := rows.Scan(&table, &scans, &read); err != nil {
				rows.Close()
				return "", err
			}
			found = append(found, fmt.Sprintf("%s.%s %d scans, %d rows", db, table, scans, read))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", err
		}
	}
	if len(found) == 0 {
		return "no table read by sequential scans of 1,000 rows or more", nil
	}
	return "sequential scans reading 1,000 rows or more: " + strings.Join(found, ", "), nil
}

// walSince summarises the cluster's WAL since the reset (with -statements): records, full-page
// images (a page's first change after a checkpoint logs the whole page) and bytes, and the
// checkpoints that ran.
func (b *bench) walSince(ctx context.Context) (string, error) {
	if !b.o.statements {
		return "", nil
	}
	var records, fpi, bytes, timed, req int64
	err := b.raw.QueryRow(ctx, `SELECT w.wal_records, w.wal_fpi, w.wal_bytes::bigint, g.checkpoints_timed, g.checkpoints_req
		FROM pg_stat_wal w, pg_stat_bgwriter g`).Scan(&records, &fpi, &bytes, &timed, &req)
	if err != nil {
		return "", fmt.Errorf("pg_stat_wal: %w", err)
	}
	return fmt.Sprintf("WAL %d records, %d full-page images, %.1f MB; checkpoints %d timed, %d requested",
		records, fpi, float64(bytes)/1e6, timed, req), nil
}

// topStatements lists the n statements PostgreSQL spent the most execution time on since the
// reset (with -statements), leaving out the bench's own sampling of pg_stat_activity.
func (b *bench) topStatements(ctx context.Context, n int) ([]statementTime, error) {
	if !b.o.statements {
		return nil, nil
	}
	rows, err := b.raw.Query(ctx, `
		WITH s AS (
			SELECT d.datname, s.calls, s.total_exec_time, s.rows, s.query
			FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
			WHERE s.query NOT ILIKE '%pg_stat_%')
		SELECT datname, calls, total_exec_time, rows, query, total_exec_time / nullif(sum(total_exec_time) OVER (), 0)
		FROM s ORDER BY total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("pg_stat_statements: %w", err)
	}
	defer rows.Close()
	var out []statementTime
	for rows.Next() {
		var st statementTime
		var share *float64
		if err := rows.Scan(&st.DB, &st.Calls, &st.TotalMS, &st.Rows, &st.Query, &share); err != nil {
			return nil, err
		}
		if share != nil {
			st.Share = *share
		}
		st.Query = strings.Join(strings.Fields(st.Query), " ")
		if len(st.Query) > 140 {
			st.Query = st.Query[:140] + "…"
		}
		out = append(out, st)
	}
	return out, rows.Err()
}
