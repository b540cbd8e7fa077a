package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// change runs fn on the team's case, locked, in one transaction: the per-object check (another
// team gets NOT_FOUND, logged detached), the rule, storing the case, CaseStatusChanged (and
// CaseClosed) when the status moved, and the access-log entry. It returns the case as stored.
func (a *App) change(ctx context.Context, caseID, action string, fn func(ctx context.Context, c *domain.Case, at time.Time) error) (domain.Case, error) {
	caller, _ := identity.From(ctx)
	var out domain.Case
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.cases.GetForUpdate(ctx, caseID)
		if err != nil {
			return err
		}
		if err := a.requireTeam(ctx, caller, c, action); err != nil {
			return err
		}
		from, at := c.Status, a.now()
		if err := fn(ctx, &c, at); err != nil {
			return err
		}
		if err := a.cases.Update(ctx, c); err != nil {
			return err
		}
		if c.Status != from {
			if err := a.events.CaseStatusChanged(ctx, c, from, at); err != nil {
				return err
			}
			if c.Status.Final() {
				if err := a.events.CaseClosed(ctx, c, at); err != nil {
					return err
				}
				// A closed or handed-over case no longer gives partners access.
				ended, err := a.cases.EndOpenInvolvements(ctx, c.ID, at)
				if err != nil {
					return err
				}
				for _, i := range ended {
					if err := a.events.CaseInvolvementEnded(ctx, c, i, at); err != nil {
						return err
					}
				}
			}
		}
		if err := a.access.Record(ctx, caseEntry(action, c, accesslog.RouteTeam, accesslog.OutcomeGranted)); err != nil {
			return err
		}
		out, err = a.cases.Get(ctx, c.ID)
		return err
	})
	return out, err
}

// NewGoal is a goal of a plan to adopt; ID names a goal of the current plan to carry over.
type NewGoal struct {
	ID         string
	LifeDomain string
	Baseline   int
	Target     int
}

// PlanInput is a plan version to adopt.
type PlanInput struct {
	Goals            []NewGoal
	ResidentAgreed   bool
	ResidentAgreedOn string
	EvaluationDate   string
	// BasedOnVersion, when set, is the plan version this one was drawn up from: another
	// version adopted since refuses it (domain.StalePlanError).
	BasedOnVersion *int
}

// AdoptPlan adopts a new plan version. Goals of the previous version that are left out are
// dropped (CaseGoalStatusChanged for each that was not final yet). With in.BasedOnVersion a
// plan drawn up from another version than the current one is refused; the case is locked
// (change), so of two adoptions from the same version one is refused.
func (a *App) AdoptPlan(ctx context.Context, caseID string, in PlanInput) (domain.Case, error) {
	caller, _ := identity.From(ctx)
	return a.change(ctx, caseID, actionAdoptPlan, func(ctx context.Context, c *domain.Case, at time.Time) error {
		p := domain.Plan{AdoptedBy: caller.User, ResidentAgreed: in.ResidentAgreed, ResidentAgreedOn: in.ResidentAgreedOn, EvaluationDate: in.EvaluationDate}
		for _, g := range in.Goals {
			p.Goals = append(p.Goals, domain.Goal{ID: g.ID, LifeDomain: g.LifeDomain, Baseline: g.Baseline, Target: g.Target})
		}
		if in.BasedOnVersion != nil {
			if err := c.CheckPlanBase(*in.BasedOnVersion); err != nil {
				return err
			}
		}
		var before map[string]domain.GoalStatus
		if c.Plan != nil {
			before = map[string]domain.GoalStatus{}
			for _, g := range c.Plan.Goals {
				before[g.ID] = g.Status
			}
		}
		dropped, err := c.AdoptPlan(p, uuid.NewString, at)
		if err != nil {
			return err
		}
		if err := a.cases.SavePlan(ctx, c.ID, *c.Plan); err != nil {
			return err
		}
		for _, g := range dropped {
			if g.Status == before[g.ID] {
				continue
			}
			if err := a.cases.SetGoalStatus(ctx, g.ID, g.Status, at); err != nil {
				return err
			}
			if err := a.events.CaseGoalStatusChanged(ctx, *c, g, before[g.ID], at); err != nil {
				return err
			}
		}
		return a.events.CasePlanAdopted(ctx, *c)
	})
}

// StartPlanExecution records that work on the plan started: PLAN_ADOPTED → IN_PROGRESS.
func (a *App) StartPlanExecution(ctx context.Context, caseID string) (domain.Case, error) {
	return a.change(ctx, caseID, actionStartPlan, func(_ context.Context, c *domain.Case, at time.Time) error {
		return c.StartExecution(at)
	})
}

// AddGoalAction links a referral or one of the case's allocations to a goal of the plan.
func (a *App) AddGoalAction(ctx context.Context, caseID, goalID string, action domain.GoalAction) (domain.Case, error) {
	return a.change(ctx, caseID, actionGoalAction, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if c.Status.Final() {
			return &domain.ActionError{Status: c.Status, Action: "get new actions"}
		}
		if _, ok := c.Plan.Goal(goalID); !ok {
			return apperr.NotFound("goal", goalID)
		}
		if action.AllocationNumber != "" {
			found := false
			for _, al := range c.Allocations {
				found = found || al.Number == action.AllocationNumber
			}
			if !found {
				return apperr.NotFound("allocation", action.AllocationNumber)
			}
		}
		if action.ReferralID != "" {
			// Only a referral the referral service reported for this case: an id it never
			// reported would hold the case open for good, and one of another case is not
			// disclosed (both NOT_FOUND).
			owner, err := a.cases.ReferralCase(ctx, action.ReferralID)
			if err != nil {
				return err
			}
			if owner != c.ID {
				return &apperr.Error{Kind: apperr.KindNotFound, Resource: "referral", ID: action.ReferralID,
					Message: "referral not found among the case's referrals (the referral service reports a referral made for the case; CreateReferral's goal_ids link it as it is made)"}
			}
		}
		added, err := a.cases.AddGoalAction(ctx, goalID, action, at)
		if err != nil || !added {
			return err
		}
		return a.events.CaseGoalActionAdded(ctx, *c, goalID, action)
	})
}

// SetGoalStatus changes the status of a goal of the plan.
func (a *App) SetGoalStatus(ctx context.Context, caseID, goalID string, to domain.GoalStatus) (domain.Case, error) {
	return a.change(ctx, caseID, actionGoalStatus, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if _, ok := c.Plan.Goal(goalID); !ok && !c.Status.Final() {
			return apperr.NotFound("goal", goalID)
		}
		from, err := c.SetGoalStatus(goalID, to)
		if err != nil {
			return err
		}
		g, _ := c.Plan.Goal(goalID)
		if err := a.cases.SetGoalStatus(ctx, goalID, to, at); err != nil {
			return err
		}
		return a.events.CaseGoalStatusChanged(ctx, *c, *g, from, at)
	})
}

// EvaluationInput is an evaluation to record.
type EvaluationInput struct {
	// AssessmentID is intake's assessment of this evaluation; BaselineAssessmentID the one to
	// compare it with (empty: the case's default baseline).
	AssessmentID         string
	BaselineAssessmentID string
	Decision             string
	// IntervalDays and Until are the pilot-light settings of a WATCH decision.
	IntervalDays int
	Until        time.Time
}

// RecordEvaluation records an evaluation, applies its decision and settles the open to-dos.
func (a *App) RecordEvaluation(ctx context.Context, caseID string, in EvaluationInput) (domain.Case, string, error) {
	caller, _ := identity.From(ctx)
	id := uuid.NewString()
	c, err := a.change(ctx, caseID, actionEvaluate, func(ctx context.Context, c *domain.Case, at time.Time) error {
		var w *domain.Watch
		if in.Decision == domain.DecisionWatch {
			// The edge checked it on the request's day (Today); checked again on the day of
			// the change.
			if err := domain.CheckWatchUntil(in.Until, domain.Day(at)); err != nil {
				return err
			}
			w = &domain.Watch{IntervalDays: in.IntervalDays, Until: in.Until}
		}
		if _, _, err := c.Evaluate(in.Decision, w, at); err != nil {
			return err
		}
		baseline := in.BaselineAssessmentID
		if baseline == "" {
			if baseline = c.Baseline(); baseline == "" {
				return apperr.Invalid("baseline_assessment_id", "the case has no earlier assessment: name the baseline to compare with")
			}
		}
		cmp, err := a.assessments.Compare(ctx, c.HouseholdID, baseline, in.AssessmentID)
		if err != nil {
			return err
		}
		e := domain.Evaluation{ID: id, At: at, By: caller.User, AssessmentID: in.AssessmentID, BaselineAssessmentID: baseline,
			Changes: cmp.Changes, Decision: in.Decision}
		if err := a.cases.AddEvaluation(ctx, c.ID, e); err != nil {
			return err
		}
		return a.events.CaseEvaluated(ctx, *c, e)
	})
	return c, id, err
}

// RecordConference records a case conference.
func (a *App) RecordConference(ctx context.Context, caseID string, conf domain.Conference) (domain.Case, string, error) {
	caller, _ := identity.From(ctx)
	conf.ID = uuid.NewString()
	c, err := a.change(ctx, caseID, actionConference, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if c.Status.Final() {
			return &domain.ActionError{Status: c.Status, Action: "hold case conferences"}
		}
		if err := c.CheckConference(conf); err != nil {
			return err
		}
		conf.RecordedAt, conf.RecordedBy = at, caller.User
		if err := a.cases.AddConference(ctx, c.ID, conf); err != nil {
			return err
		}
		return a.events.CaseConferenceHeld(ctx, *c, conf)
	})
	return c, conf.ID, err
}

// CheckIn records a pilot-light check-in; reopen moves the case back to ACTIVE.
func (a *App) CheckIn(ctx context.Context, caseID string, reopen bool) (domain.Case, error) {
	caller, _ := identity.From(ctx)
	return a.change(ctx, caseID, actionCheckIn, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if err := c.CheckIn(reopen, at); err != nil {
			return err
		}
		if err := a.cases.AddCheckIn(ctx, c.ID, caller.User, reopen, at); err != nil {
			return err
		}
		return a.events.CaseWatchCheckedIn(ctx, *c, reopen, at)
	})
}

// RecordSafetyConcern records a safety concern, or moves its meldcode step on.
func (a *App) RecordSafetyConcern(ctx context.Context, caseID, kind string, step int) (domain.Case, error) {
	return a.change(ctx, caseID, actionSafety, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if c.Status.Final() {
			return &domain.ActionError{Status: c.Status, Action: "get safety concerns"}
		}
		s := domain.SafetyConcern{Kind: kind, MeldcodeStep: step, RecordedAt: at, UpdatedAt: at}
		for _, old := range c.Details.SafetyConcerns {
			if old.Kind != kind {
				continue
			}
			if err := domain.MoveMeldcode(kind, old.MeldcodeStep, step); err != nil {
				return err
			}
			s.RecordedAt = old.RecordedAt
		}
		c.SafetyConcern = true
		if err := a.cases.SaveSafetyConcern(ctx, c.ID, s); err != nil {
			return err
		}
		return a.events.CaseSafetyConcernRecorded(ctx, *c, s)
	})
}

// HandOver hands the case over: any open status → HANDED_OVER.
func (a *App) HandOver(ctx context.Context, caseID string, h domain.Handover) (domain.Case, error) {
	return a.change(ctx, caseID, actionHandOver, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if err := c.HandOver(h, at); err != nil {
			return err
		}
		return a.events.CaseHandedOver(ctx, *c)
	})
}

// CloseCase closes the case with a result after the closing guard, and stores the outcome per
// life domain from the closing scores.
//
// The closing assessment is intake's (by id), checked to concern the case's household; its
// scores give the outcome per life domain with a goal.
func (a *App) CloseCase(ctx context.Context, caseID, result, assessmentID string) (domain.Case, error) {
	return a.change(ctx, caseID, actionClose, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if err := a.settlePendingAllocations(ctx, c, at); err != nil {
			return err
		}
		if err := c.Close(result, at); err != nil {
			return err
		}
		// Compared with itself: only its scores count here, and intake checks the household.
		cmp, err := a.assessments.Compare(ctx, c.HouseholdID, assessmentID, assessmentID)
		if err != nil {
			return err
		}
		scores := map[string]int{}
		for _, s := range cmp.Scores {
			scores[s.LifeDomain] = s.Score
		}
		c.Details.Outcomes = c.Outcomes(scores)
		return a.cases.SaveOutcomes(ctx, c.ID, c.Details.Outcomes)
	})
}

// Caseload is one page of a caseload.
type Caseload struct {
	Cases  []domain.Summary
	Counts map[domain.Status]int
	// Next is the last case of the page when more follow.
	Next *domain.Cursor
}

// ListCases lists the calling team's cases; each listed case is access-logged. A read runs in
// no transaction: its access-log entry is committed before the page is returned, in one commit
// with the entries of other reads at the same time (logstore's group commit).
func (a *App) ListCases(ctx context.Context, f domain.ListFilter) (Caseload, error) {
	caller, _ := identity.From(ctx)
	f.TeamOIN = caller.Org.OIN
	var out Caseload
	list, counts, err := a.cases.List(ctx, domain.ListFilter{TeamOIN: f.TeamOIN, Director: f.Director, HouseholdID: f.HouseholdID,
		ResidentID: f.ResidentID, Statuses: f.Statuses, After: f.After, Limit: f.Limit + 1})
	if err != nil {
		return Caseload{}, err
	}
	if len(list) > f.Limit {
		list = list[:f.Limit]
		last := list[len(list)-1]
		out.Next = &domain.Cursor{OpenedAt: last.OpenedAt, ID: last.ID}
	}
	out.Cases, out.Counts = list, counts
	// Every resident shown, named from the page itself (the recorder looks up only cases
	// without current residents, and logs those as they are); the log writes them as one
	// list entry.
	entries := make([]accesslog.Entry, 0, len(list))
	for _, s := range list {
		entries = append(entries, accesslog.PerResident(entry(actionList, s.ID, accesslog.RouteTeam, accesslog.OutcomeGranted), s.Residents)...)
	}
	if err := a.access.RecordMany(ctx, entries); err != nil {
		return Caseload{}, err
	}
	return out, nil
}
