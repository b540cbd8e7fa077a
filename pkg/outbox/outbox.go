// Package outbox is the transactional outbox: Add writes an event row in the caller's
// transaction (so the state change and its event commit or vanish together), and the Relay
// publishes pending rows to JetStream in order and marks them after the ack. Nothing is lost
// while NATS is down: rows simply wait.
package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
)

// NotifyChannel is the LISTEN/NOTIFY channel that wakes the relay on commit.
const NotifyChannel = "wijkbrug_outbox"

// Writer adds events for one producing service.
type Writer struct {
	db      *pgxdb.DB
	service string
	now     func() time.Time
}

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
	_, err = w.db.Q(ctx).Exec(ctx, `
		INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, traceparent, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		uuid.New(), subject, cloudevents.TypeOf(event), "urn:wijkbrug:"+w.service, aggregateID, payload,
		carrier.Get("traceparent"), w.now().UTC())
	if err != nil {
		return fmt.Errorf("outbox: insert: %w", err)
	}
	// Delivered to listeners only at commit, so the relay never wakes for a rolled-back event.
	if _, err := w.db.Q(ctx).Exec(ctx, `SELECT pg_notify($1, '')`, NotifyChannel); err != nil {
		return fmt.Errorf("outbox: notify: %w", err)
	}
	return nil
}
