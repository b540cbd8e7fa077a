package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// NoCaseError is a progress report on an allocation that belongs to no case (granted from a
// provider's request without one): there are no goals to report on.
type NoCaseError struct{ Number string }

func (e NoCaseError) Error() string {
	return "allocation " + e.Number + " belongs to no case: there are no goals to report progress on"
}

// ForbiddenTransition makes it FAILED_PRECONDITION (apperr's vocabulary).
func (NoCaseError) ForbiddenTransition() {}

// Judgement is a provider's judgement of progress on the case's goals.
type Judgement string

// Judgements.
const (
	OnTrack    Judgement = "ON_TRACK"
	Reached    Judgement = "REACHED"
	NotReached Judgement = "NOT_REACHED"
)

// ProgressReport is a provider's report on the goals an allocation works on.
type ProgressReport struct {
	ID               string
	AllocationNumber string
	GoalIDs          []string
	Judgement        Judgement
	ReportedAt       time.Time
	// ScaleDownAdvised is set when the goals are reached while care still runs.
	ScaleDownAdvised bool
}

// ReportProgress returns the progress report for the allocation. Progress can be reported
// once care started (also while paused and at the end), on goals of the allocation's case
// (caseGoals: the ids of its plan's goals that are not dropped); reached goals while care still
// runs advise scaling down (afschalen).
func (a Allocation) ReportProgress(id string, goalIDs, caseGoals []string, j Judgement, at time.Time) (ProgressReport, error) {
	if err := a.CanReportProgress(); err != nil {
		return ProgressReport{}, err
	}
	// A UUID is case-insensitive (RFC 4122); the report names them as case-direction does, in
	// lower case.
	goalIDs = slices.Clone(goalIDs)
	for i, g := range goalIDs {
		goalIDs[i] = strings.ToLower(g)
		if !slices.ContainsFunc(caseGoals, func(c string) bool { return strings.EqualFold(c, g) }) {
			return ProgressReport{}, RuleViolation{Field: fmt.Sprintf("goal_ids[%d]", i), Reason: "not a goal of the plan of case " + a.CaseID + " (or a dropped one)"}
		}
	}
	running := a.Status == StatusStarted || a.Status == StatusPaused
	return ProgressReport{ID: id, AllocationNumber: a.Number, GoalIDs: goalIDs, Judgement: j, ReportedAt: at,
		ScaleDownAdvised: j == Reached && running}, nil
}

// CanReportProgress says whether progress may be reported on the allocation at all: once care
// started, and only for an allocation of a case.
func (a Allocation) CanReportProgress() error {
	switch a.Status {
	case StatusStarted, StatusPaused, StatusEnded:
	default:
		return StateError{Number: a.Number, Status: a.Status, Action: "reported on before care started"}
	}
	if a.CaseID == "" {
		return NoCaseError{Number: a.Number}
	}
	return nil
}

// ReportCount counts reports by timeliness.
type ReportCount struct{ Reported, OnTime int32 }

// Late is the number of late reports.
func (c ReportCount) Late() int32 { return c.Reported - c.OnTime }

// Figures are the monitoring figures of a provider in a municipality or of a contract.
type Figures struct {
	Issued, Started, Paused, Ended, Withdrawn int32
	StartReports, StopReports                 ReportCount
	RequestsReceived, RequestsAnsweredLate    int32
	RequestsOverdue                           int32
	NotStarted                                int32
	AverageWaitingDays                        float64
	MaxWaitingDays                            int32
	// ActiveAllocations are ISSUED, STARTED or PAUSED (to compare with a contract's capacity).
	ActiveAllocations int32
	// Volume is volume used vs allocated per unit, over the allocations not withdrawn.
	Volume []VolumeFigure
}

// Scope selects what monitoring figures are about: a provider in a municipality, or a
// contract.
type Scope struct {
	ProviderAGB, Municipality string
	ContractID                string
}
