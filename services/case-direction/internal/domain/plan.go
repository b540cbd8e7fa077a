package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// GoalStatus is where a goal stands.
type GoalStatus string

// Goal statuses. REACHED, PARTLY, NOT_REACHED and DROPPED are final.
const (
	GoalOpen       GoalStatus = "OPEN"
	GoalInProgress GoalStatus = "IN_PROGRESS"
	GoalReached    GoalStatus = "REACHED"
	GoalPartly     GoalStatus = "PARTLY"
	GoalNotReached GoalStatus = "NOT_REACHED"
	GoalDropped    GoalStatus = "DROPPED"
)

// Final reports whether the goal is settled.
func (s GoalStatus) Final() bool {
	return s == GoalReached || s == GoalPartly || s == GoalNotReached || s == GoalDropped
}

// CanMoveGoal says whether a goal may go from one status to another: forward only, and a
// final status stays.
func CanMoveGoal(from, to GoalStatus) bool {
	switch {
	case from.Final() || from == to:
		return false
	case from == GoalOpen:
		return to != GoalOpen
	case from == GoalInProgress:
		return to.Final()
	}
	return false
}

// Goal is a goal of the plan on one life domain, with the ZRM scores it starts from and
// aims for.
type Goal struct {
	ID         string
	LifeDomain string
	Baseline   int
	Target     int
	Status     GoalStatus
	Actions    []GoalAction
}

// GoalAction links a goal to a referral or an allocation. Status is the last one reported.
type GoalAction struct {
	ReferralID       string
	AllocationNumber string
	Status           string
}

// Plan is one version of the plan of a case.
type Plan struct {
	Version          int
	AdoptedAt        time.Time
	AdoptedBy        string
	ResidentAgreed   bool
	ResidentAgreedOn string
	EvaluationDate   string
	Goals            []Goal
}

// Goal returns the current goal with that id.
func (p *Plan) Goal(id string) (*Goal, bool) {
	if p == nil {
		return nil, false
	}
	for i := range p.Goals {
		if p.Goals[i].ID == id {
			return &p.Goals[i], true
		}
	}
	return nil, false
}

// ReferralAction is a referral made for the case, as the referral service last reported it.
type ReferralAction struct {
	ReferralID string
	Status     string
	UpdatedAt  time.Time
	// IntakeID is set for a referral made for the case's intake rather than for the case.
	IntakeID string
}

// ReferralUnreported is the status of a referral linked to a goal before the referral service
// reported on it (it counts as open).
const ReferralUnreported = "UNREPORTED"

// Unreported reports whether the referral service has not reported on the referral yet: its
// status and time are then not known.
func (r ReferralAction) Unreported() bool { return r.Status == ReferralUnreported }

// ReferralOpen reports whether a referral still runs: it counts as open until COMPLETED,
// FAILED, CANCELLED, DECLINED or EXPIRED.
func ReferralOpen(status string) bool {
	switch status {
	case "COMPLETED", "FAILED", "CANCELLED", "DECLINED", "EXPIRED":
		return false
	}
	return true
}

// AdoptPlan adopts a new plan version with the given goals. Goals without an id are new and
// get one from newID; goals with an id are carried over from the current plan and keep their
// status and actions; goals of the current plan that are left out are returned as dropped
// (their status moved to DROPPED unless already final). The first plan moves an ACTIVE case
// to PLAN_ADOPTED; later versions keep the status of a running case. The plan's dates must
// fit the case (checkPlanDates) and a carried-over goal keeps its life domain. p.Goals are in
// the order of the request, so a violation names the goal by its index there
// (goals[1].life_domain).
func (c *Case) AdoptPlan(p Plan, newID func() string, at time.Time) (dropped []Goal, err error) {
	switch c.Status {
	case StatusActive, StatusPlanAdopted, StatusInProgress, StatusScaledDown:
	default:
		return nil, &TransitionError{From: c.Status, To: StatusPlanAdopted}
	}
	if err := c.checkPlanDates(p, at); err != nil {
		return nil, err
	}
	kept := map[string]bool{}
	if c.Plan != nil {
		for i, g := range p.Goals {
			if g.ID == "" {
				continue
			}
			old, ok := c.Plan.Goal(g.ID)
			if !ok {
				return nil, &UnknownGoalError{GoalID: g.ID}
			}
			if g.LifeDomain != old.LifeDomain {
				// A goal's history (status, actions, results per life domain) belongs to its
				// domain: a new domain is a new goal.
				return nil, &FieldError{Field: fmt.Sprintf("goals[%d].life_domain", i), Msg: "goal " + g.ID + " is about " + old.LifeDomain +
					": a carried-over goal keeps its life domain (add a goal without goal_id for " + g.LifeDomain + ")"}
			}
			p.Goals[i].Status, p.Goals[i].Actions = old.Status, old.Actions
			kept[g.ID] = true
		}
		for _, g := range c.Plan.Goals {
			if kept[g.ID] {
				continue
			}
			if !g.Status.Final() {
				g.Status = GoalDropped
			}
			dropped = append(dropped, g)
		}
	} else {
		for _, g := range p.Goals {
			if g.ID != "" {
				return nil, &UnknownGoalError{GoalID: g.ID}
			}
		}
	}
	if c.Status == StatusActive {
		if err := c.Transition(StatusPlanAdopted, at); err != nil {
			return nil, err
		}
	}
	p.Version, p.AdoptedAt = 1, at
	if c.Plan != nil {
		p.Version = c.Plan.Version + 1
	}
	for i := range p.Goals {
		if p.Goals[i].ID == "" {
			p.Goals[i].ID, p.Goals[i].Status = newID(), GoalOpen
		}
	}
	c.Plan = &p
	return dropped, nil
}

// GoalError is a refused change of a goal.
type GoalError struct {
	GoalID string
	Msg    string
}

func (e *GoalError) Error() string { return "goal " + e.GoalID + " " + e.Msg }

// ForbiddenTransition makes it a forbidden transition in apperr's vocabulary.
func (*GoalError) ForbiddenTransition() {}

// UnknownGoalError names a goal id that is no goal of the current plan.
type UnknownGoalError struct{ GoalID string }

func (e *UnknownGoalError) Error() string {
	return "goal " + e.GoalID + " is not a goal of the current plan"
}

// NotFound makes it NOT_FOUND for the goal in apperr's vocabulary.
func (e *UnknownGoalError) NotFound() (resource, id string) { return "goal", e.GoalID }

// PlanVersion is the version of the case's current plan; 0 while it has none.
func (c *Case) PlanVersion() int {
	if c.Plan == nil {
		return 0
	}
	return c.Plan.Version
}

// CheckPlanBase refuses a plan drawn up from version basedOn when another version is current:
// adopting it would drop the goals the versions since then added, which whoever drew it up
// never saw.
func (c *Case) CheckPlanBase(basedOn int) error {
	if current := c.PlanVersion(); current != basedOn {
		return &StalePlanError{BasedOn: basedOn, Current: current}
	}
	return nil
}

// StalePlanError is a plan drawn up from a version that is no longer the case's current plan.
type StalePlanError struct{ BasedOn, Current int }

func (e *StalePlanError) Error() string {
	if e.BasedOn > e.Current {
		return fmt.Sprintf("the plan was drawn up from version %d, but the case's plan is at version %d: read the case and draw the plan up from its current version", e.BasedOn, e.Current)
	}
	return fmt.Sprintf("the plan was drawn up from version %d, but version %d has been adopted since: read the case and draw the plan up from its current version", e.BasedOn, e.Current)
}

// ForbiddenTransition makes it FAILED_PRECONDITION in apperr's vocabulary: the request is
// well formed, the case's state has moved on.
func (*StalePlanError) ForbiddenTransition() {}

// SetGoalStatus moves a current goal to another status.
func (c *Case) SetGoalStatus(goalID string, to GoalStatus) (from GoalStatus, err error) {
	if c.Status.Final() {
		return "", &ActionError{Status: c.Status, Action: "change goals"}
	}
	g, ok := c.Plan.Goal(goalID)
	if !ok {
		return "", &UnknownGoalError{GoalID: goalID}
	}
	if !CanMoveGoal(g.Status, to) {
		return g.Status, &GoalError{GoalID: goalID, Msg: fmt.Sprintf("cannot go from %s to %s", g.Status, to)}
	}
	from, g.Status = g.Status, to
	return from, nil
}

// ClosingError lists what keeps a case from closing.
type ClosingError struct{ Open []string }

func (e *ClosingError) Error() string {
	return "the case cannot be closed: " + strings.Join(e.Open, "; ")
}

// ForbiddenTransition makes it an unmet precondition in apperr's vocabulary; the message
// names everything still open.
func (*ClosingError) ForbiddenTransition() {}

// CanClose is the closing guard: the case must be allowed to go to CLOSED, a result must be
// given, every goal of the plan must be final and no referral or allocation may still be
// open. The error names everything that is still open, not only the first.
func (c *Case) CanClose(result string) error {
	if !CanTransition(c.Status, StatusClosed) {
		return &TransitionError{From: c.Status, To: StatusClosed}
	}
	var open []string
	if result == "" {
		open = append(open, "no result given")
	}
	if c.Plan != nil {
		for _, g := range c.Plan.Goals {
			if !g.Status.Final() {
				open = append(open, fmt.Sprintf("goal %s (%s) is %s", g.ID, g.LifeDomain, g.Status))
			}
		}
	}
	for _, r := range c.Referrals {
		if ReferralOpen(r.Status) {
			open = append(open, fmt.Sprintf("referral %s is %s", r.ReferralID, r.Status))
		}
	}
	for _, a := range c.Allocations {
		if AllocationOpen(a.Status) {
			open = append(open, fmt.Sprintf("allocation %s is %s", a.Number, a.Status))
		}
	}
	if len(open) > 0 {
		return &ClosingError{Open: open}
	}
	return nil
}

// Close closes the case with a result after CanClose.
func (c *Case) Close(result string, at time.Time) error {
	if err := c.CanClose(result); err != nil {
		return err
	}
	c.Result = result
	c.Watch = nil
	return c.Transition(StatusClosed, at)
}

// NotDiscussed is the ZRM score for a domain that was not discussed.
const NotDiscussed = 99

// Outcome kinds per life domain.
const (
	OutcomeTargetReached = "TARGET_REACHED"
	OutcomeImproved      = "IMPROVED"
	OutcomeUnchanged     = "UNCHANGED"
	OutcomeDeteriorated  = "DETERIORATED"
	OutcomeNotAssessed   = "NOT_ASSESSED"
)

// DomainOutcome compares the closing score of a life domain with its goal.
type DomainOutcome struct {
	LifeDomain string
	Baseline   int
	Target     int
	// Closing is 0 when the domain was not assessed.
	Closing int
	Outcome string
}

// Outcomes gives the outcome per life domain that had a goal (dropped goals excluded),
// from the closing scores (domain → score).
func (c *Case) Outcomes(closing map[string]int) []DomainOutcome {
	if c.Plan == nil {
		return nil
	}
	var out []DomainOutcome
	for _, g := range c.Plan.Goals {
		if g.Status == GoalDropped {
			continue
		}
		o := DomainOutcome{LifeDomain: g.LifeDomain, Baseline: g.Baseline, Target: g.Target}
		s, ok := closing[g.LifeDomain]
		switch {
		case !ok || s == NotDiscussed:
			o.Outcome = OutcomeNotAssessed
		case s >= g.Target:
			o.Closing, o.Outcome = s, OutcomeTargetReached
		case s > g.Baseline:
			o.Closing, o.Outcome = s, OutcomeImproved
		case s == g.Baseline:
			o.Closing, o.Outcome = s, OutcomeUnchanged
		default:
			o.Closing, o.Outcome = s, OutcomeDeteriorated
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b DomainOutcome) int { return strings.Compare(a.LifeDomain, b.LifeDomain) })
	return out
}
