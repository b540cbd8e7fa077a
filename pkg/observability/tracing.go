package observability

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TraceExportConfigured reports whether the environment asks for trace export: one of the
// standard variables OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_TRACES_EXPORTER is set. Without them spans still carry trace ids (logs and events show
// them, and they propagate to peers) but are not recorded: they would go nowhere, and
// recording every span of every database call cost about 5 % of the CPU of a request
// (issue 12); nor does the SDK retry its default of localhost:4318.
func TraceExportConfigured() bool {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// SetupTracing installs a tracer provider and the W3C trace-context propagator. The exporter
// is configured entirely by the standard OpenTelemetry environment variables, through the
// contrib autoexport package: OTEL_TRACES_EXPORTER (otlp, console, none),
// OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf by default, grpc), OTEL_EXPORTER_OTLP_ENDPOINT
// in the specification's form (http://host:port is plaintext, https:// is TLS),
// OTEL_EXPORTER_OTLP_CERTIFICATE / _CLIENT_CERTIFICATE / _CLIENT_KEY, _HEADERS, _TIMEOUT.
// The resource comes from OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, with
// service.name "wijkbrug-<service>" when they do not name one. The SDK's own errors
// (an unreachable collector) go to logger as structured records. The returned function
// flushes and stops the provider.
func SetupTracing(ctx context.Context, service string, logger *slog.Logger) (func(context.Context) error, error) {
	if logger != nil {
		otel.SetLogger(logr.FromSlogHandler(logger.With("component", "opentelemetry").Handler()))
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			logger.Warn("opentelemetry", "component", "opentelemetry", "error", err.Error())
		}))
	}
	// Later sources win: the service's default name, then the environment.
	res, err := sdkresource.Merge(
		sdkresource.NewSchemaless(attribute.String("service.name", "wijkbrug-"+service)),
		sdkresource.Environment(),
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if TraceExportConfigured() {
		exp, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("trace exporter (OTEL_* settings): %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	} else {
		// A dropped span still gets a valid trace and span id; only recording is skipped.
		opts = append(opts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}
