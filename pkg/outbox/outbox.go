// Package outbox is the transactional outbox: Add writes an event row in the caller's
// transaction (so the state change and its event commit or vanish together), and the Relay
// publishes pending rows to JetStream in order and marks them after the ack. Nothing is lost
// while NATS is down: rows simply wait.
package outbox

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
)

// NotifyChannel is the LISTEN/NOTIFY channel that wakes a relay in another process.
const NotifyChannel = "wijkbrug_outbox"

// notifyGap is the least time between two NOTIFYs of one writer. A NOTIFY takes PostgreSQL's
// cluster-wide notification-queue lock at commit and holds it through the WAL flush, so one
// per transaction would make all event-writing commits wait for each other; one per notifyGap
// (outside the business transaction) wakes a relay elsewhere just as well.
const notifyGap = 20 * time.Millisecond

// Writer adds events for one producing service.
type Writer struct {
	db         *pgxdb.DB
	service    string
	now        func() time.Time
	feed       FeedRouter
	relay      atomic.Pointer[Relay]
	lastNotify atomic.Int64 // unix nanoseconds of the last NOTIFY sent
}

// FeedRouter names the partner organisations (OINs) that receive a copy of an event in their
// own feed: those involved in what the event is about, at the moment it happens. It runs in
// the transaction of the change (ctx), so it sees the state the event describes. Only the
// owning service knows who is involved, so each service brings its own router.
type FeedRouter func(ctx context.Context, subject, aggregateID string, event proto.Message) ([]string, error)

// SetFeedRouter makes Add write partner feed copies. Call it during setup, before events are
// added.
func (w *Writer) SetFeedRouter(r FeedRouter) { w.feed = r }

// Wakes links the writer to the relay of the same process: after each commit that added
// events the writer wakes that relay directly when it leads, and otherwise sends a NOTIFY (at
// most one per 20 ms) for the leader in another replica.
func (w *Writer) Wakes(r *Relay) { w.relay.Store(r) }

// NewWriter returns a writer whose events carry ce-source urn:wijkbrug:<service>.
func NewWriter(db *pgxdb.DB, service string) *Writer {
	return &Writer{db: db, service: service, now: time.Now}
}

// Add stores an event in the transaction of ctx (it refuses to run outside one, because an
// event without its state change, or the other way round, is exactly what the outbox is there
// to prevent). subject is the full NATS subject; aggregateID becomes ce-subject.
func (w *Writer) Add(ctx context.Context, subject, aggregateID string, event proto.Message) error {
	if !pgxdb.InTx(ctx) {
		return fmt.Errorf("outbox: Add called outside a transaction")
	}
	payload, err := proto.Marshal(event)
	if err != nil {
		return fmt.Errorf("outbox: marshal: %w", err)
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	id, typ, now := uuid.New(), cloudevents.TypeOf(event), w.now().UTC()
	err = w.db.Defer(ctx, `
		INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, traceparent, tracestate, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, subject, typ, "urn:wijkbrug:"+w.service, aggregateID, payload, carrier.Get("traceparent"), carrier.Get("tracestate"), now)
	if err != nil {
		return fmt.Errorf("outbox: insert: %w", err)
	}
	if w.feed != nil {
		oins, err := w.feed(ctx, subject, aggregateID, event)
		if err != nil {
			return fmt.Errorf("outbox: feed recipients: %w", err)
		}
		var subjects, recipients []string
		for _, oin := range oins {
			if !validOIN(oin) || slices.Contains(recipients, oin) {
				continue // not an organisation that can have a feed (or already listed)
			}
			recipients = append(recipients, oin)
			subjects = append(subjects, natsx.FeedSubject(oin, typ))
		}
		if len(recipients) > 0 {
			err = w.db.Defer(ctx, `
				INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, traceparent, tracestate, created_at, recipient)
				SELECT $1, s, $3, $4, $5, $6, $7, $10, $8, r FROM unnest($2::text[], $9::text[]) AS t(s, r)`,
				id, subjects, typ, "urn:wijkbrug:"+w.service, aggregateID, payload, carrier.Get("traceparent"), now, recipients, carrier.Get("tracestate"))
			if err != nil {
				return fmt.Errorf("outbox: insert feed copies: %w", err)
			}
		}
	}
	// Only after commit, so the relay never wakes for a rolled-back event; the relay's polling
	// covers a wake-up that gets lost.
	pgxdb.AfterCommit(ctx, w.wake)
	return nil
}

func (w *Writer) wake() {
	if r := w.relay.Load(); r != nil && r.leading.Load() {
		r.Wake()
		return
	}
	now := time.Now().UnixNano()
	last := w.lastNotify.Load()
	if now-last < int64(notifyGap) || !w.lastNotify.CompareAndSwap(last, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = w.db.Pool.Exec(ctx, `SELECT pg_notify($1, '')`, NotifyChannel)
	}()
}

// validOIN reports whether s has the shape of an OIN (20 digits), the token of a feed subject.
func validOIN(s string) bool {
	if len(s) != 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
