package grpcx

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A refused call is told which budget it exceeded (the acting user's or the whole
// organisation's) and when to retry, in the message and as RetryInfo; the message names no
// middleware (probe-a: "is rejected by grpc_ratelimit middleware, please retry later").
func TestRateLimitRefusalSaysWhichBudgetAndWhen(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimit{UserRate: 2, UserBurst: 1, Rate: 4, Burst: 2})
	l.now = func() time.Time { return now }
	as := func(user string) context.Context {
		return identity.WithCaller(context.Background(), identity.Caller{
			Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgGP}, User: user})
	}
	check := func(err error, who string, delay time.Duration) {
		t.Helper()
		st, _ := status.FromError(err)
		if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), who) ||
			!strings.Contains(st.Message(), "retry after "+delay.String()) || strings.Contains(st.Message(), "middleware") {
			t.Fatalf("got %v, want RESOURCE_EXHAUSTED naming %q and %s", err, who, delay)
		}
		var got []time.Duration
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				got = append(got, ri.GetRetryDelay().AsDuration())
			}
		}
		if len(got) != 1 || got[0] != delay {
			t.Fatalf("RetryInfo %v, want %s", got, delay)
		}
	}
	if err := l.Limit(as("anna")); err != nil {
		t.Fatal(err)
	}
	// anna's bucket (2/s, burst 1) is empty: a token in 500ms.
	check(l.Limit(as("anna")), "this acting user of your organisation, at most 2 per second with bursts of 1", 500*time.Millisecond)
	if err := l.Limit(as("bram")); err != nil {
		t.Fatal(err)
	}
	// The organisation's bucket (4/s, burst 2) is empty after anna's and bram's calls.
	check(l.Limit(as("carla")), "your organisation (all its users together), at most 4 per second with bursts of 2", 250*time.Millisecond)
	now = now.Add(100 * time.Millisecond)
	check(l.Limit(as("anna")), "this acting user", 400*time.Millisecond)
}
