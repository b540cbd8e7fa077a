package svc_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// emptySpec is a service with no RPCs of its own: enough to test the runtime.
func emptySpec() svc.Spec {
	return svc.Spec{
		Name:       "emptytest",
		Migrations: pgxdb.MigrationSet{Name: "emptytest", FS: fstest.MapFS{"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n")}}},
		Policy:     authz.Policy{},
		Setup: func(context.Context, *svc.Platform) (*svc.Wiring, error) {
			return &svc.Wiring{Register: func(grpc.ServiceRegistrar) {}}, nil
		},
	}
}

func TestMigrateCommandThenHealthFollowsNATS(t *testing.T) {
	env := svctest.New(t)
	spec := emptySpec()
	dsn := testkit.NewDatabase(t, "emptytest-bare", func(context.Context, string) error { return nil })

	// The migrate subcommand, as Kubernetes runs it (configuration from the environment).
	t.Setenv("WIJKBRUG_DATABASE_URL", dsn)
	if err := svc.RunArgs(spec, []string{"migrate"}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := svc.RunArgs(spec, []string{"migrate"}); err != nil {
		t.Fatalf("migrating twice must be a no-op: %v", err)
	}

	// NATS is down when the service starts: it must listen but report NOT_SERVING.
	env.NATS.Stop()
	cfg := env.Config(t, spec, dsn)
	lis := "127.0.0.1:" + freePort(t)
	cfg.GRPCAddr = lis
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, spec, cfg, svc.Hooks{}) }()
	health := healthpb.NewHealthClient(env.Client(t, lis, svctest.Org(identity.OrgTeam, "Team")))
	status := func() healthpb.HealthCheckResponse_ServingStatus {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := health.Check(c, &healthpb.HealthCheckRequest{})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return r.GetStatus()
	}
	waitFor := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for status() != want {
			if time.Now().After(deadline) {
				t.Fatalf("health never became %v", want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(healthpb.HealthCheckResponse_NOT_SERVING)
	time.Sleep(500 * time.Millisecond)
	if s := status(); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("without NATS the service must not serve, reports %v", s)
	}
	if err := env.NATS.StartAgain(); err != nil {
		t.Fatal(err)
	}
	waitFor(healthpb.HealthCheckResponse_SERVING)

	// Shutdown ends Run without error.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("service did not stop")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
