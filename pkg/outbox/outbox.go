// Package outbox is the transactional outbox: Add writes an event row in the caller's
// transaction (so the state change and its event commit or vanish together), and the Relay
// publishes pending rows to JetStream in order and marks them after the ack. Nothing is lost
// while NATS is down: rows simply wait.
package outbox

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
// the transaction of the change (ctx) and must not ask the database itself: what it needs to
// read goes into Recipients.Query, which runs in that transaction where the event is added,
// so it sees the state the event describes. Only the owning service knows who is involved, so
// each service brings its own router.
type FeedRouter func(ctx context.Context, subject, aggregateID string, event proto.Message) (Recipients, error)

// Recipients are the organisations that receive a copy of an event in their feed.
type Recipients struct {
	// OINs are the ones known without asking the database (named in the event, say).
	OINs []string
	// Query, when set, selects more of them (one text column) in the statement that writes the
	// copies. That statement is deferred (pgxdb.DB.Defer): it goes out with the transaction's
	// next statement or its COMMIT, runs before it, and costs no round trip of its own.
	// Query's parameters are $1 … $len(Args).
	Query string
	Args  []any
}

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
	// Event ids are UUIDv7, in time order: the indexes that take one entry per event (the
	// outbox's (event_id, recipient), every consumer's processed_events) then grow at their
	// right end, as the identity keys do, instead of at a random leaf each time, which costs a
	// disk read once the index outgrows memory and a full-page image in the WAL for most
	// inserts after every checkpoint (docs/decisions.md, issue 12, item 33).
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("outbox: event id: %w", err)
	}
	typ, now := cloudevents.TypeOf(event), w.now().UTC()
	err = w.db.Defer(ctx, `
		INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, traceparent, tracestate, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, subject, typ, "urn:wijkbrug:"+w.service, aggregateID, payload, carrier.Get("traceparent"), carrier.Get("tracestate"), now)
	if err != nil {
		return fmt.Errorf("outbox: insert: %w", err)
	}
	if w.feed != nil {
		to, err := w.feed(ctx, subject, aggregateID, event)
		if err != nil {
			return fmt.Errorf("outbox: feed recipients: %w", err)
		}
		if len(to.OINs) > 0 || to.Query != "" {
			args := append(slices.Clip(to.Args), id, typ, "urn:wijkbrug:"+w.service, aggregateID, payload,
				carrier.Get("traceparent"), carrier.Get("tracestate"), now, to.OINs, feedSubjectHead, feedSubjectTail(typ))
			sql := oinsOnlyCopiesSQL
			if to.Query != "" {
				sql = feedCopiesSQL(len(to.Args), to.Query)
			}
			if err := w.db.Defer(ctx, sql, args...); err != nil {
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

// feedSubjectHead and feedSubjectTail(eventType) enclose an OIN in its feed subject:
// natsx.FeedSubject, taken apart so that the statement writing the copies can build it.
var feedSubjectHead, _, _ = strings.Cut(natsx.FeedSubject("*", "x"), "*")

func feedSubjectTail(eventType string) string {
	_, tail, _ := strings.Cut(natsx.FeedSubject("*", eventType), "*")
	return tail
}

// oinsOnlyCopiesSQL is feedCopiesSQL for OINs without a query (most events: their
// recipients are named in them), built once.
var oinsOnlyCopiesSQL = feedCopiesSQL(0, "")

// feedCopiesSQL writes one copy of an event per recipient: the OINs given, and those the
// router's query selects. The query's n parameters come first; the statement's own follow
// (event id, type, source, aggregate, payload, traceparent, tracestate, time, OINs, and the
// feed subject's head and tail). A recipient that is not an OIN (20 digits) gets no copy, one
// named twice gets one.
func feedCopiesSQL(n int, query string) string {
	p := func(i int) string { return "$" + strconv.Itoa(n+i) }
	recipients := "SELECT DISTINCT unnest(" + p(9) + "::text[])"
	if query != "" {
		recipients = "(" + recipients + ") UNION (" + query + ")"
	}
	return `INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, traceparent, tracestate, created_at, recipient)
		SELECT ` + strings.Join([]string{p(1), p(10) + "::text || r.oin || " + p(11) + "::text", p(2), p(3), p(4), p(5), p(6), p(7), p(8), "r.oin"}, ", ") + `
		FROM (` + recipients + `) AS r(oin)
		WHERE r.oin ~ '^[0-9]{20}$'`
}
