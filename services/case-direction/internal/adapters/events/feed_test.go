package events_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/case-direction/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// A case's opening reaches no partner's feed and its routing asks the database nothing: no
// organisation is involved in a case when it opens. Every other case event is routed to the
// organisations involved at that moment, read from the database.
func TestCaseOpeningIsRoutedWithoutAQuery(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "casedirection", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	db := &pgxdb.DB{Pool: pool}
	cases := postgres.NewCases(db, nil)
	now := time.Now().UTC().Truncate(time.Microsecond)
	route := events.FeedRecipients(cases, func() time.Time { return now })
	const partner = "00000003000000000007"
	c := domain.Case{ID: uuid.NewString(), HouseholdID: uuid.NewString(), Municipality: "GM0363", TeamOIN: "00000001000000000001",
		Status: domain.StatusRegistered, OpenedAt: now}
	if err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := cases.Insert(ctx, c); err != nil {
			return err
		}
		return cases.AddInvolvement(ctx, c.ID, domain.Involvement{ID: uuid.NewString(), OrgType: "PROVIDER", OrgOIN: partner,
			Role: domain.RoleExecutor, ValidFrom: now.Add(-time.Hour), CreatedAt: now})
	}); err != nil {
		t.Fatal(err)
	}

	before := roundTrips.Load()
	got, err := route(ctx, "wijkbrug.casedirection.GM0363.case.opened", c.ID, &casedirectionv1.CaseOpened{CaseId: c.ID})
	if err != nil || len(got) != 0 {
		t.Fatalf("CaseOpened: recipients %v (%v), want none", got, err)
	}
	if n := roundTrips.Load() - before; n != 0 {
		t.Errorf("routing CaseOpened took %d round trips, want 0", n)
	}
	// Another event of the same case reads who is involved (the involvement above, which no
	// case can have at its opening, shows that it is read).
	before = roundTrips.Load()
	got, err = route(ctx, "wijkbrug.casedirection.GM0363.case.director_assigned", c.ID, &casedirectionv1.CaseDirectorAssigned{CaseId: c.ID})
	if err != nil || !slices.Equal(got, []string{partner}) {
		t.Fatalf("CaseDirectorAssigned: recipients %v (%v), want [%s]", got, err, partner)
	}
	if roundTrips.Load() == before {
		t.Error("CaseDirectorAssigned was routed without reading who is involved")
	}
}
