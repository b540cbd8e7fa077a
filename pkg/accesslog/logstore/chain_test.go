package logstore_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func newDB(t *testing.T) *pgxdb.DB {
	db, _ := newDBWithDSN(t)
	return db
}

// newDBWithDSN returns a migrated database (as the superuser: the tests play the database
// administrator) and its DSN.
func newDBWithDSN(t testing.TB) (*pgxdb.DB, string) {
	t.Helper()
	dsn := testkit.NewDatabase(t, "platform", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
	})
	db, err := pgxdb.Open(context.Background(), dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, dsn
}

// testKey is the chain key of most tests (key id 1); otherKey an attacker's or a rotated one.
var (
	testKey  = bytes.Repeat([]byte{0x4b}, 32)
	otherKey = bytes.Repeat([]byte{0x6f}, 32)
)

func keyRing(t *testing.T, id int, key []byte, previous map[byte][]byte) *logstore.Keys {
	t.Helper()
	k, err := logstore.NewKeys(id, key, previous)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKeys(t *testing.T) *logstore.Keys { return keyRing(t, 1, testKey, nil) }

// callerCtx is the context of a call by a team professional, as the logger needs one.
func callerCtx() context.Context {
	return identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgTeam}, User: "u", Role: "r", Purpose: "p"})
}

func write(t *testing.T, db *pgxdb.DB, n int) {
	t.Helper()
	l := logstore.New(db, "test")
	ctx := callerCtx()
	for i := 0; i < n; i++ {
		if err := l.Record(ctx, accesslog.Entry{Action: "test.read", ObjectType: "thing", ObjectID: fmt.Sprint(i), ResidentPseudonym: "ps", Route: accesslog.RouteTeam}); err != nil {
			t.Fatal(err)
		}
	}
}

func sealAll(t *testing.T, db *pgxdb.DB) { sealWith(t, db, testKeys(t)) }

func sealWith(t *testing.T, db *pgxdb.DB, keys *logstore.Keys) {
	t.Helper()
	for {
		n, err := logstore.Seal(context.Background(), db, keys, 7)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func verify(t *testing.T, db *pgxdb.DB) logstore.Report {
	t.Helper()
	rep, err := logstore.Verify(context.Background(), db, testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs SQL as a superuser who bypasses the append-only trigger — the attacker the
// chain is there to catch.
func tamper(t *testing.T, db *pgxdb.DB, sql string) {
	t.Helper()
	ctx := context.Background()
	err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := db.Q(ctx).Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := db.Q(ctx).Exec(ctx, sql)
		return err
	})
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
}

func TestIntactChainVerifies(t *testing.T) {
	db := newDB(t)
	write(t, db, 20)
	sealAll(t, db)
	write(t, db, 3) // not sealed yet: reported, not a problem
	rep := verify(t, db)
	if !rep.OK() || rep.Sealed != 20 || rep.Unsealed != 3 {
		t.Fatalf("report %+v", rep)
	}
}

func TestVerifierCatchesTampering(t *testing.T) {
	cases := map[string]struct {
		sql  string
		want string
	}{
		"edited entry":  {`UPDATE access_log SET outcome = 'DENIED' WHERE seal_seq = 5`, "edited"},
		"deleted entry": {`DELETE FROM access_log WHERE seal_seq = 8`, "missing"},
		"swapped entries": {`UPDATE access_log a SET object_id = b.object_id FROM access_log b
			WHERE (a.seal_seq, b.seal_seq) IN ((3, 4), (4, 3))`, "edited"},
		"reordered entries": {`UPDATE access_log SET seal_seq = CASE seal_seq WHEN 10 THEN -1 ELSE seal_seq END WHERE seal_seq = 10;
			UPDATE access_log SET seal_seq = 10 WHERE seal_seq = 11; UPDATE access_log SET seal_seq = 11 WHERE seal_seq = -1`, "broken"},
		"removed tail": {`DELETE FROM access_log WHERE seal_seq > 15`, "head"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			db := newDB(t)
			write(t, db, 20)
			sealAll(t, db)
			if rep := verify(t, db); !rep.OK() {
				t.Fatalf("intact chain reported %v", rep.Problems)
			}
			tamper(t, db, tc.sql)
			rep := verify(t, db)
			if rep.OK() {
				t.Fatalf("%s not detected", name)
			}
			var found bool
			for _, p := range rep.Problems {
				found = found || strings.Contains(p.String(), tc.want)
			}
			if !found {
				t.Fatalf("want a problem mentioning %q, got %v", tc.want, rep.Problems)
			}
		})
	}
}

func TestAppendOnly(t *testing.T) {
	db := newDB(t)
	write(t, db, 2)
	sealAll(t, db)
	write(t, db, 1)
	ctx := context.Background()
	for _, sql := range []string{
		`UPDATE access_log SET outcome = 'DENIED' WHERE seal_seq = 1`,
		`UPDATE access_log SET outcome = 'DENIED' WHERE seal_seq IS NULL`,
		`UPDATE access_log SET seal_seq = 99, outcome = 'X' WHERE seal_seq IS NULL`,
		`DELETE FROM access_log WHERE seal_seq = 2`,
		`TRUNCATE access_log`,
	} {
		if _, err := db.Pool.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: want refusal, got %v", sql, err)
		}
	}
}

func TestConcurrentSealersBuildOneChain(t *testing.T) {
	db := newDB(t)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				write(t, db, 5)
				if _, err := logstore.Seal(context.Background(), db, testKeys(t), 3); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	sealAll(t, db)
	if rep := verify(t, db); !rep.OK() || rep.Sealed != 200 || rep.Unsealed != 0 {
		t.Fatalf("report %+v", rep)
	}
}

// writeList writes one list of n objects, each about its own resident, between single entries.
func writeList(t *testing.T, db *pgxdb.DB, n int) {
	t.Helper()
	l := logstore.New(db, "test")
	ctx := callerCtx()
	entries := make([]accesslog.Entry, n)
	for i := range entries {
		entries[i] = accesslog.Entry{Action: "test.list", ObjectType: "thing", ObjectID: fmt.Sprint("obj-", i), ResidentPseudonym: fmt.Sprint("ps-", i), Route: accesslog.RouteTeam}
	}
	if err := l.RecordMany(ctx, entries); err != nil {
		t.Fatal(err)
	}
}

// A list entry's objects and residents are part of its MAC and of the append-only rule: a
// resident replaced, an object dropped or two objects swapped inside a sealed list entry is
// reported, and neither the sealer's role nor anyone else may change them through the trigger.
func TestListEntriesAreSealedWithWhatTheyShowed(t *testing.T) {
	cases := map[string]string{
		"resident replaced": `UPDATE access_log SET shown_residents[2] = 'ps-someone-else' WHERE cardinality(shown_objects) > 0`,
		"object dropped":    `UPDATE access_log SET shown_objects = shown_objects[2:], shown_residents = shown_residents[2:] WHERE cardinality(shown_objects) > 0`,
		"objects swapped": `UPDATE access_log SET shown_objects[1] = shown_objects[2], shown_objects[2] = shown_objects[1],
			shown_residents[1] = shown_residents[2], shown_residents[2] = shown_residents[1] WHERE cardinality(shown_objects) > 0`,
		"made a single entry": `UPDATE access_log SET object_id = shown_objects[1], resident_pseudonym = shown_residents[1],
			shown_objects = '{}', shown_residents = '{}' WHERE cardinality(shown_objects) > 0`,
		"resident set to NULL": `ALTER TABLE access_log DROP CONSTRAINT access_log_shown_no_nulls;
			UPDATE access_log SET shown_residents[3] = NULL WHERE cardinality(shown_objects) > 0`,
	}
	for name, sql := range cases {
		t.Run(name, func(t *testing.T) {
			db := newDB(t)
			write(t, db, 3)
			writeList(t, db, 5)
			write(t, db, 3)
			sealAll(t, db)
			if rep := verify(t, db); !rep.OK() || rep.Sealed != 7 {
				t.Fatalf("intact chain: %+v", rep)
			}
			if _, err := db.Pool.Exec(context.Background(), sql); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("the trigger let %s through: %v", name, err)
			}
			tamper(t, db, sql)
			rep := verify(t, db)
			var found bool
			for _, p := range rep.Problems {
				found = found || (p.SealSeq == 4 && strings.Contains(p.String(), "edited"))
			}
			if !found {
				t.Fatalf("%s not reported at the list entry (seal_seq 4): %v", name, rep.Problems)
			}
		})
	}
}
