package svc

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
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
	if err := Migrate(ctx, spec, cfg.migrationURL()); err != nil {
		return err
	}
	if cfg.DatabaseAppRole == "" {
		return nil
	}
	return pgxdb.GrantApplication(ctx, cfg.migrationURL(), cfg.DatabaseAppRole)
}
