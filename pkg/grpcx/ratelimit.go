package grpcx

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
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

// refusal says which budget a call exceeded and when the next call fits in it.
type refusal struct {
	user       bool // the acting user's budget; else the organisation's
	rate       float64
	burst      int
	retryAfter time.Duration
}

// allow takes a token for the call from the acting user's bucket and then the
// organisation's, and says which refused it (nil: the call may go ahead).
func (l *limiter) allow(org, user string) *refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.cfg.UserRate > 0 {
		if lim := take(l.users, org+"\x00"+user, l.cfg.UserRate, l.cfg.UserBurst, now); !lim.AllowN(now, 1) {
			return &refusal{user: true, rate: l.cfg.UserRate, burst: max(l.cfg.UserBurst, 1), retryAfter: untilToken(lim, now)}
		}
	}
	if l.cfg.Rate > 0 {
		if lim := take(l.orgs, org, l.cfg.Rate, l.cfg.Burst, now); !lim.AllowN(now, 1) {
			return &refusal{rate: l.cfg.Rate, burst: max(l.cfg.Burst, 1), retryAfter: untilToken(lim, now)}
		}
	}
	return nil
}

// untilToken is how long until lim holds a whole token again, rounded up to a millisecond.
func untilToken(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 || lim.Limit() <= 0 {
		return time.Millisecond
	}
	d := time.Duration(math.Ceil(missing / float64(lim.Limit()) * float64(time.Second)))
	return max(d.Round(time.Millisecond), time.Millisecond)
}

// grpcError is RESOURCE_EXHAUSTED naming the budget the call exceeded (the acting user's or the
// whole organisation's, with its size) and when to retry, also as a google.rpc.RetryInfo
// detail, as UNAVAILABLE carries one.
func (r *refusal) grpcError() error {
	who := "your organisation (all its users together)"
	if r.user {
		who = "this acting user of your organisation"
	}
	msg := fmt.Sprintf("rate limit: too many calls by %s, at most %s per second with bursts of %d; retry after %s",
		who, strconv.FormatFloat(r.rate, 'f', -1, 64), r.burst, r.retryAfter)
	st := status.New(codes.ResourceExhausted, msg)
	if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.retryAfter)}); err == nil {
		st = withInfo
	}
	return st.Err()
}

// Limit refuses a call over the acting user's or the organisation's budget with
// RESOURCE_EXHAUSTED (refusal.grpcError). It runs after identity, so the budgets follow the
// certificate and the acting user, not the network address. Public methods (health,
// reflection) are not limited.
func (l *limiter) Limit(ctx context.Context) error {
	if method, _ := grpc.Method(ctx); authz.IsPublic(method) {
		return nil
	}
	// Wijkbrug's own services are not limited: what they call is paced by the events and
	// partner calls they serve, which passed a limit where they entered. Limiting them
	// throttled the asynchronous chain (intake's consumer refused by referral) while the
	// front door kept accepting signals.
	if c, ok := identity.From(ctx); ok && c.Org.Type != identity.OrgService {
		if r := l.allow(c.Org.OIN, c.User); r != nil {
			return r.grpcError()
		}
	}
	return nil
}

// rateLimitUnary checks every call against the per-user and per-organisation buckets; it
// passes every call when both rates are off. (It was go-grpc-middleware's ratelimit
// interceptor, whose refusal named its own internals and gave no retry advice.)
func rateLimitUnary(cfg RateLimit) grpc.UnaryServerInterceptor {
	if cfg.Rate <= 0 && cfg.UserRate <= 0 {
		return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(ctx, req)
		}
	}
	l := newLimiter(cfg)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := l.Limit(ctx); err != nil {
			return nil, err
		}
		return h(ctx, req)
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
