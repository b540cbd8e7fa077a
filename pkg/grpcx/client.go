package grpcx

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
)

// DefaultCallTimeout is the deadline given to a call whose context has none: no call between
// services may wait forever.
const DefaultCallTimeout = 5 * time.Second

// Dial connects to a peer service with mutual TLS. Every call gets a deadline and carries the
// acting user of the context onward, with this service acting on behalf of the original
// organisation. extra adds options (ClientMetrics).
func Dial(target string, tlsConf *tls.Config, timeout time.Duration, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	if tlsConf == nil || len(tlsConf.Certificates) == 0 && tlsConf.GetClientCertificate == nil {
		return nil, errors.New("grpcx: no client certificate configured: Wijkbrug services accept mutual TLS only")
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithChainUnaryInterceptor(deadlineUnary(timeout), forwardCallerUnary()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
	}, extra...)
	return grpc.NewClient(target, opts...)
}

// ClientMetrics registers the standard gRPC client metrics (grpc_client_started_total,
// grpc_client_handled_total, grpc_client_msg_{received,sent}_total,
// grpc_client_handling_seconds; unary and streaming) on reg and returns the dial options that
// record them, for every connection to a peer.
func ClientMetrics(reg prometheus.Registerer) ([]grpc.DialOption, error) {
	m := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(LatencyBuckets)))
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(m.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(m.StreamClientInterceptor()),
	}, nil
}

func deadlineUnary(timeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func forwardCallerUnary() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if c, ok := identity.From(ctx); ok {
			onBehalf := c.OnBehalfOf
			if onBehalf == "" && c.Org.Type != identity.OrgService {
				onBehalf = c.Org.OIN
			}
			kv := []string{identity.HeaderUser, c.User, identity.HeaderRole, c.Role, identity.HeaderPurpose, c.Purpose}
			if onBehalf != "" {
				kv = append(kv, identity.HeaderOnBehalfOf, onBehalf)
			}
			ctx = metadata.AppendToOutgoingContext(ctx, kv...)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// ActingUser returns ctx with acting-user metadata for a call made outside any incoming
// request (tools, tests, demo clients).
func ActingUser(ctx context.Context, user, role, purpose string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, identity.HeaderUser, user, identity.HeaderRole, role, identity.HeaderPurpose, purpose)
}
