package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// quietLimit bounds each wait for a quiet suite before a measurement.
const quietLimit = 60 * time.Second

// quietWait is what one wait for a quiet suite found: how long it took and, when it gave up at
// its bound, what was still pending then (empty = the measurement started quiet).
type quietWait struct {
	Took    time.Duration
	Pending string
}

func (q quietWait) String() string {
	if q.Pending != "" {
		return fmt.Sprintf("%.1f s, not quiet: %s", q.Took.Seconds(), q.Pending)
	}
	return fmt.Sprintf("%.2f s", q.Took.Seconds())
}

// quiesce waits until the suite is quiet (suite.QuietCheck.Wait), so that no measurement runs
// on the background work of the one before it. After limit it prints what was still pending
// and gives up, so a stuck consumer does not stop the run.
func (b *bench) quiesce(ctx context.Context, before string, limit time.Duration) (quietWait, error) {
	took, pending, err := b.quiet.Wait(ctx, limit)
	if err != nil {
		return quietWait{}, fmt.Errorf("waiting for a quiet suite before %s: %w", before, err)
	}
	w := quietWait{Took: took, Pending: strings.Join(pending, ", ")}
	if w.Pending != "" {
		fmt.Fprintf(b.out, "  (not quiet after %s before %s, going on; still pending: %s)\n", limit, before, w.Pending)
	}
	return w, nil
}
