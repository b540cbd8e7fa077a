package domain

import (
	"fmt"
	"slices"
	"time"
)

// Evaluation decisions.
const (
	DecisionContinue  = "CONTINUE"
	DecisionScaleUp   = "SCALE_UP"
	DecisionScaleDown = "SCALE_DOWN"
	DecisionWatch     = "WATCH"
	DecisionClose     = "CLOSE"
)

// Watch is the pilot light (waakvlam) of a case in WATCH: light periodic check-ins until an
// end date.
type Watch struct {
	IntervalDays int
	// Until is the last day of the pilot light (UTC midnight); no check-in is due after it.
	Until         time.Time
	NextCheckAt   *time.Time
	LastCheckInAt *time.Time
	Missed        int
}

// nextCheck is the check-in after at, or nil when it would fall after the end date.
func (w Watch) nextCheck(at time.Time) *time.Time {
	n := at.AddDate(0, 0, w.IntervalDays)
	if n.After(w.Until.AddDate(0, 0, 1)) {
		return nil
	}
	return &n
}

// ActionError is an action the case's status does not allow (that is no transition).
type ActionError struct {
	Status Status
	Action string
}

func (e *ActionError) Error() string { return "a case in " + string(e.Status) + " cannot " + e.Action }

// Is makes errors.Is(err, ErrTransition) hold: both are refusals because of the status.
func (e *ActionError) Is(target error) bool { return target == ErrTransition }

// ForbiddenTransition makes it a refusal because of the status in apperr's vocabulary.
func (*ActionError) ForbiddenTransition() {}

// What each evaluation decision does, and the statuses it is taken in (docs/services/
// case-direction.md, "Evaluation decisions"). A decision that moves the case takes exactly the
// transition the state diagram shows for it; one that keeps the status records the team's
// conclusion. A decision anywhere else is refused (FAILED_PRECONDITION saying what it needs)
// rather than recorded as if it had done something: SCALE_UP on a running case, SCALE_DOWN on
// a case already scaled down and CLOSE on a case that cannot close were once accepted while
// nothing happened.
var evaluationDecisions = map[string]struct {
	from []Status
	does string
}{
	DecisionContinue:  {[]Status{StatusPlanAdopted, StatusInProgress, StatusScaledDown, StatusWatch}, "it keeps the case as it is"},
	DecisionScaleUp:   {[]Status{StatusScaledDown}, "it moves a SCALED_DOWN case back to IN_PROGRESS"},
	DecisionScaleDown: {[]Status{StatusInProgress}, "it moves an IN_PROGRESS case to SCALED_DOWN"},
	DecisionWatch:     {[]Status{StatusInProgress, StatusScaledDown, StatusWatch}, "it puts an IN_PROGRESS or SCALED_DOWN case on a pilot light (WATCH), or renews the pilot light of a case in WATCH"},
	DecisionClose:     {[]Status{StatusInProgress, StatusScaledDown, StatusWatch}, "it records the team's conclusion that a case that can close (IN_PROGRESS, SCALED_DOWN or WATCH) should, and CloseCase closes it"},
}

// evaluationHints say what to do instead, by the status a decision was refused in.
var evaluationHints = map[Status]string{
	StatusPlanAdopted: "work on the plan starts with StartPlanExecution",
	StatusInProgress:  "to keep the care as it is, record CONTINUE",
	StatusScaledDown:  "to keep the care as it is, record CONTINUE",
	StatusWatch:       "a case in WATCH is reopened with CheckIn (reopen) or closed with CloseCase",
}

// evaluable says whether the case can be evaluated at all: it must be open and have a
// plan that applies (PLAN_ADOPTED, IN_PROGRESS, SCALED_DOWN or WATCH). The refusal says what
// is missing; a case reopened from WATCH (ACTIVE, with the plan of the care before) needs a
// new plan version first.
func (c *Case) evaluable() error {
	switch c.Status {
	case StatusPlanAdopted, StatusInProgress, StatusScaledDown, StatusWatch:
		return nil
	case StatusActive:
		if c.Plan != nil {
			return &ActionError{Status: c.Status, Action: fmt.Sprintf("be evaluated: it was reopened, and its plan (version %d) was for the care before; "+
				"adopt a new plan version (AdoptPlan), then start it (StartPlanExecution)", c.Plan.Version)}
		}
		return &ActionError{Status: c.Status, Action: "be evaluated: it has no plan yet; adopt one (AdoptPlan) first"}
	case StatusRegistered:
		return &ActionError{Status: c.Status, Action: "be evaluated: it has no director and no plan yet"}
	}
	return &ActionError{Status: c.Status, Action: "be evaluated: it is no longer open"}
}

// Evaluate applies an evaluation decision: SCALE_DOWN IN_PROGRESS → SCALED_DOWN, SCALE_UP
// SCALED_DOWN → IN_PROGRESS, WATCH IN_PROGRESS | SCALED_DOWN → WATCH with watch settings (on a
// case in WATCH: new settings, its check-ins kept), CONTINUE keeps the status, CLOSE keeps it
// too (CloseCase closes, with a result and the closing assessment). Any other combination is
// an ActionError naming what the decision does. It returns whether the status changed and
// from what.
func (c *Case) Evaluate(decision string, watch *Watch, at time.Time) (from Status, changed bool, err error) {
	from = c.Status
	if err := c.evaluable(); err != nil {
		return from, false, err
	}
	rule, known := evaluationDecisions[decision]
	if !known {
		return from, false, &ActionError{Status: c.Status, Action: "take evaluation decision " + decision + ": not a decision"}
	}
	if !slices.Contains(rule.from, c.Status) {
		msg := "take evaluation decision " + decision + ": " + rule.does
		if h := evaluationHints[c.Status]; h != "" {
			msg += "; " + h
		}
		return from, false, &ActionError{Status: c.Status, Action: msg}
	}
	var to Status
	switch decision {
	case DecisionScaleDown:
		to = StatusScaledDown
	case DecisionScaleUp:
		to = StatusInProgress
	case DecisionWatch:
		to = StatusWatch
	default: // CONTINUE, CLOSE: the status stays
		return from, false, nil
	}
	if c.Status != to {
		if err := c.Transition(to, at); err != nil {
			return from, false, err
		}
	}
	if to == StatusWatch {
		w := *watch
		w.NextCheckAt = w.nextCheck(at)
		if c.Watch != nil {
			w.LastCheckInAt, w.Missed = c.Watch.LastCheckInAt, c.Watch.Missed
		}
		c.Watch = &w
	}
	return from, c.Status != from, nil
}

// CheckIn records a pilot-light check-in; with reopen the case goes back to ACTIVE.
func (c *Case) CheckIn(reopen bool, at time.Time) error {
	if c.Status != StatusWatch || c.Watch == nil {
		return &ActionError{Status: c.Status, Action: "be checked in on (only a case in WATCH has a pilot light)"}
	}
	if reopen {
		if err := c.Transition(StatusActive, at); err != nil {
			return err
		}
		c.Watch = nil
		return nil
	}
	c.Watch.LastCheckInAt = &at
	c.Watch.NextCheckAt = c.Watch.nextCheck(at)
	return nil
}

// HandOver hands the case over (to Veilig Thuis, a certified institution or another
// municipality than the case's own) and records h as its handover.
func (c *Case) HandOver(h Handover, at time.Time) error {
	if CanTransition(c.Status, StatusHandedOver) {
		if err := c.checkHandover(h); err != nil {
			return err
		}
	}
	if err := c.Transition(StatusHandedOver, at); err != nil {
		return err
	}
	c.Result = string(StatusHandedOver)
	c.Watch = nil
	h.At = at
	c.Handover = &h
	return nil
}

// StartExecution records that work on the plan started.
func (c *Case) StartExecution(at time.Time) error {
	if c.Status != StatusPlanAdopted {
		return &TransitionError{From: c.Status, To: StatusInProgress}
	}
	return c.Transition(StatusInProgress, at)
}

// MissCheckIn counts the due check-in as missed and makes the next one due one interval
// after it (none after the end date).
func (w *Watch) MissCheckIn() {
	w.Missed++
	if w.NextCheckAt == nil {
		return
	}
	w.NextCheckAt = w.nextCheck(*w.NextCheckAt)
}
