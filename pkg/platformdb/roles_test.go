package platformdb_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// newPlatformDatabase is a database with the platform tables, granted to the application role
// as a service's migrate does; it returns the superuser's DSN (testkit.AppDSN gives the
// application role's).
func newPlatformDatabase(t *testing.T, name string) string {
	return testkit.NewDatabase(t, name, func(ctx context.Context, dsn string) error {
		if err := pgxdb.Migrate(ctx, dsn, platformdb.Migrations()); err != nil {
			return err
		}
		return pgxdb.GrantApplication(ctx, dsn, embeddedpg.AppRole)
	})
}

// The application role cannot rewrite the access log: PostgreSQL's own privilege check refuses
// UPDATE, DELETE and TRUNCATE (SQLSTATE 42501 "permission denied for table", not the trigger's
// "append-only" message), and it cannot switch the trigger off or drop it (not the owner).
// What it may do: append entries, read them and seal a new entry once.
func TestAppRoleCannotModifyTheAccessLog(t *testing.T) {
	dsn := newPlatformDatabase(t, "platform-roles")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	connect := func(dsn string) *pgx.Conn {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	app, owner := connect(testkit.AppDSN(dsn)), connect(testkit.OwnerDSN(dsn))

	insert := func() int64 {
		var id int64
		err := app.QueryRow(ctx, `INSERT INTO access_log (action, object_type, object_id, user_id, role, org_oin, org_type, purpose, access_point, route, outcome)
			VALUES ('t.x.read', 'x', '1', 'u', 'professional', '00000001000000000001', 'TEAM', 'p', 'test', 'TEAM', 'GRANTED') RETURNING id`).Scan(&id)
		if err != nil {
			t.Fatalf("the application role appends entries: %v", err)
		}
		return id
	}
	id := insert()
	// Sealing a new entry once is what the sealer (running as the application role) does.
	if _, err := app.Exec(ctx, `UPDATE access_log SET seal_seq = 1, prev_hash = '', hash = '\x01' WHERE id = $1`, id); err != nil {
		t.Fatalf("the application role seals a new entry: %v", err)
	}

	denied := func(who string, c *pgx.Conn, sql, want string) {
		t.Helper()
		_, err := c.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, want) {
			t.Errorf("%s: %s: got %v, want SQLSTATE 42501 %q", who, sql, err, want)
		}
	}
	byPostgres := "permission denied for table access_log"
	denied("app", app, `UPDATE access_log SET action = 'rewritten'`, byPostgres)
	denied("app", app, `UPDATE access_log SET outcome = 'GRANTED' WHERE outcome = 'DENIED'`, byPostgres)
	denied("app", app, `DELETE FROM access_log`, byPostgres)
	denied("app", app, `TRUNCATE access_log`, byPostgres)
	denied("app", app, `ALTER TABLE access_log DISABLE TRIGGER access_log_append_only`, "must be owner of table access_log")
	denied("app", app, `DROP TRIGGER access_log_append_only ON access_log`, "must be owner of relation access_log")
	denied("app", app, `DELETE FROM emergency_grants`, "permission denied for table emergency_grants")
	denied("app", app, `CREATE TABLE shadow (id int)`, "permission denied for schema public")
	// A sealed entry cannot be resealed: the chain columns are the app's, the trigger guards them.
	denied("app", app, `UPDATE access_log SET hash = '\x02' WHERE id = `+strconv.FormatInt(id, 10), "append-only")

	// The owner has the privilege, so only the trigger stops it: the difference the roles make.
	denied("owner", owner, `DELETE FROM access_log`, "append-only")
	var n int
	if err := app.QueryRow(ctx, `SELECT count(*) FROM access_log`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the log must still hold its entry: %d %v", n, err)
	}
}
