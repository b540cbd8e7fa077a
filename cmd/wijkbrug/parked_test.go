package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

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
	out.Reset()
	if err := run([]string{"parked", "replay", "-database-url", dsn, "-consumer", "other"}, &out); err != nil || !strings.Contains(out.String(), "0 parked events marked") {
		t.Fatalf("replay of another consumer: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"parked", "replay", "-database-url", dsn, "-event", "ev-1"}, &out); err != nil || !strings.Contains(out.String(), "1 parked events marked") {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	var state string
	if err := db.Pool.QueryRow(ctx, `SELECT state FROM parked_events WHERE event_id = 'ev-1'`).Scan(&state); err != nil || state != "replay" {
		t.Fatalf("state %q %v", state, err)
	}
}
