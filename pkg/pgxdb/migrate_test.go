package pgxdb_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// TestMigrationsAreFlushedWhenMigrateReturns: migrations commit without waiting for a WAL
// flush each (a service's first start waited for some forty), and Migrate waits once for all
// of them. The last migration notes the WAL position it wrote up to; when Migrate has
// returned, the WAL must be flushed beyond it. (The test cluster commits without waiting
// anyway, so only a flush Migrate asks for passes this.)
func TestMigrationsAreFlushedWhenMigrateReturns(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "pgxdb-migrate", func(context.Context, string) error { return nil })
	set := pgxdb.MigrationSet{Name: "probe", FS: fstest.MapFS{
		"00001_notes.sql": {Data: []byte("-- +goose Up\nCREATE TABLE probe_notes (id int PRIMARY KEY);\n")},
		"00002_probe.sql": {Data: []byte("-- +goose Up\nINSERT INTO probe_notes VALUES (1);\n" +
			"CREATE TABLE probe AS SELECT pg_current_wal_insert_lsn() AS lsn;\n")},
	}}
	results, err := pgxdb.MigrateReport(ctx, dsn, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || len(results[0].Applied) != 2 || results[0].Version != 2 {
		t.Fatalf("results = %+v, want both migrations applied", results)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var flushed bool
	if err := conn.QueryRow(ctx, `SELECT pg_current_wal_flush_lsn() > lsn FROM probe`).Scan(&flushed); err != nil {
		t.Fatal(err)
	}
	if !flushed {
		t.Error("the last migration's commit is not flushed when Migrate returns")
	}
}

// TestCurrent: a set is current when its latest migration is applied, and not before its
// version table exists, nor when a newer file has come.
func TestCurrent(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "pgxdb-current", func(context.Context, string) error { return nil })
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	files := fstest.MapFS{"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (id int);\n")}}
	set := pgxdb.MigrationSet{Name: "cur", FS: files}
	check := func(want bool) {
		t.Helper()
		got, err := pgxdb.Current(ctx, conn, set)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Current = %v, want %v", got, want)
		}
	}
	check(false) // no version table yet
	if err := pgxdb.Migrate(ctx, dsn, set); err != nil {
		t.Fatal(err)
	}
	check(true)
	files["00002_b.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\nCREATE TABLE b (id int);\n")}
	check(false) // a newer migration has come
	if err := pgxdb.Migrate(ctx, dsn, set); err != nil {
		t.Fatal(err)
	}
	check(true)
}
