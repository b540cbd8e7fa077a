package grpcx

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/ratelimit"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
)

// RateLimit sizes the token buckets (golang.org/x/time/rate) every call must pass: one per
// acting user within the calling organisation, so one professional's runaway script cannot
// starve the colleagues of the same team, and one per organisation (from the certificate) as a
// ceiling, so one partner cannot starve the others. A rate of 0 switches that bucket off.
type RateLimit struct {
	// Rate and Burst are the ceiling of a whole organisation (requests per second).
	Rate  float64
	Burst int
	// UserRate and UserBurst are the budget of one acting user of an organisation.
	UserRate  float64
	UserBurst int
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

type limiter struct {
	cfg   RateLimit
	mu    sync.Mutex
	orgs  map[string]*bucket
	users map[string]*bucket
	now   func() time.Time
}

func newLimiter(cfg RateLimit) *limiter {
	return &limiter{cfg: cfg, orgs: map[string]*bucket{}, users: map[string]*bucket{}, now: time.Now}
}

// take returns the bucket of key, making it when new; memory stays bounded by forgetting
// buckets idle for a minute (a full bucket again by then) once there are many.
func take(m map[string]*bucket, key string, r float64, burst int, now time.Time) *rate.Limiter {
	b, ok := m[key]
	if !ok {
		if len(m) > 100_000 {
			for k, v := range m {
				if now.Sub(v.last) > time.Minute {
					delete(m, k)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r), max(burst, 1))}
		m[key] = b
	}
	b.last = now
	return b.lim
}

func (l *limiter) allow(org, user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.cfg.UserRate > 0 && !take(l.users, org+"\x00"+user, l.cfg.UserRate, l.cfg.UserBurst, now).AllowN(now, 1) {
		return false
	}
	if l.cfg.Rate > 0 && !take(l.orgs, org, l.cfg.Rate, l.cfg.Burst, now).AllowN(now, 1) {
		return false
	}
	return true
}

// errRateLimited is what a caller over its budget is told (after the library's prefix).
var errRateLimited = errors.New("rate limit of the user or the organisation exceeded; retry with backoff")

// Limit implements go-grpc-middleware's ratelimit.Limiter: a call over the acting user's or
// the organisation's budget is refused (the interceptor answers RESOURCE_EXHAUSTED). It runs
// after identity, so the budgets follow the certificate and the acting user, not the network
// address. Public methods (health, reflection) are not limited.
func (l *limiter) Limit(ctx context.Context) error {
	if method, _ := grpc.Method(ctx); authz.IsPublic(method) {
		return nil
	}
	// Wijkbrug's own services are not limited: what they call is paced by the events and
	// partner calls they serve, which passed a limit where they entered. Limiting them
	// throttled the asynchronous chain (intake's consumer refused by referral) while the
	// front door kept accepting signals.
	if c, ok := identity.From(ctx); ok && c.Org.Type != identity.OrgService && !l.allow(c.Org.OIN, c.User) {
		return errRateLimited
	}
	return nil
}

// rateLimitUnary is go-grpc-middleware's rate-limit interceptor with our per-user and
// per-organisation buckets; it passes every call when both rates are off.
func rateLimitUnary(cfg RateLimit) grpc.UnaryServerInterceptor {
	if cfg.Rate <= 0 && cfg.UserRate <= 0 {
		return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		}
	}
	return ratelimit.UnaryServerInterceptor(newLimiter(cfg))
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
