package logstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
)

// A resident's history finds the entries about one object and the objects of list entries that
// concern the resident (and only those), newest first, and pages through them even when a page
// ends inside a list entry.
func TestResidentHistoryFindsListEntries(t *testing.T) {
	db := newDB(t)
	l := logstore.New(db, "test")
	ctx := callerCtx()
	one := func(obj, ps string) {
		t.Helper()
		if err := l.Record(ctx, accesslog.Entry{Action: "t.read", ObjectType: "thing", ObjectID: obj, ResidentPseudonym: ps, Route: accesslog.RouteTeam}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(pairs ...string) {
		t.Helper()
		var es []accesslog.Entry
		for i := 0; i < len(pairs); i += 2 {
			es = append(es, accesslog.Entry{Action: "t.list", ObjectType: "thing", ObjectID: pairs[i], ResidentPseudonym: pairs[i+1], Route: accesslog.RouteTeam})
		}
		if err := l.RecordMany(ctx, es); err != nil {
			t.Fatal(err)
		}
	}
	one("a", "ps-x")
	list("b", "ps-y", "c", "ps-x", "d", "ps-x", "e", "ps-z", "f", "ps-x")
	one("g", "ps-y")
	// Sealed list entries are found through their own index, unsealed ones through the seal
	// index (platform migration 00009): the history reads both, here and once all are sealed.
	sealAll(t, db)
	list("h", "ps-z", "i", "ps-x")
	one("j", "ps-x")
	want := []string{"t.read j", "t.list i", "t.list f", "t.list d", "t.list c", "t.read a"}
	for _, sealed := range []bool{false, true} {
		if sealed {
			sealAll(t, db)
		}
		pages(t, l, want)
	}
	if found, err := l.ResidentEntries(ctx, "ps-nobody", time.Now().Add(-time.Hour), logstore.Position{ID: 1<<63 - 1, Index: 1<<63 - 1}, 10); err != nil || len(found) != 0 {
		t.Fatalf("a resident without entries: %v %v", found, err)
	}
}

// pages reads ps-x's history in pages of several sizes and compares it with want.
func pages(t *testing.T, l *logstore.Logger, want []string) {
	t.Helper()
	ctx := callerCtx()
	for _, size := range []int{1, 2, 3, 10} {
		var got []string
		before := logstore.Position{ID: 1<<63 - 1, Index: 1<<63 - 1}
		for page := 0; page < 10; page++ {
			found, err := l.ResidentEntries(ctx, "ps-x", time.Now().Add(-time.Hour), before, size)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range found {
				got = append(got, fmt.Sprint(e.Action, " ", e.ObjectID))
			}
			if len(found) < size {
				break
			}
			last := found[len(found)-1]
			before = logstore.Position{ID: last.ID, Index: last.Index}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages of %d:\n got %v\nwant %v", size, got, want)
		}
	}
}
