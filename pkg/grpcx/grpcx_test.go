package grpcx_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Signal ids the stub reacts to (ids are UUIDs: the proto says so).
const (
	idOK       = "00000000-0000-4000-8000-000000000000"
	idPanic    = "00000000-0000-4000-8000-000000000001"
	idInvalid  = "00000000-0000-4000-8000-000000000002"
	idMissing  = "00000000-0000-4000-8000-000000000003"
	idInternal = "00000000-0000-4000-8000-000000000004"
	idDBDown   = "00000000-0000-4000-8000-000000000005"
	idNATSDown = "00000000-0000-4000-8000-000000000006"
	idPeerDown = "00000000-0000-4000-8000-000000000007"
	idHang     = "00000000-0000-4000-8000-000000000008" // waits for its context, as a call on a database that does not answer
)

// hanging is told when a call with idHang has begun.
var hanging = make(chan struct{}, 1)

// stub answers GetSignal according to the requested id, so one server covers every edge case.
type stub struct {
	referralv1.UnimplementedReferralServiceServer
}

// ListMySignals answers page_size signals of 40 KB each (a description of 10,000 four-byte
// characters, the longest a signal takes).
func (stub) ListMySignals(_ context.Context, req *referralv1.ListMySignalsRequest) (*referralv1.ListMySignalsResponse, error) {
	out := &referralv1.ListMySignalsResponse{NextPageToken: "next"}
	for range req.GetPageSize() {
		out.Signals = append(out.Signals, &referralv1.Signal{Description: strings.Repeat("😀", 10000)})
	}
	return out, nil
}

func (stub) GetSignal(ctx context.Context, req *referralv1.GetSignalRequest) (*referralv1.GetSignalResponse, error) {
	switch req.GetSignalId() {
	case idPanic:
		panic("boom")
	case idInvalid:
		return nil, apperr.Invalid("signal_id", "bad")
	case idMissing:
		return nil, apperr.NotFound("signal", "missing")
	case idInternal:
		return nil, errors.New("invariant broken: secret detail")
	case idDBDown:
		return nil, fmt.Errorf("begin: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	case idNATSDown:
		return nil, fmt.Errorf("publish: %w", nats.ErrNoResponders)
	case idPeerDown:
		return nil, apperr.Unavailable("peer unreachable", errors.New("dial"))
	case idHang:
		hanging <- struct{}{}
		<-ctx.Done()
		return nil, fmt.Errorf("query: %w", ctx.Err())
	}
	c, _ := identity.From(ctx)
	return &referralv1.GetSignalResponse{Signal: &referralv1.Signal{Id: c.Org.OIN, Reporter: c.User + "/" + c.Role + "/" + c.Purpose}}, nil
}

type fixture struct {
	srv  *grpcx.Server
	ca   *devca.CA
	addr string
	logs *syncBuffer
	reg  *prometheus.Registry
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T) *fixture { t.Helper(); return startOpts(t, false) }

// startOpts is start, with the server holding calls until it is first ready (hold).
func startOpts(t *testing.T, hold bool) *fixture {
	t.Helper()
	ca, err := devca.New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, _, err := ca.IssueService(devca.Org{OIN: "00000099000000000001", Name: "svc", Type: "SERVICE"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs, reg := &syncBuffer{}, prometheus.NewRegistry()
	s, err := grpcx.NewServer(grpcx.ServerConfig{
		Registry: reg,
		Service:  "test",
		TLS:      &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()},
		Policy: authz.Policy{
			referralv1.ReferralService_GetSignal_FullMethodName:     {OrgTypes: []identity.OrgType{identity.OrgGP}},
			referralv1.ReferralService_ListMySignals_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgGP}},
		},
		Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
		HoldUntilReady: hold,
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
	return &fixture{srv: s, ca: ca, addr: lis.Addr().String(), logs: logs, reg: reg}
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
	return grpcx.ActingUser(c, "u1", "gp", "signal")
}

func TestConnectionsWithoutValidClientCertificateAreRefused(t *testing.T) {
	f := start(t)
	other, _ := devca.New("other CA")
	cases := map[string]*tls.Config{
		"expired": f.as(t, f.ca, "GP", time.Now().Add(-time.Hour)),
	}
	for name, conf := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.client(t, conf).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("want the connection refused (UNAVAILABLE), got %v", err)
			}
		})
	}
	// A certificate of another CA is not offered by the client (it is not among the CAs the
	// server names), so the call is refused as one without a certificate.
	t.Run("another CA", func(t *testing.T) {
		_, err := f.client(t, f.as(t, other, "GP", time.Now().Add(time.Hour))).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "x"})
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "no client certificate") {
			t.Fatalf("want UNAUTHENTICATED (no client certificate), got %v", err)
		}
	})
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

	resp, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSignal().GetId() != "00000001000000000042" || resp.GetSignal().GetReporter() != "u1/gp/signal" {
		t.Fatalf("caller not taken from certificate and metadata: %v", resp.GetSignal())
	}

	noUser, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := gp.GetSignal(noUser, &referralv1.GetSignalRequest{SignalId: idOK}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("missing acting user: want UNAUTHENTICATED, got %v", err)
	}
	if _, err := gp.SubmitSignal(ctx(t), &referralv1.SubmitSignalRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("method without a rule: want PERMISSION_DENIED, got %v", err)
	}
	// A partner's user may not pass for a service's own work in the access log.
	for _, user := range []string{"system:wijkbrug-casedirection", "SYSTEM:x"} {
		c := grpcx.ActingUser(noUser, user, "gp", "signal")
		_, err := gp.GetSignal(c, &referralv1.GetSignalRequest{SignalId: idOK})
		if st := status.Convert(err); st.Code() != codes.Unauthenticated || !strings.Contains(fmt.Sprint(st.Details()), "begins with system:") {
			t.Fatalf("user %q: want UNAUTHENTICATED: the user begins with system:, got %v %v", user, err, st.Details())
		}
	}
	team := f.client(t, f.as(t, f.ca, "TEAM", time.Now().Add(time.Hour)))
	if _, err := team.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("org type not in rule: want PERMISSION_DENIED, got %v", err)
	}

	_, err = gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idInvalid})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Fatalf("typed error: %v", err)
	}
	if br, ok := st.Details()[0].(*errdetails.BadRequest); !ok || br.GetFieldViolations()[0].GetField() != "signal_id" {
		t.Fatalf("field violation missing: %v", st.Details())
	}
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idMissing}); status.Code(err) != codes.NotFound {
		t.Fatalf("not found: %v", err)
	}
	_, err = gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idInternal})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "secret detail") {
		t.Fatalf("internal errors must be masked: %v", err)
	}
	// Transient failures of PostgreSQL, NATS or a peer are UNAVAILABLE with retry advice, so a
	// standard gRPC retry policy retries them.
	for _, id := range []string{idDBDown, idNATSDown, idPeerDown} {
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
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idPanic}); status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic: want INTERNAL without the panic value, got %v", err)
	}
	if l := f.logs.String(); !strings.Contains(l, `"msg":"panic in handler","method":"`+referralv1.ReferralService_GetSignal_FullMethodName+`","panic":"boom","stack":"goroutine`) {
		t.Fatalf("the panic must be logged with its value and stack:\n%s", l)
	}
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); err != nil {
		t.Fatalf("the server must survive a panic: %v", err)
	}
}

// While the readiness check finds PostgreSQL unreachable, calls answer UNAVAILABLE with
// RetryInfo at once, and a call in flight when it is first found ends so too: a database that
// hangs (paused, partitioned) had every call wait for its deadline (DEADLINE_EXCEEDED, which a
// retry policy on UNAVAILABLE does not retry). Health is still answered.
func TestCallsAnswerUnavailableWhileTheDatabaseDoesNotAnswer(t *testing.T) {
	f := start(t)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))
	unavailable := func(err error) bool {
		st := status.Convert(err)
		for _, d := range st.Details() {
			if r, ok := d.(*errdetails.RetryInfo); ok && r.GetRetryDelay().AsDuration() == grpcx.RetryDelay {
				return st.Code() == codes.Unavailable
			}
		}
		return false
	}
	inFlight := make(chan error, 1)
	began := time.Now()
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := gp.GetSignal(grpcx.ActingUser(c, "u1", "gp", "signal"), &referralv1.GetSignalRequest{SignalId: idHang})
		inFlight <- err
	}()
	<-hanging
	f.srv.SetDatabaseReachable(false)
	if err := <-inFlight; !unavailable(err) || time.Since(began) > 5*time.Second {
		t.Fatalf("the call in flight: want UNAVAILABLE with RetryInfo at once, got %v after %s", err, time.Since(began))
	}
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); !unavailable(err) {
		t.Fatalf("a new call while the database does not answer: %v", err)
	}
	cc, err := grpcx.Dial(f.addr, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health must still answer: %v", err)
	}
	f.srv.SetDatabaseReachable(true)
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); err != nil {
		t.Fatalf("once the database answers again: %v", err)
	}
}

// A server that holds calls until it is ready answers UNAVAILABLE (health excepted) until its
// readiness check first finds it so: a service whose start-up checks had not passed (the
// encryption key) took REST calls, and stored data under a key that was then refused.
func TestCallsWaitUntilTheServiceIsFirstReady(t *testing.T) {
	f := startOpts(t, true)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))
	_, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("a call before the service is first ready: want UNAVAILABLE, got %v", err)
	}
	cc, err := grpcx.Dial(f.addr, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health answers while starting: %v", err)
	}
	f.srv.SetDatabaseReachable(true)
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); err != nil {
		t.Fatalf("once ready: %v", err)
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

// A caller without a client certificate is told so at once, on every kind of call, instead of
// retrying a refused handshake until its deadline.
func TestMissingClientCertificateFailsFastWithAClearMessage(t *testing.T) {
	f := start(t)
	noCert := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: f.ca.Pool()}
	if _, err := grpcx.Dial(f.addr, noCert, time.Second); err == nil || !strings.Contains(err.Error(), "no client certificate") {
		t.Fatalf("grpcx.Dial without a certificate must refuse before dialling, got %v", err)
	}
	cc, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(credentials.NewTLS(noCert)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	calls := map[string]func(context.Context) error{
		"unary RPC": func(ctx context.Context) error {
			_, err := referralv1.NewReferralServiceClient(cc).GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: idOK})
			return err
		},
		"health": func(ctx context.Context) error {
			_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		},
		"unknown method": func(ctx context.Context) error {
			return cc.Invoke(ctx, "/wijkbrug.secret.v1.Hidden/Get", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
		},
		// A stream whose request message never comes: it had held a goroutine until the
		// client gave up (5,000 of them from one probe); it is refused as it opens.
		"a stream that never sends its request": func(ctx context.Context) error {
			st, err := cc.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, referralv1.ReferralService_GetSignal_FullMethodName)
			if err != nil {
				return err
			}
			return st.RecvMsg(&referralv1.GetSignalResponse{})
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := call(ctx(t))
			if status.Code(err) != codes.Unauthenticated || !strings.Contains(status.Convert(err).Message(), "no client certificate") {
				t.Fatalf("want UNAUTHENTICATED saying the certificate is missing, got %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("refusal took %s", d)
			}
		})
	}
}

// A page too large to send is INVALID_ARGUMENT on page_size, saying how many records fit, and
// a page of that many is sent (it was RESOURCE_EXHAUSTED "trying to send message larger than
// max": on REST a 429 that no retry mends).
func TestPageTooLargeNamesThePageSize(t *testing.T) {
	f := start(t)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))
	_, err := gp.ListMySignals(ctx(t), &referralv1.ListMySignalsRequest{PageSize: 200})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || len(st.Details()) == 0 {
		t.Fatalf("a page of 8 MB: %v, want INVALID_ARGUMENT on page_size", err)
	}
	br := st.Details()[0].(*errdetails.BadRequest)
	v := br.GetFieldViolations()[0]
	var fit int32
	if _, serr := fmt.Sscanf(v.GetDescription()[strings.LastIndex(v.GetDescription(), "at most ")+len("at most "):], "%d", &fit); v.GetField() != "page_size" || serr != nil || fit < 50 || fit >= 104 {
		t.Fatalf("violation %v: want page_size with the number of records that fit", v)
	}
	if resp, err := gp.ListMySignals(ctx(t), &referralv1.ListMySignalsRequest{PageSize: fit}); err != nil || len(resp.GetSignals()) != int(fit) {
		t.Fatalf("a page of the size it named: %d records, %v", len(resp.GetSignals()), err)
	}
}

// A connection takes at most grpcx.MaxHeaderBytes of metadata with a call (grpc-go's default
// was 16 MiB: an outside probe sent 8 MiB with every call).
func TestMetadataIsBounded(t *testing.T) {
	f := start(t)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))
	if _, err := gp.GetSignal(metadata.AppendToOutgoingContext(ctx(t), "x-pad", strings.Repeat("a", 32<<10)), &referralv1.GetSignalRequest{SignalId: idOK}); err != nil {
		t.Fatalf("32 KiB of metadata: %v", err)
	}
	if _, err := gp.GetSignal(metadata.AppendToOutgoingContext(ctx(t), "x-pad", strings.Repeat("a", 1<<20)), &referralv1.GetSignalRequest{SignalId: idOK}); err == nil {
		t.Fatal("1 MiB of metadata was taken")
	}
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); err != nil {
		t.Fatalf("a call after the refused one: %v", err)
	}
}

// The access line of an RPC names the organisation and the acting user, role and purpose
// (the identity is attached further in than the access step).
func TestAccessLineRecordsCaller(t *testing.T) {
	f := start(t)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idMissing}); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	var line map[string]any
	for _, l := range strings.Split(f.logs.String(), "\n") {
		if strings.Contains(l, `"msg":"rpc"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]any{"method": referralv1.ReferralService_GetSignal_FullMethodName, "code": "NotFound",
		"org_oin": "00000001000000000042", "org_type": "GP", "user": "u1", "role": "gp", "purpose": "signal"}
	for k, v := range want {
		if line[k] != v {
			t.Fatalf("access line %v: %s = %v, want %v", line, k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Fatalf("access line %v: no duration_ms", line)
	}
	// Never the request: it may hold personal data.
	if strings.Contains(f.logs.String(), idMissing) {
		t.Fatalf("a log line holds the request payload:\n%s", f.logs.String())
	}
}

// Health answers for the whole server, the short service name and the full service names.
func TestHealthUnderEveryPromisedName(t *testing.T) {
	f := start(t)
	cc, err := grpcx.Dial(f.addr, f.as(t, f.ca, "INTEGRATOR", time.Now().Add(time.Hour)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for _, name := range []string{"", "test", "wijkbrug.referral.v1.ReferralService"} {
		resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v", name, resp, err)
		}
	}
}

// The standard gRPC server metrics are exported, per method and code, from zero.
func TestStandardServerMetrics(t *testing.T) {
	f := start(t)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))
	if _, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK}); err != nil {
		t.Fatal(err)
	}
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	okCalls := 0.0
	for _, mf := range mfs {
		found[mf.GetName()] = true
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["grpc_method"] == "GetSignal" && labels["grpc_code"] == "OK" {
				okCalls = m.GetCounter().GetValue()
			}
		}
	}
	if okCalls != 1 {
		t.Fatalf("grpc_server_handled_total{GetSignal,OK} = %v, want 1", okCalls)
	}
	for _, name := range []string{"grpc_server_started_total", "grpc_server_handled_total", "grpc_server_msg_received_total", "grpc_server_msg_sent_total", "grpc_server_handling_seconds"} {
		if !found[name] {
			t.Fatalf("metric %s missing; have %v", name, found)
		}
	}
}
