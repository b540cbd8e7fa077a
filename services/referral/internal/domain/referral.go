package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ReferralStatus is where a referral is in its life (FHIR Task status as used for closed-loop
// social-care referrals).
type ReferralStatus string

// Referral statuses.
const (
	RefDraft      ReferralStatus = "DRAFT"
	RefSent       ReferralStatus = "SENT"
	RefAccepted   ReferralStatus = "ACCEPTED"
	RefDeclined   ReferralStatus = "DECLINED"
	RefExpired    ReferralStatus = "EXPIRED"
	RefInProgress ReferralStatus = "IN_PROGRESS"
	RefOnHold     ReferralStatus = "ON_HOLD"
	RefCompleted  ReferralStatus = "COMPLETED"
	RefFailed     ReferralStatus = "FAILED"
	RefCancelled  ReferralStatus = "CANCELLED"
)

// Final reports whether no transition leaves s.
func (s ReferralStatus) Final() bool {
	switch s {
	case RefDeclined, RefExpired, RefCompleted, RefFailed, RefCancelled:
		return true
	}
	return false
}

// Side is who makes a transition: the organisation that referred, the organisation of the
// provision, or the service itself (expiry, consent withdrawal).
type Side string

// Sides.
const (
	SideReferrer  Side = "REFERRER"
	SideRecipient Side = "RECIPIENT"
	SideSystem    Side = "SYSTEM"
)

// Action is a transition of a referral.
type Action string

// Actions.
const (
	ActSend     Action = "send"
	ActAccept   Action = "accept"
	ActDecline  Action = "decline"
	ActStart    Action = "start"
	ActHold     Action = "hold"
	ActResume   Action = "resume"
	ActComplete Action = "complete"
	ActFail     Action = "fail"
	ActCancel   Action = "cancel"
	ActExpire   Action = "expire"
)

// Reason codes. Declines, cancellations and failures each have their own list; they share
// the referral's reason column.
var (
	DeclineReasons = []string{"CAPACITY", "OUT_OF_AREA", "NOT_ELIGIBLE", "INCOMPLETE", "RESIDENT_REFUSED", "OTHER_PROVISION", "OTHER"}
	CancelReasons  = []string{"NO_LONGER_NEEDED", "RESIDENT_REFUSED", "CONSENT_WITHDRAWN", "ENTERED_IN_ERROR", "OTHER_PROVISION", "RESIDENT_MOVED", "OTHER", "CASE_CLOSED"}
	FailReasons    = []string{"RESIDENT_NOT_REACHED", "RESIDENT_STOPPED", "PROVISION_STOPPED", "OTHER"}
	HoldReasons    = []string{"WAITLIST", "RESIDENT_UNAVAILABLE", "OTHER"}
	Outcomes       = []string{"GOAL_REACHED", "PARTLY_REACHED", "NOT_REACHED"}
)

// Cancel reasons only the service sets: when consent is withdrawn, and when the case a
// referral was made for closed while it was open.
const (
	CancelConsentWithdrawn = "CONSENT_WITHDRAWN"
	CancelCaseClosed       = "CASE_CLOSED"
)

type referralRule struct {
	to ReferralStatus
	// from lists, per side that owns the action, the states it may be made from.
	from map[Side][]ReferralStatus
}

var openStatuses = []ReferralStatus{RefDraft, RefSent, RefAccepted, RefInProgress, RefOnHold}

// referralRules is the referral state machine (DESIGN §4) with the side owning each
// transition: the referrer sends and cancels; the recipient accepts, declines, starts, holds,
// resumes, completes, fails and (once accepted) cancels; the service expires and cancels when
// consent is withdrawn. Hold is also allowed from ACCEPTED: a waiting list usually comes
// after acceptance and before the help starts.
var referralRules = map[Action]referralRule{
	ActSend:     {RefSent, map[Side][]ReferralStatus{SideReferrer: {RefDraft}}},
	ActAccept:   {RefAccepted, map[Side][]ReferralStatus{SideRecipient: {RefSent}}},
	ActDecline:  {RefDeclined, map[Side][]ReferralStatus{SideRecipient: {RefSent}}},
	ActExpire:   {RefExpired, map[Side][]ReferralStatus{SideSystem: {RefSent}}},
	ActStart:    {RefInProgress, map[Side][]ReferralStatus{SideRecipient: {RefAccepted}}},
	ActHold:     {RefOnHold, map[Side][]ReferralStatus{SideRecipient: {RefAccepted, RefInProgress}}},
	ActResume:   {RefInProgress, map[Side][]ReferralStatus{SideRecipient: {RefOnHold}}},
	ActComplete: {RefCompleted, map[Side][]ReferralStatus{SideRecipient: {RefInProgress}}},
	ActFail:     {RefFailed, map[Side][]ReferralStatus{SideRecipient: {RefAccepted, RefInProgress, RefOnHold}}},
	ActCancel: {RefCancelled, map[Side][]ReferralStatus{
		SideReferrer:  openStatuses,
		SideRecipient: {RefAccepted, RefInProgress, RefOnHold},
		SideSystem:    openStatuses,
	}},
}

// ErrWrongSide is returned when the caller's side does not own the transition.
var ErrWrongSide error = WrongSideError{}

// WrongSideError is the type of ErrWrongSide. It is forbidden in apperr's vocabulary:
// PERMISSION_DENIED with this message.
type WrongSideError struct{}

func (WrongSideError) Error() string {
	return "this transition belongs to the other side of the referral"
}

// Forbidden marks the error for apperr.
func (WrongSideError) Forbidden() {}

// ErrReplacedTwice is what every ReplacedError matches with errors.Is.
var ErrReplacedTwice = errors.New("referral already replaced")

// ReplacedError is returned when a referral that already has a replacement is re-routed
// again. It is a conflict in apperr's vocabulary: ALREADY_EXISTS naming the existing
// replacement (the referral that blocks the call), or the re-routed referral when a concurrent
// re-routing was only caught by the store.
type ReplacedError struct{ Replaced, Replacement string }

func (e ReplacedError) Error() string {
	if e.Replacement != "" {
		return "referral " + e.Replaced + " has already been re-routed by referral " + e.Replacement
	}
	return "referral " + e.Replaced + " has already been re-routed"
}

// Is makes errors.Is(err, ErrReplacedTwice) hold.
func (ReplacedError) Is(target error) bool { return target == ErrReplacedTwice }

// Conflict names the replacement, when known; else the referral that was re-routed before.
func (e ReplacedError) Conflict() (resource, id string) {
	if e.Replacement != "" {
		return "referral", e.Replacement
	}
	return "referral", e.Replaced
}

// TransitionError is a forbidden referral state change; it names from and to.
type TransitionError struct {
	Action   Action
	From, To ReferralStatus
	Hint     string
}

func (e TransitionError) Error() string {
	msg := fmt.Sprintf("cannot %s a referral: %s → %s is not allowed", e.Action, e.From, e.To)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// ForbiddenTransition makes it a forbidden transition in apperr's vocabulary:
// FAILED_PRECONDITION with this message.
func (TransitionError) ForbiddenTransition() {}

// Owners returns the sides that may make action, for documentation and tests.
func Owners(action Action) []Side {
	var out []Side
	for s := range referralRules[action].from {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Transition is a requested change with what it must carry.
type Transition struct {
	Action Action
	// Reason: a decline, cancel or fail reason code (required for those actions).
	Reason string
	// HoldReason is required for hold.
	HoldReason string
	// Outcome is required for complete.
	Outcome string
	// Note is optional free text (confidential).
	Note string
}

// Referral is a referral of a resident to a provision, from a referrer organisation to the
// provision's organisation.
type Referral struct {
	ID           string
	Status       ReferralStatus
	ReferrerOIN  string
	ReferrerUser string
	RecipientOIN string
	ProvisionID  string
	CaseID       string
	IntakeID     string
	GoalIDs      []string
	ResidentBSN  string
	Municipality string
	District     string
	Question     string
	Categories   []string
	ConsentID    string
	LegalBasis   LegalBasis
	Priority     string
	AcceptBy     time.Time
	Reason       string
	HoldReason   string
	Outcome      string
	Note         string
	Replaces     string
	LifeDomains  []string
	// Sent: the referral was sent at some point. From then on its recipient is a party to it,
	// also once it is cancelled; a draft cancelled unsent never reaches the recipient.
	Sent      bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SidesOf returns the caller's sides of the referral: none when the organisation is neither
// referrer nor recipient (then the referral is not the caller's business). A recipient has
// no side on a referral that was never sent to it: a DRAFT, or a draft cancelled unsent.
func (r Referral) SidesOf(oin string) []Side {
	var sides []Side
	if oin == r.ReferrerOIN {
		sides = append(sides, SideReferrer)
	}
	if oin == r.RecipientOIN && r.Sent {
		sides = append(sides, SideRecipient)
	}
	return sides
}

// SharedWith is the referral as organisation oin may see it. Its recipient (when not also its
// referrer) sees the resident's BSN only when the identity category is shared with it, and the
// question only when the question category is: what the referrer declared to share, and what a
// consent had to cover. The referrer, and a Wijkbrug service, see it whole.
func (r Referral) SharedWith(oin string) Referral {
	if oin != r.RecipientOIN || oin == r.ReferrerOIN {
		return r
	}
	if !slices.Contains(r.Categories, CategoryIdentity) {
		r.ResidentBSN = ""
	}
	if !slices.Contains(r.Categories, CategoryQuestion) {
		r.Question = ""
	}
	return r
}

// Apply makes transition t as one of sides. It checks, in this order, that one of the sides
// owns the action (else ErrWrongSide), that the state allows it (else TransitionError) and
// that the mandatory reason or outcome is there (else RuleViolation).
func (r *Referral) Apply(t Transition, sides []Side, at time.Time) error {
	rule, ok := referralRules[t.Action]
	if !ok {
		return fmt.Errorf("unknown referral action %q", t.Action)
	}
	var owned bool
	var allowed []ReferralStatus
	for _, s := range sides {
		if from, ok := rule.from[s]; ok {
			owned = true
			allowed = append(allowed, from...)
		}
	}
	if !owned {
		return ErrWrongSide
	}
	if !slices.Contains(allowed, r.Status) {
		te := TransitionError{Action: t.Action, From: r.Status, To: rule.to}
		if t.Action == ActCancel && r.Status == RefSent && !slices.Contains(sides, SideReferrer) {
			te.Hint = "the recipient declines a sent referral"
		}
		return te
	}
	switch t.Action {
	case ActDecline:
		if !slices.Contains(DeclineReasons, t.Reason) {
			return RuleViolation{"reason", "a decline needs a reason"}
		}
	case ActCancel:
		if !slices.Contains(CancelReasons, t.Reason) {
			return RuleViolation{"reason", "a cancellation needs a reason"}
		}
		if (t.Reason == CancelConsentWithdrawn || t.Reason == CancelCaseClosed) && !slices.Contains(sides, SideSystem) {
			return RuleViolation{"reason", t.Reason + " is set by the service (when consent is withdrawn, or the case closes)"}
		}
	case ActFail:
		if !slices.Contains(FailReasons, t.Reason) {
			return RuleViolation{"reason", "a failure needs a reason"}
		}
	case ActHold:
		if !slices.Contains(HoldReasons, t.HoldReason) {
			return RuleViolation{"hold_reason", "putting on hold needs a sub-status such as WAITLIST"}
		}
	case ActComplete:
		if !slices.Contains(Outcomes, t.Outcome) {
			return RuleViolation{"outcome", "completing needs an outcome"}
		}
	}
	r.Status = rule.to
	if t.Action == ActSend {
		r.Sent = true
	}
	switch t.Action {
	case ActDecline, ActCancel, ActFail:
		r.Reason = t.Reason
	case ActExpire:
		r.Reason = ""
	}
	if t.Action == ActHold {
		r.HoldReason = t.HoldReason
	} else {
		r.HoldReason = ""
	}
	if t.Action == ActComplete {
		r.Outcome = t.Outcome
	}
	if t.Note != "" {
		r.Note = t.Note
	}
	r.UpdatedAt = at
	return nil
}

// CanBeReplaced reports whether a referral may be re-routed: it ended without help.
func (r Referral) CanBeReplaced() bool {
	switch r.Status {
	case RefDeclined, RefExpired, RefCancelled, RefFailed:
		return true
	}
	return false
}

// Confidentiality classifies a referral for events from the data categories it shares.
func (r Referral) Confidentiality() string {
	switch {
	case slices.Contains(r.Categories, "SAFETY"):
		return "SAFETY"
	case slices.Contains(r.Categories, "HEALTH"), slices.Contains(r.Categories, "FINANCES"):
		return "SPECIAL"
	}
	return "PERSONAL"
}

// HistoryEntry is one stored status change of a referral (the referral_transitions row).
type HistoryEntry struct {
	From, To ReferralStatus // From is empty for the creation
	Reason   string
	Side     Side
	OrgOIN   string
	At       time.Time
}
