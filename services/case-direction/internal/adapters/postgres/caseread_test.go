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

// prefixSealer stands in for bsn.Protector: what it seals is readable only through Open.
type prefixSealer struct{}

func (prefixSealer) Seal(plaintext, aad string) []byte { return []byte(aad + "|" + plaintext) }
func (prefixSealer) Open(ciphertext []byte, aad string) (string, error) {
	return strings.TrimPrefix(string(ciphertext), aad+"|"), nil
}

// Reading a case with every part it can have (allocations, referrals, a plan whose goals have
// actions, an involvement, an evaluation, a to-do, a conference, a safety concern, outcomes,
// its current residents) is one round trip, where it was twelve, one per statement, and one
// more for the residents when the read was logged; inside a transaction BEGIN goes with it. The parts read are those stored, the plan is the version the case's row names, and an
// unknown case is NOT_FOUND in that one round trip too.
func TestCaseIsReadInOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool, roundTrips := testkit.RoundTripPool(t, newDSN(t))
	db := &pgxdb.DB{Pool: pool}
	cases := NewCases(db, prefixSealer{})
	now := time.Now().UTC().Truncate(time.Microsecond)
	residents := []domain.ResidentRef{{ResidentID: uuid.NewString(), Pseudonym: "ps-1"}, {ResidentID: uuid.NewString(), Pseudonym: "ps-2"}}
	slices.SortFunc(residents, func(x, y domain.ResidentRef) int { return strings.Compare(x.ResidentID, y.ResidentID) })
	c := domain.Case{ID: uuid.NewString(), HouseholdID: uuid.NewString(), Municipality: "GM0363", TeamOIN: "00000001000000000001",
		Status: domain.StatusRegistered, OpenedAt: now, Residents: residents}
	goal1, goal2, referral := uuid.NewString(), uuid.NewString(), uuid.NewString()
	plan := func(version int, goals ...domain.Goal) domain.Plan {
		return domain.Plan{Version: version, AdoptedAt: now, AdoptedBy: "prof-1", ResidentAgreed: true, ResidentAgreedOn: "2026-12-01",
			EvaluationDate: "2027-03-01", Goals: goals}
	}
	goals := []domain.Goal{
		{ID: goal1, LifeDomain: "FINANCES", Baseline: 2, Target: 4, Status: domain.GoalStatus("OPEN")},
		{ID: goal2, LifeDomain: "HOUSING", Baseline: 1, Target: 3, Status: domain.GoalStatus("OPEN")},
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Tx(ctx, func(ctx context.Context) error {
		if _, err := cases.Insert(ctx, c); err != nil {
			return err
		}
		p := plan(1, goals...)
		c.Plan = &p
		if err := cases.SavePlan(ctx, c.ID, p); err != nil {
			return err
		}
		if err := cases.Update(ctx, c); err != nil {
			return err
		}
		if _, err := cases.AddAllocation(ctx, c.ID, domain.AllocationAction{Number: "A-1", ProviderAGB: "12345678", ProductCategory: "10",
			ProductCode: "10A01", Status: "REQUESTED", UpdatedAt: now}); err != nil {
			return err
		}
		if _, err := cases.SetReferralStatus(ctx, c.ID, referral, "SENT", now); err != nil {
			return err
		}
		if _, err := cases.AddGoalAction(ctx, goal1, domain.GoalAction{AllocationNumber: "A-1"}, now); err != nil {
			return err
		}
		if _, err := cases.AddGoalAction(ctx, goal2, domain.GoalAction{ReferralID: referral}, now); err != nil {
			return err
		}
		if err := cases.AddInvolvement(ctx, c.ID, domain.Involvement{ID: uuid.NewString(), OrgType: "ZORGAANBIEDER", OrgOIN: "00000001000000000002",
			ProfessionalID: "prof-2", Role: domain.RoleExecutor, ValidFrom: now, CreatedAt: now}); err != nil {
			return err
		}
		if err := cases.AddEvaluation(ctx, c.ID, domain.Evaluation{ID: uuid.NewString(), At: now, By: "prof-1", Decision: "CONTINUE"}); err != nil {
			return err
		}
		if _, err := cases.AddTodo(ctx, c.ID, domain.EvaluationTodo{ID: uuid.NewString(), Reason: "ALLOCATION_STARTED", AllocationNumber: "A-1",
			GoalIDs: []string{goal1}, CreatedAt: now}); err != nil {
			return err
		}
		if err := cases.AddConference(ctx, c.ID, domain.Conference{ID: uuid.NewString(), HeldOn: "2026-12-02",
			Attendees: []domain.Attendee{}, Decisions: []string{"schuldhulp eerst"}, RecordedAt: now, RecordedBy: "prof-1"}); err != nil {
			return err
		}
		if err := cases.SaveSafetyConcern(ctx, c.ID, domain.SafetyConcern{Kind: domain.SafetyDomesticViolence, MeldcodeStep: 2, RecordedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return cases.SaveOutcomes(ctx, c.ID, []domain.DomainOutcome{{LifeDomain: "FINANCES", Baseline: 2, Target: 4, Closing: 3, Outcome: "IMPROVED"}})
	}))

	read := func(get func(context.Context, string) (domain.Case, error), id string, inTx bool) (domain.Case, error, int64) {
		t.Helper()
		var got domain.Case
		var err error
		before := roundTrips.Load()
		if inTx {
			err = db.Tx(ctx, func(ctx context.Context) error {
				got, err = get(ctx, id)
				return err
			})
		} else {
			got, err = get(ctx, id)
		}
		return got, err, roundTrips.Load() - before
	}
	// The first read prepares the statements (pgx's statement cache): count the next.
	read(cases.Get, c.ID, false)
	read(cases.GetForUpdate, c.ID, true)
	got, err, n := read(cases.Get, c.ID, false)
	must(err)
	if n != 1 {
		t.Errorf("reading a case with every part took %d round trips, want 1", n)
	}
	if _, err, n := read(cases.GetForUpdate, c.ID, true); err != nil || n != 2 {
		t.Errorf("reading and locking a case in a transaction: %v, %d round trips; want 2 (the read with BEGIN, COMMIT)", err, n)
	}
	if !slices.Equal(got.Residents, residents) {
		t.Errorf("residents read as %v, want %v", got.Residents, residents)
	}
	if got.ID != c.ID || got.HouseholdID != c.HouseholdID || got.TeamOIN != c.TeamOIN || !got.OpenedAt.Equal(now) {
		t.Errorf("case row read as %+v", got)
	}
	if got.Plan == nil || got.Plan.Version != 1 || got.Plan.ResidentAgreedOn != "2026-12-01" || got.Plan.EvaluationDate != "2027-03-01" || len(got.Plan.Goals) != 2 {
		t.Fatalf("plan read as %+v, want version 1 with two goals", got.Plan)
	}
	for _, g := range got.Plan.Goals {
		want := map[string]domain.GoalAction{goal1: {AllocationNumber: "A-1", Status: "REQUESTED"}, goal2: {ReferralID: referral, Status: "SENT"}}[g.ID]
		if len(g.Actions) != 1 || g.Actions[0] != want {
			t.Errorf("goal %s (%s) has actions %+v, want [%+v]", g.ID, g.LifeDomain, g.Actions, want)
		}
	}
	d := got.Details
	if len(got.Allocations) != 1 || len(got.Referrals) != 1 || len(got.Involvements) != 1 || len(d.Evaluations) != 1 || len(d.Todos) != 1 ||
		len(d.Conferences) != 1 || len(d.SafetyConcerns) != 1 || len(d.Outcomes) != 1 {
		t.Fatalf("parts read: %d allocations, %d referrals, %d involvements, %d evaluations, %d to-dos, %d conferences, %d safety concerns, %d outcomes; want one each",
			len(got.Allocations), len(got.Referrals), len(got.Involvements), len(d.Evaluations), len(d.Todos), len(d.Conferences), len(d.SafetyConcerns), len(d.Outcomes))
	}
	if dec := d.Conferences[0].Decisions; len(dec) != 1 || dec[0] != "schuldhulp eerst" {
		t.Errorf("conference decisions read as %q", dec)
	}
	// The to-do was added after the evaluation, so it is open.
	if d.Todos[0].DoneAt != nil || len(d.Todos[0].GoalIDs) != 1 {
		t.Errorf("to-do read as %+v", d.Todos[0])
	}

	// A second plan version: the read follows the case's row to it.
	goal3 := uuid.NewString()
	must(db.Tx(ctx, func(ctx context.Context) error {
		p := plan(2, goals[0], domain.Goal{ID: goal3, LifeDomain: "HEALTH", Baseline: 2, Target: 3, Status: domain.GoalStatus("OPEN")})
		c.Plan = &p
		if err := cases.SavePlan(ctx, c.ID, p); err != nil {
			return err
		}
		return cases.Update(ctx, c)
	}))
	got, err, n = read(cases.Get, c.ID, false)
	must(err)
	if got.Plan == nil || got.Plan.Version != 2 || len(got.Plan.Goals) != 2 || n != 1 {
		t.Fatalf("after version 2: plan %+v in %d round trips, want version 2 with two goals in 1", got.Plan, n)
	}
	if _, ok := got.Plan.Goal(goal2); ok {
		t.Errorf("version 2 still lists goal %s of version 1 only", goal2)
	}
	if g, ok := got.Plan.Goal(goal1); !ok || len(g.Actions) != 1 {
		t.Errorf("goal %s carried over into version 2 with actions %+v, want its one action", goal1, g)
	}

	_, err, n = read(cases.Get, uuid.NewString(), false)
	if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindNotFound || n != 1 {
		t.Errorf("an unknown case: %v in %d round trips, want NOT_FOUND in 1", err, n)
	}
}

// The plan's statements each name the version they read; a plan adopted between them makes
// the parts inconsistent, and get then reads the case again.
func TestPlanPartsReadFromAnotherVersionAreNotUsed(t *testing.T) {
	parts := func(planVersion int, goalVersions ...int) *planParts {
		p := &planParts{plan: &domain.Plan{Version: planVersion}, versions: []int{planVersion}, goalIDs: []string{"g1", "g2"}}
		for i, v := range goalVersions {
			p.goals = append(p.goals, domain.Goal{ID: []string{"g1", "g2"}[i]})
			p.versions = append(p.versions, v)
		}
		return p
	}
	for _, c := range []struct {
		name string
		p    *planParts
		want bool
	}{
		{"all from version 2", parts(2, 2, 2), true},
		{"plan row from version 1", parts(1, 2, 2), false},
		{"a goal from version 3", parts(2, 2, 3), false},
		{"a goal the plan lists missing", parts(2, 2), false},
		{"no plan row", &planParts{}, false},
	} {
		if got := c.p.consistent(2); got != c.want {
			t.Errorf("%s: consistent = %v, want %v", c.name, got, c.want)
		}
	}
}

// A write to a case's allocation returns the case's current residents with the case, in the
// order a case's read gives them, so that the change is logged under each without a lookup of
// its own; a write that changes nothing returns the case only, and an unknown allocation
// nothing.
func TestAllocationWritesReturnTheCaseResidents(t *testing.T) {
	ctx := context.Background()
	pool, roundTrips := testkit.RoundTripPool(t, newDSN(t))
	db := &pgxdb.DB{Pool: pool}
	cases := NewCases(db, nil)
	now := time.Now().UTC().Truncate(time.Microsecond)
	residents := []domain.ResidentRef{{ResidentID: uuid.NewString(), Pseudonym: "ps-b"}, {ResidentID: uuid.NewString(), Pseudonym: "ps-a"}}
	c := domain.Case{ID: uuid.NewString(), HouseholdID: uuid.NewString(), Municipality: "GM0363", TeamOIN: "00000001000000000001",
		Status: domain.StatusRegistered, OpenedAt: now, Residents: residents}
	if err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := cases.Insert(ctx, c); err != nil {
			return err
		}
		for _, number := range []string{"A-6", "A-7"} {
			if _, err := cases.AddAllocation(ctx, c.ID, domain.AllocationAction{Number: number, ProviderAGB: "12345678", ProductCategory: "10",
				ProductCode: "10A01", Status: domain.AllocationIssued, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := c.CurrentPseudonyms()
	start := func(number string) (domain.AllocationWrite, int64) {
		t.Helper()
		before := roundTrips.Load()
		w, err := cases.SetAllocationStatus(ctx, number, []string{domain.AllocationIssued}, domain.AllocationStarted, now)
		if err != nil {
			t.Fatal(err)
		}
		return w, roundTrips.Load() - before
	}
	start("A-6") // prepares the statement (pgx's statement cache)
	if w, n := start("A-7"); w.CaseID != c.ID || !w.Changed || !slices.Equal(w.Residents, want) || n != 1 {
		t.Fatalf("starting the allocation: %+v in %d round trips; want case %s changed with residents %v in 1", w, n, c.ID, want)
	}
	if w, _ := start("A-7"); w.CaseID != c.ID || w.Changed || w.Residents != nil {
		t.Fatalf("a repeated start: %+v; want the case, unchanged, no residents", w)
	}
	if w, err := cases.SetAllocationProgress(ctx, "A-7", "ON_TRACK", now); err != nil || !w.Changed || !slices.Equal(w.Residents, want) {
		t.Fatalf("progress: %+v, %v; want changed with residents %v", w, err, want)
	}
	if w, err := cases.SetAllocationProgress(ctx, "A-7", "BEHIND", now.Add(-time.Hour)); err != nil || w.Changed || w.CaseID != c.ID {
		t.Fatalf("an older progress report: %+v, %v; want the case, unchanged", w, err)
	}
	if w, err := cases.SetAllocationStatus(ctx, "A-unknown", []string{domain.AllocationIssued}, domain.AllocationStarted, now); err != nil || w.CaseID != "" {
		t.Fatalf("an unknown allocation: %+v, %v; want no case", w, err)
	}
}
