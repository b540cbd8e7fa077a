package idempotency_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestConcurrentRepeatsRunOnce(t *testing.T) {
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, testkit.NewDatabase(t, "platform", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
	}), 16)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := idempotency.New(db)
	orgA := identity.WithCaller(ctx, identity.Caller{Org: identity.Organisation{OIN: "00000001000000000001"}})
	orgB := identity.WithCaller(ctx, identity.Caller{Org: identity.Organisation{OIN: "00000001000000000002"}})
	var runs atomic.Int32
	do := func(ctx context.Context, req *referralv1.SubmitSignalRequest) (*referralv1.SubmitSignalResponse, error) {
		return idempotency.Do(ctx, store, req, func() *referralv1.SubmitSignalResponse { return &referralv1.SubmitSignalResponse{} },
			func(ctx context.Context) (*referralv1.SubmitSignalResponse, error) {
				n := runs.Add(1)
				return &referralv1.SubmitSignalResponse{SignalId: string(rune('A' + n - 1))}, nil
			})
	}
	req := &referralv1.SubmitSignalRequest{IdempotencyKey: "k", Category: "x"}
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := do(orgA, req)
			if err != nil {
				t.Error(err)
				return
			}
			answers[i] = resp.GetSignalId()
		}()
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("the operation ran %d times", runs.Load())
	}
	for _, a := range answers {
		if a != answers[0] {
			t.Fatalf("answers differ: %v", answers)
		}
	}
	if _, err := do(orgA, &referralv1.SubmitSignalRequest{IdempotencyKey: "k", Category: "y"}); !apperr.IsKind(err, apperr.KindInvalidArgument) {
		t.Fatalf("reuse with another request: %v", err)
	}
	if _, err := do(orgB, req); err != nil || runs.Load() != 2 {
		t.Fatalf("keys are scoped per organisation: runs=%d err=%v", runs.Load(), err)
	}
	failing := func(ctx context.Context) (*referralv1.SubmitSignalResponse, error) {
		return nil, apperr.FailedPrecondition("no")
	}
	if _, err := idempotency.Do(orgA, store, &referralv1.SubmitSignalRequest{IdempotencyKey: "f"}, func() *referralv1.SubmitSignalResponse { return nil }, failing); err == nil {
		t.Fatal("want the failure")
	}
	if _, err := do(orgA, &referralv1.SubmitSignalRequest{IdempotencyKey: "f"}); err != nil || runs.Load() != 3 {
		t.Fatalf("a failed attempt must not consume the key: runs=%d err=%v", runs.Load(), err)
	}
	for _, key := range []string{"   ", " k", "k\t"} {
		if _, err := do(orgA, &referralv1.SubmitSignalRequest{IdempotencyKey: key}); !apperr.IsKind(err, apperr.KindInvalidArgument) {
			t.Fatalf("key %q (white space around it, as a trimmed header could never send): %v", key, err)
		}
	}
	if runs.Load() != 3 {
		t.Fatalf("a refused key ran the operation: runs=%d", runs.Load())
	}
}
