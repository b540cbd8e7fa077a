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

// IntakeFilter selects a team's intakes; zero fields do not filter.
type IntakeFilter struct {
	Statuses              []Status
	Channels              []Channel
	ReceivedFrom          *time.Time // inclusive
	ReceivedBefore        *time.Time // exclusive
	ResidentID, Household string
}

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

// ErrTransition is what every RefusalError of a forbidden state change matches with errors.Is.
var ErrTransition = errors.New("forbidden intake transition")

// CanTransition reports whether from → to is in the state machine (without guards).
func CanTransition(from, to Status) bool { return slices.Contains(transitions[from], to) }

// TriageDays is the default time triage has, in calendar days; a municipality's policy may
// set another term.
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
	// PolicyVersion is the version of the municipality's triage policy in force at receipt:
	// triage of this intake always uses it, so a policy change affects new intakes only.
	PolicyVersion int
	// FailedContactAttempts counts unsuccessful attempts to reach the resident.
	FailedContactAttempts int
	// MergedInto is the intake this one was merged into (status MERGED).
	MergedInto string
	// TriageProfessional picked the intake up (StartTriage).
	TriageProfessional string
	// Match is set by registration when other teams already work with the resident or their
	// household (not stored with the intake).
	Match *Match
	// Clarifications are the clarification conversations held on the intake, oldest first;
	// read only for GetIntake.
	Clarifications []Clarification
}

// Receive marks a new intake as received at now under policy p: the policy version is pinned
// and the triage deadline follows from the policy's term.
func (i *Intake) Receive(now time.Time, p Policy) {
	i.Status = StatusReceived
	i.ReceivedAt = now
	i.PolicyVersion = p.Version
	days := p.TriageDays
	if days <= 0 {
		days = TriageDays
	}
	i.TriageDue = now.AddDate(0, 0, days)
}

// IsOpen reports whether the intake still waits for triage (the team's queue).
func (i *Intake) IsOpen() bool { return i.Status == StatusReceived || i.Status == StatusInTriage }

// Overdue reports whether the intake is open after its triage deadline.
func (i *Intake) Overdue(now time.Time) bool { return i.IsOpen() && now.After(i.TriageDue) }

// TransitionTo moves the intake to another status, or returns ErrTransition.
func (i *Intake) TransitionTo(to Status) error {
	if !CanTransition(i.Status, to) {
		return refuse(ErrTransition, "%s → %s", i.Status, to)
	}
	if i.Status == StatusReceived && to == StatusCaseOpened && i.Urgency != UrgencyCrisis {
		return refuse(ErrTransition, "%s → %s is only for a crisis", i.Status, to)
	}
	i.Status = to
	return nil
}

// StartTriage puts a received intake in triage, picked up by professional. A crisis skips
// triage: it goes to case direction straight from RECEIVED.
func (i *Intake) StartTriage(professional string) error {
	if i.Urgency == UrgencyCrisis && i.Status == StatusReceived {
		return refuse(ErrTransition, "%s → %s: a crisis skips triage", i.Status, StatusInTriage)
	}
	if err := i.TransitionTo(StatusInTriage); err != nil {
		return err
	}
	i.TriageProfessional = professional
	return nil
}

// Decide records a triage decision, so it can be explained later, and carries out the
// outcomes that need nothing else: ADVICE → ADVISED, a referral → REFERRED. CASE_DIRECTION
// only records the decision; the intake moves on with LinkCase once case direction has the
// case. A crisis is decided from RECEIVED; any other intake must be in triage.
func (i *Intake) Decide(d Decision) error {
	to := StatusFor(d.Outcome)
	if to == "" {
		return refuse(ErrTransition, "no status for outcome %q", d.Outcome)
	}
	if !CanTransition(i.Status, to) || (i.Status == StatusReceived && i.Urgency != UrgencyCrisis) {
		return refuse(ErrTransition, "%s → %s", i.Status, to)
	}
	if to != StatusCaseOpened {
		if err := i.TransitionTo(to); err != nil {
			return err
		}
	}
	i.TriageOutcome, i.TriageRule, i.PolicyVersion = d.Outcome, d.Rule, d.PolicyVersion
	return nil
}

// RecordContactAttempt counts an attempt to reach the resident during triage; the attempt
// that reaches maxFailed unsuccessful ones ends the intake NOT_REACHED.
func (i *Intake) RecordContactAttempt(reached bool, maxFailed int) error {
	if i.Status != StatusInTriage {
		return refuse(ErrTransition, "contact attempts are recorded in %s, not %s", StatusInTriage, i.Status)
	}
	if reached {
		return nil
	}
	if i.FailedContactAttempts+1 >= maxFailed {
		if err := i.TransitionTo(StatusNotReached); err != nil {
			return err
		}
	}
	i.FailedContactAttempts++
	return nil
}

// Withdraw records that the resident withdrew the request.
func (i *Intake) Withdraw() error { return i.TransitionTo(StatusWithdrawn) }

// ErrMerge is what every RefusalError of a forbidden merge matches with errors.Is.
var ErrMerge = errors.New("intakes cannot be merged")

// RefusalError is a forbidden state change (errors.Is ErrTransition) or merge (errors.Is
// ErrMerge), with what makes it so. It is a forbidden transition in apperr's vocabulary:
// FAILED_PRECONDITION with this message.
type RefusalError struct {
	Sentinel error // ErrTransition or ErrMerge
	Detail   string
}

func (e *RefusalError) Error() string { return e.Sentinel.Error() + ": " + e.Detail }

// Unwrap makes errors.Is(err, ErrTransition) or errors.Is(err, ErrMerge) hold.
func (e *RefusalError) Unwrap() error { return e.Sentinel }

// ForbiddenTransition marks the refusal for apperr.
func (*RefusalError) ForbiddenTransition() {}

func refuse(sentinel error, format string, args ...any) error {
	return &RefusalError{Sentinel: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// MergeInto closes i as a duplicate of into, which takes over i's signal ids (so the sources
// of both hear what became of it). Both must be open, of one household and one team.
func (i *Intake) MergeInto(into *Intake) error {
	switch {
	case i.ID == into.ID:
		return refuse(ErrMerge, "an intake cannot be merged into itself")
	case !into.IsOpen():
		return refuse(ErrMerge, "the intake to merge into is %s, not open", into.Status)
	case i.HouseholdID != into.HouseholdID:
		return refuse(ErrMerge, "the intakes belong to different households")
	case i.TeamOIN != into.TeamOIN:
		return refuse(ErrMerge, "the intakes belong to different teams")
	}
	if err := i.TransitionTo(StatusMerged); err != nil {
		return err
	}
	i.MergedInto = into.ID
	for _, s := range i.SignalIDs {
		if !slices.Contains(into.SignalIDs, s) {
			into.SignalIDs = append(into.SignalIDs, s)
		}
	}
	return nil
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
// flag; Veilig Thuis signals, and signals shared under the meldcode (a suspicion of domestic
// violence or child abuse), are urgent by nature.
func SignalUrgency(crisis bool, sourceType string, meldcode bool) Urgency {
	switch {
	case crisis:
		return UrgencyCrisis
	case sourceType == SourceVeiligThuis, meldcode:
		return UrgencyHigh
	default:
		return UrgencyNormal
	}
}

// QueueKey is an intake's place in its team's queue: most urgent first (Rank 0 CRISIS, 1 HIGH,
// 2 NORMAL), then earliest triage deadline, then id, so the order is total and stable.
type QueueKey struct {
	Rank      int
	TriageDue time.Time
	ID        string
}

// QueueKey returns the intake's place in the queue.
func (i Intake) QueueKey() QueueKey {
	rank := 2
	switch i.Urgency {
	case UrgencyCrisis:
		rank = 0
	case UrgencyHigh:
		rank = 1
	}
	return QueueKey{Rank: rank, TriageDue: i.TriageDue, ID: i.ID}
}
