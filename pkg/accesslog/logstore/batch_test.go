package logstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
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

// A resident's data is not logged, and so not shown or changed, under a purpose the register
// says processes none; a refusal and an entry without a resident still are.
func TestNoResidentDataUnderAPurposeThatProcessesNone(t *testing.T) {
	db := newDB(t)
	l := logstore.New(db, "test")
	ctx := identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgTeam}, User: "anna", Role: "team_lead", Purpose: "collective-work"})
	resident := accesslog.Entry{Action: "test.case.read", ObjectType: "case", ObjectID: "c-1", ResidentPseudonym: "ps-1", Route: accesslog.RouteTeam}
	members := accesslog.Entry{Action: "test.case.read", ObjectType: "case", ObjectID: "c-1", Residents: []string{"ps-1"}, ResidentsRead: true, Route: accesslog.RouteTeam}
	for name, write := range map[string]func() error{
		"Record": func() error { return l.Record(ctx, resident) },
		"RecordMany": func() error {
			return l.RecordMany(ctx, []accesslog.Entry{{Action: "test.theme.read", ObjectType: "theme"}, resident})
		},
		"in a tx":  func() error { return db.Tx(ctx, func(ctx context.Context) error { return l.Record(ctx, members) }) },
		"detached": func() error { return l.RecordDetached(ctx, resident) },
	} {
		if err := write(); !apperr.IsKind(err, apperr.KindPermissionDenied) {
			t.Fatalf("%s: want PERMISSION_DENIED, got %v", name, err)
		}
	}
	denied := resident
	denied.Route, denied.Outcome = accesslog.RouteNotAllowed, accesslog.OutcomeDenied
	if err := l.Record(ctx, denied); err != nil {
		t.Fatalf("a refusal is logged under any purpose: %v", err)
	}
	if err := l.Record(ctx, accesslog.Entry{Action: "test.theme.read", ObjectType: "theme"}); err != nil {
		t.Fatalf("an entry without a resident: %v", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM access_log_entries WHERE resident_pseudonym = 'ps-1' AND outcome = 'GRANTED'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d granted entries for the resident (%v)", n, err)
	}
}
