package idempotency_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// platformDB is a database with the platform migrations, and a store on it sealing with a key
// of its own (id 1).
func platformDB(t *testing.T) (*pgxdb.DB, *idempotency.Store) {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), testkit.NewDatabase(t, "platform", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
	}), 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, idempotency.New(db, protector(t, 1, randomKey(t), nil))
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func protector(t *testing.T, id byte, key []byte, previous map[byte][]byte) *bsn.Protector {
	t.Helper()
	p, err := bsn.NewProtector(bsn.Keys{EncryptionKeyID: id, Encryption: key, Previous: previous, Index: randomKey(t), Pseudonym: randomKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConcurrentRepeatsRunOnce(t *testing.T) {
	ctx := context.Background()
	_, store := platformDB(t)
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
	// Characters a partner cannot see or type back: a key that holds one is its own invisible
	// key (probe C, thirty-fourth session).
	for _, key := range []string{"a\tb", "a\nb", "\u200bk", "k\u00adk", "a\x00b", "a\x7fb", "a\u2028b", "a\u2029b", "a\u3164b", "a\u034fb", "a\ufe0fb"} {
		_, err := do(orgA, &referralv1.SubmitSignalRequest{IdempotencyKey: key})
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 1 ||
			e.Violations[0].Field != "idempotency_key" || !strings.Contains(e.Violations[0].Description, "printable") {
			t.Fatalf("key %q (a control or format character): %v", key, err)
		}
	}
	if _, err := do(orgA, &referralv1.SubmitSignalRequest{IdempotencyKey: "sleutel-één 🙂"}); err != nil {
		t.Fatalf("a printable key of any script is a key: %v", err)
	}
	if runs.Load() != 4 {
		t.Fatalf("a refused key ran the operation: runs=%d", runs.Load())
	}
}

// A stored answer is sealed: the database holds no byte of it in plain form, a replay opens it,
// after a rotation too while the old key is kept as a previous key, and it cannot be moved to
// another key's row. An answer stored before answers were sealed still replays.
func TestStoredAnswersAreSealed(t *testing.T) {
	ctx := context.Background()
	db, _ := platformDB(t)
	oldKey := randomKey(t)
	store := idempotency.New(db, protector(t, 1, oldKey, nil))
	org := identity.WithCaller(ctx, identity.Caller{Org: identity.Organisation{OIN: "00000001000000000001"}})
	const secret = "123456782 rent arrears, depression"
	runs := 0
	do := func(store *idempotency.Store, key string) (*referralv1.SubmitSignalResponse, error) {
		return idempotency.Do(org, store, &referralv1.SubmitSignalRequest{IdempotencyKey: key, Category: "x"},
			func() *referralv1.SubmitSignalResponse { return &referralv1.SubmitSignalResponse{} },
			func(ctx context.Context) (*referralv1.SubmitSignalResponse, error) {
				runs++
				return &referralv1.SubmitSignalResponse{SignalId: secret}, nil
			})
	}
	for _, key := range []string{"a", "b"} {
		if resp, err := do(store, key); err != nil || resp.GetSignalId() != secret {
			t.Fatalf("first call %s: %v %v", key, resp, err)
		}
	}
	stored := func(key string) []byte {
		var b []byte
		if err := db.Pool.QueryRow(ctx, `SELECT response FROM idempotency_keys WHERE key = $1`, key).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := stored("a"); len(b) == 0 || bytes.Contains(b, []byte("123456782")) || bytes.Contains(b, []byte("depression")) {
		t.Fatalf("the stored answer is not sealed: %q", b)
	}

	// Rotated: a new current key, the old one kept as previous.
	rotated := idempotency.New(db, protector(t, 2, randomKey(t), map[byte][]byte{1: oldKey}))
	if resp, err := do(rotated, "a"); err != nil || resp.GetSignalId() != secret || runs != 2 {
		t.Fatalf("replay after a rotation: %v %v (runs %d)", resp, err, runs)
	}
	// The old key dropped too early: refused, not run again and not INTERNAL.
	if _, err := do(idempotency.New(db, protector(t, 2, randomKey(t), nil)), "a"); !apperr.IsKind(err, apperr.KindFailedPrecondition) || runs != 2 {
		t.Fatalf("replay without the key: %v (runs %d)", err, runs)
	}
	// Another row's sealed answer does not open under this row.
	if _, err := db.Pool.Exec(ctx, `UPDATE idempotency_keys SET response = $1 WHERE key = 'b'`, stored("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := do(store, "b"); !apperr.IsKind(err, apperr.KindFailedPrecondition) || runs != 2 {
		t.Fatalf("a moved answer: %v (runs %d)", err, runs)
	}
	// Stored in plain form before migration 00011: replayed as it is.
	legacy := []byte{0x0a, 0x03, 'o', 'l', 'd'} // SubmitSignalResponse{signal_id: "old"}
	if _, err := db.Pool.Exec(ctx, `UPDATE idempotency_keys SET response = $1, response_sealed = false WHERE key = 'b'`, legacy); err != nil {
		t.Fatal(err)
	}
	if resp, err := do(store, "b"); err != nil || resp.GetSignalId() != "old" || runs != 2 {
		t.Fatalf("an answer stored before sealing: %v %v (runs %d)", resp, err, runs)
	}
}
