package logstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// userCtx is a call by user.
func userCtx(user string) context.Context {
	return identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgTeam}, User: user, Role: "r", Purpose: "p"})
}

// listOf is a list of n objects shown to user.
func listOf(user string, n int) []accesslog.Entry {
	out := make([]accesslog.Entry, n)
	for i := range out {
		out[i] = accesslog.Entry{Action: "test.thing.list", ObjectType: "thing", ObjectID: fmt.Sprint(user, "-", i),
			ResidentPseudonym: fmt.Sprint("ps-", user, "-", i), Route: accesslog.RouteTeam}
	}
	return out
}

// blockInserts holds a lock that makes every INSERT into access_log wait, until the returned
// function releases it.
func blockInserts(t *testing.T, db *pgxdb.DB) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `BEGIN; LOCK TABLE access_log IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.Exec(ctx, `COMMIT`); err != nil {
				t.Error(err)
			}
			conn.Release()
		})
	}
	t.Cleanup(release)
	return release
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// insertsWaiting is the number of INSERTs into access_log waiting for a lock.
func insertsWaiting(t *testing.T, db *pgxdb.DB) int {
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO access_log%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Reads that change nothing have no transaction to send their entries with. Entries written
// outside a transaction by calls at the same time share one INSERT and one commit; each call
// returns only once its entries are committed, with every entry as it would have been written
// alone (its own caller, its list in order, its groups), in the order the calls queued.
func TestEntriesOutsideATransactionShareOneCommit(t *testing.T) {
	db := newDB(t)
	l := logstore.New(db, "test")
	release := blockInserts(t, db)

	type call struct {
		user    string
		entries []accesslog.Entry
		rows    int // rows of access_log it writes
	}
	two := append(listOf("mixed", 2), accesslog.Entry{Action: "test.thing.read", ObjectType: "thing", ObjectID: "one",
		ResidentPseudonym: "ps-one", Route: accesslog.RouteTeam})
	calls := []call{{user: "leader", entries: listOf("leader", 3), rows: 1}, {user: "mixed", entries: two, rows: 2}}
	for i := range 8 {
		u := fmt.Sprint("u", i)
		calls = append(calls, call{user: u, entries: listOf(u, 1+i%3), rows: 1})
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	run := func(i int) {
		defer wg.Done()
		c := calls[i]
		if errs[i] = l.RecordMany(userCtx(c.user), c.entries); errs[i] != nil {
			return
		}
		// Committed before RecordMany returned: another connection sees every entry.
		var n int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM access_log_entries WHERE user_id = $1`, c.user).Scan(&n); err != nil {
			errs[i] = err
		} else if n != len(c.entries) {
			errs[i] = fmt.Errorf("%s: %d entries visible when RecordMany returned, want %d", c.user, n, len(c.entries))
		}
	}
	wg.Add(1)
	go run(0)
	waitFor(t, "the first write to wait for the lock", func() bool { return insertsWaiting(t, db) == 1 })
	for i := 1; i < len(calls); i++ {
		wg.Add(1)
		go run(i)
		waitFor(t, fmt.Sprint("call ", i, " to queue"), func() bool { return logstore.QueuedInGroup(l) == i })
	}
	if n := insertsWaiting(t, db); n != 1 {
		t.Fatalf("%d INSERTs under way while the first one waits, want the others queued behind it", n)
	}
	release()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// Two commits: the first call's, and one for the nine that queued while it waited.
	var commits, rows int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(DISTINCT xmin::text), count(*) FROM access_log`).Scan(&commits, &rows); err != nil {
		t.Fatal(err)
	}
	wantRows := 0
	for _, c := range calls {
		wantRows += c.rows
	}
	if commits != 2 || rows != wantRows {
		t.Fatalf("%d commits, %d rows; want 2 commits, %d rows", commits, rows, wantRows)
	}
	// Every entry under its own caller, in order, the calls in the order they queued.
	got, err := db.Pool.Query(context.Background(), `SELECT user_id, action, object_id, resident_pseudonym FROM access_log_entries ORDER BY id, shown_index`)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	for _, c := range calls {
		for _, e := range c.entries {
			if !got.Next() {
				t.Fatalf("missing %s's entry %s", c.user, e.ObjectID)
			}
			var user, action, obj, ps string
			if err := got.Scan(&user, &action, &obj, &ps); err != nil {
				t.Fatal(err)
			}
			if user != c.user || action != e.Action || obj != e.ObjectID || ps != e.ResidentPseudonym {
				t.Fatalf("entry %s %s %s %s, want %s %s %s %s", user, action, obj, ps, c.user, e.Action, e.ObjectID, e.ResidentPseudonym)
			}
		}
	}
	if got.Next() {
		t.Fatal("more entries than written")
	}
	sealAll(t, db)
	if rep := verify(t, db); !rep.OK() || rep.Sealed != int64(wantRows) {
		t.Fatalf("chain after group commits: %+v", rep)
	}
}

// A group write that fails fails every call in it, and none of their entries is stored: no
// call shows what is not on record. The calls after it write as before.
func TestAFailedGroupWriteFailsEveryCallInIt(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `ALTER TABLE access_log ADD CONSTRAINT test_refused CHECK (action <> 'test.refused')`); err != nil {
		t.Fatal(err)
	}
	l := logstore.New(db, "test")
	release := blockInserts(t, db)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	record := func(i int, entries []accesslog.Entry) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.RecordMany(userCtx(fmt.Sprint("u", i)), entries)
		}()
	}
	record(0, listOf("u0", 2))
	waitFor(t, "the first write to wait for the lock", func() bool { return insertsWaiting(t, db) == 1 })
	refused := listOf("u2", 1)
	refused[0].Action = "test.refused"
	for i, entries := range [][]accesslog.Entry{listOf("u1", 3), refused, listOf("u3", 1)} {
		record(i+1, entries)
		waitFor(t, "the call to queue", func() bool { return logstore.QueuedInGroup(l) == i+1 })
	}
	release()
	wg.Wait()
	if errs[0] != nil {
		t.Fatalf("the first call, written alone: %v", errs[0])
	}
	for i := 1; i < 4; i++ {
		if errs[i] == nil {
			t.Fatalf("call %d shared a failed write and got no error", i)
		}
	}
	var users []string
	rows, err := db.Pool.Query(ctx, `SELECT DISTINCT user_id FROM access_log ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if rows.Err() != nil || len(users) != 1 || users[0] != "u0" {
		t.Fatalf("stored entries of %v (%v), want only u0's", users, rows.Err())
	}
	if err := l.RecordMany(userCtx("after"), listOf("after", 2)); err != nil {
		t.Fatalf("a call after the failed write: %v", err)
	}
}
