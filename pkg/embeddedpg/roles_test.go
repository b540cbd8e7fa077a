package embeddedpg

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPrepareDatabases: the first call creates each database's roles and the databases, owned
// by their own owner role (a new database's public schema by pg_database_owner, which is that
// owner, so it needs no hand-over and no connection to it), and hands over a database an
// earlier release left (a kept development data directory: owned by the shared OwnerRole, its
// table granted to the shared AppRole, which then has no privilege left there); each owner role
// can do in its public schema what migrations do, and one database's roles nothing in
// another's. A restart's call, with everything in place, opens a single connection.
func TestPrepareDatabases(t *testing.T) {
	skipWithoutPostgres(t)
	ctx := t.Context()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	admin, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	// sessions counts the sessions each database has had.
	sessions := func() map[string]int64 {
		// Backends report their session when they end; give the ones just closed a moment.
		time.Sleep(300 * time.Millisecond)
		if _, err := admin.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
			t.Fatal(err)
		}
		rows, err := admin.Query(ctx, `SELECT datname, sessions FROM pg_stat_database WHERE datname IN ('postgres', 'one', 'two', 'kept')`)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		var name string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error { out[name] = n; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}

	// The kept one: as an earlier release left it, owned by the shared owner role, its table
	// granted to the shared application role.
	if err := c.CreateDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	execSQL(t, c.DSN("kept"), `CREATE TABLE notes (id serial PRIMARY KEY, body text)`)
	if err := c.CreateRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.HandToOwner(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	execSQL(t, c.DSNAs(OwnerRole, "kept"), `GRANT USAGE ON SCHEMA public TO `+AppRole+`; GRANT SELECT ON notes TO `+AppRole)
	execSQL(t, c.DSNAs(AppRole, "kept"), `SELECT count(*) FROM notes`)

	before := sessions()
	if err := c.PrepareDatabases(ctx, "one", "two", "kept"); err != nil {
		t.Fatal(err)
	}
	after := sessions()
	for db, want := range map[string]int64{"one": 0, "two": 0, "kept": 1} {
		if got := after[db] - before[db]; got != want {
			t.Errorf("first call: %d sessions on %s, want %d", got, db, want)
		}
	}
	for _, db := range []string{"one", "two", "kept"} {
		var owner, schemaOwner string
		if err := admin.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, db).Scan(&owner); err != nil {
			t.Fatalf("%s: %v", db, err)
		}
		conn, err := pgx.Connect(ctx, c.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'`).Scan(&schemaOwner); err != nil {
			t.Fatal(err)
		}
		ownerRole, appRole := DatabaseRoles(db)
		wantSchemaOwner := "pg_database_owner" // a new database, PostgreSQL 15 and later (the tests run 15)
		if db == "kept" {
			wantSchemaOwner = ownerRole
		}
		if owner != ownerRole || schemaOwner != wantSchemaOwner {
			t.Errorf("%s: database owned by %s, schema public by %s; want %s and %s", db, owner, schemaOwner, ownerRole, wantSchemaOwner)
		}
		if db == "kept" {
			var tableOwner string
			if err := conn.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'notes'`).Scan(&tableOwner); err != nil {
				t.Fatal(err)
			}
			if tableOwner != ownerRole {
				t.Errorf("kept table owned by %s, want %s", tableOwner, ownerRole)
			}
		}
		_ = conn.Close(ctx)
		// What a migration and the grants to the application role do.
		owned, err := pgx.Connect(ctx, c.DSNAs(ownerRole, db))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := owned.Exec(ctx, `CREATE TABLE probe (id int); REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO `+appRole+`; GRANT SELECT ON probe TO `+appRole); err != nil {
			t.Errorf("%s: the owner role cannot work in schema public: %v", db, err)
		}
		_ = owned.Close(ctx)
	}
	// One database's roles have nothing in another's; the shared roles an earlier release used
	// nothing in the kept one.
	for _, probe := range []struct{ role, db, table string }{
		{"one_app", "two", "probe"}, {"one_owner", "two", "probe"}, {AppRole, "kept", "notes"},
	} {
		conn, err := pgx.Connect(ctx, c.DSNAs(probe.role, probe.db))
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, "SELECT count(*) FROM "+probe.table)
		_ = conn.Close(ctx)
		if pgCode(err) != "42501" {
			t.Errorf("%s read %s.%s: %v, want SQLSTATE 42501 (insufficient privilege)", probe.role, probe.db, probe.table, err)
		}
	}
	execSQL(t, c.DSNAs("two_app", "two"), `SELECT count(*) FROM probe`)

	// A restart: one session, on the postgres database, and none on the service databases.
	before = sessions()
	if err := c.PrepareDatabases(ctx, "one", "two", "kept"); err != nil {
		t.Fatal(err)
	}
	after = sessions()
	for db, want := range map[string]int64{"postgres": 1, "one": 0, "two": 0, "kept": 0} {
		if got := after[db] - before[db]; got != want {
			t.Errorf("restart opened %d sessions on %s, want %d", got, db, want)
		}
	}
}

func execSQL(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatal(err)
	}
}
