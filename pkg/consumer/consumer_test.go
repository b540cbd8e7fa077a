package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A poison event is retried with back-off, parked after its retries, and does not hold up
// the events of other aggregates; a later event of its own aggregate waits behind it (order
// per aggregate). Both are listed, counted in the metrics, and handled in order on replay.
func TestPoisonEventIsParkedWhileOthersFlow(t *testing.T) {
	env := svctest.New(t)
	dsn := testkit.NewDatabase(t, "consumertest", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := pgxdb.Open(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var healed atomic.Bool
	var mu sync.Mutex
	var handled []string // signal ids in the order they were handled
	spec := consumer.Spec{
		Durable: "test-signals", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Retry: consumer.Retry{AckWait: 2 * time.Second, BackOff: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
			ParkAfter: 3, ReplayInterval: 200 * time.Millisecond},
		Handle: func(_ context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			if ev.Subject == "poisoned" && !healed.Load() {
				return errors.New("handler cannot cope with this event")
			}
			mu.Lock()
			handled = append(handled, msg.(*referralv1.SignalReceived).GetSignalId())
			mu.Unlock()
			return nil
		},
	}
	seen := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(handled, id)
	}
	subject := "wijkbrug.referral.0363.signal.received" // as a partner filters on it
	publish := func(aggregate, signalID string) string {
		return env.Publish(t, "referral", subject, aggregate, &referralv1.SignalReceived{SignalId: signalID})
	}
	p1 := publish("poisoned", "p1")
	publish("a", "a1")
	p2 := publish("poisoned", "p2")
	publish("b", "b1")

	reg := prometheus.NewRegistry()
	metrics := consumer.NewMetrics(reg, "testsvc")
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx, env.JetStream(), db, spec, consumer.Options{Metrics: metrics}) }()

	eventually(t, "events of other aggregates handled", func() bool { return seen("a1") && seen("b1") })
	eventually(t, "poison event and the one behind it parked", func() bool {
		ps, err := consumer.ListParked(ctx, db, "")
		return err == nil && len(ps) == 2 && ps[0].State == "parked" && ps[1].State == "parked"
	})
	ps, _ := consumer.ListParked(ctx, db, "test-signals")
	if ps[0].EventID != p1 || ps[0].Failures != 3 || !strings.Contains(ps[0].LastError, "cannot cope") {
		t.Fatalf("first parked: %+v", ps[0])
	}
	if ps[1].EventID != p2 || !strings.Contains(ps[1].LastError, "behind parked event "+p1) {
		t.Fatalf("second parked must wait behind the first: %+v", ps[1])
	}
	if seen("p1") || seen("p2") {
		t.Fatal("parked events must not have been handled")
	}
	eventually(t, "parked gauge", func() bool {
		return metricTotal(reg, "wijkbrug_consumer_parked") == 2
	})
	if r := metricTotal(reg, "wijkbrug_consumer_redeliveries_total"); r < 2 {
		t.Fatalf("redeliveries_total = %v, want ≥ 2", r)
	}
	// Later events keep flowing while two are parked.
	publish("c", "c1")
	eventually(t, "a later event handled", func() bool { return seen("c1") })

	// The operator fixes the cause and replays: both run, in order.
	healed.Store(true)
	n, err := consumer.RequestReplay(ctx, db, "test-signals", "")
	if err != nil || n != 2 {
		t.Fatalf("replay marked %d: %v", n, err)
	}
	eventually(t, "replayed", func() bool {
		ps, err := consumer.ListParked(ctx, db, "")
		return err == nil && len(ps) == 0 && seen("p1") && seen("p2")
	})
	mu.Lock()
	if i1, i2 := slices.Index(handled, "p1"), slices.Index(handled, "p2"); i1 > i2 {
		t.Fatalf("replay out of order: %v", handled)
	}
	mu.Unlock()
	eventually(t, "parked gauge back to 0", func() bool {
		return metricTotal(reg, "wijkbrug_consumer_parked") == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// metricTotal is the sum of every series of the metric name in reg (0 while it has none yet,
// where testutil.ToFloat64 would panic).
func metricTotal(reg *prometheus.Registry, name string) float64 {
	mfs, _ := reg.Gather()
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// Events of different aggregates are handled by several workers at once, while the events of
// one aggregate are still handled one after the other, in stream order.
func TestWorkersKeepOrderPerAggregate(t *testing.T) {
	env := svctest.New(t)
	dsn := testkit.NewDatabase(t, "consumerpar", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := pgxdb.Open(ctx, dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const aggregates, perAggregate = 6, 5
	var mu sync.Mutex
	handled := map[string][]string{} // aggregate → signal ids in handling order
	busy := map[string]bool{}        // aggregates being handled right now
	var running, most atomic.Int32
	spec := consumer.Spec{
		Durable: "test-parallel", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Handle: func(_ context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			mu.Lock()
			if busy[ev.Subject] {
				mu.Unlock()
				return errors.New("two events of one aggregate handled at the same time")
			}
			busy[ev.Subject] = true
			mu.Unlock()
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(30 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			busy[ev.Subject] = false
			handled[ev.Subject] = append(handled[ev.Subject], msg.(*referralv1.SignalReceived).GetSignalId())
			mu.Unlock()
			return nil
		},
	}
	subject := "wijkbrug.referral.0363.signal.received"
	for i := range perAggregate {
		for a := range aggregates {
			env.Publish(t, "referral", subject, fmt.Sprintf("agg-%d", a), &referralv1.SignalReceived{SignalId: fmt.Sprintf("agg-%d/%d", a, i)})
		}
	}
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx, env.JetStream(), db, spec, consumer.Options{Workers: 4}) }()
	eventually(t, "every event handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, ids := range handled {
			n += len(ids)
		}
		return n == aggregates*perAggregate
	})
	mu.Lock()
	for a := range aggregates {
		agg := fmt.Sprintf("agg-%d", a)
		for i, id := range handled[agg] {
			if want := fmt.Sprintf("%s/%d", agg, i); id != want {
				t.Errorf("%s handled out of order: %v", agg, handled[agg])
				break
			}
		}
	}
	mu.Unlock()
	if m := most.Load(); m < 2 {
		t.Errorf("at most %d events were handled at once with 4 workers; want events of different aggregates in parallel", m)
	}
	ps, err := consumer.ListParked(ctx, db, "")
	if err != nil || len(ps) != 0 {
		t.Fatalf("nothing may be parked (%v): %+v", err, ps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A handler cut off by the consumer's own shutdown has not failed: its event is left for
// redelivery and does not count towards parking.
func TestShutdownIsNotAFailureOfTheEvent(t *testing.T) {
	env := svctest.New(t)
	dsn := testkit.NewDatabase(t, "consumerstop", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := pgxdb.Open(context.Background(), dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	started := make(chan struct{}, 1)
	spec := consumer.Spec{
		Durable: "test-stop", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Handle: func(hctx context.Context, _ cloudevents.Envelope, _ proto.Message) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-hctx.Done()
			return hctx.Err()
		},
	}
	env.Publish(t, "referral", "wijkbrug.referral.0363.signal.received", "agg", &referralv1.SignalReceived{SignalId: "s1"})
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx, env.JetStream(), db, spec, consumer.Options{}) }()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler never ran")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM parked_events WHERE consumer = 'test-stop'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Fatalf("shutdown recorded %d failure rows for the event, want none", rows)
	}
}
