// Package grpcx builds gRPC servers and clients the same way for every service: mutual TLS,
// caller identity, deny-by-default policy, recovery, access logs, metrics, tracing, typed
// error mapping, health and reflection.
package grpcx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// MaxMessageBytes bounds request and response size: no legitimate Wijkbrug message comes
// near it, and it keeps a malicious caller from making the server allocate much.
const MaxMessageBytes = 4 << 20

// The limits of one gRPC connection (NewServer). MaxHeaderBytes leaves room above the REST
// edge's 64 KiB of HTTP headers for the certificate the edge passes on with them.
const (
	MaxConcurrentStreams = 500
	MaxConnectionIdle    = 2 * time.Minute
	MaxHeaderBytes       = 128 << 10
)

// refuseAnonymousStreams answers a stream on a connection without a verified client
// certificate with UNAUTHENTICATED as soon as its headers arrive (a grpc InTapHandle): the
// interceptors, which say the same, run only once the request message has come, and a stream
// whose message never comes held a goroutine until the client gave up. The REST edge's own
// connection, and every check of a certificate that is there, are the interceptors'.
func refuseAnonymousStreams(ctx context.Context, _ *tap.Info) (context.Context, error) {
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) == 0 {
			return ctx, status.Error(codes.Unauthenticated, NoCertificateMessage)
		}
	}
	return ctx, nil
}

// ServerConfig configures a server.
type ServerConfig struct {
	// Service is the short service name ("intake"), used as the health service name too.
	Service string
	// TLS must require and verify client certificates; plaintext is not offered.
	TLS      *tls.Config
	Policy   authz.Policy
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// RateLimit per calling organisation; zero Rate disables it.
	RateLimit RateLimit
	// MaxCallDuration caps the deadline of every call (default 30 s).
	MaxCallDuration time.Duration
	// HoldUntilReady answers every call (but health and reflection) UNAVAILABLE until the first
	// SetDatabaseReachable(true): a service whose start-up checks have not passed yet (the
	// encryption key) must not take a call, on either edge.
	HoldUntilReady bool
	// Revoked, when set, is asked on every call whether the caller's certificate is revoked
	// (DenyList.Revoked): UNAUTHENTICATED if so, also on a connection opened before.
	Revoked func(*x509.Certificate) bool
}

// Server is a gRPC server with health reporting.
type Server struct {
	*grpc.Server
	health  *health.Server
	service string
	metrics *grpcprom.ServerMetrics
	db      *dbGate
}

// LatencyBuckets are the histogram buckets of RPC latency, server and client side.
var LatencyBuckets = []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewServerMetrics returns the standard gRPC server metrics as every server records them.
func NewServerMetrics() *grpcprom.ServerMetrics {
	return grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(LatencyBuckets)))
}

// NewServer builds the server; register services on it, then call Serve.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.TLS == nil || cfg.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
		return nil, errors.New("grpcx: TLS with required client certificates is mandatory")
	}
	if cfg.TLS.MinVersion < tls.VersionTLS13 {
		return nil, errors.New("grpcx: TLS 1.3 is the minimum")
	}
	if cfg.MaxCallDuration <= 0 {
		cfg.MaxCallDuration = 30 * time.Second
	}
	if cfg.Policy == nil {
		return nil, errors.New("grpcx: a policy is mandatory (deny by default)")
	}
	// The standard gRPC server metrics (grpc_server_started_total, grpc_server_handled_total,
	// grpc_server_msg_{received,sent}_total, grpc_server_handling_seconds), unary and streaming.
	m := NewServerMetrics()
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(m); err != nil {
			return nil, fmt.Errorf("grpcx: register metrics: %w", err)
		}
	}
	// The handshake asks for a client certificate and verifies any that is given (another CA,
	// expired, revoked: the handshake fails), but lets a connection without one complete, so
	// that every call on it is answered at once with UNAUTHENTICATED and a message that says
	// what is missing. With TLS 1.3 a refusal in the handshake reaches the client only after
	// it thinks the handshake is done, and gRPC clients then retry until their deadline and
	// report "context deadline exceeded". Calls without a certificate reach no service code.
	tlsConf := cfg.TLS.Clone()
	tlsConf.ClientAuth = tls.VerifyClientCertIfGiven
	validator, err := Validator()
	if err != nil {
		return nil, err
	}
	db := newDBGate()
	db.hold = cfg.HoldUntilReady
	gs := grpc.NewServer(
		grpc.Creds(edgeAwareCreds{credentials.NewTLS(tlsConf)}),
		grpc.ForceServerCodecV2(newDecodeCodec()),
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(unaryChain(cfg.Logger, cfg.Policy, m, cfg.RateLimit, cfg.MaxCallDuration, validator, db, cfg.Revoked)...),
		grpc.ChainStreamInterceptor(streamChain(cfg.Logger, cfg.Policy, m, cfg.Revoked)...),
		// Unknown methods go through the stream chain too, so a caller without a certificate
		// learns nothing about which services exist.
		grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			return status.Error(codes.Unimplemented, "unknown service or method")
		}),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.ConnectionTimeout(10*time.Second),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// What a connection may hold (an outside probe, thirty-fourth session: a client without
		// a certificate held 5,000 streams that never sent their request, each a goroutine,
		// and 300 idle connections for as long as it liked; grpc-go's defaults have no limit
		// on either, and 16 MiB of metadata): streams on a connection without a certificate
		// are refused as they open, before any goroutine waits for their message; a connection
		// carries at most MaxConcurrentStreams calls at once, is closed after
		// MaxConnectionIdle without one (as the REST port does), and takes at most
		// MaxHeaderBytes of metadata.
		grpc.InTapHandle(refuseAnonymousStreams),
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: MaxConnectionIdle}),
		grpc.MaxHeaderListSize(MaxHeaderBytes),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	s := &Server{Server: gs, health: hs, service: cfg.Service, metrics: m, db: db}
	s.SetServing(false)
	return s, nil
}

// Serve serves on lis; register every service before. The metrics of every method start at
// zero so that rates and alerts work before the first call.
func (s *Server) Serve(lis net.Listener) error {
	s.metrics.InitializeMetrics(s.Server)
	return s.Server.Serve(lis)
}

// HealthNames are the names under which gRPC health answers for a server with the given
// registered services: "" (the whole server), the short service name ("intake") and every
// registered full service name ("wijkbrug.intake.v1.IntakeService").
func HealthNames(short string, registered map[string]grpc.ServiceInfo) []string {
	names := []string{""}
	if short != "" {
		names = append(names, short)
	}
	for name := range registered {
		if name != healthpb.Health_ServiceDesc.ServiceName {
			names = append(names, name)
		}
	}
	return names
}

// SetServing sets the overall and the per-service health status.
func (s *Server) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range HealthNames(s.service, s.GetServiceInfo()) {
		s.health.SetServingStatus(name, st)
	}
}

// SetDatabaseReachable records what the service's readiness check found of PostgreSQL: while
// it is unreachable, calls answer UNAVAILABLE at once, and the calls in flight when it is first
// found so end with UNAVAILABLE instead of waiting for their deadline (dbGate).
func (s *Server) SetDatabaseReachable(ok bool) { s.db.set(ok) }

// DependencyHealthPrefix names the health entries of dependencies, e.g. "wijkbrug.dependency.nats".
const DependencyHealthPrefix = "wijkbrug.dependency."

// SetDependency reports one dependency in the health service under
// DependencyHealthPrefix+name, without touching the overall status: a detail for operators
// (grpc_health_probe -service wijkbrug.dependency.nats) when it does not decide readiness.
func (s *Server) SetDependency(name string, ok bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ok {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus(DependencyHealthPrefix+name, st)
}

// Shutdown reports NOT_SERVING for good, then stops accepting and drains in-flight calls,
// forcing a stop after grace.
func (s *Server) Shutdown(grace time.Duration) {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.Stop()
	}
}

// Listen opens a TCP listener; addr ":0" picks a free port.
func Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
