package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/case-direction/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var errRollBack = errors.New("roll back")

// A case's opening reaches no partner's feed. Every other case event is copied to the
// organisations involved at that moment, as domain.Involvement.ActiveAt has it: the statement
// that writes the copies reads them (the router itself reads nothing), so routing costs the
// transaction no round trip, and an involvement ended later in the same transaction still
// gets the copy of an event added before its end.
func TestCaseEventsAreRoutedToWhoIsInvolvedWithoutARoundTrip(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "casedirection", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	db := &pgxdb.DB{Pool: pool}
	cases := postgres.NewCases(db, nil)
	// 00:30 on 3 December in Amsterdam, still 2 December in UTC: the involvements' days are
	// Dutch days (domain.Day).
	now := time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC)
	route := events.FeedRecipients(cases, func() time.Time { return now })
	w := outbox.NewWriter(testkit.NotifyDB(t, dsn), "casedirection")
	w.SetFeedRouter(route)
	c := domain.Case{ID: uuid.NewString(), HouseholdID: uuid.NewString(), Municipality: "GM0363", TeamOIN: "00000001000000000001",
		Status: domain.StatusRegistered, OpenedAt: now.Add(-48 * time.Hour)}
	today := domain.Day(now)
	day := func(d int) *time.Time { v := today.AddDate(0, 0, d); return &v }
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	involvements := []domain.Involvement{
		{ValidFrom: today},                              // from today: involved
		{ValidFrom: *day(-3), ValidTo: day(0)},          // last day today: involved
		{ValidFrom: *day(-3), ValidTo: day(-1)},         // last day yesterday
		{ValidFrom: *day(1)},                            // from tomorrow
		{ValidFrom: *day(-3), EndedAt: at(0)},           // ended with immediate effect now
		{ValidFrom: *day(-3), EndedAt: at(time.Minute)}, // ends in a minute: involved
		{ValidFrom: *day(-3), EndedAt: at(-time.Minute)},
	}
	var want []string
	for k := range involvements {
		i := &involvements[k]
		i.ID, i.OrgType, i.OrgOIN, i.Role, i.CreatedAt = uuid.NewString(), "PROVIDER", fmt.Sprintf("000000030000000000%02d", k), domain.RoleExecutor, now
		if i.ActiveAt(now) {
			want = append(want, i.OrgOIN)
		}
	}
	if len(want) != 3 {
		t.Fatalf("the fixture has %d involvements active now, want 3 (domain.Involvement.ActiveAt changed?)", len(want))
	}
	if err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := cases.Insert(ctx, c); err != nil {
			return err
		}
		for _, i := range involvements {
			if err := cases.AddInvolvement(ctx, c.ID, i); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	got, err := route(ctx, "wijkbrug.casedirection.GM0363.case.opened", c.ID, &casedirectionv1.CaseOpened{CaseId: c.ID})
	if err != nil || len(got.OINs) != 0 || got.Query != "" {
		t.Fatalf("CaseOpened: recipients %+v (%v), want none", got, err)
	}
	// The same transaction once rolled back: it prepares the statements (pgx's statement cache).
	if err := db.Tx(ctx, func(ctx context.Context) error {
		if err := w.Add(ctx, "wijkbrug.casedirection.GM0363.case.director_assigned", c.ID, &casedirectionv1.CaseDirectorAssigned{CaseId: c.ID}); err != nil {
			return err
		}
		if _, err := cases.EndOpenInvolvements(ctx, c.ID, now); err != nil {
			return err
		}
		return errRollBack
	}); err != errRollBack {
		t.Fatal(err)
	}
	// An event, then the end of every involvement, in one transaction.
	before := roundTrips.Load()
	var copies []string
	if err := db.Tx(ctx, func(ctx context.Context) error {
		if err := w.Add(ctx, "wijkbrug.casedirection.GM0363.case.director_assigned", c.ID, &casedirectionv1.CaseDirectorAssigned{CaseId: c.ID}); err != nil {
			return err
		}
		if n := roundTrips.Load() - before; n != 0 {
			t.Errorf("adding a case event took %d round trips, want 0", n)
		}
		if _, err := cases.EndOpenInvolvements(ctx, c.ID, now); err != nil {
			return err
		}
		rows, err := db.Q(ctx).Query(ctx, `SELECT recipient FROM outbox WHERE aggregate_id = $1 AND recipient <> '' ORDER BY recipient`, c.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				return err
			}
			copies = append(copies, r)
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(copies, want) {
		t.Errorf("copies for %v, want the organisations involved when the event was added: %v", copies, want)
	}
}
