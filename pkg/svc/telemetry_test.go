package svc_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/authz"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is a minimal OTLP/HTTP trace receiver: it keeps what exporters send to
// POST /v1/traces.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.ResourceSpans
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/v1/traces" || req.Method != http.MethodPost {
		http.NotFound(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	var msg coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.spans = append(r.spans, msg.GetResourceSpans()...)
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(b)
}

// find reports whether a span matching match arrived from a resource with all of attrs.
func (r *otlpReceiver) find(attrs map[string]string, match func(*tracepb.Span) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range r.spans {
		have := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			have[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		ok := true
		for k, v := range attrs {
			ok = ok && have[k] == v
		}
		if !ok {
			continue
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				if match(sp) {
					return true
				}
			}
		}
	}
	return false
}

func spanAttr(sp *tracepb.Span, key string) string {
	for _, kv := range sp.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// A service configured only by the standard OpenTelemetry variables — the endpoint in the
// specification's http://host:port form, the resource from OTEL_RESOURCE_ATTRIBUTES —
// exports its gRPC and SQL spans to an OTLP receiver; its /metrics shows the gRPC, pool,
// NATS, scheduler and certificate metrics.
func TestTracesExportAndMetrics(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+strings.TrimPrefix(collector.URL, "http://"))
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test,service.namespace=wijkbrug")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")

	env := svctest.New(t)
	spec := emptySpec()
	ticks := make(chan struct{}, 100)
	spec.Setup = func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
		return &svc.Wiring{
			Register: func(grpc.ServiceRegistrar) {},
			Schedulers: []scheduler.Job{{Name: "test-timer", Interval: 20 * time.Millisecond, BatchSize: 10, Caller: p.SystemCaller("case-monitoring"),
				Batch: func(context.Context, int) (int, error) {
					select {
					case ticks <- struct{}{}:
					default:
					}
					return 1, nil
				}}},
		}, nil
	}
	spec.Policy = authz.Policy{}
	s := env.Start(t, spec, nil)
	<-ticks
	<-ticks

	cc := env.Client(t, s.Addr, svctest.Org(identity.OrgTeam, "Team"))
	if _, err := accesslogv1.NewAccessLogServiceClient(cc).ListEmergencyAccess(grpcx.ActingUser(context.Background(), "anna", "case_director", "case-direction"), &accesslogv1.ListEmergencyAccessRequest{}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("a team may not list emergency grants: %v", err)
	}
	// The privacy officer's read queries the database (a SQL span under the RPC's span).
	officer := accesslogv1.NewAccessLogServiceClient(env.Client(t, s.Addr, svctest.Org(identity.OrgMunicipality, "Gemeente Demo")))
	if _, err := officer.ListEmergencyAccess(grpcx.ActingUser(context.Background(), "fg-1", "privacy_officer", "right-of-access"), &accesslogv1.ListEmergencyAccessRequest{}); err != nil {
		t.Fatalf("privacy officer: %v", err)
	}
	for _, name := range []string{"emptytest", ""} {
		if r, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{Service: name}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v", name, r, err)
		}
	}

	resp, err := http.Get("http://" + s.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="PermissionDenied",grpc_method="ListEmergencyAccess",grpc_service="wijkbrug.accesslog.v1.AccessLogService",grpc_type="unary"} 1`,
		`grpc_server_handling_seconds_bucket{grpc_method="ListEmergencyAccess"`,
		`grpc_server_started_total{grpc_method="Watch",grpc_service="grpc.health.v1.Health",grpc_type="server_stream"}`,
		"pgxpool_max_conns{db_name=",
		"pgxpool_acquired_conns{",
		"wijkbrug_nats_connected 1",
		"wijkbrug_nats_reconnects_total 0",
		`wijkbrug_scheduler_runs_total{outcome="ok",scheduler="test-timer"}`,
		`wijkbrug_scheduler_items_total{scheduler="test-timer"}`,
		`wijkbrug_scheduler_last_success_timestamp_seconds{scheduler="test-timer"}`,
		`wijkbrug_tls_certificate_expiry_timestamp_seconds{kind="service"`,
		`wijkbrug_tls_certificate_expiry_timestamp_seconds{kind="ca"`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Every family on /metrics is one MetricNames lists (the list dashboards and alert
	// rules are checked against).
	names, err := svc.MetricNames()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" && !known[f[2]] {
			t.Errorf("/metrics exports %s, which svc.MetricNames does not list", f[2])
		}
	}

	// Every service runs the retention job of the platform tables besides its own: its first
	// pass, as the application role on the service's database, succeeds.
	retained := `wijkbrug_scheduler_runs_total{outcome="ok",scheduler="retention"} 1`
	for deadline := time.Now().Add(10 * time.Second); !bytes.Contains(body, []byte(retained)); {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s", retained)
		}
		time.Sleep(50 * time.Millisecond)
		resp, err := http.Get("http://" + s.AdminAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}

	resource := map[string]string{"service.name": "wijkbrug-emptytest", "deployment.environment.name": "test", "service.namespace": "wijkbrug"}
	deadline := time.Now().Add(15 * time.Second)
	for {
		rpc := recv.find(resource, func(sp *tracepb.Span) bool {
			return sp.GetKind() == tracepb.Span_SPAN_KIND_SERVER && sp.GetName() == "wijkbrug.accesslog.v1.AccessLogService/ListEmergencyAccess"
		})
		sql := recv.find(resource, func(sp *tracepb.Span) bool {
			return spanAttr(sp, "db.system.name") == "postgresql" && sp.GetParentSpanId() != nil
		})
		if rpc && sql {
			return
		}
		if time.Now().After(deadline) {
			recv.mu.Lock()
			n := len(recv.spans)
			recv.mu.Unlock()
			t.Fatalf("spans at the OTLP receiver: gRPC server span %v, SQL span %v (%d resource batches)", rpc, sql, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
