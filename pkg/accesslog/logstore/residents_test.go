package logstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// A record about a household is logged under each of its residents: every entry of a call is
// expanded with one lookup per object type (not one per entry), entries that name a resident
// or concern an object without residents are written once, and the order is kept (within a
// list entry; list entries and single ones in the order of their first entry).
func TestPerResidentRecorderExpandsWithOneLookupPerType(t *testing.T) {
	db := newDB(t)
	residents := map[string]map[string][]string{
		"case":       {"c1": {"ps-a", "ps-b"}, "c2": {"ps-c"}},
		"allocation": {"A1": {"ps-a"}},
	}
	var lookups []string
	lookup := func(_ context.Context, _ pgxdb.Querier, typ string, ids []string) (map[string][]string, error) {
		lookups = append(lookups, typ)
		out := map[string][]string{}
		for _, id := range ids {
			if ps, ok := residents[typ][id]; ok {
				out[id] = ps
			}
		}
		return out, nil
	}
	r := logstore.NewPerResidentRecorder(logstore.New(db, "test"), db, lookup)
	ctx := identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgTeam}, User: "anna", Role: "case_director", Purpose: "case-direction"})
	entries := []accesslog.Entry{
		{Action: "t.case.list", ObjectType: "case", ObjectID: "c1", Route: accesslog.RouteTeam},
		{Action: "t.case.list", ObjectType: "case", ObjectID: "c2", Route: accesslog.RouteTeam},
		{Action: "t.case.list", ObjectType: "case", ObjectID: "c9", Route: accesslog.RouteTeam}, // no residents known
		{Action: "t.allocation.read", ObjectType: "allocation", ObjectID: "A1", Route: accesslog.RouteTeam},
		{Action: "t.case.read", ObjectType: "case", ObjectID: "c1", ResidentPseudonym: "ps-z", Route: accesslog.RouteTeam}, // names its resident
		{Action: "t.case.list", ObjectType: "case", ObjectID: "c1", Route: accesslog.RouteTeam},                            // c1 again
	}
	if err := db.Tx(ctx, func(ctx context.Context) error { return r.RecordMany(ctx, entries) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lookups)
	if !slices.Equal(lookups, []string{"allocation", "case"}) {
		t.Fatalf("lookups %v, want one per object type", lookups)
	}
	got := loggedObjectsAndResidents(t, db)
	// The list's entries become one list entry, in their order; the two reads stay entries
	// about one object each.
	want := []string{"c1/ps-a", "c1/ps-b", "c2/ps-c", "c9/", "c1/ps-a", "c1/ps-b", "A1/ps-a", "c1/ps-z"}
	if !slices.Equal(got, want) {
		t.Fatalf("entries\n got %v\nwant %v", got, want)
	}

	// A failing lookup fails the call: nothing is touched without a trace.
	boom := errors.New("boom")
	failing := logstore.NewPerResidentRecorder(logstore.New(db, "test"), db,
		func(context.Context, pgxdb.Querier, string, []string) (map[string][]string, error) { return nil, boom })
	if err := failing.RecordDetached(ctx, entries[0]); !errors.Is(err, boom) {
		t.Fatalf("failing lookup: %v", err)
	}
}

// An entry whose residents the caller read with the object (Entry.ResidentsRead) is written
// under each of them without a lookup, also when it names none (the object concerns nobody
// known: one entry); entries without them in the same call are still looked up.
func TestPerResidentRecorderTakesResidentsReadWithTheObject(t *testing.T) {
	db := newDB(t)
	var looked []string
	lookup := func(_ context.Context, _ pgxdb.Querier, typ string, ids []string) (map[string][]string, error) {
		looked = append(looked, ids...)
		return map[string][]string{"c2": {"ps-c"}}, nil
	}
	r := logstore.NewPerResidentRecorder(logstore.New(db, "test"), db, lookup)
	ctx := identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: "00000001000000000001", Type: identity.OrgTeam}, User: "anna", Role: "case_director", Purpose: "case-direction"})
	entries := []accesslog.Entry{
		{Action: "t.case.read", ObjectType: "case", ObjectID: "c1", Route: accesslog.RouteTeam, Residents: []string{"ps-a", "ps-b"}, ResidentsRead: true},
		{Action: "t.case.read", ObjectType: "case", ObjectID: "c3", Route: accesslog.RouteTeam, ResidentsRead: true}, // nobody known
		{Action: "t.case.read", ObjectType: "case", ObjectID: "c2", Route: accesslog.RouteTeam},
	}
	if err := db.Tx(ctx, func(ctx context.Context) error { return r.RecordMany(ctx, entries) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(looked, []string{"c2"}) {
		t.Fatalf("looked up %v, want only c2 (the entry without its residents)", looked)
	}
	got := loggedObjectsAndResidents(t, db)
	if want := []string{"c1/ps-a", "c1/ps-b", "c3/", "c2/ps-c"}; !slices.Equal(got, want) {
		t.Fatalf("entries\n got %v\nwant %v", got, want)
	}
}

// loggedObjectsAndResidents is the access log as "object/resident", one per record and
// resident, in the order written.
func loggedObjectsAndResidents(t *testing.T, db *pgxdb.DB) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT object_id || '/' || resident_pseudonym FROM access_log_entries ORDER BY id, shown_index`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}
