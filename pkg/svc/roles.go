package svc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
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
// role (cfg.DatabaseAppRole, when set) exactly what the service needs. The `migrate` command
// then reseals (below); a service that migrates on start reseals in the background.
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
	if cfg.DatabaseAppRole != "" {
		if err := pgxdb.GrantApplication(ctx, cfg.migrationURL(), cfg.DatabaseAppRole); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s migrate: privileges granted to the application role %s\n", spec.Name, cfg.DatabaseAppRole)
	}
	return nil
}

// reseal brings the encrypted columns under the current encryption key (pkg/encrypted), as
// the database owner: after a key rotation the values under a retired key are re-encrypted,
// so that key can be dropped, and free text an earlier release stored in clear is sealed.
// Without the key settings (a migration run by a program that embeds the schema) it does
// nothing. Values sealed with a key that is no longer configured are reported, not fatal:
// nobody can read them, and the service must still start.
func reseal(ctx context.Context, spec Spec, cfg Config, out io.Writer) error {
	if cfg.BSNEncryptionKey == "" {
		return nil
	}
	prot, err := loadProtector(cfg)
	if err != nil {
		return err
	}
	db, err := pgxdb.Open(ctx, cfg.migrationURL(), 2)
	if err != nil {
		return err
	}
	defer db.Close()
	counts, err := encrypted.Reseal(ctx, db, prot, EncryptedColumns(spec))
	var wrong *encrypted.WrongKeyError
	if errors.As(err, &wrong) {
		return fmt.Errorf("%s migrate: WIJKBRUG_BSN_ENCRYPTION_KEY: %w; nothing was re-encrypted", spec.Name, err)
	}
	if err != nil {
		return err
	}
	if r := encrypted.Report(spec.Name, counts); r != "" {
		fmt.Fprint(out, r)
	} else {
		fmt.Fprintf(out, "%s migrate: every encrypted value is under the current key (id %d)\n", spec.Name, prot.KeyID())
	}
	return nil
}

// EncryptedColumns are every column of the service's database sealed with its encryption
// key: the platform's (stored answers, emergency reasons) and the service's own.
func EncryptedColumns(spec Spec) []encrypted.Column {
	cols := append([]encrypted.Column(nil), idempotency.EncryptedColumns...)
	cols = append(cols, logstore.EncryptedColumns...)
	return append(cols, spec.Encrypted...)
}
