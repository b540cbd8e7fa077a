package grpcx

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"google.golang.org/grpc"
)

// errDatabaseUnreachable ends the calls in flight when the readiness check finds PostgreSQL
// unreachable.
var errDatabaseUnreachable = errors.New("PostgreSQL unreachable")

// dbGate answers UNAVAILABLE (with RetryInfo, by ToStatus) while the service's readiness check
// finds PostgreSQL unreachable, and ends the calls in flight when it first does. A database
// that is down refuses connections and a call fails fast by itself; one that hangs (paused,
// a network partition, a failover in progress) left every call waiting until its deadline, so
// a caller saw DEADLINE_EXCEEDED and a retry policy on UNAVAILABLE never retried (an outage
// probe paused PostgreSQL: 48 calls of 48 hung for their whole 12 s). A call ended this way may
// still have been applied (its COMMIT may have been sent): retried with the same idempotency
// key, it is applied once, as after any UNAVAILABLE.
type dbGate struct {
	down  atomic.Bool
	ready atomic.Bool // set by the first set(true); while false (and hold), calls answer UNAVAILABLE
	hold  bool
	// epoch is ended when the database is found unreachable; read on every call without a
	// lock (it was a mutex per call), replaced by set.
	epoch atomic.Pointer[gateEpoch]
}

type gateEpoch struct {
	ctx context.Context
	end context.CancelCauseFunc
}

func newGateEpoch() *gateEpoch {
	e := &gateEpoch{}
	e.ctx, e.end = context.WithCancelCause(context.Background())
	return e
}

func newDBGate() *dbGate {
	g := &dbGate{}
	g.epoch.Store(newGateEpoch())
	return g
}

// set records what the readiness check found.
func (g *dbGate) set(reachable bool) {
	if reachable {
		g.down.Store(false)
		g.ready.Store(true)
		return
	}
	if g.down.Swap(true) {
		return
	}
	g.epoch.Swap(newGateEpoch()).end(errDatabaseUnreachable)
}

func databaseUnavailable() error {
	return apperr.Unavailable("temporarily unavailable: the database does not answer; retry (a change with the same idempotency key)", nil)
}

func (g *dbGate) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if authz.IsPublic(info.FullMethod) {
			return handler(ctx, req)
		}
		if g.hold && !g.ready.Load() {
			return nil, apperr.Unavailable("temporarily unavailable: the service is starting; retry (a change with the same idempotency key)", nil)
		}
		if g.down.Load() {
			return nil, databaseUnavailable()
		}
		epoch := g.epoch.Load().ctx
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(epoch, func() { cancel(context.Cause(epoch)) })
		defer stop()
		resp, err := handler(ctx, req)
		if err != nil && errors.Is(context.Cause(ctx), errDatabaseUnreachable) {
			return nil, databaseUnavailable()
		}
		return resp, err
	}
}
