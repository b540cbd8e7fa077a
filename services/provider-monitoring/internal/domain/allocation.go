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

// TransitionError is a forbidden state change.
type TransitionError struct{ From, To Status }

func (e TransitionError) Error() string {
	return fmt.Sprintf("an allocation cannot go from %s to %s", e.From, e.To)
}

// RuleViolation is a domain rule broken by a request's content; Field names the request field
// so the edge can answer INVALID_ARGUMENT precisely.
type RuleViolation struct{ Field, Reason string }

func (r RuleViolation) Error() string { return r.Field + ": " + r.Reason }

// Product is a product (category and code) from the municipality's product list.
type Product struct{ Category, Code string }

func (p Product) String() string { return p.Category + "/" + p.Code }

// Volume is an amount of care per unit and frequency (iJw/iWmo).
type Volume struct {
	Amount    int32
	Unit      string
	Frequency string
}

// Allocation is a toewijzing (iJw/iWmo 301): a custom provision allocated to a provider for a
// case. It carries no personal data itself; the case it points at does.
type Allocation struct {
	Number       string
	ProviderAGB  string
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
}

// Delivery is one period of care (iJw/iWmo 305 start, 307 stop).
type Delivery struct {
	AllocationNumber string
	StartedOn        time.Time
	StoppedOn        *time.Time
	StopReason       string
	ReportedAt       time.Time
	OnTime           bool
}

// Timeliness holds the reporting periods and the calendar they are counted in.
type Timeliness struct {
	Calendar Calendar
	// StartReportWorkingDays is the period for reporting a start of care, counted in working
	// days after the day care started (5 in iJw/iWmo).
	StartReportWorkingDays int
	// Location turns a report's moment into a Dutch calendar day.
	Location *time.Location
}

// NewTimeliness returns the statutory rules from the code lists, with the extra non-working
// days the government decreed.
func NewTimeliness(codes Codes, extraNonWorkingDays ...time.Time) Timeliness {
	return Timeliness{Calendar: NewCalendar(extraNonWorkingDays...), StartReportWorkingDays: codes.Deadlines.StartReport, Location: Amsterdam}
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
		return Delivery{}, TransitionError{From: a.Status, To: StatusStarted}
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
	}
	onTime := rules.StartReportedOnTime(startedOn, reportedAt)
	a.Status = StatusStarted
	a.StartedOn, a.StartReportedAt, a.StartReportedOnTime = &startedOn, &reportedAt, &onTime
	return Delivery{AllocationNumber: a.Number, StartedOn: startedOn, ReportedAt: reportedAt, OnTime: onTime}, nil
}
