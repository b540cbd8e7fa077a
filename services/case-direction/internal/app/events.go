package app

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// What the consumers of provider-monitoring's and referral's events do: keep the case's
// actions current. Unknown allocations and referrals are not errors (retrying cannot make
// them known); each handler reports whether the event concerned one of our cases.

// Allocation status moves a report may make, by the status it reports.
var allocationFrom = map[string][]string{
	domain.AllocationStarted:   {domain.AllocationIssued, domain.AllocationPaused},
	domain.AllocationPaused:    {domain.AllocationIssued, domain.AllocationStarted},
	domain.AllocationEnded:     {domain.AllocationIssued, domain.AllocationStarted, domain.AllocationPaused},
	domain.AllocationWithdrawn: {domain.AllocationIssued, domain.AllocationStarted, domain.AllocationPaused},
}

// AllocationStatusReported mirrors an allocation's status as provider-monitoring reported it.
// A report that does not fit the status we know (a late or repeated one) changes nothing.
func (a *App) AllocationStatusReported(ctx context.Context, number, status string, at time.Time) (bool, error) {
	from, ok := allocationFrom[status]
	if !ok {
		return false, errors.New("unknown allocation status " + status)
	}
	found := false
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		w, err := a.cases.SetAllocationStatus(ctx, number, from, status, at.UTC().Truncate(time.Microsecond))
		if err != nil || w.CaseID == "" {
			return err
		}
		found = true
		if !w.Changed {
			return nil
		}
		action := actionAllocationStatus
		if status == domain.AllocationStarted {
			action = actionAllocationStarted
		}
		return a.access.Record(ctx, residentsEntry(action, w.CaseID, w.Residents, accesslog.RouteSystem, accesslog.OutcomeGranted))
	})
	return found, err
}

// AllocationProgressReported records the provider's latest progress judgement.
func (a *App) AllocationProgressReported(ctx context.Context, number, judgement string, at time.Time) (bool, error) {
	found := false
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		w, err := a.cases.SetAllocationProgress(ctx, number, judgement, at.UTC().Truncate(time.Microsecond))
		if err != nil || w.CaseID == "" {
			return err
		}
		found = true
		e := entry(actionAllocationStatus, w.CaseID, accesslog.RouteSystem, accesslog.OutcomeGranted)
		if w.Changed {
			e = residentsEntry(actionAllocationStatus, w.CaseID, w.Residents, accesslog.RouteSystem, accesslog.OutcomeGranted)
		}
		return a.access.Record(ctx, e)
	})
	return found, err
}

// ScaleDownAdvised turns a provider's advice to scale down into an evaluation to-do on the
// case of the allocation (one open to-do per allocation).
func (a *App) ScaleDownAdvised(ctx context.Context, number string, goalIDs []string, at time.Time) (bool, error) {
	found := false
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		caseID, err := a.cases.AllocationCase(ctx, number)
		if err != nil || caseID == "" {
			return err
		}
		found = true
		c, err := a.cases.GetForUpdate(ctx, caseID)
		if err != nil {
			return err
		}
		if c.Status.Final() {
			return nil
		}
		t := domain.EvaluationTodo{ID: uuid.NewString(), Reason: domain.TodoScaleDownAdvised, AllocationNumber: number,
			GoalIDs: goalIDs, CreatedAt: at.UTC().Truncate(time.Microsecond)}
		added, err := a.cases.AddTodo(ctx, caseID, t)
		if err != nil || !added {
			return err
		}
		if err := a.events.CaseEvaluationDue(ctx, c, t); err != nil {
			return err
		}
		return a.access.Record(ctx, caseEntry(actionEvaluationDue, c, accesslog.RouteSystem, accesslog.OutcomeGranted))
	})
	return found, err
}

// ReferralStatusReported mirrors a referral's status on the case it was made for and links it
// to the goals it serves (goals of that case only).
func (a *App) ReferralStatusReported(ctx context.Context, caseID, referralID, status string, goalIDs []string, at time.Time) (bool, error) {
	return a.referralStatus(ctx, caseID, referralID, status, goalIDs, at, nil)
}

// referralStatus is ReferralStatusReported for a case that accept (when not nil) takes the
// referral for; a case it refuses is left alone, as one that does not exist.
func (a *App) referralStatus(ctx context.Context, caseID, referralID, status string, goalIDs []string, at time.Time, accept func(*domain.Case) bool) (bool, error) {
	found := false
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.cases.GetForUpdate(ctx, caseID)
		if err != nil {
			if apperr.IsKind(err, apperr.KindNotFound) {
				return nil
			}
			return err
		}
		if accept != nil && !accept(&c) {
			return nil
		}
		found = true
		at := at.UTC().Truncate(time.Microsecond)
		changed, err := a.cases.SetReferralStatus(ctx, c.ID, referralID, status, at)
		if err != nil {
			return err
		}
		for _, g := range goalIDs {
			if _, ok := c.Plan.Goal(g); !ok {
				continue
			}
			ga := domain.GoalAction{ReferralID: referralID, Status: status}
			added, err := a.cases.AddGoalAction(ctx, g, ga, at)
			if err != nil {
				return err
			}
			if added {
				if err := a.events.CaseGoalActionAdded(ctx, c, g, ga); err != nil {
					return err
				}
			}
		}
		if !changed {
			return nil
		}
		return a.access.Record(ctx, caseEntry(actionReferralStatus, c, accesslog.RouteSystem, accesslog.OutcomeGranted))
	})
	return found, err
}
