package svc

import (
	"context"
	"fmt"
	"io"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
)

// migrationURL is the URL migrations run with: the schema owner's, when configured apart
// from the application role's.
func (c Config) migrationURL() string {
	if c.MigrationDatabaseURL != "" {
		return c.MigrationDatabaseURL
	}
	return c.DatabaseURL
}

// MigrateAndGrant applies the migrations as the schema owner and then grants the application
// role (cfg.DatabaseAppRole, when set) exactly what the service needs.
func MigrateAndGrant(ctx context.Context, spec Spec, cfg Config) error {
	return migrateAndGrant(ctx, spec, cfg, io.Discard)
}

// migrateAndGrant is MigrateAndGrant reporting to out what it applied and granted.
func migrateAndGrant(ctx context.Context, spec Spec, cfg Config, out io.Writer) error {
	results, err := pgxdb.MigrateReport(ctx, cfg.migrationURL(), platformdb.Migrations(), spec.Migrations)
	for _, r := range results {
		fmt.Fprintln(out, spec.Name+" migrate "+r.String())
	}
	if err != nil {
		return err
	}
	if cfg.DatabaseAppRole == "" {
		return nil
	}
	if err := pgxdb.GrantApplication(ctx, cfg.migrationURL(), cfg.DatabaseAppRole); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s migrate: privileges granted to the application role %s\n", spec.Name, cfg.DatabaseAppRole)
	return nil
}
