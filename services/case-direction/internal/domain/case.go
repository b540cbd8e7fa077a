// Package domain holds the case-direction rules: what a case is, how it moves through its life
// (DESIGN §4) and what it needs before care can be allocated. No transport or database here.
package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Status is where a case is in its life.
type Status string

// Statuses.
const (
	StatusRegistered  Status = "REGISTERED"
	StatusActive      Status = "ACTIVE"
	StatusPlanAdopted Status = "PLAN_ADOPTED"
	StatusInProgress  Status = "IN_PROGRESS"
	StatusScaledDown  Status = "SCALED_DOWN"
	StatusWatch       Status = "WATCH"
	StatusHandedOver  Status = "HANDED_OVER"
	StatusClosed      Status = "CLOSED"
)

// Statuses lists every status, in the order of the life of a case.
var Statuses = []Status{
	StatusRegistered, StatusActive, StatusPlanAdopted, StatusInProgress, StatusScaledDown,
	StatusWatch, StatusHandedOver, StatusClosed,
}

// transitions is the case state machine (DESIGN §4). WATCH → ACTIVE reopens a case whose
// pilot light showed new trouble. Every non-final status may be handed over (to Veilig Thuis,
// a certified institution or another municipality). Closing needs care to have run, so only
// IN_PROGRESS, SCALED_DOWN and WATCH may close.
var transitions = map[Status][]Status{
	StatusRegistered:  {StatusActive, StatusHandedOver},
	StatusActive:      {StatusPlanAdopted, StatusHandedOver},
	StatusPlanAdopted: {StatusInProgress, StatusHandedOver},
	StatusInProgress:  {StatusScaledDown, StatusWatch, StatusHandedOver, StatusClosed},
	StatusScaledDown:  {StatusInProgress, StatusWatch, StatusHandedOver, StatusClosed},
	StatusWatch:       {StatusActive, StatusHandedOver, StatusClosed},
	StatusHandedOver:  {},
	StatusClosed:      {},
}

// CanTransition reports whether from → to is allowed.
func CanTransition(from, to Status) bool { return slices.Contains(transitions[from], to) }

// Final reports whether a case in this status is no longer open: the household may then get a
// new case.
func (s Status) Final() bool { return s == StatusClosed || s == StatusHandedOver }

// ErrTransition is what every TransitionError matches with errors.Is.
var ErrTransition = errors.New("forbidden case transition")

// TransitionError is a forbidden state change; it names both ends so the caller can see why.
type TransitionError struct{ From, To Status }

func (e *TransitionError) Error() string {
	return fmt.Sprintf("a case cannot go from %s to %s", e.From, e.To)
}

// Is makes errors.Is(err, ErrTransition) hold.
func (e *TransitionError) Is(target error) bool { return target == ErrTransition }

// ForbiddenTransition makes it a forbidden transition in apperr's vocabulary:
// FAILED_PRECONDITION with this message.
func (*TransitionError) ForbiddenTransition() {}

// ErrNoDirector is what every NoDirectorError matches with errors.Is.
var ErrNoDirector = errors.New("the case needs a director and must be open")

// NoDirectorError is returned when custom care is requested for a case that has no director
// (or is no longer open); it names the case's status.
type NoDirectorError struct{ Status Status }

func (e *NoDirectorError) Error() string {
	return "custom care can only be allocated for an open case with a director (case is " + string(e.Status) + ")"
}

// Is makes errors.Is(err, ErrNoDirector) hold.
func (e *NoDirectorError) Is(target error) bool { return target == ErrNoDirector }

// ForbiddenTransition makes it an unmet precondition in apperr's vocabulary.
func (*NoDirectorError) ForbiddenTransition() {}

// Director is the one professional who directs the case.
type Director struct {
	ProfessionalID string
	TeamOIN        string
	Since          time.Time
}

// AllocationWrite is what a write to one of a case's allocations found: the allocation's case
// ("" when the number is unknown here), whether the write changed anything, and, when it did,
// the pseudonyms of the case's current residents, read by the same statement for the change's
// access-log entry.
type AllocationWrite struct {
	CaseID    string
	Changed   bool
	Residents []string
}

// AllocationAction is an allocation of custom care taken as an action in the case. Its status
// is the one provider-monitoring last reported.
type AllocationAction struct {
	Number          string
	ProviderAGB     string
	ProductCategory string
	ProductCode     string
	Status          string
	UpdatedAt       time.Time
	// Origin is how the allocation came about: OriginCaseRequest, OriginProviderRequest or
	// OriginOther.
	Origin string
	// DecisionNumber is the decision (beschikking) it was issued under, if any.
	DecisionNumber string
	// PendingSince is when provider-monitoring attached the allocation before committing it
	// (AttachAllocation); nil once its allocation.issued event (or a read of it) confirmed it.
	PendingSince *time.Time
}

// Allocation origins.
const (
	OriginCaseRequest     = "CASE_REQUEST"
	OriginProviderRequest = "PROVIDER_REQUEST"
	OriginOther           = "OTHER"
)

// Allocation statuses as provider-monitoring reports them; the case only mirrors them.
const (
	AllocationIssued    = "ISSUED"
	AllocationStarted   = "STARTED"
	AllocationPaused    = "PAUSED"
	AllocationEnded     = "ENDED"
	AllocationWithdrawn = "WITHDRAWN"
)

// AllocationOpen reports whether an allocation still runs (or may still start): closing a
// case waits for it.
func AllocationOpen(status string) bool {
	return status != AllocationEnded && status != AllocationWithdrawn
}

// Case is the case of one household.
type Case struct {
	ID           string
	HouseholdID  string
	IntakeID     string
	Municipality string
	District     string
	// TeamOIN is the neighbourhood team that owns the case.
	TeamOIN     string
	Status      Status
	Director    *Director
	LifeDomains []string
	Allocations []AllocationAction
	OpenedAt    time.Time
	ClosedAt    *time.Time

	// Plan is the current plan (nil before the first is adopted); its goals are the current
	// goals of the case.
	Plan      *Plan
	Referrals []ReferralAction
	Watch     *Watch
	// Result is the CaseResult code of a closed case, or HANDED_OVER.
	Result string
	// BaselineAssessmentID is intake's ZRM assessment made at intake, if any.
	BaselineAssessmentID string
	// Residents are the household's current members as intake reported them (stored with the
	// case and read with it).
	Residents []ResidentRef
	// SafetyConcern is set when a safety concern was recorded: events then say SAFETY.
	SafetyConcern bool
	// Handover is set for a handed-over case.
	Handover *Handover
	// Involvements are every involvement the case had, has or will have (the director's
	// included), oldest first.
	Involvements []Involvement
	// Details are shown to readers; the rules do not use them.
	Details Details
}

// Transition moves the case to another status if the state machine allows it.
func (c *Case) Transition(to Status, at time.Time) error {
	if !CanTransition(c.Status, to) {
		return &TransitionError{From: c.Status, To: to}
	}
	c.Status = to
	if to.Final() {
		c.ClosedAt = &at
	}
	return nil
}

// AssignDirector makes a professional of a team the director. On a registered case that
// activates it; on a case that already runs it is a handover to another director, which
// keeps the status. It reports whether anything changed: naming the current director again
// is a no-op rather than a handover to oneself.
func (c *Case) AssignDirector(professionalID, teamOIN string, at time.Time) (bool, error) {
	if c.Status.Final() {
		return false, &TransitionError{From: c.Status, To: StatusActive}
	}
	if d := c.Director; d != nil && d.ProfessionalID == professionalID && d.TeamOIN == teamOIN {
		return false, nil
	}
	if c.Status == StatusRegistered {
		if err := c.Transition(StatusActive, at); err != nil {
			return false, err
		}
	}
	c.Director = &Director{ProfessionalID: professionalID, TeamOIN: teamOIN, Since: at}
	return true, nil
}

// CanRequestAllocation says whether custom care may be allocated for the case: someone must
// direct it (so it is past REGISTERED) and it must still be open.
func (c *Case) CanRequestAllocation() error {
	if c.Director == nil || c.Status == StatusRegistered || c.Status.Final() {
		return &NoDirectorError{Status: c.Status}
	}
	return nil
}

// NotOpenError refuses an allocation issued for the case outside case direction (a granted
// request for allocation, a decision in kind) once the case is closed or handed over.
type NotOpenError struct {
	CaseID string
	Status Status
}

func (e *NotOpenError) Error() string {
	return fmt.Sprintf("case %s is %s: it gets no new allocation", e.CaseID, e.Status)
}

// ForbiddenTransition makes it an unmet precondition in apperr's vocabulary.
func (*NotOpenError) ForbiddenTransition() {}

// CanAttachAllocation lets an allocation issued outside case direction become the case's
// while the case is open (any status but closed and handed over: unlike RequestAllocation, no
// director is needed, as provider-monitoring's check of the case never asked for one).
func (c *Case) CanAttachAllocation() error {
	if c.Status.Final() {
		return &NotOpenError{CaseID: c.ID, Status: c.Status}
	}
	return nil
}

// PendingAllocationSettled is how long an attached allocation may stay unconfirmed before
// CloseCase takes provider-monitoring's NOT_FOUND for it as final: provider-monitoring attaches
// it inside the transaction that issues it, and that transaction ends with its call's deadline
// (WIJKBRUG_MAX_CALL_DURATION caps it, 30 s by default and never above two minutes:
// svc.MaxCallCap): five minutes leave room for a slow commit.
const PendingAllocationSettled = 5 * time.Minute

// CurrentPseudonyms are the pseudonyms of c.Residents, one per resident, in resident-id order:
// what the case's stored residents give for a case that was just opened with them (a resident
// named twice is stored once).
func (c *Case) CurrentPseudonyms() []string {
	refs := slices.Clone(c.Residents)
	slices.SortStableFunc(refs, func(a, b ResidentRef) int { return strings.Compare(a.ResidentID, b.ResidentID) })
	refs = slices.CompactFunc(refs, func(a, b ResidentRef) bool { return a.ResidentID == b.ResidentID })
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Pseudonym)
	}
	return out
}

// ResidentRef is a member of the case's household as intake knows it: intake's resident id and
// the access log's pseudonym. Never a BSN.
type ResidentRef struct {
	ResidentID string
	Pseudonym  string
}
