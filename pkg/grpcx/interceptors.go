package grpcx

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The server's unary chain, outermost first. The order matters and is written down here:
//
//  0. metrics   – the standard gRPC server metrics with the final status code
//     (go-grpc-middleware providers/prometheus).
//  1. recovery  – a panic anywhere below becomes INTERNAL and is logged with its stack; the
//     process keeps serving (go-grpc-middleware interceptors/recovery; calllog.go).
//  2. certificate – a call on a connection without a verified client certificate is refused
//     with UNAUTHENTICATED before anything else runs (see NewServer).
//  3. access    – one structured log line per call, with the final status code (so it must
//     sit outside the error mapping) and the caller: the identity step below adds the
//     caller's fields to the logging fields this step puts into the context
//     (go-grpc-middleware interceptors/logging; calllog.go). Payloads are never logged.
//  4. errors    – typed errors → gRPC status, internal errors masked (ToStatus).
//     decode    – a request whose bytes did not decode → INVALID_ARGUMENT (decode.go); it
//     must come before anything that can return early.
//  5. identity  – organisation from the verified client certificate, acting user from
//     metadata; missing → UNAUTHENTICATED.
//  6. limits    – per-user and per-organisation rate limit (RESOURCE_EXHAUSTED; our
//     golang.org/x/time/rate buckets, ratelimit.go: the refusal names the limit and carries RetryInfo) and a
//     cap on every call's deadline.
//  7. policy    – deny by default per method (authz.Policy).
//  8. key       – an idempotency-key metadata goes into the request's idempotency_key, as
//     the REST edge does with its Idempotency-Key header (idempotency.SetKey): a key sent
//     there was ignored, also when it differed from the body's.
//  9. validate  – the field rules declared in the protos (protovalidate, validate.go), after
//     the policy so that a caller who may not call a method learns nothing about it.
//     Then the database gate (dbgate.go), and last the page check: a page of a list too
//     large to send is INVALID_ARGUMENT on page_size (pageFitsUnary).
//
// OpenTelemetry runs as a stats handler before all of them, so every log line has a trace id.
func unaryChain(log *slog.Logger, policy authz.Policy, m *grpcprom.ServerMetrics, rl RateLimit, maxCall time.Duration, v protovalidate.Validator, db *dbGate, revoked func(*x509.Certificate) bool) []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{
		m.UnaryServerInterceptor(),
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(log, "panic in handler"))),
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if err := requireCertificate(ctx, revoked); err != nil {
				return nil, err
			}
			return handler(ctx, req)
		},
		logging.UnaryServerInterceptor(accessLogger(log, true), accessLogOptions...),
		errorsUnary(log),
		decodeUnary(),
		identityUnary(),
		rateLimitUnary(rl),
		deadlineCapUnary(maxCall),
		policyUnary(policy),
		idempotencyKeyUnary(),
		validateUnary(v),
		db.unary(),
		pageFitsUnary(),
	}
}

// pageFitsUnary refuses a page of a list that is larger than a message may be (a list of
// long texts at a large page_size; records are at most a few tens of kilobytes, pages at most
// hundreds of records). grpc-go refused to send it as RESOURCE_EXHAUSTED "trying to send
// message larger than max", which the REST edge made a 429 without Retry-After and the call
// log an OK, and which no retry mends (an outside probe, thirty-fourth session): it is
// INVALID_ARGUMENT on page_size, saying how many records fit.
func pageFitsUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return resp, err
		}
		m, ok := resp.(proto.Message)
		if !ok || m.ProtoReflect().Descriptor().Fields().ByName("next_page_token") == nil {
			return resp, nil
		}
		size := proto.Size(m)
		if size <= MaxMessageBytes {
			return resp, nil
		}
		records := 0
		m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.IsList() && fd.Kind() == protoreflect.MessageKind {
				records = max(records, v.List().Len())
			}
			return true
		})
		fit := max(1, records*(MaxMessageBytes*9/10)/size)
		return nil, apperr.Invalid("page_size", fmt.Sprintf("this page of %d records would be %d bytes, more than the %d a message may have: ask for at most %d records a page", records, size, MaxMessageBytes, fit))
	}
}

// idempotencyKeyUnary puts a key sent as idempotency-key metadata into the request's
// idempotency_key field (step 8 above). The REST edge's calls carry their header's key as
// that metadata too, already in the field, so they pass unchanged.
func idempotencyKeyUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		// ValueFromIncomingContext, not FromIncomingContext: this runs on every call, and the
		// latter copies all of the call's metadata.
		keys := metadata.ValueFromIncomingContext(ctx, "idempotency-key")
		if len(keys) == 0 || strings.HasPrefix(info.FullMethod, "/grpc.health.v1.") {
			// Health checks ignore it, as reflection does (a stream): a client that sends the
			// key with every call must not fail its health checks.
			return handler(ctx, req)
		}
		if len(keys) > 1 {
			return nil, apperr.Invalid("idempotency_key", "the idempotency-key metadata is sent more than once: send it once")
		}
		if m, ok := req.(proto.Message); ok {
			if err := idempotency.SetKey(m.ProtoReflect(), keys[0], "the idempotency-key metadata", ""); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// NoCertificateMessage is what a caller without a client certificate is told. A client whose
// certificate comes from another CA sends none (TLS clients offer only certificates of the
// CAs the server names), so it is told the same.
const NoCertificateMessage = "no client certificate: every Wijkbrug port requires mutual TLS; present a certificate issued by the partner CA this port trusts (grpcurl -cert/-key)"

func requireCertificate(ctx context.Context, revoked func(*x509.Certificate) bool) error {
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			if revoked != nil && len(ti.State.VerifiedChains[0]) > 0 && revoked(ti.State.VerifiedChains[0][0]) {
				return status.Error(codes.Unauthenticated, RevokedMessage)
			}
			return nil
		}
		// The REST edge verified the partner's certificate in its own handshake; the identity
		// step reads it from the edge's header (and refuses a call without one).
		if _, ok := p.AuthInfo.(edgeAuthInfo); ok {
			if revoked != nil {
				if cert, err := edgeCertificate(ctx); err == nil && revoked(cert) {
					return status.Error(codes.Unauthenticated, RevokedMessage)
				}
			}
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, NoCertificateMessage)
}

// RevokedMessage answers a call over a connection whose certificate was revoked (the deny
// list) after the connection was opened.
const RevokedMessage = "the client certificate is revoked"

// The stream chain is the unary chain's for streams: metrics, recovery, decode, certificate,
// access line, error mapping, then identity and policy (no rate limit or deadline cap).
func streamChain(log *slog.Logger, policy authz.Policy, m *grpcprom.ServerMetrics, revoked func(*x509.Certificate) bool) []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		m.StreamServerInterceptor(),
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(log, "panic in stream"))),
		func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			return handler(srv, decodeStream{ss})
		},
		func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			if err := requireCertificate(ss.Context(), revoked); err != nil {
				return err
			}
			return handler(srv, ss)
		},
		logging.StreamServerInterceptor(accessLogger(log, false), accessLogOptions...),
		func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			if err := handler(srv, ss); err != nil {
				return ToStatus(ss.Context(), log, err)
			}
			return nil
		},
		func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			ctx, err := authenticate(ss.Context(), info.FullMethod)
			if err == nil && !authz.IsPublic(info.FullMethod) {
				c, _ := identity.From(ctx)
				err = policy.Check(info.FullMethod, c)
			}
			if err != nil {
				return err
			}
			return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
		},
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

func errorsUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, ToStatus(ctx, log, err)
		}
		return resp, nil
	}
}

func identityUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func policyUnary(policy authz.Policy) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !authz.IsPublic(info.FullMethod) {
			c, _ := identity.From(ctx)
			if err := policy.Check(info.FullMethod, c); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// authenticate puts the Caller into ctx. Public methods (health, reflection) need only the
// certificate, which the TLS handshake already enforced.
func authenticate(ctx context.Context, method string) (context.Context, error) {
	if authz.IsPublic(method) {
		return ctx, nil
	}
	org, err := orgFromPeer(ctx)
	if err != nil {
		return ctx, apperr.Unauthenticated(err.Error())
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if err := RepeatedActingUserError(func(k string) int { return len(md.Get(k)) }); err != nil {
		return ctx, err
	}
	get := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	c := identity.Caller{Org: org, User: get(identity.HeaderUser), Role: get(identity.HeaderRole),
		Purpose: get(identity.HeaderPurpose), OnBehalfOf: get(identity.HeaderOnBehalfOf)}
	if err := ActingUserError(get); err != nil {
		return ctx, err
	}
	if org.Type != identity.OrgService && identity.ReservedUser(c.User) {
		return ctx, &apperr.Error{Kind: apperr.KindUnauthenticated, Message: "acting user metadata missing or not acceptable",
			Violations: []apperr.FieldViolation{{Field: "metadata " + identity.HeaderUser,
				Description: "begins with " + identity.SystemUserPrefix + ", which names a Wijkbrug service's own work: use the professional's own identifier"}}}
	}
	if c.OnBehalfOf != "" && org.Type != identity.OrgService {
		return ctx, apperr.PermissionDenied("only Wijkbrug services may act on behalf of another organisation")
	}
	// The access line (outside the error mapping, so it cannot see this context) reads the
	// caller from the logging fields its interceptor put into the context.
	logging.AddFields(ctx, callerFields(c))
	return identity.WithCaller(ctx, c), nil
}

// ActingUserError is UNAUTHENTICATED naming each acting-user value (user, role, purpose, as
// get returns them by header name) that is missing or not acceptable
// (identity.HeaderValueProblem); nil when all three are. The REST edge answers with it too.
func ActingUserError(get func(header string) string) error {
	var bad []apperr.FieldViolation
	for _, k := range []string{identity.HeaderUser, identity.HeaderRole, identity.HeaderPurpose} {
		if problem := identity.HeaderValueProblem(get(k)); problem != "" {
			bad = append(bad, apperr.FieldViolation{Field: "metadata " + k, Description: problem})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &apperr.Error{Kind: apperr.KindUnauthenticated, Message: "acting user metadata missing or not acceptable", Violations: bad}
}

// RepeatedActingUserError is UNAUTHENTICATED naming each acting-user value (user, role,
// purpose, on-behalf-of; count gives how often its header was sent) sent more than once:
// which of two users acts, or under which purpose, is not for the service to guess, and the
// access log records one. nil when each is sent at most once. The REST edge answers with it
// too.
func RepeatedActingUserError(count func(header string) int) error {
	var bad []apperr.FieldViolation
	for _, k := range []string{identity.HeaderUser, identity.HeaderRole, identity.HeaderPurpose, identity.HeaderOnBehalfOf} {
		if n := count(k); n > 1 {
			bad = append(bad, apperr.FieldViolation{Field: "metadata " + k, Description: fmt.Sprintf("sent %d times: send it once", n)})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &apperr.Error{Kind: apperr.KindUnauthenticated, Message: "acting user metadata sent more than once", Violations: bad}
}

func orgFromPeer(ctx context.Context) (identity.Organisation, error) {
	if org, edge, err := edgeOrg(ctx); edge {
		return org, err
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return identity.Organisation{}, fmt.Errorf("no peer")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return identity.Organisation{}, fmt.Errorf("no verified client certificate")
	}
	return identity.FromCertificate(ti.State.VerifiedChains[0][0])
}
