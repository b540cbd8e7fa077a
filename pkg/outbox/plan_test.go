package outbox_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// A relay round stays a few index lookups however large the outbox has grown since its
// statements were first planned. PostgreSQL keeps a prepared statement's generic plan until the
// table is analyzed again; the mark's plan made while the outbox was nearly empty was a
// sequential scan, and every round then read the whole outbox (docs/performance-history.md,
// seventh session).
func TestRoundsReadNoWholeOutboxAfterItGrew(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	// One connection, so the relay's statements are planned and cached on the session whose
	// scans are counted.
	one, err := pgxdb.Open(ctx, f.dsn, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(one.Close)
	relay := outbox.NewRelay(one, f.js, outbox.RelayConfig{Service: "referral",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	flush := func(want int) {
		t.Helper()
		if n, err := relay.Flush(ctx); err != nil || n != want {
			t.Fatalf("flush: %d events (%v), want %d", n, err, want)
		}
	}
	// Ten rounds of twelve events while the outbox is small: PostgreSQL settles on a cached
	// plan for that size.
	i := 0
	for range 10 {
		for range 12 {
			f.write(t, i)
			i++
		}
		flush(12)
	}
	// The outbox grows by 50,000 published events between two runs of autovacuum.
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, published_at)
		SELECT gen_random_uuid(), 'wijkbrug.referral.GM0363.old', 't', 's', 'a', '\x00', now() FROM generate_series(1, 50000)`); err != nil {
		t.Fatal(err)
	}
	seq, idx := testkit.ScansDuring(t, one.Pool, "outbox", func() {
		for range 5 {
			f.write(t, i)
			i++
			flush(1)
		}
	})
	if seq != 0 {
		t.Errorf("five relay rounds read the whole outbox %d times", seq)
	}
	if idx < 10 {
		t.Errorf("five relay rounds made %d index scans of the outbox, want at least 10 (a SELECT and a mark each)", idx)
	}
	if n := len(f.streamMessages(t)); n != i {
		t.Fatalf("stream holds %d events, want %d", n, i)
	}
}
