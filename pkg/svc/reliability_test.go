package svc_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const writeMethod = "/wijkbrugtest.Writer/Write"

// writerSpec is a service with one mutating RPC that, like every real one, runs under an
// idempotency key and writes an outbox event in its transaction. The request and response
// types are borrowed from the access log API; only their fields matter here.
func writerSpec() svc.Spec {
	var p *svc.Platform
	desc := grpc.ServiceDesc{ServiceName: "wijkbrugtest.Writer", HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{{
		MethodName: "Write",
		Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(accesslogv1.StartEmergencyAccessRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				r := req.(*accesslogv1.StartEmergencyAccessRequest)
				return idempotency.Do(ctx, p.Idem, r, func() *accesslogv1.StartEmergencyAccessResponse { return &accesslogv1.StartEmergencyAccessResponse{} },
					func(ctx context.Context) (*accesslogv1.StartEmergencyAccessResponse, error) {
						err := p.DB.Tx(ctx, func(ctx context.Context) error {
							if _, err := p.DB.Q(ctx).Exec(ctx, `INSERT INTO things (id) VALUES ($1)`, r.GetObjectId()); err != nil {
								return err
							}
							return p.Outbox.Add(ctx, "wijkbrug.writertest.0363.thing.written", r.GetObjectId(), r)
						})
						return &accesslogv1.StartEmergencyAccessResponse{}, err
					})
			}
			if interceptor == nil {
				return h(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{FullMethod: writeMethod}, h)
		},
	}}}
	return svc.Spec{
		Name:       "writertest",
		Migrations: pgxdb.MigrationSet{Name: "writertest", FS: fstest.MapFS{"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE things (id text PRIMARY KEY);\n-- +goose Down\nDROP TABLE things;\n")}}},
		Policy:     authz.Policy{writeMethod: {OrgTypes: []identity.OrgType{identity.OrgTeam}}},
		Services:   []grpc.ServiceDesc{desc},
		Setup: func(_ context.Context, platform *svc.Platform) (*svc.Wiring, error) {
			p = platform
			return &svc.Wiring{Register: func(s grpc.ServiceRegistrar) { s.RegisterService(&desc, struct{}{}) }}, nil
		},
	}
}

func write(cc *grpc.ClientConn, key, id string) error {
	ctx, cancel := context.WithTimeout(grpcx.ActingUser(context.Background(), "u", "professional", "case-direction"), 5*time.Second)
	defer cancel()
	return cc.Invoke(ctx, writeMethod, &accesslogv1.StartEmergencyAccessRequest{IdempotencyKey: key, ObjectId: id}, &accesslogv1.StartEmergencyAccessResponse{})
}

func healthOf(cc *grpc.ClientConn, service string) healthpb.HealthCheckResponse_ServingStatus {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return r.GetStatus()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func metric(t *testing.T, adminAddr, name string) float64 {
	t.Helper()
	_, body := httpGet(t, "http://"+adminAddr+"/metrics")
	m := regexp.MustCompile(`(?m)^` + name + `\{service="writertest"\} (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// The outbox exists for broker outages: while NATS is away the service stays ready (gRPC
// health SERVING, /readyz 200), keeps taking writes, shows NATS as a health detail and the
// backlog in its metrics, and publishes everything once NATS is back.
func TestReadinessIgnoresNATSWhileWritesContinue(t *testing.T) {
	env := svctest.New(t)
	s := env.Start(t, writerSpec(), nil)
	cc := env.Client(t, s.Addr, svctest.Org(identity.OrgTeam, "Team"))
	if err := write(cc, "k0", "thing-0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first event published", func() bool { return metric(t, s.AdminAddr, "wijkbrug_outbox_backlog") == 0 })

	env.NATS.Stop()
	eventually(t, "NATS reported as a dependency detail", func() bool {
		return healthOf(cc, grpcx.DependencyHealthPrefix+"nats") == healthpb.HealthCheckResponse_NOT_SERVING
	})
	for i := 1; i <= 5; i++ {
		if err := write(cc, fmt.Sprintf("k%d", i), fmt.Sprintf("thing-%d", i)); err != nil {
			t.Fatalf("write %d while NATS is down: %v", i, err)
		}
	}
	if st := healthOf(cc, ""); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health must stay SERVING while NATS is down, is %v", st)
	}
	if st := healthOf(cc, grpcx.DependencyHealthPrefix+"postgresql"); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("postgresql detail: %v", st)
	}
	eventually(t, "/readyz 200 with the NATS detail", func() bool {
		code, body := httpGet(t, "http://"+s.AdminAddr+"/readyz")
		return code == http.StatusOK && strings.Contains(body, "nats: disconnected") && strings.Contains(body, "outbox: 5 unsent")
	})
	if n := metric(t, s.AdminAddr, "wijkbrug_outbox_backlog"); n != 5 {
		t.Fatalf("wijkbrug_outbox_backlog = %v, want 5", n)
	}
	if age := metric(t, s.AdminAddr, "wijkbrug_outbox_oldest_unsent_age_seconds"); age <= 0 {
		t.Fatalf("wijkbrug_outbox_oldest_unsent_age_seconds = %v, want > 0", age)
	}

	if err := env.NATS.StartAgain(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "backlog drained", func() bool { return metric(t, s.AdminAddr, "wijkbrug_outbox_backlog") == 0 })
	rec := env.Events(t, "writertest", "wijkbrug.writertest.>")
	for i := 0; i <= 5; i++ {
		id := fmt.Sprintf("thing-%d", i)
		rec.WaitFor(t, func(ev cloudevents.Envelope, _ proto.Message) bool { return ev.Subject == id })
	}
	if n := len(rec.All()); n != 6 {
		t.Fatalf("want 6 events, one per write, got %d", n)
	}
}

// A PostgreSQL outage reaches callers as UNAVAILABLE with retry advice (never INTERNAL), the
// service is not ready while it lasts, and the same call with the same idempotency key works
// once the database is back, applied once.
func TestPostgresOutageIsUnavailable(t *testing.T) {
	env := svctest.New(t)
	dir, err := os.MkdirTemp("", "wjpg-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx := context.Background()
	pg, err := embeddedpg.Start(ctx, embeddedpg.Options{Dir: dir, Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	port := pg.Port()
	if err := pg.CreateDatabase(ctx, "writer"); err != nil {
		t.Fatal(err)
	}
	spec := writerSpec()
	if err := svc.Migrate(ctx, spec, pg.DSN("writer")); err != nil {
		t.Fatal(err)
	}
	s := env.Run(t, spec, env.Config(t, spec, pg.DSN("writer")))
	cc := env.Client(t, s.Addr, svctest.Org(identity.OrgTeam, "Team"))
	if err := write(cc, "k1", "thing-1"); err != nil {
		t.Fatal(err)
	}

	if err := pg.Crash(); err != nil {
		t.Logf("crash: %v", err)
	}
	for i := 0; i < 5; i++ {
		err := write(cc, "k2", "thing-2")
		st := grpcstatus.Convert(err)
		if st.Code() != codes.Unavailable {
			t.Fatalf("call %d during the outage: want UNAVAILABLE, got %v", i, err)
		}
		hasRetry := false
		for _, d := range st.Details() {
			_, ok := d.(*errdetails.RetryInfo)
			hasRetry = hasRetry || ok
		}
		if !hasRetry {
			t.Fatalf("UNAVAILABLE without RetryInfo: %v", st.Details())
		}
	}
	eventually(t, "not ready while the database is down", func() bool {
		code, body := httpGet(t, "http://"+s.AdminAddr+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "postgresql: unreachable") &&
			healthOf(cc, "") == healthpb.HealthCheckResponse_NOT_SERVING
	})

	pg, err = embeddedpg.Start(ctx, embeddedpg.Options{Dir: dir, Port: port, Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	// A client retrying with the same key (as the README's retry policy does) gets through.
	eventually(t, "the retried call succeeds", func() bool {
		err := write(cc, "k2", "thing-2")
		if c := grpcstatus.Code(err); c != codes.OK && c != codes.Unavailable {
			t.Fatalf("after the outage: want OK or UNAVAILABLE, got %v", err)
		}
		return err == nil
	})
	if err := write(cc, "k2", "thing-2"); err != nil {
		t.Fatalf("replay of a done call: %v", err)
	}
	eventually(t, "ready again", func() bool { return healthOf(cc, "") == healthpb.HealthCheckResponse_SERVING })
	var things, events int
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM things), (SELECT count(*) FROM outbox)`).Scan(&things, &events); err != nil {
		t.Fatal(err)
	}
	if things != 2 || events != 2 {
		t.Fatalf("each write applied once: %d rows, %d events", things, events)
	}
}
