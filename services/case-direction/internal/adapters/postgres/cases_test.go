package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// A new case's residents go out with the COMMIT: opening a case is the INSERT (with BEGIN) and
// the COMMIT, two round trips, where it was four (the residents ended, which a new case has
// none of, and the residents added, each waited for). The residents are stored once each, and
// a household's second case still finds the first.
func TestOpenedCaseResidentsGoOutWithTheCommit(t *testing.T) {
	ctx := context.Background()
	pool, roundTrips := testkit.RoundTripPool(t, newDSN(t))
	db := &pgxdb.DB{Pool: pool}
	cases := NewCases(db, nil)
	open := func(household string, residents ...domain.ResidentRef) (domain.Case, string, int64) {
		t.Helper()
		c := domain.Case{ID: uuid.NewString(), HouseholdID: household, Municipality: "GM0363", TeamOIN: "00000001000000000001",
			Status: domain.StatusRegistered, OpenedAt: time.Now().UTC().Truncate(time.Microsecond), Residents: residents}
		before := roundTrips.Load()
		var existing string
		err := db.Tx(ctx, func(ctx context.Context) error {
			var err error
			existing, err = cases.Insert(ctx, c)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return c, existing, roundTrips.Load() - before
	}
	ref := func() domain.ResidentRef {
		id := uuid.NewString()
		return domain.ResidentRef{ResidentID: id, Pseudonym: "ps-" + id}
	}
	// The first case prepares the statements (pgx's statement cache): count the next.
	open(uuid.NewString(), ref())
	a, b := ref(), ref()
	household := uuid.NewString()
	c, existing, n := open(household, a, b, a)
	if existing != "" {
		t.Fatalf("a new household's case found an open case %s", existing)
	}
	if n != 2 {
		t.Errorf("opening a case with its residents took %d round trips, want 2 (INSERT with BEGIN, COMMIT)", n)
	}
	got, err := cases.CurrentResidents(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.ResidentRef{a, b}
	slices.SortFunc(want, func(x, y domain.ResidentRef) int { return strings.Compare(x.ResidentID, y.ResidentID) })
	if !slices.Equal(got, want) {
		t.Fatalf("stored residents %v, want %v", got, want)
	}
	if p := c.CurrentPseudonyms(); !slices.Equal(p, []string{want[0].Pseudonym, want[1].Pseudonym}) {
		t.Fatalf("the case's pseudonyms for its access log are %v, want those stored: %v", p, want)
	}
	if _, existing, _ := open(household, ref()); existing != c.ID {
		t.Fatalf("the household's second case found %q, want its open case %s", existing, c.ID)
	}
	if got, err := cases.CurrentResidents(ctx, c.ID); err != nil || len(got) != 2 {
		t.Fatalf("the open case's residents changed when a second case was refused: %v (%v)", got, err)
	}
}

// A case's current residents are read with the case's row in one round trip, where
// ListCaseResidents read the whole case (twelve statements) and the residents in two; a case
// that does not exist is NOT_FOUND.
func TestCurrentResidentsAreOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool, roundTrips := testkit.RoundTripPool(t, newDSN(t))
	db := &pgxdb.DB{Pool: pool}
	cases := NewCases(db, nil)
	a, b := domain.ResidentRef{ResidentID: uuid.NewString(), Pseudonym: "ps-a"}, domain.ResidentRef{ResidentID: uuid.NewString(), Pseudonym: "ps-b"}
	c := domain.Case{ID: uuid.NewString(), HouseholdID: uuid.NewString(), Municipality: "GM0363", TeamOIN: "00000001000000000001",
		Status: domain.StatusRegistered, OpenedAt: time.Now().UTC().Truncate(time.Microsecond), Residents: []domain.ResidentRef{a, b}}
	if err := db.Tx(ctx, func(ctx context.Context) error { _, err := cases.Insert(ctx, c); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := cases.CurrentResidents(ctx, c.ID); err != nil { // prepares the statements
		t.Fatal(err)
	}
	before := roundTrips.Load()
	got, err := cases.CurrentResidents(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := roundTrips.Load() - before; n != 1 {
		t.Errorf("reading a case's residents took %d round trips, want 1", n)
	}
	want := []domain.ResidentRef{a, b}
	slices.SortFunc(want, func(x, y domain.ResidentRef) int { return strings.Compare(x.ResidentID, y.ResidentID) })
	if !slices.Equal(got, want) {
		t.Errorf("residents %v, want %v in the order of their ids", got, want)
	}
	if _, err := cases.CurrentResidents(ctx, uuid.NewString()); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Errorf("residents of a case that does not exist: %v, want NOT_FOUND", err)
	}
}
