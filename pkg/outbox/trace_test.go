package outbox_test

import (
	"context"
	"sync"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The W3C trace context of the writing request — traceparent and tracestate — reaches the
// event's NATS headers through the outbox and the relay, and the standard propagator reads it
// back on the consumer's side into the same trace with the same vendor state.
func TestTraceContextCrossesNATS(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	f, _, _ := setup(t)
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	state, err := trace.ParseTraceState("vendor=abc,other=1")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled, TraceState: state, Remote: true})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	id := "00000000-0000-4000-8000-000000000777"
	if err := f.db.Tx(ctx, func(ctx context.Context) error {
		return f.writer.Add(ctx, "wijkbrug.referral.GM0363.signal.received", id, &referralv1.SignalReceived{SignalId: id})
	}); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f.relay.Run(runCtx) }()
	waitPending(t, f.relay, 0)
	cancel()
	wg.Wait()

	m := f.stored(t)[0]
	if got := m.Header.Get(cloudevents.HeaderTracestate); got != "vendor=abc,other=1" {
		t.Fatalf("tracestate header %q", got)
	}
	env, err := cloudevents.FromMsg(m.Subject, m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	got := trace.SpanContextFromContext(env.TraceContext(context.Background()))
	if got.TraceID() != traceID || got.SpanID() != spanID || got.TraceState().Get("vendor") != "abc" {
		t.Fatalf("extracted %s/%s state %q, want %s/%s vendor=abc", got.TraceID(), got.SpanID(), got.TraceState().String(), traceID, spanID)
	}
}
