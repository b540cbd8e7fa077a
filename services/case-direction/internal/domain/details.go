package domain

import "time"

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
