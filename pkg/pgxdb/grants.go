package pgxdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// GrantApplication gives role (the application role the services run as) what a service needs
// and nothing more, on the database at dsn (connected as its owner, right after the
// migrations, so every table exists): read and write its tables and use their sequences, but
// never UPDATE, DELETE or TRUNCATE the access log (only the sealing columns may be set, and
// the append-only trigger allows that once per entry), never change emergency grants, and
// only read the migration bookkeeping. The role owns nothing, so it cannot ALTER a table or
// switch a trigger off. Re-running it is harmless (it runs after every migrate).
func GrantApplication(ctx context.Context, dsn, role string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("grant: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	r := pgx.Identifier{role}.Sanitize()
	var goose []string
	rows, err := conn.Query(ctx, `SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'goose\_version\_%'`)
	if err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	if goose, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	stmts := []string{
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"GRANT USAGE ON SCHEMA public TO " + r,
		"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + r,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + r,
		// The access log: append and read; the sealer sets the chain columns of new entries.
		"REVOKE UPDATE, DELETE, TRUNCATE ON access_log FROM " + r,
		"GRANT UPDATE (" + strings.Join(SealColumns, ", ") + ") ON access_log TO " + r,
		// The log one row per object and resident is a view to read.
		"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON access_log_entries FROM " + r,
		// Emergency grants are never updated or deleted.
		"REVOKE UPDATE, DELETE, TRUNCATE ON emergency_grants FROM " + r,
	}
	if len(goose) > 0 {
		// Read only: a service checks at start that its database holds its schema at its
		// version (svc's checkSchema).
		stmts = append(stmts, "REVOKE ALL ON "+strings.Join(goose, ", ")+" FROM "+r,
			"GRANT SELECT ON "+strings.Join(goose, ", ")+" TO "+r)
	}
	_, err = conn.Exec(ctx, "BEGIN; "+strings.Join(stmts, "; ")+"; COMMIT")
	if err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	return nil
}

// SealColumns are the access-log columns the sealer sets once per entry.
var SealColumns = []string{"seal_seq", "prev_hash", "hash", "key_id"}
