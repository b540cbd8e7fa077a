package logstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// A list logs every resident it shows: one list entry naming every object and resident in order,
// with the caller, committed with the transaction (and gone with it when it rolls back), and
// part of the sealed chain; the view access_log_entries shows it one row per resident again.
func TestRecordManyWritesEveryEntryInTheTransaction(t *testing.T) {
	db := newDB(t)
	l := logstore.New(db, "test")
	ctx := identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgTeam}, User: "anna", Role: "case_director", Purpose: "case-direction"})
	entries := make([]accesslog.Entry, 50)
	for i := range entries {
		entries[i] = accesslog.Entry{Action: "test.case.list", ObjectType: "case", ObjectID: fmt.Sprint(i), ResidentPseudonym: fmt.Sprint("ps-", i), Route: accesslog.RouteTeam}
	}
	boom := errors.New("boom")
	if err := db.Tx(ctx, func(ctx context.Context) error {
		if err := l.RecordMany(ctx, entries); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("rolled-back transaction: %v", err)
	}
	count := func(table string) (n int) {
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("access_log_entries"); n != 0 {
		t.Fatalf("%d entries survived a rollback", n)
	}
	if err := db.Tx(ctx, func(ctx context.Context) error { return l.RecordMany(ctx, entries) }); err != nil {
		t.Fatal(err)
	}
	if n := count("access_log"); n != 1 {
		t.Fatalf("%d rows for one list, want one list entry", n)
	}
	if n := count("access_log_entries"); n != len(entries) {
		t.Fatalf("%d entries, want %d", n, len(entries))
	}
	rows, err := db.Pool.Query(ctx, `SELECT object_id, resident_pseudonym, user_id, role, org_oin, purpose, route, outcome FROM access_log_entries ORDER BY id, shown_index`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var id, ps, user, role, org, purpose, route, outcome string
		if err := rows.Scan(&id, &ps, &user, &role, &org, &purpose, &route, &outcome); err != nil {
			t.Fatal(err)
		}
		if id != fmt.Sprint(i) || ps != fmt.Sprint("ps-", i) || user != "anna" || role != "case_director" || org != "00000001000000000001" ||
			purpose != "case-direction" || route != accesslog.RouteTeam || outcome != accesslog.OutcomeGranted {
			t.Fatalf("entry %d: %s %s %s %s %s %s %s %s", i, id, ps, user, role, org, purpose, route, outcome)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sealAll(t, db)
	if rep := verify(t, db); !rep.OK() || rep.Sealed != 1 {
		t.Fatalf("chain after a batch: %+v", rep)
	}
}
