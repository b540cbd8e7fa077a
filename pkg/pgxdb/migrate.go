package pgxdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// MigrationSet is one independent series of migrations with its own version table, so the
// shared platform tables (from pkg/platformdb) and a service's own tables evolve separately
// without copying SQL between services.
type MigrationSet struct {
	Name string
	FS   fs.FS
}

// SetResult is what Migrate did to one migration set.
type SetResult struct {
	Set string
	// Applied lists the migrations applied now (file names), in order; empty when the set was
	// already up to date.
	Applied []string
	// Version is the set's version after the run.
	Version int64
}

// String reads "platform: applied 00002_x.sql, 00003_y.sql; now at version 3" or
// "platform: up to date at version 3".
func (r SetResult) String() string {
	if len(r.Applied) == 0 {
		return fmt.Sprintf("%s: up to date at version %d", r.Set, r.Version)
	}
	return fmt.Sprintf("%s: applied %s; now at version %d", r.Set, strings.Join(r.Applied, ", "), r.Version)
}

// Migrate applies every set in order. Each set runs under a PostgreSQL session advisory lock,
// so several replicas (or init containers) starting at once migrate exactly once.
func Migrate(ctx context.Context, dsn string, sets ...MigrationSet) error {
	_, err := MigrateReport(ctx, dsn, sets...)
	return err
}

// MigrateReport is Migrate that also says what it applied, per set.
func MigrateReport(ctx context.Context, dsn string, sets ...MigrationSet) ([]SetResult, error) {
	var out []SetResult
	applied := false // anything at all, for flushMigrations
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	// Each migration commits on its own; waiting for a WAL flush at each of them made a
	// service's first start wait for some forty flushes. They commit without waiting, and
	// flushMigrations waits once for all of them before Migrate returns: a crash before that
	// loses whole migrations together with their goose version rows, which the next start
	// applies again, never half of one. (A run that applied nothing has nothing to wait for;
	// the WAL writer flushes what an interrupted run left within a second.)
	cfg.RuntimeParams["synchronous_commit"] = "off"
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	db.SetMaxOpenConns(2)
	for _, set := range sets {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(set.Name)))
		if err != nil {
			return out, err
		}
		store, err := database.NewStore(database.DialectPostgres, "goose_version_"+set.Name)
		if err != nil {
			return out, err
		}
		p, err := goose.NewProvider("", db, set.FS, goose.WithStore(store), goose.WithSessionLocker(locker))
		if err != nil {
			return out, fmt.Errorf("migrations %s: %w", set.Name, err)
		}
		results, err := p.Up(ctx)
		if err != nil {
			return out, fmt.Errorf("migrate %s: %w", set.Name, err)
		}
		r := SetResult{Set: set.Name}
		for _, res := range results {
			if res.Source != nil {
				r.Applied = append(r.Applied, filepath.Base(res.Source.Path))
				applied = true
			}
		}
		if r.Version, err = p.GetDBVersion(ctx); err != nil {
			return out, fmt.Errorf("migrations %s: version: %w", set.Name, err)
		}
		out = append(out, r)
	}
	if applied {
		if err := flushMigrations(ctx, db); err != nil {
			return out, err
		}
	}
	return out, nil
}

// flushMigrations commits a transaction that writes WAL under synchronous_commit = on: its
// commit waits until the WAL is flushed up to it, so every migration committed before it is
// durable. PostgreSQL does not wait at the commit of a transaction that wrote no WAL, so it
// writes a transactional logical message (no table needed, any role may).
func flushMigrations(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: flush: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = on"); err != nil {
		return fmt.Errorf("migrations: flush: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_logical_emit_message(true, 'wijkbrug', 'migrations applied')"); err != nil {
		return fmt.Errorf("migrations: flush: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrations: flush: %w", err)
	}
	return nil
}

// lockID derives a stable advisory lock id per migration set.
func lockID(name string) int64 {
	var h int64 = 0x5779_6a6b // "Wijk"
	for _, c := range name {
		h = h*31 + int64(c)
	}
	return h
}

// Current reports whether every set's latest migration is applied, reading the goose version
// tables over q without the migration lock: a check that costs two round trips per set, where
// Migrate opens its own connections and takes a lock per set. It looks at the highest version
// only (goose refuses to apply a migration numbered below one already applied).
func Current(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, sets ...MigrationSet) (bool, error) {
	for _, set := range sets {
		latest, err := latestVersion(set.FS)
		if err != nil {
			return false, fmt.Errorf("migrations %s: %w", set.Name, err)
		}
		table := "goose_version_" + set.Name
		var exists bool
		if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
			return false, fmt.Errorf("migrations %s: %w", set.Name, err)
		}
		if !exists {
			return false, nil
		}
		var applied int64
		if err := q.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+pgx.Identifier{table}.Sanitize()+` WHERE is_applied`).Scan(&applied); err != nil {
			return false, fmt.Errorf("migrations %s: %w", set.Name, err)
		}
		if applied < latest {
			return false, nil
		}
	}
	return true, nil
}

// latestVersion is the highest version among a set's migration files, as goose reads it from
// their names.
func latestVersion(fsys fs.FS) (int64, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, err
		}
		latest = max(latest, v)
	}
	if latest == 0 {
		return 0, errors.New("no migration files")
	}
	return latest, nil
}
