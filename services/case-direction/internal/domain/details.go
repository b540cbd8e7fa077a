package domain

import (
	"errors"
	"fmt"
	"time"
)

// Score is a ZRM score on one life domain (1-5, or 99 not discussed).
type Score struct {
	LifeDomain string `json:"domain"`
	Score      int    `json:"score"`
}

// DomainChange is how one life domain's ZRM score changed between two assessments, as intake
// computed it (Change: IMPROVED, UNCHANGED, WORSENED or NOT_COMPARABLE).
type DomainChange struct {
	LifeDomain string `json:"domain"`
	From       int    `json:"from"`
	To         int    `json:"to"`
	Delta      int    `json:"delta"`
	Change     string `json:"change"`
}

// Evaluation is a recorded evaluation of the case: intake's assessment, the baseline it was
// compared with and the change per life domain.
type Evaluation struct {
	ID                   string
	At                   time.Time
	By                   string
	AssessmentID         string
	BaselineAssessmentID string
	Changes              []DomainChange
	Decision             string
}

// Baseline is the assessment the next evaluation is compared with by default: the last
// evaluation's, else the one made at intake (empty when there is neither).
func (c *Case) Baseline() string {
	if n := len(c.Details.Evaluations); n > 0 {
		return c.Details.Evaluations[n-1].AssessmentID
	}
	return c.BaselineAssessmentID
}

// Evaluation to-do reasons.
const TodoScaleDownAdvised = "SCALE_DOWN_ADVISED"

// EvaluationTodo is an evaluation that should be done.
type EvaluationTodo struct {
	ID               string
	Reason           string
	AllocationNumber string
	GoalIDs          []string
	CreatedAt        time.Time
	DoneAt           *time.Time
}

// Attendee is a participant of a case conference, by identifiers only.
type Attendee struct {
	OrganisationType string `json:"organisation_type"`
	OrganisationOIN  string `json:"organisation_oin,omitempty"`
	ProfessionalID   string `json:"professional_id"`
	External         bool   `json:"external"`
}

// Conference is a case conference (casusoverleg).
type Conference struct {
	ID         string
	HeldOn     string
	Attendees  []Attendee
	Decisions  []string
	RecordedAt time.Time
	RecordedBy string
}

// Safety concern kinds.
const (
	SafetyDomesticViolence = "DOMESTIC_VIOLENCE"
	SafetyChildAbuse       = "CHILD_ABUSE"
)

// SafetyConcern is a concern about safety in the family with the meldcode step reached (1-5).
type SafetyConcern struct {
	Kind         string
	MeldcodeStep int
	RecordedAt   time.Time
	UpdatedAt    time.Time
}

// MeldcodeError is a meldcode step that does not move a safety concern forward.
type MeldcodeError struct {
	Kind     string
	From, To int
}

func (e *MeldcodeError) Error() string {
	if e.To == e.From {
		return fmt.Sprintf("the meldcode of the %s concern is at %s already: record a step when it is reached (the next one, or a later one)", e.Kind, meldcodeStep(e.From))
	}
	return fmt.Sprintf("the meldcode cannot go back from %s to %s", meldcodeStep(e.From), meldcodeStep(e.To))
}

// meldcodeSteps are the steps of the meldcode (huiselijk geweld en kindermishandeling) by
// number, as the API names them.
var meldcodeSteps = []string{1: "MAP_SIGNALS", 2: "CONSULT", 3: "CONVERSATION", 4: "WEIGH", 5: "DECIDE"}

func meldcodeStep(n int) string {
	if n > 0 && n < len(meldcodeSteps) {
		return fmt.Sprintf("step %d (%s)", n, meldcodeSteps[n])
	}
	return fmt.Sprintf("step %d", n)
}

// ForbiddenTransition makes it a refusal because of the concern's state in apperr's
// vocabulary (FAILED_PRECONDITION).
func (*MeldcodeError) ForbiddenTransition() {}

// MoveMeldcode checks that a concern of kind at step from (0: none recorded yet) moves on to
// step to. The step only moves forward: the meldcode's steps are passed in order (a step may
// be skipped), and recording the step the concern is at again would change nothing but a
// time and announce, under SAFETY confidentiality, a step that was not taken. A retried call
// repeats its idempotency key instead.
func MoveMeldcode(kind string, from, to int) error {
	if to <= from {
		return &MeldcodeError{Kind: kind, From: from, To: to}
	}
	return nil
}

// Handover recipients.
const (
	HandoverVeiligThuis          = "VEILIG_THUIS"
	HandoverCertifiedInstitution = "CERTIFIED_INSTITUTION"
	HandoverOtherMunicipality    = "OTHER_MUNICIPALITY"
)

// Handover says where a handed-over case went.
type Handover struct {
	Recipient    string
	RecipientOIN string
	Municipality string
	At           time.Time
}

// Details are the records around a case that only its readers need: shown by GetCase, not
// used by the rules.
type Details struct {
	Evaluations    []Evaluation
	Todos          []EvaluationTodo
	Conferences    []Conference
	SafetyConcerns []SafetyConcern
	Outcomes       []DomainOutcome
}

// Summary is a case in a caseload list.
type Summary struct {
	ID           string
	HouseholdID  string
	Status       Status
	Director     string
	Municipality string
	District     string
	OpenedAt     time.Time
	NextCheckAt  *time.Time
	OpenTodos    int
	// Residents are the pseudonyms of the household members the case concerns now, read with
	// the page so the list's access log names every resident shown without another query.
	Residents []string
}

// Cursor is the position after the last case of a page.
type Cursor struct {
	OpenedAt time.Time
	ID       string
}

// ListFilter selects a caseload.
type ListFilter struct {
	TeamOIN  string
	Director string
	// HouseholdID and ResidentID narrow the list to one household's cases, or the cases of
	// households a resident was a member of while the case was open.
	HouseholdID string
	ResidentID  string
	Statuses    []Status
	After       *Cursor
	Limit       int
}

// FieldError is a value of a request that breaks a rule of the case it is about (a date
// before the case was opened, a handover to the case's own municipality): INVALID_ARGUMENT
// on Field in apperr's vocabulary.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// RuleViolation makes it INVALID_ARGUMENT on Field.
func (e *FieldError) RuleViolation() (field, reason string) { return e.Field, e.Msg }

// MaxEvaluationYears is how far ahead of its adoption a plan's evaluation may be set. A plan
// is evaluated far more often in practice; the bound catches typing errors (2062 for 2026),
// not policy.
const MaxEvaluationYears = 5

// notBeforeOpened checks that a day (YYYY-MM-DD; a malformed one is the edge's violation) is
// not before the Dutch calendar day the case was opened: nothing about the case happened
// before it existed.
func (c *Case) notBeforeOpened(field, day string) error {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil || c.OpenedAt.IsZero() {
		return nil
	}
	if opened := Day(c.OpenedAt); d.Before(opened) {
		return &FieldError{Field: field, Msg: "must not be before the case was opened (" + opened.Format(time.DateOnly) + ")"}
	}
	return nil
}

// CheckConference checks a case conference against the case: held on a day not before the
// case was opened (not in the future is the edge's rule).
func (c *Case) CheckConference(conf Conference) error {
	return c.notBeforeOpened("held_on", conf.HeldOn)
}

// checkPlanDates checks a plan's dates against the case and the day of adoption: the
// resident agreed not before the case was opened, and the evaluation lies from the day of
// adoption up to MaxEvaluationYears after it (an evaluation in the past is never held).
func (c *Case) checkPlanDates(p Plan, at time.Time) error {
	var errs []error // both dates at once
	if p.ResidentAgreedOn != "" {
		if err := c.notBeforeOpened("resident_agreed_on", p.ResidentAgreedOn); err != nil {
			errs = append(errs, err)
		}
	}
	if d, err := time.Parse(time.DateOnly, p.EvaluationDate); err == nil {
		if err := CheckEvaluationDate(d, Day(at)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckEvaluationDate checks a plan's evaluation date d against today, the day of adoption:
// not in the past (an evaluation in the past is never held) and at most MaxEvaluationYears
// ahead. It needs no stored state, so the edge checks it with the request's other fields;
// AdoptPlan checks it again on the day it adopts.
func CheckEvaluationDate(d, today time.Time) error {
	switch {
	case d.Before(today):
		return &FieldError{Field: "evaluation_date", Msg: "must not be in the past (today is " + today.Format(time.DateOnly) + ")"}
	case d.After(today.AddDate(MaxEvaluationYears, 0, 0)):
		return &FieldError{Field: "evaluation_date", Msg: fmt.Sprintf("must be within %d years of the plan's adoption", MaxEvaluationYears)}
	}
	return nil
}

// CheckWatchUntil checks the last day of a pilot light against today: after today, and at
// most MaxEvaluationYears ahead (as far as a plan's evaluation may be: the bound catches typing
// errors). Like CheckEvaluationDate it needs no stored state.
func CheckWatchUntil(until, today time.Time) error {
	switch {
	case !until.After(today):
		return &FieldError{Field: "watch_until", Msg: "must be after today (" + today.Format(time.DateOnly) + ")"}
	case until.After(today.AddDate(MaxEvaluationYears, 0, 0)):
		return &FieldError{Field: "watch_until", Msg: fmt.Sprintf("must be within %d years of today", MaxEvaluationYears)}
	}
	return nil
}

// checkHandover checks a handover against the case: "another municipality" is not the
// case's own (an unknown but well-formed code cannot be checked here).
func (c *Case) checkHandover(h Handover) error {
	if h.Recipient == HandoverOtherMunicipality && h.Municipality == c.Municipality {
		return &FieldError{Field: "municipality_code", Msg: "must be another municipality than the case's " + c.Municipality}
	}
	return nil
}
