package grpcx

import (
	"context"
	"sync"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
)

// RateLimit is a token bucket per calling organisation: Rate requests per second on average,
// bursts up to Burst. One partner's runaway client cannot starve the others.
type RateLimit struct {
	Rate  float64
	Burst int
}

type bucket struct {
	tokens float64
	last   time.Time
}

type limiter struct {
	cfg     RateLimit
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

func newLimiter(cfg RateLimit) *limiter {
	return &limiter{cfg: cfg, buckets: map[string]*bucket{}, now: time.Now}
}

func (l *limiter) allow(org string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[org]
	if !ok {
		if len(l.buckets) > 100_000 { // bounded memory: forget idle organisations
			for k, v := range l.buckets {
				if now.Sub(v.last) > time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{tokens: float64(l.cfg.Burst), last: now}
		l.buckets[org] = b
	}
	b.tokens = min(float64(l.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*l.cfg.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// rateLimitUnary refuses calls over the organisation's budget with RESOURCE_EXHAUSTED. It runs
// after identity, so the budget is per organisation (from the certificate), not per address.
func rateLimitUnary(cfg RateLimit) grpc.UnaryServerInterceptor {
	if cfg.Rate <= 0 {
		return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		}
	}
	l := newLimiter(cfg)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !authz.IsPublic(info.FullMethod) {
			if c, ok := identity.From(ctx); ok && !l.allow(c.Org.OIN) {
				return nil, &apperr.Error{Kind: apperr.KindResourceExhausted, Message: "rate limit of the organisation exceeded; retry with backoff"}
			}
		}
		return handler(ctx, req)
	}
}

// deadlineCapUnary bounds every call: a call without a deadline, or with a longer one, gets
// maxDuration, so no request can hold resources indefinitely.
func deadlineCapUnary(maxDuration time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if maxDuration > 0 {
			if d, ok := ctx.Deadline(); !ok || time.Until(d) > maxDuration {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, maxDuration)
				defer cancel()
			}
		}
		return handler(ctx, req)
	}
}
