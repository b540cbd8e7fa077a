// Package domain holds the intake service's rules: what an intake is, how it moves from
// receipt through triage, how triage decides, and how residents form households. No
// transport or database here.
package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Channel is how a help request reached the team.
type Channel string

// Channels.
const (
	ChannelDesk    Channel = "DESK"
	ChannelPhone   Channel = "PHONE"
	ChannelDigital Channel = "DIGITAL"
	ChannelSignal  Channel = "SIGNAL"
)

// Urgency of a help request.
type Urgency string

// Urgencies.
const (
	UrgencyNormal Urgency = "NORMAL"
	UrgencyHigh   Urgency = "HIGH"
	UrgencyCrisis Urgency = "CRISIS"
)

// Status is where an intake is in its life.
type Status string

// Statuses.
const (
	StatusReceived   Status = "RECEIVED"
	StatusInTriage   Status = "IN_TRIAGE"
	StatusAdvised    Status = "ADVISED"
	StatusReferred   Status = "REFERRED"
	StatusCaseOpened Status = "CASE_OPENED"
	StatusNotReached Status = "NOT_REACHED"
	StatusWithdrawn  Status = "WITHDRAWN"
	StatusMerged     Status = "MERGED"
)

// Source types of signals that triage looks at (the codes of referral's SourceType).
const SourceVeiligThuis = "VEILIG_THUIS"

// transitions is the intake state machine (DESIGN §4). RECEIVED → CASE_OPENED exists only for
// CRISIS intakes, which skip triage; Intake.TransitionTo enforces that guard.
var transitions = map[Status][]Status{
	StatusReceived:   {StatusInTriage, StatusMerged, StatusCaseOpened},
	StatusInTriage:   {StatusAdvised, StatusReferred, StatusCaseOpened, StatusNotReached, StatusWithdrawn, StatusMerged},
	StatusAdvised:    {},
	StatusReferred:   {},
	StatusCaseOpened: {},
	StatusNotReached: {},
	StatusWithdrawn:  {},
	StatusMerged:     {},
}

// ErrTransition is returned for a forbidden state change; the application reports it as a
// failed precondition.
var ErrTransition = errors.New("forbidden intake transition")

// CanTransition reports whether from → to is in the state machine (without guards).
func CanTransition(from, to Status) bool { return slices.Contains(transitions[from], to) }

// TriageDays is the time triage has, in calendar days. Working days (with Dutch public
// holidays) and per-municipality terms come with the triage-policy issue.
const TriageDays = 5

// Intake is a registered help request.
type Intake struct {
	ID        string
	Channel   Channel
	SignalIDs []string
	// SourceType is the partner type of the signal of a SIGNAL intake ("" otherwise).
	SourceType  string
	ResidentID  string
	HouseholdID string
	// ResidentPseudonym identifies the resident in the access log without the BSN.
	ResidentPseudonym string
	// Question is the request in the resident's or reporter's words: confidential.
	Question      string
	LifeDomains   []string
	Urgency       Urgency
	SafetyConcern bool
	Status        Status
	Municipality  string
	District      string
	TeamOIN       string
	ReceivedAt    time.Time
	TriageDue     time.Time
	TriageOutcome Outcome
	TriageRule    string
	CaseID        string
}

// Receive marks a new intake as received at now and sets its triage deadline.
func (i *Intake) Receive(now time.Time) {
	i.Status = StatusReceived
	i.ReceivedAt = now
	i.TriageDue = now.AddDate(0, 0, TriageDays)
}

// TransitionTo moves the intake to another status, or returns ErrTransition.
func (i *Intake) TransitionTo(to Status) error {
	if !CanTransition(i.Status, to) {
		return fmt.Errorf("%w: %s → %s", ErrTransition, i.Status, to)
	}
	if i.Status == StatusReceived && to == StatusCaseOpened && i.Urgency != UrgencyCrisis {
		return fmt.Errorf("%w: %s → %s is only for a crisis", ErrTransition, i.Status, to)
	}
	i.Status = to
	return nil
}

// StartTriage puts a received intake in triage. A crisis skips triage: it stays RECEIVED
// until its case is opened.
func (i *Intake) StartTriage() error {
	if i.Urgency == UrgencyCrisis {
		return nil
	}
	return i.TransitionTo(StatusInTriage)
}

// Decide records a triage decision, so it can be explained later.
func (i *Intake) Decide(d Decision) {
	i.TriageOutcome, i.TriageRule = d.Outcome, d.Rule
}

// LinkCase records that case direction took the intake on in case caseID.
func (i *Intake) LinkCase(caseID string) error {
	if err := i.TransitionTo(StatusCaseOpened); err != nil {
		return err
	}
	i.CaseID = caseID
	return nil
}

// Facts are what triage decides on.
func (i *Intake) Facts() Facts {
	return Facts{Urgency: i.Urgency, LifeDomains: i.LifeDomains, SafetyConcern: i.SafetyConcern, SourceType: i.SourceType}
}

// specialDomains are life domains whose data are special categories (health, addiction) or
// comparably sensitive (debts, justice).
var specialDomains = []string{"FINANCES", "MENTAL_HEALTH", "PHYSICAL_HEALTH", "SUBSTANCE_USE", "JUSTICE"}

// Confidentiality classifies the intake for events: a safety concern gets the strictest
// handling, health and debt data are special categories.
func (i *Intake) Confidentiality() string {
	switch {
	case i.SafetyConcern || i.SourceType == SourceVeiligThuis:
		return "SAFETY"
	case slices.ContainsFunc(i.LifeDomains, func(d string) bool { return slices.Contains(specialDomains, d) }):
		return "SPECIAL"
	default:
		return "PERSONAL"
	}
}

// SignalUrgency is the urgency of an intake made from a partner signal: the partner's crisis
// flag, and Veilig Thuis signals are urgent by nature.
func SignalUrgency(crisis bool, sourceType string) Urgency {
	switch {
	case crisis:
		return UrgencyCrisis
	case sourceType == SourceVeiligThuis:
		return UrgencyHigh
	default:
		return UrgencyNormal
	}
}
