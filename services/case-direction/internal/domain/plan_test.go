package domain

import (
	"errors"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func runningCase() Case {
	return Case{
		ID: "case-1", Status: StatusInProgress, Director: &Director{ProfessionalID: "anna"},
		Plan: &Plan{Version: 1, Goals: []Goal{
			{ID: "g-fin", LifeDomain: "FINANCES", Baseline: 2, Target: 4, Status: GoalReached},
			{ID: "g-hou", LifeDomain: "HOUSING", Baseline: 1, Target: 3, Status: GoalDropped},
		}},
		Referrals:   []ReferralAction{{ReferralID: "r-1", Status: "COMPLETED"}, {ReferralID: "r-2", Status: "DECLINED"}},
		Allocations: []AllocationAction{{Number: "TW1", Status: AllocationEnded}, {Number: "TW2", Status: AllocationWithdrawn}},
	}
}

func TestClosingGuardAllowsASettledCase(t *testing.T) {
	for _, st := range []Status{StatusInProgress, StatusScaledDown, StatusWatch} {
		c := runningCase()
		c.Status = st
		if err := c.CanClose("GOALS_REACHED"); err != nil {
			t.Fatalf("%s: settled case must close, got %v", st, err)
		}
		if err := c.Close("GOALS_REACHED", t0); err != nil || c.Status != StatusClosed || c.Result != "GOALS_REACHED" || c.ClosedAt == nil {
			t.Fatalf("%s: close: %v %+v", st, err, c)
		}
	}
}

func TestClosingGuardNamesEverythingOpen(t *testing.T) {
	c := runningCase()
	c.Plan.Goals[0].Status = GoalInProgress
	c.Plan.Goals = append(c.Plan.Goals, Goal{ID: "g-net", LifeDomain: "SOCIAL_NETWORK", Status: GoalOpen})
	c.Referrals = append(c.Referrals, ReferralAction{ReferralID: "r-3", Status: "ACCEPTED"}, ReferralAction{ReferralID: "r-4", Status: "UNREPORTED"})
	c.Allocations = append(c.Allocations, AllocationAction{Number: "TW3", Status: AllocationStarted}, AllocationAction{Number: "TW4", Status: AllocationPaused})
	err := c.CanClose("")
	var ce *ClosingError
	if !errors.As(err, &ce) {
		t.Fatalf("want ClosingError, got %v", err)
	}
	want := []string{
		"no result given",
		"goal g-fin (FINANCES) is IN_PROGRESS",
		"goal g-net (SOCIAL_NETWORK) is OPEN",
		"referral r-3 is ACCEPTED",
		"referral r-4 is UNREPORTED",
		"allocation TW3 is STARTED",
		"allocation TW4 is PAUSED",
	}
	if strings.Join(ce.Open, "|") != strings.Join(want, "|") {
		t.Fatalf("open items:\n got %q\nwant %q", ce.Open, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q must name %q", err.Error(), w)
		}
	}
	if err := c.Close("GOALS_REACHED", t0); err == nil || c.Status != StatusInProgress {
		t.Fatalf("a refused close must change nothing: %v %s", err, c.Status)
	}
}

func TestClosingGuardOneOpenThingAtATime(t *testing.T) {
	for name, spoil := range map[string]func(*Case){
		"goal":       func(c *Case) { c.Plan.Goals[1].Status = GoalOpen },
		"referral":   func(c *Case) { c.Referrals[0].Status = "IN_PROGRESS" },
		"allocation": func(c *Case) { c.Allocations[0].Status = AllocationIssued },
	} {
		c := runningCase()
		spoil(&c)
		var ce *ClosingError
		if err := c.CanClose("GOALS_REACHED"); !errors.As(err, &ce) || len(ce.Open) != 1 || !strings.HasPrefix(ce.Open[0], name) {
			t.Errorf("%s open: want exactly that named, got %v", name, err)
		}
	}
}

func TestClosingGuardNeedsAClosableStatus(t *testing.T) {
	for _, st := range []Status{StatusRegistered, StatusActive, StatusPlanAdopted, StatusClosed, StatusHandedOver} {
		c := runningCase()
		c.Status = st
		var te *TransitionError
		if err := c.CanClose("GOALS_REACHED"); !errors.As(err, &te) || te.From != st || te.To != StatusClosed {
			t.Errorf("%s: want a transition error to CLOSED, got %v", st, err)
		}
	}
}

func TestReferralAndAllocationOpen(t *testing.T) {
	for s, open := range map[string]bool{"DRAFT": true, "SENT": true, "ACCEPTED": true, "IN_PROGRESS": true, "ON_HOLD": true, "UNREPORTED": true,
		"COMPLETED": false, "FAILED": false, "CANCELLED": false, "DECLINED": false, "EXPIRED": false} {
		if ReferralOpen(s) != open {
			t.Errorf("referral %s: open=%v", s, !open)
		}
	}
	for s, open := range map[string]bool{AllocationIssued: true, AllocationStarted: true, AllocationPaused: true, AllocationEnded: false, AllocationWithdrawn: false} {
		if AllocationOpen(s) != open {
			t.Errorf("allocation %s: open=%v", s, !open)
		}
	}
}

func seqIDs() func() string {
	n := 0
	return func() string { n++; return "g" + string(rune('0'+n)) }
}

func TestAdoptPlanVersions(t *testing.T) {
	ids := seqIDs()
	c := Case{Status: StatusActive}
	if _, err := c.AdoptPlan(Plan{Goals: []Goal{{ID: "other", LifeDomain: "FINANCES"}}}, ids, t0); err == nil || c.Status != StatusActive || c.Plan != nil {
		t.Fatalf("a first plan has no goals to carry over: %v", err)
	}
	dropped, err := c.AdoptPlan(Plan{Goals: []Goal{{LifeDomain: "FINANCES", Baseline: 2, Target: 4}, {LifeDomain: "HOUSING", Baseline: 1, Target: 3}}}, ids, t0)
	if err != nil || len(dropped) != 0 || c.Status != StatusPlanAdopted || c.Plan.Version != 1 || !c.Plan.AdoptedAt.Equal(t0) {
		t.Fatalf("first plan: %v %+v", err, c)
	}
	if g := c.Plan.Goals; g[0].ID != "g1" || g[0].Status != GoalOpen || g[1].ID != "g2" || g[1].Status != GoalOpen {
		t.Fatalf("new goals: %+v", g)
	}
	c.Plan.Goals[0].Status = GoalInProgress
	c.Plan.Goals[0].Actions = []GoalAction{{AllocationNumber: "TW1"}}
	c.Status = StatusInProgress

	// Version 2 carries FINANCES over with new scores, drops HOUSING, adds SOCIAL_NETWORK.
	t1 := t0.Add(24 * time.Hour)
	dropped, err = c.AdoptPlan(Plan{Goals: []Goal{{ID: "g1", LifeDomain: "FINANCES", Baseline: 3, Target: 5}, {LifeDomain: "SOCIAL_NETWORK", Baseline: 2, Target: 3}}}, ids, t1)
	if err != nil || c.Status != StatusInProgress || c.Plan.Version != 2 {
		t.Fatalf("second version: %v %+v", err, c)
	}
	g1, _ := c.Plan.Goal("g1")
	if g1.Status != GoalInProgress || len(g1.Actions) != 1 || g1.Baseline != 3 || g1.Target != 5 {
		t.Fatalf("carried goal keeps status and actions, takes new scores: %+v", g1)
	}
	if g3, ok := c.Plan.Goal("g3"); !ok || g3.Status != GoalOpen {
		t.Fatalf("new goal: %+v", c.Plan.Goals)
	}
	if len(dropped) != 1 || dropped[0].ID != "g2" || dropped[0].Status != GoalDropped {
		t.Fatalf("left-out goal must be dropped: %+v", dropped)
	}
	if _, err := c.AdoptPlan(Plan{Goals: []Goal{{ID: "g2", LifeDomain: "HOUSING"}}}, ids, t1); err == nil {
		t.Fatal("a dropped goal is no longer current and cannot be carried over")
	}

	for _, st := range []Status{StatusRegistered, StatusWatch, StatusClosed, StatusHandedOver} {
		c := Case{Status: st}
		var te *TransitionError
		if _, err := c.AdoptPlan(Plan{Goals: []Goal{{LifeDomain: "FINANCES"}}}, ids, t0); !errors.As(err, &te) || te.From != st || te.To != StatusPlanAdopted {
			t.Errorf("%s: want a transition error to PLAN_ADOPTED, got %v", st, err)
		}
	}
}

func TestGoalStatusMoves(t *testing.T) {
	allowed := map[[2]GoalStatus]bool{}
	for _, to := range []GoalStatus{GoalInProgress, GoalReached, GoalPartly, GoalNotReached, GoalDropped} {
		allowed[[2]GoalStatus{GoalOpen, to}] = true
	}
	for _, to := range []GoalStatus{GoalReached, GoalPartly, GoalNotReached, GoalDropped} {
		allowed[[2]GoalStatus{GoalInProgress, to}] = true
	}
	all := []GoalStatus{GoalOpen, GoalInProgress, GoalReached, GoalPartly, GoalNotReached, GoalDropped}
	for _, from := range all {
		for _, to := range all {
			if CanMoveGoal(from, to) != allowed[[2]GoalStatus{from, to}] {
				t.Errorf("goal %s → %s: allowed=%v", from, to, !allowed[[2]GoalStatus{from, to}])
			}
		}
	}
	c := runningCase()
	c.Plan.Goals[0].Status = GoalOpen
	if from, err := c.SetGoalStatus("g-fin", GoalInProgress); err != nil || from != GoalOpen || c.Plan.Goals[0].Status != GoalInProgress {
		t.Fatalf("set: %v %v", from, err)
	}
	if _, err := c.SetGoalStatus("g-hou", GoalOpen); err == nil || !strings.Contains(err.Error(), "from DROPPED to OPEN") {
		t.Fatalf("a final goal stays final, and the error names from and to: %v", err)
	}
	if _, err := c.SetGoalStatus("nope", GoalReached); err == nil {
		t.Fatal("unknown goal must be refused")
	}
}

func TestOutcomesPerLifeDomain(t *testing.T) {
	c := Case{Plan: &Plan{Goals: []Goal{
		{LifeDomain: "FINANCES", Baseline: 2, Target: 4, Status: GoalReached},
		{LifeDomain: "HOUSING", Baseline: 2, Target: 4, Status: GoalPartly},
		{LifeDomain: "MENTAL_HEALTH", Baseline: 3, Target: 4, Status: GoalNotReached},
		{LifeDomain: "SOCIAL_NETWORK", Baseline: 3, Target: 4, Status: GoalNotReached},
		{LifeDomain: "JUSTICE", Baseline: 2, Target: 3, Status: GoalNotReached},
		{LifeDomain: "SUBSTANCE_USE", Baseline: 2, Target: 3, Status: GoalNotReached},
		{LifeDomain: "WORK_EDUCATION", Baseline: 1, Target: 3, Status: GoalDropped},
	}}}
	got := c.Outcomes(map[string]int{"FINANCES": 5, "HOUSING": 3, "MENTAL_HEALTH": 3, "SOCIAL_NETWORK": 2, "JUSTICE": 99, "WORK_EDUCATION": 4})
	want := []DomainOutcome{
		{"FINANCES", 2, 4, 5, OutcomeTargetReached},
		{"HOUSING", 2, 4, 3, OutcomeImproved},
		{"JUSTICE", 2, 3, 0, OutcomeNotAssessed},
		{"MENTAL_HEALTH", 3, 4, 3, OutcomeUnchanged},
		{"SOCIAL_NETWORK", 3, 4, 2, OutcomeDeteriorated},
		{"SUBSTANCE_USE", 2, 3, 0, OutcomeNotAssessed},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %+v want %+v", i, got[i], want[i])
		}
	}
}

// TestPlanDatesFitTheCase: the agreement is not before the case was opened, the evaluation not
// in the past and at most MaxEvaluationYears ahead (probe-B F6); a refusal changes nothing.
func TestPlanDatesFitTheCase(t *testing.T) {
	goals := []Goal{{LifeDomain: "FINANCES", Baseline: 2, Target: 4}}
	for name, tc := range map[string]struct {
		plan  Plan
		field string
	}{
		"agreed before the case":     {Plan{ResidentAgreed: true, ResidentAgreedOn: "1990-01-01", EvaluationDate: "2026-06-01"}, "resident_agreed_on"},
		"agreed the day before":      {Plan{ResidentAgreed: true, ResidentAgreedOn: "2026-02-28", EvaluationDate: "2026-06-01"}, "resident_agreed_on"},
		"evaluation in 1900":         {Plan{EvaluationDate: "1900-01-01"}, "evaluation_date"},
		"evaluation yesterday":       {Plan{EvaluationDate: "2026-03-01"}, "evaluation_date"},
		"evaluation in 2062":         {Plan{EvaluationDate: "2062-03-02"}, "evaluation_date"},
		"agreed on opening day":      {Plan{ResidentAgreed: true, ResidentAgreedOn: "2026-03-01", EvaluationDate: "2026-03-02"}, ""},
		"evaluation five years away": {Plan{EvaluationDate: "2031-03-02"}, ""},
	} {
		c := Case{Status: StatusActive, OpenedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)} // 1 March in the Netherlands
		tc.plan.Goals = append([]Goal(nil), goals...)
		_, err := c.AdoptPlan(tc.plan, seqIDs(), t0)
		var fe *FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%s: want a violation of %s, got %v", name, tc.field, err)
		case tc.field != "" && (c.Plan != nil || c.Status != StatusActive):
			t.Errorf("%s: a refused plan must change nothing: %+v", name, c)
		}
	}
}

// Both plan dates wrong: both are named at once (a joined error, one violation each).
func TestBothPlanDatesAreNamedAtOnce(t *testing.T) {
	c := Case{Status: StatusActive, OpenedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	_, err := c.AdoptPlan(Plan{ResidentAgreed: true, ResidentAgreedOn: "1990-01-01", EvaluationDate: "2062-03-02",
		Goals: []Goal{{LifeDomain: "FINANCES", Baseline: 2, Target: 4}}}, seqIDs(), t0)
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) != 2 ||
		e.Violations[0].Field != "resident_agreed_on" || e.Violations[1].Field != "evaluation_date" {
		t.Fatalf("want violations of resident_agreed_on and evaluation_date, got %+v (%v)", e, err)
	}
}

// TestCarriedOverGoalKeepsItsLifeDomain: a goal carried into a new plan version cannot move to
// another life domain with its status and actions (probe-B F7); a new domain is a new goal.
func TestCarriedOverGoalKeepsItsLifeDomain(t *testing.T) {
	c := runningCase()
	c.Plan.Goals[0].Status = GoalInProgress
	_, err := c.AdoptPlan(Plan{Goals: []Goal{{ID: "g-fin", LifeDomain: "HOUSING", Baseline: 1, Target: 5}}}, seqIDs(), t0)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "goals[0].life_domain" || !strings.Contains(fe.Msg, "FINANCES") || c.Plan.Version != 1 {
		t.Fatalf("want a violation of goals[0].life_domain naming FINANCES and no new version, got %v (version %d)", err, c.Plan.Version)
	}
	// The violation names the goal that moved by its index in the request.
	_, err = c.AdoptPlan(Plan{Goals: []Goal{{LifeDomain: "SOCIAL_NETWORK", Baseline: 2, Target: 3},
		{ID: "g-fin", LifeDomain: "HOUSING", Baseline: 1, Target: 5}}}, seqIDs(), t0)
	if !errors.As(err, &fe) || fe.Field != "goals[1].life_domain" || c.Plan.Version != 1 {
		t.Fatalf("want a violation of goals[1].life_domain and no new version, got %v (version %d)", err, c.Plan.Version)
	}
	if _, err := c.AdoptPlan(Plan{Goals: []Goal{{ID: "g-fin", LifeDomain: "FINANCES", Baseline: 1, Target: 5}, {LifeDomain: "HOUSING", Baseline: 1, Target: 5}}}, seqIDs(), t0); err != nil {
		t.Fatalf("the same domain with new scores, and a new goal for the other: %v", err)
	}
}

// TestConferenceNotBeforeTheCase: a case conference is not held before the case was opened
// (probe-B F6).
func TestConferenceNotBeforeTheCase(t *testing.T) {
	c := Case{Status: StatusActive, OpenedAt: time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)} // 2 March in the Netherlands
	for day, ok := range map[string]bool{"1900-01-01": false, "2026-03-01": false, "2026-03-02": true, "2026-03-05": true} {
		err := c.CheckConference(Conference{HeldOn: day})
		var fe *FieldError
		if ok != (err == nil) || (!ok && (!errors.As(err, &fe) || fe.Field != "held_on")) {
			t.Errorf("held on %s: %v", day, err)
		}
	}
}

func TestPlanBaseMustBeTheCurrentVersion(t *testing.T) {
	c := Case{Status: StatusActive}
	if err := c.CheckPlanBase(0); err != nil {
		t.Fatalf("the first plan is drawn up from no plan (0): %v", err)
	}
	var stale *StalePlanError
	if err := c.CheckPlanBase(1); !errors.As(err, &stale) || stale.BasedOn != 1 || stale.Current != 0 {
		t.Fatalf("version 1 of a case without a plan: %v", err)
	}
	if _, err := c.AdoptPlan(Plan{Goals: []Goal{{LifeDomain: "FINANCES", Baseline: 2, Target: 4}}}, seqIDs(), t0); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckPlanBase(1); err != nil {
		t.Fatalf("drawn up from the current version: %v", err)
	}
	if err := c.CheckPlanBase(0); !errors.As(err, &stale) || stale.BasedOn != 0 || stale.Current != 1 ||
		err.Error() != "the plan was drawn up from version 0, but version 1 has been adopted since: read the case and draw the plan up from its current version" {
		t.Fatalf("drawn up before version 1: %v", err)
	}
}
