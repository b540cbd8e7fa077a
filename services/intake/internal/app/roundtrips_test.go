package app_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/intake/service"
)

// counted is the application on a fresh database with the real adapters, on a pool that
// counts round trips (testkit.RoundTripPool).
type counted struct {
	app        *app.App
	db         *pgxdb.DB
	prot       *bsn.Protector
	roundTrips *atomic.Int64
}

// countedApp builds it with the peers (and settings) of deps; the adapters are filled in.
func countedApp(t *testing.T, deps app.Deps) counted {
	t.Helper()
	dsn := testkit.NewDatabase(t, "intake", func(ctx context.Context, dsn string) error { return svc.Migrate(ctx, service.Spec(), dsn) })
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	db := &pgxdb.DB{Pool: pool}
	prot, err := bsn.NewProtector(bsn.Keys{Encryption: key(), Index: key(), Pseudonym: key()})
	if err != nil {
		t.Fatal(err)
	}
	residents := postgres.NewResidents(db, prot)
	deps.Tx, deps.Residents, deps.Households, deps.Intakes = db, residents, residents, postgres.NewIntakes(db, prot)
	deps.Policies, deps.Assessments, deps.Pseudo = postgres.NewPolicies(db), postgres.NewAssessments(db), prot
	deps.Events = events.NewPublisher(outbox.NewWriter(testkit.NotifyDB(t, dsn), events.Service))
	deps.Access = logstore.New(db, events.Service)
	return counted{app: app.New(deps), db: db, prot: prot, roundTrips: roundTrips}
}

// caseDirection stands in for the gRPC peer (not the database): it opens a case for every
// request and remembers the requests.
type caseDirection struct{ requests []app.CaseRequest }

func (c *caseDirection) OpenCase(_ context.Context, r app.CaseRequest) (string, error) {
	c.requests = append(c.requests, r)
	return uuid.NewString(), nil
}

// A new intake is inserted once, in the state its triage on receipt leaves it in, with the
// COMMIT: nothing reads it back in the registering transaction. For someone new, an intake
// that waits in the queue and a crisis, which opens a case at once, are three round trips each
// (BEGIN with the resident's registration; the household with its member, deferred, with the
// policy's read; the intake, its events and its access-log entries with the COMMIT); the
// case-direction call is not a database round trip. They were five and six: the INSERT as
// received, and for the crisis the UPDATE after the case was opened; then four each, until
// the household's writes were deferred. What is stored is the intake in its final state
// and its events in order. Counted on the wire.
func TestNewIntakeIsStoredOnceWithTheCommit(t *testing.T) {
	ctx := context.Background()
	cd := &caseDirection{}
	c := countedApp(t, app.Deps{CaseDirection: cd})
	a, db, pool, prot, roundTrips := c.app, c.db, c.db.Pool, c.prot, c.roundTrips
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { return now }
	register := func(n int, urgency domain.Urgency) (domain.Intake, int64) {
		t.Helper()
		before := roundTrips.Load()
		in, err := a.RegisterIntake(asTeam(), bsnFor(n), domain.Intake{
			Channel: domain.ChannelDesk, Question: "help with the rent", LifeDomains: []string{"FINANCES"},
			Urgency: urgency, Municipality: "GM0363", District: "WK036301",
		})
		if err != nil {
			t.Fatal(err)
		}
		return in, roundTrips.Load() - before
	}
	// First calls prepare the statements (pgx's statement cache).
	register(1, domain.UrgencyNormal)
	register(2, domain.UrgencyCrisis)
	queued, queuedTrips := register(3, domain.UrgencyNormal)
	crisis, crisisTrips := register(4, domain.UrgencyCrisis)
	if queuedTrips != 3 || crisisTrips != 3 {
		t.Errorf("registering took %d round trips for a queued intake and %d for a crisis, want 3 and 3", queuedTrips, crisisTrips)
	}
	if len(cd.requests) != 2 || cd.requests[1].IntakeID != crisis.ID {
		t.Fatalf("case direction was asked %d times (%+v), want twice, the second for intake %s", len(cd.requests), cd.requests, crisis.ID)
	}
	for _, want := range []struct {
		in              domain.Intake
		status, outcome string
		caseID          bool
		events          string
	}{
		{queued, "RECEIVED", "", false, "wijkbrug.intake.v1.IntakeReceived"},
		{crisis, "CASE_OPENED", "CASE_DIRECTION", true,
			"wijkbrug.intake.v1.IntakeReceived wijkbrug.intake.v1.IntakeTriaged wijkbrug.intake.v1.IntakeCaseOpened"},
	} {
		got, err := postgres.NewIntakes(db, prot).Get(ctx, want.in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Status) != want.status || string(got.TriageOutcome) != want.outcome || (got.CaseID != "") != want.caseID ||
			got.CaseID != want.in.CaseID || got.Question != "help with the rent" || got.ResidentID == "" || got.HouseholdID == "" {
			t.Errorf("stored intake %s: status %s, outcome %q, case %q, question %q; want %s, %q, case %v (as returned: %q)",
				got.ID, got.Status, got.TriageOutcome, got.CaseID, got.Question, want.status, want.outcome, want.caseID, want.in.CaseID)
		}
		var evs string
		if err := pool.QueryRow(ctx, `SELECT string_agg(event_type, ' ' ORDER BY id) FROM outbox WHERE aggregate_id = $1`, want.in.ID).Scan(&evs); err != nil {
			t.Fatal(err)
		}
		if evs != want.events {
			t.Errorf("intake %s: events %q, want %q", want.in.ID, evs, want.events)
		}
	}
}

// A crisis intake about someone the team already works with is triaged with their latest ZRM
// assessment, and the case it opens starts from that assessment: both in one transaction, so
// the assessment is read once. Counted on the wire: reading it twice took one round trip more.
func TestCrisisOfAKnownResidentReadsTheLatestAssessmentOnce(t *testing.T) {
	cd := &caseDirection{}
	c := countedApp(t, app.Deps{CaseDirection: cd})
	a, roundTrips := c.app, c.roundTrips
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { return now }
	register := func(n int, urgency domain.Urgency) domain.Intake {
		t.Helper()
		in, err := a.RegisterIntake(asTeam(), bsnFor(n), domain.Intake{
			Channel: domain.ChannelDesk, Question: "help with the rent", LifeDomains: []string{"FINANCES"},
			Urgency: urgency, Municipality: "GM0363", District: "WK036301",
		})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	var scores []domain.Score
	for _, d := range domain.Instruments["ZRM-2017"].Domains {
		scores = append(scores, domain.Score{Domain: d, Score: 3})
	}
	assessed := func(n int) domain.Assessment {
		t.Helper()
		in := register(n, domain.UrgencyNormal)
		as, err := a.RecordAssessment(asTeam(), domain.Assessment{ResidentID: in.ResidentID, Instrument: "ZRM-2017",
			Context: domain.ContextIntake, Scores: scores, IntakeID: in.ID})
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	// The first crisis prepares the statements (pgx's statement cache); the second is counted.
	assessed(1)
	register(1, domain.UrgencyCrisis)
	as := assessed(2)
	before := roundTrips.Load()
	crisis := register(2, domain.UrgencyCrisis)
	trips := roundTrips.Load() - before
	if crisis.Status != domain.StatusCaseOpened {
		t.Fatalf("crisis intake of a known resident is %s, want %s", crisis.Status, domain.StatusCaseOpened)
	}
	last := cd.requests[len(cd.requests)-1]
	if last.IntakeID != crisis.ID || last.BaselineAssessmentID != as.ID {
		t.Errorf("case opened for intake %s from assessment %q, want intake %s from %s", last.IntakeID, last.BaselineAssessmentID, crisis.ID, as.ID)
	}
	// 8 while the assessment was read again for the case.
	if want := int64(7); trips != want {
		t.Errorf("a crisis intake of a known resident took %d round trips, want %d", trips, want)
	}
}
