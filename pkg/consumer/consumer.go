// Package consumer runs idempotent JetStream consumers: each event is handled inside a
// database transaction that also records its id, so a redelivered event (after a crash
// between commit and ack, or a publisher retry) has no second effect.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
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
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks an error that retrying cannot fix (a malformed event): the message is
// terminated and logged instead of redelivered forever.
func Permanent(err error) error { return permanentError{err} }

// Run consumes until ctx ends. It waits for the stream to exist, so services may start in
// any order.
func Run(ctx context.Context, js jetstream.JetStream, db *pgxdb.DB, spec Spec, log *slog.Logger) error {
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
			AckWait:        30 * time.Second,
			MaxAckPending:  64,
		})
		if err == nil {
			break
		}
		log.WarnContext(ctx, "create consumer failed; retrying", "consumer", spec.Durable, "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("consumer %s: %w", spec.Durable, err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			log.WarnContext(ctx, "consumer fetch failed", "consumer", spec.Durable, "error", err.Error())
			continue
		}
		handleOne(ctx, db, spec, msg, log)
	}
}

func handleOne(ctx context.Context, db *pgxdb.DB, spec Spec, msg jetstream.Msg, log *slog.Logger) {
	ev, err := cloudevents.FromMsg(msg.Subject(), msg.Headers(), msg.Data())
	var payload proto.Message
	if err == nil {
		payload, err = ev.Decode()
	}
	if err != nil {
		log.ErrorContext(ctx, "malformed event terminated", "consumer", spec.Durable, "subject", msg.Subject(), "error", err.Error())
		_ = msg.Term()
		return
	}
	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": ev.Traceparent})
	ctx, span := otel.Tracer("wijkbrug/consumer").Start(ctx, "consume "+ev.Type, trace.WithSpanKind(trace.SpanKindConsumer))
	defer span.End()
	ctx = identity.WithCaller(ctx, spec.Caller)

	err = db.Tx(ctx, func(ctx context.Context) error {
		tag, err := db.Q(ctx).Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, spec.Durable, ev.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errAlreadyProcessed
		}
		return spec.Handle(ctx, ev, payload)
	})
	switch {
	case err == nil, errors.Is(err, errAlreadyProcessed):
		_ = msg.Ack()
	case errors.As(err, new(permanentError)):
		log.ErrorContext(ctx, "event rejected permanently", "consumer", spec.Durable, "event_id", ev.ID, "type", ev.Type, "error", err.Error())
		_ = msg.Term()
	default:
		md, _ := msg.Metadata()
		delay := time.Second
		if md != nil && md.NumDelivered > 1 {
			delay = min(time.Duration(md.NumDelivered)*time.Second, 30*time.Second)
		}
		log.WarnContext(ctx, "event handling failed; will retry", "consumer", spec.Durable, "event_id", ev.ID, "type", ev.Type, "delay", delay.String(), "error", err.Error())
		_ = msg.NakWithDelay(delay)
	}
}

var errAlreadyProcessed = errors.New("event already processed")
