// Package domain holds the provider-monitoring rules: the allocation state machine, which
// contract allows an allocation, and when a report of care is on time by the Dutch working-day
// calendar. No transport or database here.
package domain

import (
	"fmt"
	"slices"
	"time"
)

// Status is where an allocation is in its life.
type Status string

// Statuses.
const (
	StatusIssued    Status = "ISSUED"
	StatusStarted   Status = "STARTED"
	StatusPaused    Status = "PAUSED"
	StatusEnded     Status = "ENDED"
	StatusWithdrawn Status = "WITHDRAWN"
)

// transitions is the allocation state machine (DESIGN §4): ISSUED → STARTED ↔ PAUSED → ENDED,
// ISSUED|STARTED → WITHDRAWN. A pause is a stop with code 20 (temporarily stopped) that a new
// start follows; any other stop ends the allocation, from STARTED as well as from PAUSED (care
// that was paused may never resume).
var transitions = map[Status][]Status{
	StatusIssued:    {StatusStarted, StatusWithdrawn},
	StatusStarted:   {StatusPaused, StatusEnded, StatusWithdrawn},
	StatusPaused:    {StatusStarted, StatusEnded},
	StatusEnded:     {},
	StatusWithdrawn: {},
}

// CanTransition reports whether from → to is allowed.
func CanTransition(from, to Status) bool { return slices.Contains(transitions[from], to) }

// TransitionError is a forbidden state change of allocation Number.
type TransitionError struct {
	Number   string
	From, To Status
}

func (e TransitionError) Error() string {
	if e.Number == "" {
		return fmt.Sprintf("an allocation cannot go from %s to %s", e.From, e.To)
	}
	return fmt.Sprintf("allocation %s cannot go from %s to %s", e.Number, e.From, e.To)
}

// ForbiddenTransition makes it a forbidden transition in apperr's vocabulary:
// FAILED_PRECONDITION with this message.
func (TransitionError) ForbiddenTransition() {}

// RuleViolation is a domain rule broken by a request's content; Field names the request field
// so the edge can answer INVALID_ARGUMENT precisely.
type RuleViolation struct{ Field, Reason string }

func (r RuleViolation) Error() string { return r.Field + ": " + r.Reason }

// RuleViolation makes it a rule violation in apperr's vocabulary: INVALID_ARGUMENT on Field.
func (r RuleViolation) RuleViolation() (field, reason string) { return r.Field, r.Reason }

// Product is a product (category and code) from the municipality's product list.
type Product struct{ Category, Code string }

func (p Product) String() string { return p.Category + "/" + p.Code }

// Volume is an amount of care per unit and frequency (iJw/iWmo).
type Volume struct {
	Amount    int32
	Unit      string
	Frequency string
}

// MaxPerPeriod is the most of the volume's unit of time that fits in one period of its
// frequency: a day, a week, or a calendar month of at most 31 days (care cannot take more
// than the period's time). 0 when nothing bounds it: pieces and euros, and a total over the
// allocation, whose length the volume does not know.
func (v Volume) MaxPerPeriod() int32 {
	minutes, period := unitMinutes[v.Unit], periodMinutes[v.Frequency]
	if minutes == 0 || period == 0 {
		return 0
	}
	return period / minutes
}

// The minutes of the WJ756 units of time (minute, hour, etmaal, dagdeel) and of the WJ757
// frequencies with a period (day, week, calendar month of at most 31 days).
var (
	unitMinutes   = map[string]int32{"01": 1, "04": 60, "14": 24 * 60, "16": 4 * 60}
	periodMinutes = map[string]int32{"1": 24 * 60, "2": 7 * 24 * 60, "4": 31 * 24 * 60}
)

// Allocation is a toewijzing (iJw/iWmo 301): a custom provision allocated to a provider for a
// case. It carries no personal data itself; the case it points at does.
type Allocation struct {
	Number      string
	ProviderAGB string
	// ProviderOIN is the OIN the provider is registered under ("" when none), read with the
	// allocation: its events name it, so their feed copies need no lookup.
	ProviderOIN  string
	CaseID       string
	Municipality string
	District     string
	Product      Product
	// Start and End are calendar dates; End is nil for an open-ended allocation.
	Start    time.Time
	End      *time.Time
	Volume   Volume
	Status   Status
	IssuedAt time.Time
	// StartedOn, StartReportedAt and StartReportedOnTime describe the latest start of care
	// (the current period of delivery); every period is kept as a Delivery.
	StartedOn           *time.Time
	StartReportedAt     *time.Time
	StartReportedOnTime *bool
	// FirstStartedOn is the first day care ever started: the end of the waiting time.
	FirstStartedOn *time.Time
	// StoppedOn, StopReason, StopReportedAt and StopReportedOnTime describe the stop that
	// holds: the pause of a PAUSED allocation or the end of an ENDED one. A restart clears
	// them (every period of care, the paused ones too, is kept as a Delivery).
	StoppedOn          *time.Time
	StopReason         string
	StopReportedAt     *time.Time
	StopReportedOnTime *bool
	// Version is 1 when issued and one higher after every change.
	Version     int32
	BudgetCents int64
	Form        Form
	// ContractID is the contract the allocation was issued under.
	ContractID string
	// RequestID is the request for allocation (315) it grants, if any.
	RequestID        string
	WithdrawalReason string
	// NotStartedAlertedAt is when the not-started alert was raised.
	NotStartedAlertedAt *time.Time
	// DecisionNumber is the decision (beschikking) the allocation was issued under, if any,
	// as the iJw/iWmo 301 carries it.
	DecisionNumber string
}

// Form is how care is provided and paid.
type Form string

// Forms.
const (
	FormInKind Form = "IN_KIND"
	FormPGB    Form = "PGB"
)

// StateError is an action that the allocation's current status does not allow, where no
// state transition is involved (a change of an ended allocation, a progress report before care
// started).
type StateError struct {
	Number string
	Status Status
	Action string
}

func (e StateError) Error() string {
	if e.Number == "" {
		return fmt.Sprintf("an allocation that is %s cannot be %s", e.Status, e.Action)
	}
	return fmt.Sprintf("allocation %s is %s and cannot be %s", e.Number, e.Status, e.Action)
}

// ForbiddenTransition makes it a refusal because of the status in apperr's vocabulary.
func (StateError) ForbiddenTransition() {}

// Delivery is one period of care (iJw/iWmo 305 start, 307 stop).
type Delivery struct {
	AllocationNumber string
	StartedOn        time.Time
	StoppedOn        *time.Time
	StopReason       string
	ReportedAt       time.Time
	OnTime           bool
}

// Stop is a report (307) that care stopped.
type Stop struct {
	AllocationNumber string
	StoppedOn        time.Time
	Reason           string
	ReportedAt       time.Time
	OnTime           bool
	// ClosesPeriod is true when the stop ends a running period of care (from STARTED), false
	// when it ends an allocation whose care was paused.
	ClosesPeriod bool
}

// Timeliness holds the reporting periods and the calendar they are counted in.
type Timeliness struct {
	Calendar Calendar
	// StartReportWorkingDays is the period for reporting a start of care, counted in working
	// days after the day care started (5 in iJw/iWmo).
	StartReportWorkingDays int
	// StopReportWorkingDays is the same for a stop of care (5).
	StopReportWorkingDays int
	// AnswerWorkingDays is the period for answering a request, after the day of receipt (5).
	AnswerWorkingDays int
	// FinalDecisionWeeks is the period for the final decision on a request under
	// investigation, in weeks after the day of receipt (8).
	FinalDecisionWeeks int
	// Location turns a report's moment into a Dutch calendar day.
	Location *time.Location
}

// NewTimeliness returns the statutory rules from the code lists, with the extra non-working
// days the government decreed.
func NewTimeliness(codes Codes, extraNonWorkingDays ...time.Time) Timeliness {
	return Timeliness{
		Calendar:               NewCalendar(extraNonWorkingDays...),
		StartReportWorkingDays: codes.Deadlines.StartReport,
		StopReportWorkingDays:  codes.Deadlines.StopReport,
		AnswerWorkingDays:      codes.Deadlines.Answer,
		FinalDecisionWeeks:     codes.Deadlines.FinalDecisionWeeks,
		Location:               Amsterdam,
	}
}

// StopReportDeadline is the last day on which a stop of care on stoppedOn is reported on time.
func (t Timeliness) StopReportDeadline(stoppedOn time.Time) time.Time {
	return t.Calendar.AddWorkingDays(stoppedOn, t.StopReportWorkingDays)
}

// StopReportedOnTime reports whether a stop on stoppedOn reported at reportedAt was on time.
func (t Timeliness) StopReportedOnTime(stoppedOn, reportedAt time.Time) bool {
	return !DayIn(reportedAt, t.Location).After(t.StopReportDeadline(stoppedOn))
}

// StartReportDeadline is the last day on which a start of care on startedOn is reported on
// time.
func (t Timeliness) StartReportDeadline(startedOn time.Time) time.Time {
	return t.Calendar.AddWorkingDays(startedOn, t.StartReportWorkingDays)
}

// StartReportedOnTime reports whether a start on startedOn reported at the moment reportedAt
// was reported in time.
func (t Timeliness) StartReportedOnTime(startedOn, reportedAt time.Time) bool {
	return !DayIn(reportedAt, t.Location).After(t.StartReportDeadline(startedOn))
}

// ReportStart records the start of care on startedOn, reported at the moment reportedAt, and
// returns the period of delivery it opens. Care cannot start before the allocation's start
// date, after its end date or in the future; only an issued or paused allocation can start.
func (a *Allocation) ReportStart(startedOn, reportedAt time.Time, rules Timeliness) (Delivery, error) {
	if !CanTransition(a.Status, StatusStarted) {
		return Delivery{}, TransitionError{Number: a.Number, From: a.Status, To: StatusStarted}
	}
	startedOn = DayOf(startedOn)
	today := DayIn(reportedAt, rules.Location)
	switch {
	case startedOn.After(today):
		return Delivery{}, RuleViolation{"started_on", "cannot be after today (" + today.Format(DateLayout) + ")"}
	case startedOn.Before(a.Start):
		return Delivery{}, RuleViolation{"started_on", "cannot be before the allocation's start date " + a.Start.Format(DateLayout)}
	case a.End != nil && startedOn.After(*a.End):
		return Delivery{}, RuleViolation{"started_on", "cannot be after the allocation's end date " + a.End.Format(DateLayout)}
	case a.Status == StatusPaused && a.StoppedOn != nil && startedOn.Before(*a.StoppedOn):
		return Delivery{}, RuleViolation{"started_on", "cannot be before care was paused on " + a.StoppedOn.Format(DateLayout)}
	}
	onTime := rules.StartReportedOnTime(startedOn, reportedAt)
	a.Status = StatusStarted
	a.StartedOn, a.StartReportedAt, a.StartReportedOnTime = &startedOn, &reportedAt, &onTime
	// A restart ends the pause: a running allocation shows no stop. The pause is kept as the
	// period of delivery it closed (Delivery, with its reason and timeliness) and as its
	// report and event.
	a.StoppedOn, a.StopReason, a.StopReportedAt, a.StopReportedOnTime = nil, "", nil, nil
	if a.FirstStartedOn == nil {
		a.FirstStartedOn = &startedOn
	}
	return Delivery{AllocationNumber: a.Number, StartedOn: startedOn, ReportedAt: reportedAt, OnTime: onTime}, nil
}

// ReportStop records the stop of care on stoppedOn with a JZ588 reason, reported at
// reportedAt. Reason 20 (temporarily stopped) pauses the allocation; a new start follows. Any
// other reason ends it, from STARTED or from PAUSED. Care cannot stop before its current
// period started (or before the pause), after the allocation's end date or in the future.
func (a *Allocation) ReportStop(stoppedOn, reportedAt time.Time, reason string, rules Timeliness, codes Codes) (Stop, error) {
	if _, ok := codes.StopReasons[reason]; !ok {
		return Stop{}, RuleViolation{"reason_code", "must be a JZ588 reason for ending such as 20 or 31"}
	}
	to := StatusEnded
	if reason == TemporarilyStopped {
		to = StatusPaused
	}
	if !CanTransition(a.Status, to) {
		return Stop{}, TransitionError{Number: a.Number, From: a.Status, To: to}
	}
	stoppedOn = DayOf(stoppedOn)
	today := DayIn(reportedAt, rules.Location)
	switch {
	case stoppedOn.After(today):
		return Stop{}, RuleViolation{"stopped_on", "cannot be after today (" + today.Format(DateLayout) + ")"}
	case a.Status == StatusStarted && a.StartedOn != nil && stoppedOn.Before(*a.StartedOn):
		return Stop{}, RuleViolation{"stopped_on", "cannot be before care started on " + a.StartedOn.Format(DateLayout)}
	case a.Status == StatusPaused && a.StoppedOn != nil && stoppedOn.Before(*a.StoppedOn):
		return Stop{}, RuleViolation{"stopped_on", "cannot be before care was paused on " + a.StoppedOn.Format(DateLayout)}
	case a.End != nil && stoppedOn.After(*a.End):
		return Stop{}, RuleViolation{"stopped_on", "cannot be after the allocation's end date " + a.End.Format(DateLayout)}
	}
	onTime := rules.StopReportedOnTime(stoppedOn, reportedAt)
	closes := a.Status == StatusStarted
	a.Status = to
	a.StoppedOn, a.StopReason, a.StopReportedAt, a.StopReportedOnTime = &stoppedOn, reason, &reportedAt, &onTime
	return Stop{AllocationNumber: a.Number, StoppedOn: stoppedOn, Reason: reason, ReportedAt: reportedAt, OnTime: onTime, ClosesPeriod: closes}, nil
}

// ChangeReason says why an allocation changed.
type ChangeReason string

// Change reasons.
const (
	ChangeAdministrativeCorrection ChangeReason = "ADMINISTRATIVE_CORRECTION"
	ChangeChangedNeed              ChangeReason = "CHANGED_NEED"
	ChangeExtension                ChangeReason = "EXTENSION"
	ChangeRequest                  ChangeReason = "CHANGE_REQUEST"
)

// Change is a change of an allocation; nil fields keep their value.
type Change struct {
	Reason      ChangeReason
	Start       *time.Time
	End         *time.Time
	Volume      *Volume
	BudgetCents *int64
}

// Version is the allocation as it was from one change to the next.
type Version struct {
	AllocationNumber string
	Version          int32
	ChangeReason     ChangeReason
	ValidFrom        time.Time
	Start            time.Time
	End              *time.Time
	Volume           Volume
	BudgetCents      int64
	ChangedByOIN     string
}

// VersionOf returns the allocation's current version, made at the moment at by oin.
func (a Allocation) VersionOf(reason ChangeReason, at time.Time, oin string) Version {
	return Version{AllocationNumber: a.Number, Version: a.Version, ChangeReason: reason, ValidFrom: at,
		Start: a.Start, End: a.End, Volume: a.Volume, BudgetCents: a.BudgetCents, ChangedByOIN: oin}
}

// Apply makes a new version of the allocation. An allocation can change while it is issued,
// started or paused; its start date only before care started; its end date never before the
// start date or the day care last started. A change that changes nothing is refused.
func (a *Allocation) Apply(c Change) error {
	switch a.Status {
	case StatusIssued, StatusStarted, StatusPaused:
	default:
		return StateError{Number: a.Number, Status: a.Status, Action: "changed"}
	}
	next := *a
	changed := false
	if c.Start != nil && !DayOf(*c.Start).Equal(a.Start) {
		if a.Status != StatusIssued {
			return RuleViolation{"start_date", "cannot change after care started"}
		}
		next.Start, changed = DayOf(*c.Start), true
	}
	if c.End != nil && (a.End == nil || !DayOf(*c.End).Equal(*a.End)) {
		e := DayOf(*c.End)
		next.End, changed = &e, true
	}
	if c.Volume != nil && *c.Volume != a.Volume {
		next.Volume, changed = *c.Volume, true
	}
	if c.BudgetCents != nil && *c.BudgetCents != a.BudgetCents {
		next.BudgetCents, changed = *c.BudgetCents, true
	}
	if !changed {
		return RuleViolation{"allocation_number", "the change leaves the allocation as it is"}
	}
	if next.End != nil {
		switch {
		case next.End.Before(next.Start):
			return RuleViolation{"end_date", "cannot be before the start date " + next.Start.Format(DateLayout)}
		case next.StartedOn != nil && next.End.Before(*next.StartedOn):
			return RuleViolation{"end_date", "cannot be before care started on " + next.StartedOn.Format(DateLayout)}
		}
	}
	next.Version++
	*a = next
	return nil
}

// WithdrawalReasons are the reasons an allocation can be withdrawn for.
var WithdrawalReasons = []string{"ISSUED_IN_ERROR", "NO_LONGER_NEEDED", "OTHER_PROVIDER", "RESIDENT_MOVED", "OTHER"}

// Withdraw withdraws an issued or started allocation.
func (a *Allocation) Withdraw(reason string) error {
	if !slices.Contains(WithdrawalReasons, reason) {
		return RuleViolation{"reason", "must be a withdrawal reason"}
	}
	if !CanTransition(a.Status, StatusWithdrawn) {
		return TransitionError{Number: a.Number, From: a.Status, To: StatusWithdrawn}
	}
	a.Status, a.WithdrawalReason = StatusWithdrawn, reason
	return nil
}

// WithdrawWithDecision withdraws the allocation because the decision it was issued under is
// no longer in force (withdrawn, or replaced by an amendment). Unlike Withdraw it also takes a
// PAUSED allocation: care that is paused under a decision no longer in force may not restart,
// and a paused allocation cannot be withdrawn by hand. It reports false for an allocation
// that already ended or was withdrawn, which stays as it is.
func (a *Allocation) WithdrawWithDecision(reason string) (bool, error) {
	switch a.Status {
	case StatusEnded, StatusWithdrawn:
		return false, nil
	case StatusPaused:
		if !slices.Contains(WithdrawalReasons, reason) {
			return false, RuleViolation{"reason", "must be a withdrawal reason"}
		}
		a.Status, a.WithdrawalReason = StatusWithdrawn, reason
		return true, nil
	}
	return true, a.Withdraw(reason)
}

// CaseStatusHandedOver and CaseStatusClosed are the statuses of a case (case-direction's) in
// which its team no longer directs care: such a case gets no new allocation or decision.
const (
	CaseStatusHandedOver = "HANDED_OVER"
	CaseStatusClosed     = "CLOSED"
)

// CaseNotOpenError is a new allocation or granted decision for a case that was handed over
// or closed.
type CaseNotOpenError struct{ CaseID, Status string }

func (e CaseNotOpenError) Error() string {
	return fmt.Sprintf("case %s is %s: it gets no new allocation or granted decision", e.CaseID, e.Status)
}

// ForbiddenTransition makes it FAILED_PRECONDITION in apperr's vocabulary.
func (CaseNotOpenError) ForbiddenTransition() {}

// CaseOpen refuses a case (by case-direction's status code) that was handed over or closed.
func CaseOpen(caseID, status string) error {
	if status == CaseStatusHandedOver || status == CaseStatusClosed {
		return CaseNotOpenError{CaseID: caseID, Status: status}
	}
	return nil
}

// NotStartedAlertDue reports whether an allocation with start date start, still not started,
// is due for the not-started alert on the day today: days or more days after its start date.
func NotStartedAlertDue(start, today time.Time, days int) bool {
	return !DayOf(today).Before(DayOf(start).AddDate(0, 0, days))
}

// NotStartedCutoff is the latest start date of allocations due for the alert on today: the
// same rule as NotStartedAlertDue, as a bound for a query.
func NotStartedCutoff(today time.Time, days int) time.Time {
	return DayOf(today).AddDate(0, 0, -days)
}
