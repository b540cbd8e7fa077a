package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/protobuf/proto"
)

// batchDB is a database with the platform tables and a table the test handlers write to:
// one row per handled event, with the transaction that committed it.
func batchDB(t *testing.T, name string) *pgxdb.DB {
	t.Helper()
	dsn := testkit.NewDatabase(t, name, func(ctx context.Context, dsn string) error {
		if err := pgxdb.Migrate(ctx, dsn, platformdb.Migrations()); err != nil {
			return err
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `CREATE TABLE handled (signal_id text PRIMARY KEY, aggregate text NOT NULL, tx bigint NOT NULL)`)
		return err
	})
	db, err := pgxdb.Open(context.Background(), dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// start runs the consumer until the returned stop, which fails the test when Run failed.
func start(t *testing.T, env *svctest.Env, db *pgxdb.DB, spec consumer.Spec, opts consumer.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx, env.JetStream(), db, spec, opts) }()
	t.Cleanup(cancel)
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// handled is eventually for "every event handled" by the consumer of spec. When it times out
// it says where the consumer stands on the broker and what the package's goroutines are doing:
// once in CI, under load, TestAFailingPrepareLeavesTheHandlersToReadAlone handled its first two
// batches and then nothing more for 20 s, with nothing logged (thirty-sixth session), and the
// next time that happens the failure should tell what held the events.
func handled(t *testing.T, env *svctest.Env, spec consumer.Spec, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Logf("goroutines of pkg/consumer:\n%s", consumerGoroutines())
			t.Fatalf("not within 20 s: every event handled; the consumer on the broker: %s", consumerState(env, spec))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// consumerState is the durable consumer's state as the broker sees it.
func consumerState(env *svctest.Env, spec consumer.Spec) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := env.JetStream().Consumer(ctx, spec.Stream, spec.Durable)
	if err != nil {
		return err.Error()
	}
	i, err := c.Info(ctx)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("delivered up to stream sequence %d, acknowledged up to %d, %d waiting for an ack, %d redelivered, %d not yet delivered, %d pull requests waiting",
		i.Delivered.Stream, i.AckFloor.Stream, i.NumAckPending, i.NumRedelivered, i.NumPending, i.NumWaiting)
}

// consumerGoroutines are the stacks of the goroutines in pkg/consumer's code.
func consumerGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "wijkbrug/pkg/consumer.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// A backlog is handled in batches: several events commit in one transaction, each still
// exactly once, in order per aggregate, and each sees what the events before it in its batch
// wrote with deferred writes (which only go out with the next event's claim).
func TestBacklogIsHandledInBatches(t *testing.T) {
	env := svctest.New(t)
	db := batchDB(t, "consumerbatch")
	ctx := context.Background()

	const aggregates, perAggregate = 12, 4
	var mu sync.Mutex
	var blind []string // events that did not see the rows of their aggregate's earlier events
	spec := consumer.Spec{
		Durable: "test-batch", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			id := msg.(*referralv1.SignalReceived).GetSignalId()
			nth, err := strconv.Atoi(id[strings.LastIndex(id, "/")+1:])
			if err != nil {
				return consumer.Permanent(err)
			}
			var earlier int
			if err := db.Q(ctx).QueryRow(ctx, `SELECT count(*) FROM handled WHERE aggregate = $1`, ev.Subject).Scan(&earlier); err != nil {
				return err
			}
			if earlier != nth {
				mu.Lock()
				blind = append(blind, fmt.Sprintf("%s saw %d earlier rows", id, earlier))
				mu.Unlock()
			}
			return db.Defer(ctx, `INSERT INTO handled (signal_id, aggregate, tx) VALUES ($1, $2, txid_current())`, id, ev.Subject)
		},
	}
	subject := "wijkbrug.referral.0363.signal.received"
	for i := range perAggregate {
		for a := range aggregates {
			env.Publish(t, "referral", subject, fmt.Sprintf("agg-%d", a), &referralv1.SignalReceived{SignalId: fmt.Sprintf("agg-%d/%d", a, i)})
		}
	}
	reg := prometheus.NewRegistry()
	stop := start(t, env, db, spec, consumer.Options{Workers: 2, MaxBatch: 8, Metrics: consumer.NewMetrics(reg, "testsvc")})
	const total = aggregates * perAggregate
	var rows, txs int
	// Every event committed and acknowledged: a batch is acked (and counted) after its commit.
	handled(t, env, spec, func() bool {
		err := db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT tx) FROM handled`).Scan(&rows, &txs)
		return err == nil && rows == total && metricTotal(reg, "wijkbrug_consumer_acked_total") == total
	})
	if txs > total/2 {
		t.Errorf("%d events committed in %d transactions; want batches (at most %d transactions)", total, txs, total/2)
	}
	if n := metricTotal(reg, "wijkbrug_consumer_batched_events_total"); n < float64(total-txs) {
		t.Errorf("batched_events_total = %v; %d events committed in %d transactions", n, total, txs)
	}
	var claimed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM processed_events WHERE consumer = 'test-batch'`).Scan(&claimed); err != nil || claimed != total {
		t.Errorf("%d events claimed (%v), want %d", claimed, err, total)
	}
	mu.Lock()
	if len(blind) > 0 {
		t.Errorf("events that did not see their aggregate's earlier events: %v", blind)
	}
	mu.Unlock()
	ps, err := consumer.ListParked(ctx, db, "")
	if err != nil || len(ps) != 0 {
		t.Fatalf("nothing may be parked (%v): %+v", err, ps)
	}
	stop()
}

// A failing event in a batch fails the batch; every event of it is then handled alone, so the
// others commit once each, the failing one is retried and parked on its own, and a later event
// of its aggregate waits behind it.
func TestAFailingEventInABatchIsHandledAlone(t *testing.T) {
	env := svctest.New(t)
	db := batchDB(t, "consumerbatchfail")
	ctx := context.Background()

	spec := consumer.Spec{
		Durable: "test-batch-fail", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Retry: consumer.Retry{AckWait: 2 * time.Second, BackOff: []time.Duration{50 * time.Millisecond}, ParkAfter: 2,
			ReplayInterval: time.Hour},
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			id := msg.(*referralv1.SignalReceived).GetSignalId()
			if id == "e5" {
				return errors.New("handler cannot cope with this event")
			}
			return db.Defer(ctx, `INSERT INTO handled (signal_id, aggregate, tx) VALUES ($1, $2, txid_current())`, id, ev.Subject)
		},
	}
	subject := "wijkbrug.referral.0363.signal.received"
	ids := map[string]string{}
	for i := range 12 {
		agg := fmt.Sprintf("agg-%d", i)
		if i == 5 || i == 9 {
			agg = "poisoned"
		}
		ids[fmt.Sprintf("e%d", i)] = env.Publish(t, "referral", subject, agg, &referralv1.SignalReceived{SignalId: fmt.Sprintf("e%d", i)})
	}
	stop := start(t, env, db, spec, consumer.Options{Workers: 1, MaxBatch: 16})
	eventually(t, "the failing event and the one behind it parked", func() bool {
		ps, err := consumer.ListParked(ctx, db, "")
		return err == nil && len(ps) == 2 && ps[0].State == "parked" && ps[1].State == "parked"
	})
	ps, _ := consumer.ListParked(ctx, db, "test-batch-fail")
	if ps[0].EventID != ids["e5"] || ps[0].Failures != 2 || !strings.Contains(ps[0].LastError, "cannot cope") {
		t.Errorf("first parked: %+v", ps[0])
	}
	if ps[1].EventID != ids["e9"] || !strings.Contains(ps[1].LastError, "behind parked event "+ids["e5"]) {
		t.Errorf("second parked must wait behind the first: %+v", ps[1])
	}
	eventually(t, "the other ten committed", func() bool {
		var n int
		return db.Pool.QueryRow(ctx, `SELECT count(*) FROM handled`).Scan(&n) == nil && n == 10
	})
	rows, err := db.Pool.Query(ctx, `SELECT signal_id FROM handled ORDER BY signal_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, "e5") || slices.Contains(got, "e9") {
		t.Errorf("a parked event committed: %v", got)
	}
	var claimed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM processed_events WHERE consumer = 'test-batch-fail'`).Scan(&claimed); err != nil || claimed != 10 {
		t.Errorf("%d events claimed (%v), want the 10 handled", claimed, err)
	}
	stop()
}

// A batch cut off by the consumer's own shutdown has not failed: no event is recorded as
// failing, and nothing from the cut-off event on is claimed or committed, so those events come
// back after a restart.
func TestShutdownDuringABatchIsNotAFailure(t *testing.T) {
	env := svctest.New(t)
	db := batchDB(t, "consumerbatchstop")
	started := make(chan struct{}, 1)
	spec := consumer.Spec{
		Durable: "test-batch-stop", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Handle: func(hctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			id := msg.(*referralv1.SignalReceived).GetSignalId()
			if id != "s3" {
				return db.Defer(hctx, `INSERT INTO handled (signal_id, aggregate, tx) VALUES ($1, $2, txid_current())`, id, ev.Subject)
			}
			select {
			case started <- struct{}{}:
			default:
			}
			<-hctx.Done()
			return hctx.Err()
		},
	}
	for i := range 6 {
		env.Publish(t, "referral", "wijkbrug.referral.0363.signal.received", fmt.Sprintf("agg-%d", i), &referralv1.SignalReceived{SignalId: fmt.Sprintf("s%d", i)})
	}
	// The events wait before the consumer starts: a backlog, which its one worker may take as a batch.
	stop := start(t, env, db, spec, consumer.Options{Workers: 1, MaxBatch: 8})
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler never reached the event it blocks on")
	}
	stop()
	var committed, failures, claimed int
	bg := context.Background()
	if err := db.Pool.QueryRow(bg, `SELECT (SELECT count(*) FROM handled), (SELECT count(*) FROM parked_events),
		(SELECT count(*) FROM processed_events)`).Scan(&committed, &failures, &claimed); err != nil {
		t.Fatal(err)
	}
	// The events handled before s3 in its batch (if it was one) rolled back with it; events
	// handled alone before the batch formed may have committed, but nothing after s3 did.
	if failures != 0 {
		t.Errorf("shutdown recorded %d failure rows, want none", failures)
	}
	if committed != claimed {
		t.Errorf("%d events committed but %d claimed", committed, claimed)
	}
	for _, id := range []string{"s3", "s4", "s5"} {
		var n int
		if err := db.Pool.QueryRow(bg, `SELECT count(*) FROM handled WHERE signal_id = $1`, id).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s committed (%d rows, %v) although the consumer stopped at s3", id, n, err)
		}
	}
}

// preparedKey carries the signal ids Spec.Prepare saw, to the handlers of its batch.
type preparedKey struct{}

// Spec.Prepare sees every batch before its handlers, as the consumer's caller, with the batch's
// events in order, and its context reaches exactly those handlers; an event handled alone
// (batches of one here) never goes through it.
func TestPrepareSeesEachBatchBeforeItsHandlers(t *testing.T) {
	env := svctest.New(t)
	db := batchDB(t, "consumerprepare")
	ctx := context.Background()

	caller := identity.System(identity.Organisation{OIN: "00000000000000000042", Name: "Testsvc", Type: identity.OrgService}, "test")
	var mu sync.Mutex
	var problems []string
	prepared := map[string]bool{} // signal id → its handler ran with a prepared context naming it
	batches := 0
	spec := consumer.Spec{
		Durable: "test-prepare", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Caller: caller,
		Prepare: func(ctx context.Context, events []proto.Message) (context.Context, error) {
			ids := make([]string, len(events))
			for i, e := range events {
				ids[i] = e.(*referralv1.SignalReceived).GetSignalId()
			}
			mu.Lock()
			defer mu.Unlock()
			batches++
			if c, _ := identity.From(ctx); c.Org != caller.Org {
				problems = append(problems, fmt.Sprintf("Prepare ran as %+v", c.Org))
			}
			if len(ids) < 2 {
				problems = append(problems, fmt.Sprintf("Prepare called for %d event(s)", len(ids)))
			}
			return context.WithValue(ctx, preparedKey{}, ids), nil
		},
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			id := msg.(*referralv1.SignalReceived).GetSignalId()
			ids, _ := ctx.Value(preparedKey{}).([]string)
			mu.Lock()
			prepared[id] = slices.Contains(ids, id)
			if ids != nil && !prepared[id] {
				problems = append(problems, fmt.Sprintf("%s handled with the prepared context of another batch %v", id, ids))
			}
			mu.Unlock()
			return db.Defer(ctx, `INSERT INTO handled (signal_id, aggregate, tx) VALUES ($1, $2, txid_current())`, id, ev.Subject)
		},
	}
	const total = 40
	for i := range total {
		env.Publish(t, "referral", "wijkbrug.referral.0363.signal.received", fmt.Sprintf("agg-%d", i%10),
			&referralv1.SignalReceived{SignalId: fmt.Sprintf("sig-%d", i)})
	}
	stop := start(t, env, db, spec, consumer.Options{Workers: 2, MaxBatch: 8})
	handled(t, env, spec, func() bool {
		var n int
		err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM handled`).Scan(&n)
		return err == nil && n == total
	})
	stop()

	// Each event with the number of events committed in its transaction.
	rows, err := db.Pool.Query(ctx, `SELECT signal_id, count(*) OVER (PARTITION BY tx) FROM handled`)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	inBatch := 0
	var id string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		if n > 1 {
			inBatch++
		}
		if want := n > 1; prepared[id] != want {
			t.Errorf("%s committed with %d event(s) in its transaction, but prepared = %v", id, n, prepared[id])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if inBatch == 0 || batches == 0 {
		t.Fatalf("no batch formed (%d Prepare calls): the test proves nothing", batches)
	}
	if len(problems) > 0 {
		t.Errorf("%v", problems)
	}
}

// A Prepare that fails costs the batch nothing but what it would have read: the batch still
// commits together, its handlers run without a prepared context, and the failure is counted.
func TestAFailingPrepareLeavesTheHandlersToReadAlone(t *testing.T) {
	env := svctest.New(t)
	db := batchDB(t, "consumerpreparefail")
	ctx := context.Background()

	var mu sync.Mutex
	prepared := 0
	spec := consumer.Spec{
		Durable: "test-prepare-fail", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Prepare: func(ctx context.Context, events []proto.Message) (context.Context, error) {
			return context.WithValue(ctx, preparedKey{}, []string{"not to be used"}), errors.New("referral is away")
		},
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			if ctx.Value(preparedKey{}) != nil {
				mu.Lock()
				prepared++
				mu.Unlock()
			}
			return db.Defer(ctx, `INSERT INTO handled (signal_id, aggregate, tx) VALUES ($1, $2, txid_current())`,
				msg.(*referralv1.SignalReceived).GetSignalId(), ev.Subject)
		},
	}
	const total = 32
	for i := range total {
		env.Publish(t, "referral", "wijkbrug.referral.0363.signal.received", fmt.Sprintf("agg-%d", i%8),
			&referralv1.SignalReceived{SignalId: fmt.Sprintf("sig-%d", i)})
	}
	reg := prometheus.NewRegistry()
	stop := start(t, env, db, spec, consumer.Options{Workers: 2, MaxBatch: 8, Metrics: consumer.NewMetrics(reg, "testsvc")})
	var rows, txs int
	handled(t, env, spec, func() bool {
		err := db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT tx) FROM handled`).Scan(&rows, &txs)
		return err == nil && rows == total
	})
	stop()
	if txs == total {
		t.Fatalf("%d events in %d transactions: no batch formed, the test proves nothing", total, txs)
	}
	var batches int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT tx FROM handled GROUP BY tx HAVING count(*) > 1) b`).Scan(&batches); err != nil {
		t.Fatal(err)
	}
	if failures := metricTotal(reg, "wijkbrug_consumer_prepare_failures_total"); failures != float64(batches) {
		t.Errorf("prepare_failures_total = %v for %d batches committed; want one per batch", failures, batches)
	}
	mu.Lock()
	defer mu.Unlock()
	if prepared > 0 {
		t.Errorf("%d handlers ran with the context of a Prepare that failed", prepared)
	}
}

// Events that come one by one at a steady rate, each handled before the next arrives, are
// batched when the workers linger: a worker whose previous batch began less than twice the
// linger before waits for more events to join. After a quiet spell a lone event is handled at
// once, not after the linger.
func TestATrickleOfEventsIsBatchedWhileItLasts(t *testing.T) {
	env := svctest.New(t)
	db := batchDB(t, "consumerlinger")
	ctx := context.Background()

	handledAt := map[string]time.Time{}
	var mu sync.Mutex
	spec := consumer.Spec{
		Durable: "test-linger", Stream: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.*.signal.received"},
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			id := msg.(*referralv1.SignalReceived).GetSignalId()
			mu.Lock()
			handledAt[id] = time.Now()
			mu.Unlock()
			return db.Defer(ctx, `INSERT INTO handled (signal_id, aggregate, tx) VALUES ($1, $2, txid_current())`, id, ev.Subject)
		},
	}
	const linger = time.Second
	stop := start(t, env, db, spec, consumer.Options{Workers: 1, MaxBatch: 8, Linger: linger})
	subject := "wijkbrug.referral.0363.signal.received"
	count := func() (rows, txs int) {
		if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT tx) FROM handled`).Scan(&rows, &txs); err != nil {
			t.Fatal(err)
		}
		return rows, txs
	}

	// A trickle: 24 events 50 ms apart. Without the linger each would be handled (in well
	// under 50 ms) before the next arrives, a transaction each.
	const trickle = 24
	for i := range trickle {
		env.Publish(t, "referral", subject, fmt.Sprintf("agg-%d", i), &referralv1.SignalReceived{SignalId: fmt.Sprintf("t%d", i)})
		time.Sleep(50 * time.Millisecond)
	}
	handled(t, env, spec, func() bool { rows, _ := count(); return rows == trickle })
	if _, txs := count(); txs > trickle/3 {
		t.Errorf("%d events 50 ms apart committed in %d transactions; want batches while the trickle lasts (at most %d)", trickle, txs, trickle/3)
	}

	// A quiet spell, then one event: handled without waiting for others.
	time.Sleep(2*linger + 200*time.Millisecond)
	published := time.Now()
	env.Publish(t, "referral", subject, "lone", &referralv1.SignalReceived{SignalId: "lone"})
	handled(t, env, spec, func() bool { rows, _ := count(); return rows == trickle+1 })
	mu.Lock()
	took := handledAt["lone"].Sub(published)
	mu.Unlock()
	if took >= linger/2 {
		t.Errorf("a lone event after a quiet spell was handled %s after it was published; want it at once, not after the linger (%s)", took.Round(time.Millisecond), linger)
	}
	stop()
}
