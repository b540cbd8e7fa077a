package pgxdb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

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

// Migrate applies every set in order. Each set runs under a PostgreSQL session advisory lock,
// so several replicas (or init containers) starting at once migrate exactly once.
func Migrate(ctx context.Context, dsn string, sets ...MigrationSet) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	for _, set := range sets {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(set.Name)))
		if err != nil {
			return err
		}
		store, err := database.NewStore(database.DialectPostgres, "goose_version_"+set.Name)
		if err != nil {
			return err
		}
		p, err := goose.NewProvider("", db, set.FS, goose.WithStore(store), goose.WithSessionLocker(locker))
		if err != nil {
			return fmt.Errorf("migrations %s: %w", set.Name, err)
		}
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("migrate %s: %w", set.Name, err)
		}
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
