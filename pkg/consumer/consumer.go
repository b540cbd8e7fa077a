// Package consumer runs idempotent JetStream consumers: each event is handled inside a
// database transaction that also records its id, so a redelivered event (after a crash
// between commit and ack, or a publisher retry) has no second effect.
//
// Consumers degrade gracefully:
//   - a handler that takes long sends progress heartbeats (InProgress), so the ack deadline can
//     be short and a crashed consumer's events come back within seconds;
//   - a failing event is redelivered with back-off; a transient failure (database, NATS or a
//     peer away) is retried for as long as it lasts, any other failure at most
//     Retry.ParkAfter times, after which the event is parked;
//   - a parked event (and every later event of the same aggregate, to keep their order) waits
//     in the parked_events table, visible in metrics, listable and replayable by an operator
//     (wijkbrug parked list|replay); events of other aggregates flow on.
//
// Events are handled by several workers at once (Options.Workers). All events of one
// aggregate (the CloudEvents subject) go to the same worker, so they are handled one after the
// other in stream order, as with a single worker; events of different aggregates run in
// parallel. A handler must therefore be safe against a concurrent handler of another
// aggregate, exactly as an RPC is against another RPC.
//
// When events wait for a worker (a backlog), it handles up to Options.MaxBatch of them in one
// transaction, one after the other, each with its own claim and parked-event check, and
// commits them together: one commit (and its WAL flush) for the batch instead of one per
// event. An event's deferred writes go out with the next event's claim, so every event sees
// what the events before it wrote, as it would in transactions of their own. When anything in
// a batch fails, the batch is rolled back and each of its events is handled again alone, in
// order, with the retry and parking rules above; a redelivered event is always handled alone.
// Without a backlog a batch is one event.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// Handler handles one decoded event. ctx carries the transaction and the system caller.
type Handler func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error

// Spec describes one durable consumer.
type Spec struct {
	// Durable is the consumer's name, unique per consuming service, e.g. "intake-signals".
	Durable string
	// Stream is the producing service's stream, e.g. natsx.StreamName("referral").
	Stream string
	// Subjects filter the stream.
	Subjects []string
	Handle   Handler
	// Caller is the identity the handler acts as (identity.System).
	Caller identity.Caller
	// Retry tunes redelivery and parking; the zero value gives the defaults.
	Retry Retry
	// Prepare, when set, runs before a batch of events is handled in one transaction (never
	// for an event handled alone), with the batch's events in order, and returns the context
	// their handlers run in. A consumer whose events only announce what it must read (intake's
	// signals) reads a batch's worth there in one call instead of one per event. It runs
	// outside the transaction, as Caller, and changes nothing: what it could not read, the
	// handler reads itself. An error is logged and the handlers run without what it read.
	Prepare func(ctx context.Context, events []proto.Message) (context.Context, error)
}

// Retry tunes how a consumer retries and when it gives up.
type Retry struct {
	// AckWait is the ack deadline of a delivery (default 10 s). A handler still working sends
	// a heartbeat every third of it, so only a crashed or hung consumer lets it expire.
	AckWait time.Duration
	// BackOff is the delay before the n-th redelivery of a failed event (the last value
	// repeats). Default 1 s, 2 s, 5 s, 10 s, 30 s, 60 s.
	BackOff []time.Duration
	// ParkAfter is how many non-transient failures park an event (default 5).
	ParkAfter int
	// ReplayInterval is how often requested replays are picked up (default 2 s).
	ReplayInterval time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.AckWait <= 0 {
		r.AckWait = 10 * time.Second
	}
	if len(r.BackOff) == 0 {
		r.BackOff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}
	}
	if r.ParkAfter <= 0 {
		r.ParkAfter = 5
	}
	if r.ReplayInterval <= 0 {
		r.ReplayInterval = 2 * time.Second
	}
	return r
}

func (r Retry) delay(delivered uint64) time.Duration {
	i := int(delivered) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(r.BackOff) {
		i = len(r.BackOff) - 1
	}
	return r.BackOff[i]
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks an error that retrying cannot fix (a malformed event): the event is parked
// at once instead of being redelivered.
func Permanent(err error) error { return permanentError{err} }

// Options is what the runtime gives every consumer of a service.
type Options struct {
	Logger  *slog.Logger
	Metrics *Metrics
	// Workers is how many events of different aggregates are handled at once (default
	// DefaultWorkers()). Each worker holds at most one database connection while it works.
	Workers int
	// MaxBatch is how many waiting events a worker handles in one transaction (default
	// DefaultMaxBatch; 1 gives every event a transaction of its own).
	MaxBatch int
	// Linger is how long a worker waits for more events to join a batch that is not full,
	// while events keep coming: only when its previous batch began less than twice Linger
	// before. A lone event after a quiet spell is handled at once. 0 = never waits.
	Linger time.Duration
}

// DefaultWorkers is the number of workers of a consumer when Options.Workers is not set: one
// for every two CPUs the process may use (GOMAXPROCS, which follows a container's CPU limit),
// at least one. A consumer handles a backlog in batches, so on CPUs shared with the RPCs more
// workers do not work a backlog off faster; they take CPU from the calls. On two CPUs, four
// workers worked the chain off no faster than two, and two no faster than one, while the
// calls were slower (docs/decisions.md, issue 12, items 23 and 31).
func DefaultWorkers() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// DefaultMaxBatch is the largest batch of events of a worker when Options.MaxBatch is not set.
const DefaultMaxBatch = 16

// Metrics are the consumer gauges and counters of one service, labelled per consumer.
type Metrics struct {
	pending, ackPending, parked *prometheus.GaugeVec
	redeliveries, acked         *prometheus.CounterVec
	batches, batchedEvents      *prometheus.CounterVec
	prepareFailures             *prometheus.CounterVec
}

// NewMetrics registers wijkbrug_consumer_pending, wijkbrug_consumer_ack_pending,
// wijkbrug_consumer_redeliveries_total, wijkbrug_consumer_acked_total, wijkbrug_consumer_parked,
// wijkbrug_consumer_batches_total, wijkbrug_consumer_batched_events_total and
// wijkbrug_consumer_prepare_failures_total for service.
func NewMetrics(reg prometheus.Registerer, service string) *Metrics {
	labels := prometheus.Labels{"service": service}
	m := &Metrics{
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wijkbrug_consumer_pending", ConstLabels: labels,
			Help: "Events on the stream not yet delivered to the consumer."}, []string{"consumer"}),
		ackPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wijkbrug_consumer_ack_pending", ConstLabels: labels,
			Help: "Events delivered to the consumer and not yet acknowledged (in progress or waiting for redelivery)."}, []string{"consumer"}),
		parked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wijkbrug_consumer_parked", ConstLabels: labels,
			Help: "Events parked after failing (wijkbrug parked list shows them)."}, []string{"consumer"}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wijkbrug_consumer_redeliveries_total", ConstLabels: labels,
			Help: "Deliveries of an event that had been delivered before (after a failure or an expired ack deadline)."}, []string{"consumer"}),
		acked: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wijkbrug_consumer_acked_total", ConstLabels: labels,
			Help: "Events the consumer is done with and acknowledged: handled, a copy of one handled before, or parked. Flat while events are delivered means the consumer is stuck."}, []string{"consumer"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wijkbrug_consumer_batches_total", ConstLabels: labels,
			Help: "Transactions of more than one event (a backlog); outcome=failed: rolled back, its events then handled one by one."}, []string{"consumer", "outcome"}),
		batchedEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wijkbrug_consumer_batched_events_total", ConstLabels: labels,
			Help: "Events committed in transactions of more than one event."}, []string{"consumer"}),
		prepareFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wijkbrug_consumer_prepare_failures_total", ConstLabels: labels,
			Help: "Batches whose read-ahead (Spec.Prepare, e.g. intake's read of a batch's signals) failed; their handlers then read what they need one event at a time."}, []string{"consumer"}),
	}
	if reg != nil {
		reg.MustRegister(m.pending, m.ackPending, m.parked, m.redeliveries, m.acked, m.batches, m.batchedEvents, m.prepareFailures)
	}
	return m
}

type runner struct {
	db       *pgxdb.DB
	spec     Spec
	retry    Retry
	log      *slog.Logger
	m        *Metrics
	workers  int
	maxBatch int
	linger   time.Duration
}

// Run consumes until ctx ends. It waits for the stream to exist, so services may start in
// any order.
func Run(ctx context.Context, js jetstream.JetStream, db *pgxdb.DB, spec Spec, opts Options) error {
	r := &runner{db: db, spec: spec, retry: spec.Retry.withDefaults(), log: opts.Logger, m: opts.Metrics, workers: opts.Workers,
		maxBatch: opts.MaxBatch, linger: opts.Linger}
	if r.workers <= 0 {
		r.workers = DefaultWorkers()
	}
	if r.maxBatch <= 0 {
		r.maxBatch = DefaultMaxBatch
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.m == nil {
		r.m = NewMetrics(nil, "")
	}
	// Every series exists from the start (at 0), so rates and alerts see the consumer at once.
	r.m.redeliveries.WithLabelValues(spec.Durable)
	r.m.acked.WithLabelValues(spec.Durable)
	r.m.batches.WithLabelValues(spec.Durable, "committed")
	r.m.batches.WithLabelValues(spec.Durable, "failed")
	r.m.batchedEvents.WithLabelValues(spec.Durable)
	if spec.Prepare != nil {
		r.m.prepareFailures.WithLabelValues(spec.Durable)
	}
	stream, err := natsx.WaitForStream(ctx, js, spec.Stream)
	if err != nil {
		return err
	}
	var cons jetstream.Consumer
	for {
		cons, err = stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:        spec.Durable,
			FilterSubjects: spec.Subjects,
			AckPolicy:      jetstream.AckExplicitPolicy,
			DeliverPolicy:  jetstream.DeliverAllPolicy,
			AckWait:        r.retry.AckWait,
			// Unbounded on the server: a transient failure is retried for as long as it lasts;
			// other failures are bounded by parking (Retry.ParkAfter), which keeps the event.
			MaxDeliver: -1,
			// Room for every worker's batch in progress and the next one waiting.
			MaxAckPending: max(64, 2*r.workers*r.maxBatch),
		})
		if err == nil {
			break
		}
		r.log.WarnContext(ctx, "create consumer failed; retrying", "consumer", spec.Durable, "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	// A small prefetch (a batch per worker): buffered deliveries get no heartbeats, so their
	// ack deadline must not run out while earlier ones are handled. (A delivery waiting in a
	// worker's queue has its heartbeat running from the moment it is dispatched.)
	it, err := cons.Messages(jetstream.PullMaxMessages(max(8, r.workers*r.maxBatch)))
	if err != nil {
		return fmt.Errorf("consumer %s: %w", spec.Durable, err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	go r.watch(ctx, cons)
	go r.replayLoop(ctx, spec.Stream)

	queues := make([]chan dispatched, r.workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan dispatched, r.maxBatch)
		wg.Add(1)
		go func(q <-chan dispatched) {
			defer wg.Done()
			var began time.Time // when this worker's previous batch began
			for d := range q {
				batch := r.fill(q, d, &began)
				if ctx.Err() != nil {
					for _, d := range batch {
						d.stopHeartbeat() // shutting down: left unacknowledged, redelivered later
					}
					continue
				}
				r.handleBatch(ctx, spec.Stream, batch)
			}
		}(queues[i])
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			r.log.WarnContext(ctx, "consumer fetch failed", "consumer", spec.Durable, "error", err.Error())
			continue
		}
		d := dispatched{msg: msg, stopHeartbeat: r.heartbeat(ctx, msg)}
		q := queues[worker(orderKey(msg), len(queues))]
		select {
		case q <- d:
		case <-ctx.Done():
			d.stopHeartbeat()
			return nil // not acknowledged: redelivered after the ack deadline
		}
	}
}

// fill returns first with the deliveries already waiting in q behind it, up to maxBatch. While
// events keep coming (the worker's previous batch began less than twice the linger before,
// *began), it waits up to the linger for more to fill the batch: a batch shares one commit, so
// at a steady rate too low for a backlog (events one by one, a transaction each) a few
// milliseconds of waiting save most of the commits and round trips of the events that join.
func (r *runner) fill(q <-chan dispatched, first dispatched, began *time.Time) []dispatched {
	batch := []dispatched{first}
	now := time.Now()
	flowing := r.linger > 0 && now.Sub(*began) < 2*r.linger
	*began = now
	var deadline <-chan time.Time
	for len(batch) < r.maxBatch {
		select {
		case d, ok := <-q:
			if !ok {
				return batch
			}
			batch = append(batch, d)
			continue
		default:
		}
		if !flowing {
			return batch
		}
		if deadline == nil {
			t := time.NewTimer(r.linger)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case d, ok := <-q:
			if !ok {
				return batch
			}
			batch = append(batch, d)
		case <-deadline:
			return batch
		}
	}
	return batch
}

// dispatched is a delivery on its way to (or in) a worker, with its heartbeat running.
type dispatched struct {
	msg           jetstream.Msg
	stopHeartbeat context.CancelFunc
}

// orderKey is what keeps events in order: the aggregate (CloudEvents subject), or for an event
// without one its NATS subject.
func orderKey(msg jetstream.Msg) string {
	if k := msg.Headers().Get(cloudevents.HeaderSubject); k != "" {
		return k
	}
	return msg.Subject()
}

// worker is the index of the worker that handles every event with key.
func worker(key string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// heartbeat tells JetStream every third of the ack deadline that msg is being worked on, until
// the returned function is called.
func (r *runner) heartbeat(ctx context.Context, msg jetstream.Msg) context.CancelFunc {
	hbCtx, stop := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(r.retry.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return stop
}

// watch keeps the consumer gauges current.
func (r *runner) watch(ctx context.Context, cons jetstream.Consumer) {
	for {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if info, err := cons.Info(ictx); err == nil {
			r.m.pending.WithLabelValues(r.spec.Durable).Set(float64(info.NumPending))
			r.m.ackPending.WithLabelValues(r.spec.Durable).Set(float64(info.NumAckPending))
		}
		var parked int
		if err := r.db.Pool.QueryRow(ictx, `SELECT count(*) FROM parked_events WHERE consumer = $1 AND state <> 'retrying'`, r.spec.Durable).Scan(&parked); err == nil {
			r.m.parked.WithLabelValues(r.spec.Durable).Set(float64(parked))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// delivery is one event to handle: from JetStream, or a parked one being replayed.
type delivery struct {
	stream    string
	streamSeq uint64
	subject   string
	headers   nats.Header
	data      []byte
}

var errAlreadyProcessed = errors.New("event already processed")

// blockedError: an earlier event of the same aggregate has not been handled yet.
type blockedError struct {
	eventID string
	parked  bool
}

func (b *blockedError) Error() string {
	if b.parked {
		return "waits behind parked event " + b.eventID + " of the same aggregate"
	}
	return "waits behind event " + b.eventID + " of the same aggregate, which is being retried"
}

// decode reads d's event and checks that it comes from the stream's owner; any failure is
// permanent.
func (r *runner) decode(d delivery) (cloudevents.Envelope, proto.Message, error) {
	ev, err := cloudevents.FromMsg(d.subject, d.headers, d.data)
	var payload proto.Message
	if err == nil {
		payload, err = ev.Decode()
	}
	if err != nil {
		return ev, nil, Permanent(fmt.Errorf("malformed event: %w", err))
	}
	// Only the owning service can publish on its stream's subjects (NATS permissions, see
	// pkg/natsauth); checking the envelope too means a misconfigured broker still cannot make
	// a service act on an event that claims to come from someone else.
	if owner := natsx.StreamOwner(d.stream); owner != "" &&
		(ev.Source != "urn:wijkbrug:"+owner || !strings.HasPrefix(d.subject, natsx.SubjectPrefix(owner)+".")) {
		return ev, nil, Permanent(fmt.Errorf("event from %q on %s is not from the stream's owner %s", ev.Source, d.subject, owner))
	}
	return ev, payload, nil
}

// process handles d once, in a transaction of its own (see handleInTx).
func (r *runner) process(ctx context.Context, d delivery) (cloudevents.Envelope, error) {
	ev, payload, err := r.decode(d)
	if err != nil {
		return ev, err
	}
	err = r.db.Tx(ctx, func(ctx context.Context) error {
		return r.handleInTx(ctx, d, ev, payload)
	})
	if errors.Is(err, errAlreadyProcessed) {
		_, _ = r.db.Pool.Exec(ctx, `DELETE FROM parked_events WHERE consumer = $1 AND event_id = $2`, r.spec.Durable, ev.ID)
		return ev, nil
	}
	return ev, err
}

// processBatch handles ds in one transaction, in order, after Spec.Prepare. Any failure fails
// the whole batch (nothing of it commits): the caller then handles each event alone.
func (r *runner) processBatch(ctx context.Context, ds []delivery) error {
	evs := make([]cloudevents.Envelope, len(ds))
	payloads := make([]proto.Message, len(ds))
	for i, d := range ds {
		var err error
		if evs[i], payloads[i], err = r.decode(d); err != nil {
			return err
		}
	}
	if r.spec.Prepare != nil {
		prepared, err := r.spec.Prepare(identity.WithCaller(ctx, r.spec.Caller), payloads)
		if err == nil {
			ctx = prepared
		} else if ctx.Err() == nil {
			r.m.prepareFailures.WithLabelValues(r.spec.Durable).Inc()
			r.log.WarnContext(ctx, "preparing a batch of events failed; its handlers read alone", "consumer", r.spec.Durable,
				"events", len(ds), "error", err.Error())
		}
	}
	return r.db.Tx(ctx, func(ctx context.Context) error {
		for i, d := range ds {
			err := r.handleInTx(ctx, d, evs[i], payloads[i])
			if errors.Is(err, errAlreadyProcessed) {
				// A copy handled before: no effect, only a parked copy to clean up.
				err = r.db.Defer(ctx, `DELETE FROM parked_events WHERE consumer = $1 AND event_id = $2`, r.spec.Durable, evs[i].ID)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// handleInTx handles one event in the transaction of ctx: it records the event id, checks
// that no earlier event of the aggregate is still open, runs the handler and clears the
// event's parked row. errAlreadyProcessed when the event was handled before.
func (r *runner) handleInTx(ctx context.Context, d delivery, ev cloudevents.Envelope, payload proto.Message) error {
	ctx = ev.TraceContext(ctx)
	ctx, span := otel.Tracer("wijkbrug/consumer").Start(ctx, "consume "+ev.Type, trace.WithSpanKind(trace.SpanKindConsumer))
	defer span.End()
	ctx = identity.WithCaller(ctx, r.spec.Caller)
	// Claiming the event and looking for an earlier parked event of its aggregate go out in
	// one round trip (with BEGIN, see pgxdb.Tx, or with the writes the batch's previous event
	// deferred); the cleanup of a parked copy goes with the COMMIT.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.spec.Durable, ev.ID)
	if ev.Subject != "" {
		b.Queue(`SELECT event_id, state FROM parked_events
			WHERE consumer = $1 AND aggregate_id = $2 AND stream = $3 AND stream_seq < $4 AND event_id <> $5
			ORDER BY stream_seq LIMIT 1`, r.spec.Durable, ev.Subject, d.stream, int64(d.streamSeq), ev.ID)
	}
	br, err := r.db.SendBatchAfterDeferred(ctx, b)
	if err != nil {
		return err
	}
	err = claim(br, ev.Subject != "")
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := r.spec.Handle(ctx, ev, payload); err != nil {
		return err
	}
	return r.db.Defer(ctx, `DELETE FROM parked_events WHERE consumer = $1 AND event_id = $2`, r.spec.Durable, ev.ID)
}

// claim reads the answers of handleInTx's first round trip: errAlreadyProcessed when the
// event was handled before, a blockedError when an earlier event of its aggregate is parked.
func claim(br pgx.BatchResults, parkedLookup bool) error {
	tag, err := br.Exec()
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errAlreadyProcessed
	}
	if !parkedLookup {
		return nil
	}
	var blocker, state string
	switch err := br.QueryRow().Scan(&blocker, &state); {
	case err == nil:
		return &blockedError{eventID: blocker, parked: state == "parked"}
	case !pgxdb.IsNoRows(err):
		return err
	}
	return nil
}

// transient reports a failure that is about the infrastructure, not the event: it is retried
// for as long as it lasts and never parks the event.
func transient(err error) bool {
	return pgxdb.IsTransient(err) || natsx.IsTransient(err) || apperr.IsKind(err, apperr.KindUnavailable) ||
		errors.Is(err, context.DeadlineExceeded)
}

// handleBatch handles a worker's batch: in one transaction when it holds more than one event
// and none of them was delivered before, else (or when that transaction fails) each event
// alone.
func (r *runner) handleBatch(ctx context.Context, stream string, batch []dispatched) {
	if len(batch) > 1 && r.commitTogether(ctx, stream, batch) {
		return
	}
	for _, dd := range batch {
		r.handleDelivery(ctx, stream, dd)
	}
}

// commitTogether handles batch in one transaction and reports whether it is done with it:
// committed and acknowledged, or left for redelivery because the consumer is shutting down.
// false means each event is to be handled alone.
func (r *runner) commitTogether(ctx context.Context, stream string, batch []dispatched) bool {
	ds := make([]delivery, len(batch))
	for i, dd := range batch {
		md, err := dd.msg.Metadata()
		if err != nil || md.NumDelivered > 1 {
			// A redelivery may be the event that failed: alone, its failure is recorded.
			return false
		}
		ds[i] = deliveryOf(stream, dd.msg, md)
	}
	err := r.processBatch(ctx, ds)
	switch {
	case err == nil:
		r.m.batches.WithLabelValues(r.spec.Durable, "committed").Inc()
		r.m.batchedEvents.WithLabelValues(r.spec.Durable).Add(float64(len(batch)))
		for _, dd := range batch {
			dd.stopHeartbeat()
			_ = dd.msg.Ack()
		}
		r.m.acked.WithLabelValues(r.spec.Durable).Add(float64(len(batch)))
	case ctx.Err() != nil:
		for _, dd := range batch {
			dd.stopHeartbeat() // shutting down: redelivered later, as in handleDelivery
		}
	default:
		r.m.batches.WithLabelValues(r.spec.Durable, "failed").Inc()
		r.log.DebugContext(ctx, "batch of events failed; handling each alone", "consumer", r.spec.Durable,
			"events", len(batch), "error", err.Error())
		return false
	}
	return true
}

// deliveryOf is the delivery of msg from stream.
func deliveryOf(stream string, msg jetstream.Msg, md *jetstream.MsgMetadata) delivery {
	return delivery{stream: stream, streamSeq: md.Sequence.Stream, subject: msg.Subject(), headers: msg.Headers(), data: msg.Data()}
}

func (r *runner) handleDelivery(ctx context.Context, stream string, dd dispatched) {
	msg := dd.msg
	defer dd.stopHeartbeat()
	md, err := msg.Metadata()
	if err != nil {
		r.log.ErrorContext(ctx, "delivery without metadata terminated", "consumer", r.spec.Durable, "subject", msg.Subject())
		_ = msg.Term()
		return
	}
	if md.NumDelivered > 1 {
		r.m.redeliveries.WithLabelValues(r.spec.Durable).Inc()
	}
	d := deliveryOf(stream, msg, md)
	ev, err := r.process(ctx, d)
	dd.stopHeartbeat()
	if err == nil {
		_ = msg.Ack()
		r.m.acked.WithLabelValues(r.spec.Durable).Inc()
		return
	}
	if ctx.Err() != nil {
		// Shutting down: the failure is ours, not the event's. Left unacknowledged, it comes
		// back after the ack deadline without counting towards parking.
		return
	}
	delay := r.retry.delay(md.NumDelivered)
	state, recErr := r.recordFailure(ctx, d, ev, err)
	switch {
	case recErr != nil:
		r.log.WarnContext(ctx, "event handling failed and could not be recorded; will retry", "consumer", r.spec.Durable, "event_id", ev.ID,
			"delay", delay.String(), "error", err.Error(), "record_error", recErr.Error())
		_ = msg.NakWithDelay(delay)
	case state == "parked":
		r.log.ErrorContext(ctx, "event parked", "consumer", r.spec.Durable, "event_id", ev.ID, "type", ev.Type, "aggregate", ev.Subject,
			"deliveries", md.NumDelivered, "error", err.Error())
		_ = msg.Ack() // it lives on in parked_events
		r.m.acked.WithLabelValues(r.spec.Durable).Inc()
	default:
		r.log.WarnContext(ctx, "event handling failed; will retry", "consumer", r.spec.Durable, "event_id", ev.ID, "type", ev.Type,
			"delay", delay.String(), "error", err.Error())
		_ = msg.NakWithDelay(delay)
	}
}

// recordFailure writes or updates the event's parked_events row and returns its state:
// 'parked' when the failure is permanent, the event waits behind a parked one, or it failed
// ParkAfter times (transient failures and waiting behind a retried event do not count);
// 'retrying' otherwise.
func (r *runner) recordFailure(ctx context.Context, d delivery, ev cloudevents.Envelope, failure error) (string, error) {
	var blocked *blockedError
	isBlocked := errors.As(failure, &blocked)
	force := errors.As(failure, new(permanentError)) || (isBlocked && blocked.parked)
	inc := 1
	if transient(failure) || isBlocked {
		inc = 0
	}
	id := rowID(d, ev)
	msg := failure.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var state string
	err := r.db.Pool.QueryRow(ctx, `
		INSERT INTO parked_events AS p (consumer, event_id, stream, stream_seq, subject, event_type, aggregate_id, headers, data, state, failures, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10::bool OR $11::int >= $12::int THEN 'parked' ELSE 'retrying' END, $11::int, $13)
		ON CONFLICT (consumer, event_id) DO UPDATE SET
			failures = p.failures + $11::int,
			state = CASE WHEN $10::bool OR p.failures + $11::int >= $12::int THEN 'parked' ELSE 'retrying' END,
			last_error = $13, updated_at = now()
		RETURNING state`,
		r.spec.Durable, id, d.stream, int64(d.streamSeq), d.subject, ev.Type, ev.Subject, map[string][]string(d.headers), d.data,
		force, inc, r.retry.ParkAfter, msg).Scan(&state)
	return state, err
}

// replayLoop handles the parked events an operator asked to replay, in stream order.
func (r *runner) replayLoop(ctx context.Context, stream string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.retry.ReplayInterval):
		}
		r.replayOnce(ctx, stream)
	}
}

func (r *runner) replayOnce(ctx context.Context, stream string) {
	rows, err := r.db.Pool.Query(ctx, `SELECT stream_seq, subject, headers, data FROM parked_events
		WHERE consumer = $1 AND stream = $2 AND state = 'replay' ORDER BY stream_seq LIMIT 100`, r.spec.Durable, stream)
	if err != nil {
		return
	}
	var todo []delivery
	for rows.Next() {
		d := delivery{stream: stream}
		var seq int64
		var h map[string][]string
		if err := rows.Scan(&seq, &d.subject, &h, &d.data); err != nil {
			rows.Close()
			return
		}
		d.streamSeq, d.headers = uint64(seq), nats.Header(h)
		todo = append(todo, d)
	}
	rows.Close()
	for _, d := range todo {
		ev, err := r.process(ctx, d)
		if err == nil {
			r.log.InfoContext(ctx, "parked event replayed", "consumer", r.spec.Durable, "event_id", ev.ID)
			continue
		}
		var blocked *blockedError
		if errors.As(err, &blocked) && !blocked.parked || transient(err) || ctx.Err() != nil {
			continue // try again next round
		}
		r.log.ErrorContext(ctx, "replay of parked event failed; parked again", "consumer", r.spec.Durable, "event_id", ev.ID, "error", err.Error())
		_, _ = r.db.Pool.Exec(ctx, `UPDATE parked_events SET state = 'parked', failures = failures + 1, last_error = $3, updated_at = now()
			WHERE consumer = $1 AND event_id = $2`, r.spec.Durable, rowID(d, ev), err.Error())
	}
}

// rowID is the event id, or for a malformed event without one its stream position.
func rowID(d delivery, ev cloudevents.Envelope) string {
	if ev.ID != "" {
		return ev.ID
	}
	return fmt.Sprintf("%s#%d", d.stream, d.streamSeq)
}
