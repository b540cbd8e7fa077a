package grpcx_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// stub answers GetSignal according to the requested id, so one server covers every edge case.
type stub struct {
	referralv1.UnimplementedReferralServiceServer
}

func (stub) GetSignal(ctx context.Context, req *referralv1.GetSignalRequest) (*referralv1.GetSignalResponse, error) {
	switch req.GetSignalId() {
	case "panic":
		panic("boom")
	case "invalid":
		return nil, apperr.Invalid("signal_id", "bad")
	case "missing":
		return nil, apperr.NotFound("signal", "missing")
	case "internal":
		return nil, errors.New("invariant broken: secret detail")
	case "db-down":
		return nil, fmt.Errorf("begin: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	case "nats-down":
		return nil, fmt.Errorf("publish: %w", nats.ErrNoResponders)
	case "peer-down":
		return nil, apperr.Unavailable("peer unreachable", errors.New("dial"))
	}
	c, _ := identity.From(ctx)
	return &referralv1.GetSignalResponse{Signal: &referralv1.Signal{Id: c.Org.OIN, Reporter: c.User + "/" + c.Role + "/" + c.Purpose}}, nil
}

type fixture struct {
	ca   *devca.CA
	addr string
}

func start(t *testing.T) *fixture {
	t.Helper()
	ca, err := devca.New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, _, err := ca.IssueService(devca.Org{OIN: "00000099000000000001", Name: "svc", Type: "SERVICE"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := grpcx.NewServer(grpcx.ServerConfig{
		Service: "test",
		TLS:     &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()},
		Policy: authz.Policy{
			referralv1.ReferralService_GetSignal_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgGP}},
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	referralv1.RegisterReferralServiceServer(s, stub{})
	lis, err := grpcx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	s.SetServing(true)
	t.Cleanup(s.Stop)
	return &fixture{ca: ca, addr: lis.Addr().String()}
}

func (f *fixture) client(t *testing.T, tlsConf *tls.Config) referralv1.ReferralServiceClient {
	t.Helper()
	cc, err := grpcx.Dial(f.addr, tlsConf, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return referralv1.NewReferralServiceClient(cc)
}

func (f *fixture) as(t *testing.T, ca *devca.CA, orgType string, notAfter time.Time) *tls.Config {
	t.Helper()
	cert, _, _, err := ca.IssueClientWithTimes(devca.Org{OIN: "00000001000000000042", Name: "Praktijk", Type: orgType}, time.Now().Add(-2*time.Hour), notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: f.ca.Pool()}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return grpcx.ActingUser(c, "u1", "gp", "signal-intake")
}

func TestConnectionsWithoutValidClientCertificateAreRefused(t *testing.T) {
	f := start(t)
	other, _ := devca.New("other CA")
	cases := map[string]*tls.Config{
		"no client certificate": {MinVersion: tls.VersionTLS13, RootCAs: f.ca.Pool()},
		"another CA":            f.as(t, other, "GP", time.Now().Add(time.Hour)),
		"expired":               f.as(t, f.ca, "GP", time.Now().Add(-time.Hour)),
	}
	for name, conf := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.client(t, conf).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "x"})
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("want the connection refused (UNAVAILABLE), got %v", err)
			}
		})
	}
	t.Run("plaintext", func(t *testing.T) {
		cc, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecureCreds()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		_, err = healthpb.NewHealthClient(cc).Check(ctx(t), &healthpb.HealthCheckRequest{})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext must be refused, got %v", err)
		}
	})
}

func TestIdentityPolicyAndErrors(t *testing.T) {
	f := start(t)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))

	resp, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSignal().GetId() != "00000001000000000042" || resp.GetSignal().GetReporter() != "u1/gp/signal-intake" {
		t.Fatalf("caller not taken from certificate and metadata: %v", resp.GetSignal())
	}

	noUser, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := gp.GetSignal(noUser, &referralv1.GetSignalRequest{SignalId: "ok"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("missing acting user: want UNAUTHENTICATED, got %v", err)
	}
	if _, err := gp.SubmitSignal(ctx(t), &referralv1.SubmitSignalRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("method without a rule: want PERMISSION_DENIED, got %v", err)
	}
	team := f.client(t, f.as(t, f.ca, "TEAM", time.Now().Add(time.Hour)))
	if _, err := team.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "ok"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("org type not in rule: want PERMISSION_DENIED, got %v", err)
	}

	_, err = gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "invalid"})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Fatalf("typed error: %v", err)
	}
	if br, ok := st.Details()[0].(*errdetails.BadRequest); !ok || br.GetFieldViolations()[0].GetField() != "signal_id" {
		t.Fatalf("field violation missing: %v", st.Details())
	}
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "missing"}); status.Code(err) != codes.NotFound {
		t.Fatalf("not found: %v", err)
	}
	_, err = gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "internal"})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "secret detail") {
		t.Fatalf("internal errors must be masked: %v", err)
	}
	// Transient failures of PostgreSQL, NATS or a peer are UNAVAILABLE with retry advice, so a
	// standard gRPC retry policy retries them.
	for _, id := range []string{"db-down", "nats-down", "peer-down"} {
		_, err = gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: id})
		st := status.Convert(err)
		if st.Code() != codes.Unavailable {
			t.Fatalf("%s: want UNAVAILABLE, got %v", id, err)
		}
		var retry *errdetails.RetryInfo
		for _, d := range st.Details() {
			if r, ok := d.(*errdetails.RetryInfo); ok {
				retry = r
			}
		}
		if retry == nil || retry.GetRetryDelay().AsDuration() != grpcx.RetryDelay {
			t.Fatalf("%s: want a RetryInfo detail, got %v", id, st.Details())
		}
		if strings.Contains(err.Error(), "administrator command") {
			t.Fatalf("%s: the cause must not reach the caller: %v", id, err)
		}
	}
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "panic"}); status.Code(err) != codes.Internal {
		t.Fatalf("panic: want INTERNAL, got %v", err)
	}
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "ok"}); err != nil {
		t.Fatalf("the server must survive a panic: %v", err)
	}
}

func TestHealthNeedsCertificateButNoActingUser(t *testing.T) {
	f := start(t)
	cc, err := grpcx.Dial(f.addr, f.as(t, f.ca, "INTEGRATOR", time.Now().Add(time.Hour)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", resp, err)
	}
}

func TestServerRefusesMissingTLSOrPolicy(t *testing.T) {
	if _, err := grpcx.NewServer(grpcx.ServerConfig{Policy: authz.Policy{}}); err == nil {
		t.Fatal("a server without mutual TLS must not be built")
	}
	if _, err := grpcx.NewServer(grpcx.ServerConfig{TLS: &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert}}); err == nil {
		t.Fatal("a server without a policy must not be built")
	}
}

func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }
