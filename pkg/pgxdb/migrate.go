package pgxdb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for goose
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
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
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
			}
		}
		if r.Version, err = p.GetDBVersion(ctx); err != nil {
			return out, fmt.Errorf("migrations %s: version: %w", set.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// lockID derives a stable advisory lock id per migration set.
func lockID(name string) int64 {
	var h int64 = 0x5779_6a6b // "Wijk"
	for _, c := range name {
		h = h*31 + int64(c)
	}
	return h
}
