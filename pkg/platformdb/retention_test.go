package platformdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// Prune, as the application role the services run as, deletes exactly the rows past their
// retention — outbox rows acknowledged before it (never an unpublished one, however old, also
// at the head of the outbox) and idempotency keys older than theirs — at most the limit per
// table and call, and nothing of a table whose retention is zero.
func TestPruneDeletesOnlyRowsPastTheirRetention(t *testing.T) {
	dsn := newPlatformDatabase(t, "platform-retention")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := pgxdb.Open(ctx, testkit.AppDSN(dsn), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := db.Pool.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	// The outbox in id order: 2 rows of 30 days ago never published, 25 published 10 days
	// ago, 7 published 2 days ago. Idempotency keys: 25 of 10 days ago, 7 of 2 days ago.
	exec(`INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, created_at)
		SELECT gen_random_uuid(), 'wijkbrug.t.x', 't', 's', 'a', '\x00', now() - interval '30 days' FROM generate_series(1, 2)`)
	exec(`INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, created_at, published_at)
		SELECT gen_random_uuid(), 'wijkbrug.t.x', 't', 's', 'a', '\x00', now() - d, now() - d
		FROM (SELECT interval '10 days' FROM generate_series(1, 25) UNION ALL SELECT interval '2 days' FROM generate_series(1, 7)) AS x(d)`)
	exec(`INSERT INTO idempotency_keys (org_oin, method, key, request_hash, created_at)
		SELECT 'o', 'm', 'old-' || i, '\x00'::bytea, now() - interval '10 days' FROM generate_series(1, 25) i
		UNION ALL SELECT 'o', 'm', 'new-' || i, '\x00'::bytea, now() - interval '2 days' FROM generate_series(1, 7) i`)
	week := 7 * 24 * time.Hour

	// Only the outbox has a retention: the head's batch of 10 holds the 2 unpublished rows,
	// so the first call deletes 8, fewer than the limit.
	if got, err := platformdb.Prune(ctx, db, platformdb.Retention{Outbox: week}, 10); err != nil || got != 8 {
		t.Fatalf("first call: deleted %d (%v), want 8", got, err)
	}
	if n := count(`SELECT count(*) FROM idempotency_keys`); n != 32 {
		t.Errorf("idempotency keys left: %d, want all 32 (no retention given)", n)
	}
	// Both: calls until nothing is due; the keys go 10 at a time.
	r := platformdb.Retention{Outbox: week, IdempotencyKeys: week}
	var calls []int
	for len(calls) < 10 {
		got, err := platformdb.Prune(ctx, db, r, 10)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, got)
		if got == 0 {
			break
		}
	}
	if len(calls) < 3 || calls[0] != 10 || calls[len(calls)-1] != 0 {
		t.Errorf("deleted per call (the most of one table): %v, want 10 first, 0 last", calls)
	}
	if n := count(`SELECT count(*) FROM outbox WHERE published_at IS NOT NULL`); n != 7 {
		t.Errorf("published outbox rows left: %d, want the 7 of 2 days ago", n)
	}
	if n := count(`SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 2 {
		t.Errorf("unpublished outbox rows left: %d, want both (30 days old, never deleted)", n)
	}
	if n := count(`SELECT count(*) FROM idempotency_keys WHERE key LIKE 'old-%'`); n != 0 {
		t.Errorf("idempotency keys of 10 days ago left: %d, want 0", n)
	}
	if n := count(`SELECT count(*) FROM idempotency_keys WHERE key LIKE 'new-%'`); n != 7 {
		t.Errorf("idempotency keys of 2 days ago left: %d, want 7", n)
	}
}
