package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// The operator commands over a service database: list shows a parked event, replay marks it.
// (The consumer side — parking and replaying — is tested in pkg/consumer.)
func TestParkedCommands(t *testing.T) {
	dsn := testkit.NewDatabase(t, "parkedcmd", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
	})
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO parked_events (consumer, event_id, stream, stream_seq, subject, event_type, aggregate_id, headers, data, state, failures, last_error)
		VALUES ('intake-signals', 'ev-1', 'WIJKBRUG_REFERRAL', 7, 'wijkbrug.referral.0363.signal.received', 'wijkbrug.referral.v1.SignalReceived', 'sig-1', '{}', '', 'parked', 5, 'boom')`); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"parked", "list", "-database-url", dsn}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ev-1") || !strings.Contains(out.String(), "boom") || !strings.Contains(out.String(), "1 events parked") {
		t.Fatalf("list:\n%s", out.String())
	}
	// A consumer or event that matches no parked event is an error, with no summary (probe D F8).
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-consumer", "other"}, `-consumer "other": no such consumer`},
		{[]string{"-consumer", "casedirection-allocations"}, "no parked event matches consumer casedirection-allocations"},
		{[]string{"-event", "nonexistent-id"}, "no parked event matches event nonexistent-id"},
		{[]string{"-consumer", "casedirection-allocations", "-event", "ev-1"}, "no parked event matches event ev-1 of consumer casedirection-allocations"},
	} {
		out.Reset()
		err := run(append([]string{"parked", "replay", "-database-url", dsn}, tc.args...), &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(out.String(), "marked") {
			t.Fatalf("replay %v: %v, want %q\n%s", tc.args, err, tc.want, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"parked", "replay", "-database-url", dsn, "-event", "ev-1"}, &out); err != nil || !strings.Contains(out.String(), "1 parked events marked") {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	var state string
	if err := db.Pool.QueryRow(ctx, `SELECT state FROM parked_events WHERE event_id = 'ev-1'`).Scan(&state); err != nil || state != "replay" {
		t.Fatalf("state %q %v", state, err)
	}
	// Marked already: nothing to mark, and it says why.
	out.Reset()
	if err := run([]string{"parked", "replay", "-database-url", dsn, "-event", "ev-1"}, &out); err == nil || !strings.Contains(err.Error(), "only 1 replay") {
		t.Fatalf("replay twice: %v\n%s", err, out.String())
	}
	// Without a filter, nothing to replay is not an error.
	out.Reset()
	if err := run([]string{"parked", "replay", "-database-url", dsn}, &out); err != nil || !strings.Contains(out.String(), "0 parked events marked") {
		t.Fatalf("replay of all: %v\n%s", err, out.String())
	}
}

// With no database reached, list and replay print no summary, and fail (probe D F8).
func TestParkedWithoutDatabase(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	// A data directory as a development suite leaves it, but nothing listening on the port.
	dataDir := t.TempDir()
	ca, err := devca.New("parked test")
	if err != nil {
		t.Fatal(err)
	}
	pgDir := filepath.Join(dataDir, "postgres")
	if err := os.MkdirAll(pgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ca.pem": ca.CertPEM(), "pgpass": []byte("127.0.0.1:*:*:postgres:secret\n")} {
		if err := os.WriteFile(filepath.Join(pgDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"parked", "list", "-pg-port", port, "-data-dir", dataDir},
		{"parked", "replay", "-pg-port", port, "-data-dir", dataDir},
		{"parked", "replay", "-pg-port", port, "-data-dir", dataDir, "-event", "ev-1"},
		{"parked", "list", "-database-url", "postgres://postgres@127.0.0.1:" + port + "/intake?" + embeddedpg.ClientParams(pgDir)},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var out bytes.Buffer
		err := runCtx(ctx, args, &out)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "no database could be") {
			t.Errorf("%v: %v", args, err)
		}
		if strings.Contains(out.String(), "events parked") || strings.Contains(out.String(), "marked") || strings.Contains(out.String(), "CONSUMER") {
			t.Errorf("%v printed a summary without a database:\n%s", args, out.String())
		}
	}
}

// runCtx runs a subcommand like run, with a context of the test's.
func runCtx(ctx context.Context, args []string, out io.Writer) error {
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], out)
		}
	}
	return errors.New("unknown command " + args[0])
}
