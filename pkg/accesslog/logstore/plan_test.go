package logstore_test

import (
	"context"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// Sealing stays an index lookup of the entries it seals however large the log has grown since
// its statements were first planned: a generic plan made while the log was nearly empty joined
// each batch against a sequential scan of the whole log, and PostgreSQL kept it in use until the
// table was analyzed again (docs/performance-history.md, seventh session).
func TestSealingReadsNoWholeLogAfterItGrew(t *testing.T) {
	db, dsn := newDBWithDSN(t)
	ctx := context.Background()
	// One connection, so the sealer's statements are planned and cached on the session whose
	// scans are counted.
	one, err := pgxdb.Open(ctx, dsn, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(one.Close)
	keys := testKeys(t)
	seal := func() int {
		t.Helper()
		total := 0
		for {
			n, err := logstore.Seal(ctx, one, keys, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return total
			}
			total += n
		}
	}
	// Ten batches of twelve entries while the log is small: PostgreSQL settles on a cached plan
	// for that size.
	for range 10 {
		write(t, db, 12)
		if n := seal(); n != 12 {
			t.Fatalf("sealed %d entries, want 12", n)
		}
	}
	// The log grows by 50,000 entries between two runs of autovacuum, and they are sealed.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO access_log (action, object_type, object_id, user_id, role, org_oin, org_type, purpose, access_point, route, outcome)
		SELECT 'test.read', 'thing', g::text, 'u', 'r', '00000001000000000001', 'TEAM', 'p', 'test', 'team', 'granted' FROM generate_series(1, 50000) g`); err != nil {
		t.Fatal(err)
	}
	if n := seal(); n != 50000 {
		t.Fatalf("sealed %d entries, want 50000", n)
	}
	seq, idx := testkit.ScansDuring(t, one.Pool, "access_log", func() {
		for range 5 {
			write(t, db, 1)
			if n := seal(); n != 1 {
				t.Fatalf("sealed %d entries, want 1", n)
			}
		}
	})
	if seq != 0 {
		t.Errorf("sealing five entries read the whole log %d times", seq)
	}
	if idx < 10 {
		t.Errorf("sealing five entries made %d index scans of the log, want at least 10 (a SELECT and an UPDATE each)", idx)
	}
	if rep := verify(t, db); !rep.OK() {
		t.Fatalf("chain does not verify: %+v", rep)
	}
}

// A sealing round is three round trips to PostgreSQL: the lock, the head and the entries to
// seal with BEGIN; the chained entries and the new head; COMMIT. A round with nothing to seal
// is two. Two sealers at once still seal every entry once.
func TestSealingRoundTrips(t *testing.T) {
	db, dsn := newDBWithDSN(t)
	ctx := context.Background()
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	counted := &pgxdb.DB{Pool: pool}
	keys := testKeys(t)
	// A first round connects and prepares the statements.
	write(t, db, 1)
	if n, err := logstore.Seal(ctx, counted, keys, 1000); err != nil || n != 1 {
		t.Fatalf("first round sealed %d (%v), want 1", n, err)
	}
	write(t, db, 3)
	for k, want := range []struct{ sealed, roundTrips int }{{3, 3}, {0, 2}} {
		before := roundTrips.Load()
		n, err := logstore.Seal(ctx, counted, keys, 1000)
		if err != nil || n != want.sealed {
			t.Fatalf("round %d sealed %d (%v), want %d", k+1, n, err, want.sealed)
		}
		if got := int(roundTrips.Load() - before); got != want.roundTrips {
			t.Errorf("round %d made %d round trips, want %d", k+1, got, want.roundTrips)
		}
	}
	write(t, db, 200)
	var sealed [2]int
	done := make(chan error, 2)
	for i, d := range []*pgxdb.DB{db, counted} {
		go func() {
			for {
				n, err := logstore.Seal(ctx, d, keys, 7)
				if err != nil || n == 0 {
					done <- err
					return
				}
				sealed[i] += n
			}
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if total := sealed[0] + sealed[1]; total != 200 {
		t.Fatalf("two sealers sealed %d + %d entries, want 200", sealed[0], sealed[1])
	}
	if rep := verify(t, db); !rep.OK() {
		t.Fatalf("chain does not verify: %+v", rep)
	}
}
