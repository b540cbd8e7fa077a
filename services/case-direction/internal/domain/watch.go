package domain

import "time"

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

// Evaluate applies an evaluation decision: SCALE_DOWN → SCALED_DOWN, SCALE_UP → IN_PROGRESS
// (from SCALED_DOWN; a running case stays), WATCH → WATCH with watch settings, CONTINUE and
// CLOSE keep the status (CloseCase closes). It returns whether the status changed and from what.
func (c *Case) Evaluate(decision string, watch *Watch, at time.Time) (from Status, changed bool, err error) {
	from = c.Status
	switch c.Status {
	case StatusPlanAdopted, StatusInProgress, StatusScaledDown, StatusWatch:
	default:
		return from, false, &ActionError{Status: c.Status, Action: "be evaluated (it needs an adopted plan and must be open)"}
	}
	var to Status
	switch decision {
	case DecisionScaleDown:
		to = StatusScaledDown
	case DecisionScaleUp:
		if c.Status == StatusInProgress {
			return from, false, nil
		}
		to = StatusInProgress
	case DecisionWatch:
		to = StatusWatch
	default:
		return from, false, nil
	}
	if c.Status == to && to != StatusWatch {
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
