package observability

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Without trace export configured, spans are not recorded, but every span still has a trace
// id that logs show and that propagates to the next hop.
func TestSpansWithoutExportCarryTraceIDsButAreNotRecorded(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"} {
		t.Setenv(k, "")
	}
	shutdown, err := SetupTracing(context.Background(), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	ctx, span := otel.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	if span.IsRecording() {
		t.Error("span is recorded although no exporter is configured")
	}
	sc := span.SpanContext()
	if !sc.TraceID().IsValid() || !sc.SpanID().IsValid() {
		t.Fatalf("span without a valid trace/span id: %v", sc)
	}
	if got := TraceID(ctx); got != sc.TraceID().String() {
		t.Errorf("TraceID(ctx) = %q, want %q", got, sc.TraceID())
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	if tp := carrier.Get("traceparent"); tp == "" || len(tp) < 55 || tp[3:35] != sc.TraceID().String() {
		t.Errorf("traceparent %q does not carry trace id %s", tp, sc.TraceID())
	}
}
