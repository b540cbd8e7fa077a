package testkit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
)

func TestMain(m *testing.M) { Main(m) }

var migrations atomic.Int32

func migrateNotes(ctx context.Context, dsn string) error {
	migrations.Add(1)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
	return err
}

func countNotes(t *testing.T, dsn string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM notes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewDatabaseIsolatedClones(t *testing.T) {
	start := time.Now()
	a := NewDatabase(t, "notes", migrateNotes)
	t.Logf("first database (cluster start + template + clone): %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	b := NewDatabase(t, "notes", migrateNotes)
	t.Logf("second database (clone only): %s", time.Since(start).Round(time.Millisecond))
	if a == b {
		t.Fatalf("same DSN twice: %s", a)
	}

	conn, err := pgx.Connect(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "INSERT INTO notes (body) VALUES ('only in a')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())

	if n := countNotes(t, a); n != 1 {
		t.Fatalf("clone a has %d rows, want 1", n)
	}
	if n := countNotes(t, b); n != 0 {
		t.Fatalf("clone b has %d rows, want 0 (clones are not isolated)", n)
	}

	// Concurrent first use from parallel tests must still migrate once.
	t.Run("parallel", func(t *testing.T) {
		for i := range 4 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				if n := countNotes(t, NewDatabase(t, "notes", migrateNotes)); n != 0 {
					t.Errorf("fresh clone has %d rows", n)
				}
			})
		}
	})
	if got := migrations.Load(); got != 1 {
		t.Fatalf("migrator ran %d times, want 1", got)
	}
}

func TestNewDatabaseLeakedConnectionAndCleanup(t *testing.T) {
	var leaked *pgx.Conn
	leaky := func(ctx context.Context, dsn string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		leaked = conn // deliberately not closed
		_, err = conn.Exec(ctx, "CREATE TABLE t (v int)")
		return err
	}
	var dbName string
	t.Run("inner", func(t *testing.T) {
		dsn := NewDatabase(t, "leaky", leaky)
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		dbName = cfg.Database
		// Keep a connection open: cleanup must still drop the clone.
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn
	})
	if leaked != nil {
		_ = leaked.Close(context.Background())
	}
	var exists bool
	conn, err := pgx.Connect(t.Context(), Cluster(t).DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", dbName).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("clone %s not dropped after its test", dbName)
	}
}

// NewDatabase turns a failed template into t.Fatal, which a test cannot
// assert on, so this checks the error path underneath it.
func TestTemplateMigrationFailure(t *testing.T) {
	c := Cluster(t)
	err := createTemplate(c, "tmpl_broken", func(context.Context, string) error { return errors.New("boom") })
	if err == nil {
		t.Fatal("migration error swallowed")
	}
	err = createTemplate(c, "tmpl_panicky", func(context.Context, string) error { panic("bad migration") })
	if err == nil {
		t.Fatal("migration panic swallowed")
	}
}

func TestNewNATS(t *testing.T) {
	s := NewNATS(t)
	nc := s.ConnectService(t, "intake")
	if !nc.IsConnected() {
		t.Fatal("not connected")
	}
	if _, err := nats.Connect(s.ClientURL()); err == nil {
		t.Fatal("a connection without a client certificate was accepted")
	}
}

func TestNewCA(t *testing.T) {
	if ca := NewCA(t); len(ca.CertPEM()) == 0 {
		t.Fatal("empty CA")
	}
}

func TestIdentifier(t *testing.T) {
	long := identifier("intake_12345_TestSomething/with a very long subtest name that goes on and on")
	if len(long) > 63 {
		t.Fatalf("identifier too long: %d", len(long))
	}
	if got := identifier("Intake-Service/1"); got != "intake_service_1" {
		t.Fatalf("got %q", got)
	}
}
