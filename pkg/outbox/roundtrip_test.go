package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// A relay round that went well reads the next round's rows in the same round trip as its mark,
// so a backlog costs one round trip to PostgreSQL per round instead of two, and the next
// round's events go out without waiting for another read. Nothing is skipped or published
// twice on the way.
func TestRoundsReadTheNextRoundWithTheirMark(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	pool, roundTrips := testkit.RoundTripPool(t, f.dsn)
	relay := outbox.NewRelay(&pgxdb.DB{Pool: pool}, f.js, outbox.RelayConfig{Service: "referral", BatchSize: 2,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	// A first round connects and prepares the relay's statements.
	f.write(t, 0)
	if n, err := relay.Flush(ctx); err != nil || n != 1 {
		t.Fatalf("first round: %d events (%v), want 1", n, err)
	}
	for i := 1; i <= 5; i++ {
		f.write(t, i)
	}
	// Rounds of two: the first reads, then marks and reads on; the last mark reads nothing,
	// so the round after it reads again.
	for k, want := range []struct{ events, roundTrips int }{{2, 2}, {2, 1}, {1, 1}, {0, 1}} {
		before := roundTrips.Load()
		n, err := relay.Flush(ctx)
		if err != nil || n != want.events {
			t.Fatalf("round %d: %d events (%v), want %d", k+1, n, err, want.events)
		}
		if got := int(roundTrips.Load() - before); got != want.roundTrips {
			t.Errorf("round %d made %d round trips to PostgreSQL, want %d", k+1, got, want.roundTrips)
		}
	}
	// An event committed after a mark found nothing more is read by the next round.
	f.write(t, 6)
	if n, err := relay.Flush(ctx); err != nil || n != 1 {
		t.Fatalf("round after a new event: %d events (%v), want 1", n, err)
	}
	var want []string
	for i := range 7 {
		want = append(want, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	if got := f.streamMessages(t); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
	var pending int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("%d rows still pending (%v)", pending, err)
	}
}
