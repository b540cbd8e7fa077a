package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
)

var system = identity.System(identity.Organisation{OIN: "00000099000000000001", Name: "wijkbrug-test", Type: identity.OrgService}, "test-job")

// queue is a fake table of due items: each batch takes up to limit of them.
type queue struct {
	mu      sync.Mutex
	due     int
	limits  []int
	callers []identity.Caller
	failAt  int // the batch (1-based) that fails; 0: none
}

func (q *queue) batch(ctx context.Context, limit int) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limits = append(q.limits, limit)
	c, _ := identity.From(ctx)
	q.callers = append(q.callers, c)
	if len(q.limits) == q.failAt {
		return 7, errors.New("database gone") // a failed batch's count is ignored
	}
	n := min(limit, q.due)
	q.due -= n
	return n, nil
}

func TestDrainRunsBatchesUntilOneIsShort(t *testing.T) {
	q := &queue{due: 25}
	n, err := scheduler.Drain(context.Background(), scheduler.Job{Name: "j", BatchSize: 10, Caller: system, Batch: q.batch})
	if err != nil || n != 25 {
		t.Fatalf("Drain = %d, %v; want 25", n, err)
	}
	if len(q.limits) != 3 || q.limits[0] != 10 || q.limits[2] != 10 {
		t.Fatalf("batches with limits %v, want three of 10", q.limits)
	}
	for _, c := range q.callers {
		if c != system {
			t.Fatalf("batch ran as %+v, want the job's caller", c)
		}
	}

	// A full last batch is followed by an empty one, which ends the drain.
	q = &queue{due: 20}
	if n, err := scheduler.Drain(context.Background(), scheduler.Job{Name: "j", BatchSize: 10, Caller: system, Batch: q.batch}); err != nil || n != 20 || len(q.limits) != 3 {
		t.Fatalf("Drain = %d, %v after %d batches; want 20 after 3", n, err, len(q.limits))
	}
}

func TestDrainStopsOnErrorAndContextEnd(t *testing.T) {
	q := &queue{due: 100, failAt: 2}
	n, err := scheduler.Drain(context.Background(), scheduler.Job{Name: "j", BatchSize: 10, Caller: system, Batch: q.batch})
	if err == nil || n != 10 || len(q.limits) != 2 {
		t.Fatalf("Drain = %d, %v after %d batches; want the first batch's 10 and the error after 2", n, err, len(q.limits))
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	n, err = scheduler.Drain(ctx, scheduler.Job{Name: "j", BatchSize: 1, Caller: system, Batch: func(context.Context, int) (int, error) {
		calls++
		if calls == 3 {
			cancel()
		}
		return 1, nil
	}})
	if !errors.Is(err, context.Canceled) || n != 3 || calls != 3 {
		t.Fatalf("Drain after cancel = %d, %v after %d calls", n, err, calls)
	}
}

func TestValidateNamesWhatIsMissing(t *testing.T) {
	err := scheduler.Job{Name: "j"}.Validate()
	for _, want := range []string{"interval", "batch size", "caller", "batch function"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate = %v; want it to name %q", err, want)
		}
	}
	if err := (scheduler.Job{Name: "j", Interval: time.Second, BatchSize: 1, Caller: system, Batch: (&queue{}).batch}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// Run drains at once and on every tick, counts passes, items and failures, logs a failure and
// stops when its context ends.
func TestRunCountsMetricsAndStopsWithItsContext(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := scheduler.NewMetrics(reg)
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))

	q := &queue{due: 25, failAt: 4} // pass 1: 10+10+5; pass 2: fails at once; then empty passes
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		scheduler.Run(ctx, scheduler.Job{Name: "j", Interval: 5 * time.Millisecond, BatchSize: 10, Caller: system, Batch: q.batch}, log, m)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		batches := len(q.limits)
		q.mu.Unlock()
		if batches >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d batches ran", batches)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}

	if got := value(t, reg, "wijkbrug_scheduler_items_total", ""); got != 25 {
		t.Fatalf("items = %v, want 25", got)
	}
	if got := value(t, reg, "wijkbrug_scheduler_runs_total", "error"); got != 1 {
		t.Fatalf("failed runs = %v, want 1", got)
	}
	if got := value(t, reg, "wijkbrug_scheduler_runs_total", "ok"); got < 2 {
		t.Fatalf("ok runs = %v, want at least 2", got)
	}
	if got := value(t, reg, "wijkbrug_scheduler_last_success_timestamp_seconds", ""); got < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatalf("last success = %v", got)
	}
	n, err := testutil.GatherAndCount(reg, "wijkbrug_scheduler_runs_total", "wijkbrug_scheduler_items_total",
		"wijkbrug_scheduler_duration_seconds", "wijkbrug_scheduler_last_success_timestamp_seconds")
	if err != nil || n != 5 {
		t.Fatalf("metric series: %d, %v; want runs{ok,error}, items, duration and last success", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{`msg="scheduler pass" scheduler=j items=25`, `msg="scheduler failed; retrying at the next tick" scheduler=j items=0 error="database gone"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// value reads the counter or gauge name of job "j" (with the outcome label when given).
func value(t *testing.T, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if (l.GetName() == "scheduler" && l.GetValue() != "j") || (l.GetName() == "outcome" && l.GetValue() != outcome) {
					continue metrics
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s{scheduler=j,outcome=%q}", name, outcome)
	return 0
}
