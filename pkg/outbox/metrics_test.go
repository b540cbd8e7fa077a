package outbox_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
)

// roundCounts reads how many relay rounds wijkbrug_outbox_round_seconds holds per phase, and
// whether each phase's summed time is positive.
func roundCounts(t *testing.T, reg *prometheus.Registry) (counts map[string]uint64, timed map[string]bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts, timed = map[string]uint64{}, map[string]bool{}
	for _, f := range families {
		if f.GetName() != "wijkbrug_outbox_round_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "phase" {
					counts[l.GetValue()] = m.GetHistogram().GetSampleCount()
					timed[l.GetValue()] = m.GetHistogram().GetSampleSum() > 0
				}
			}
		}
	}
	return counts, timed
}

// Every round that publishes is timed in its phases: the read of its rows where the last mark
// did not bring them, the publish (until JetStream's last acknowledgement) and the mark with the
// next read; a round that finds nothing is not. The phases are exported from the start, at 0.
func TestRelayRoundsAreTimedByPhase(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	relay := outbox.NewRelay(f.db, f.js, outbox.RelayConfig{Service: "referral", AckTimeout: time.Second, Registry: reg,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})

	if n, err := relay.Flush(ctx); err != nil || n != 0 {
		t.Fatalf("Flush of an empty outbox = %d, %v", n, err)
	}
	counts, _ := roundCounts(t, reg)
	for _, phase := range []string{"read", "publish", "mark"} {
		if n, ok := counts[phase]; !ok || n != 0 {
			t.Fatalf("before the first round: %v rounds per phase, want read, publish and mark at 0 (an empty read is not timed)", counts)
		}
	}
	for round := 1; round <= 2; round++ {
		for i := 1; i <= 3; i++ {
			f.write(t, round*10+i)
		}
		if n, err := relay.Flush(ctx); err != nil || n != 3 {
			t.Fatalf("round %d: Flush = %d, %v; want 3 published", round, n, err)
		}
		// Each round starts from an idle relay (its rows were written after the last mark's
		// read), so it reads its rows itself.
		counts, timed := roundCounts(t, reg)
		if counts["read"] != uint64(round) || counts["publish"] != uint64(round) || counts["mark"] != uint64(round) {
			t.Fatalf("after %d rounds: %v rounds timed per phase, want %d each", round, counts, round)
		}
		if !timed["read"] || !timed["publish"] || !timed["mark"] {
			t.Fatalf("after %d rounds: phases with time: %v, want all three", round, timed)
		}
	}
}
