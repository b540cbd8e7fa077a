package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Decisions (beschikkingen): a municipality's decision on an application for a custom
// provision, under Wmo 2015 art. 2.3.5 or Jeugdwet art. 2.3 (DESIGN §4). A granted decision,
// once DECIDED, issues its allocation; the allocation carries the decision number, as the
// iJw/iWmo 301 does.

// DecisionStatus is where a decision is in its life.
type DecisionStatus string

// Decision statuses. AMENDED and WITHDRAWN are final; an amended decision is replaced by the
// decision that names it in Replaces (history is kept: neither is ever deleted).
const (
	DecisionDraft     DecisionStatus = "DRAFT"
	DecisionProposed  DecisionStatus = "PROPOSED"
	DecisionDecided   DecisionStatus = "DECIDED"
	DecisionSent      DecisionStatus = "SENT"
	DecisionAmended   DecisionStatus = "AMENDED"
	DecisionWithdrawn DecisionStatus = "WITHDRAWN"
)

// decisionTransitions: DRAFT → PROPOSED → DECIDED → SENT; PROPOSED → DRAFT (sent back);
// DECIDED|SENT → AMENDED (when the amending decision is decided) | WITHDRAWN.
var decisionTransitions = map[DecisionStatus][]DecisionStatus{
	DecisionDraft:     {DecisionProposed},
	DecisionProposed:  {DecisionDecided, DecisionDraft},
	DecisionDecided:   {DecisionSent, DecisionAmended, DecisionWithdrawn},
	DecisionSent:      {DecisionAmended, DecisionWithdrawn},
	DecisionAmended:   {},
	DecisionWithdrawn: {},
}

// DecisionTransitionError is a forbidden state change of a decision.
type DecisionTransitionError struct {
	ID       string
	From, To DecisionStatus
}

func (e DecisionTransitionError) Error() string {
	return fmt.Sprintf("decision %s cannot go from %s to %s", e.ID, e.From, e.To)
}

// ForbiddenTransition makes it FAILED_PRECONDITION in apperr's vocabulary.
func (DecisionTransitionError) ForbiddenTransition() {}

// MandateError is a decision the official may not take: PERMISSION_DENIED naming the mandate
// (or saying that no mandate covers it).
type MandateError struct{ Message string }

func (e MandateError) Error() string { return e.Message }

// Forbidden makes it PERMISSION_DENIED in apperr's vocabulary.
func (MandateError) Forbidden() {}

// LegalBasis is the article a decision is taken under.
type LegalBasis string

// Legal bases.
const (
	// Wmo 2015 art. 2.3.5: decision on a maatwerkvoorziening, within two weeks of the
	// application (art. 2.3.5 para. 1).
	BasisWmo LegalBasis = "WMO_2_3_5"
	// Jeugdwet art. 2.3: an individual provision for youth care; Awb art. 4:13 gives eight
	// weeks.
	BasisJeugdwet LegalBasis = "JEUGDWET_2_3"
)

// StatutoryTerm is the period within which a decision must be taken after the application.
func (b LegalBasis) StatutoryTerm() (weeks int) {
	if b == BasisJeugdwet {
		return 8
	}
	return 2
}

// Covers reports whether a product category belongs to the law of the legal basis.
func (b LegalBasis) Covers(codes Codes, category string) bool {
	switch b {
	case BasisWmo:
		_, ok := codes.WmoCategories[category]
		return ok
	case BasisJeugdwet:
		_, ok := codes.JeugdwetCategories[category]
		return ok
	}
	return false
}

// ObjectionWeeks is the objection period (bezwaartermijn) of Awb art. 6:7.
const ObjectionWeeks = 6

// WmoInvestigationWeeks is the term of the Wmo investigation (onderzoek) after a report
// (melding): Wmo 2015 art. 2.3.2 lid 1.
const WmoInvestigationWeeks = 6

// ApplicationDate settles the day the application (aanvraag) was received, from which the
// decision's statutory term runs (DecisionDueDate). given is the day the caller gave (nil:
// none), report the day the intake received the report or request for help (zero without an
// intake), today the day of drafting.
//
//   - Wmo 2015: a report (melding) starts an investigation of six weeks (art. 2.3.2 lid 1);
//     the application follows it, and the two weeks to decide run from the application (art.
//     2.3.5 lid 1). The intake's receipt is the report, not the application, so the
//     application date is required, and it cannot be before the report.
//   - Jeugdwet: there is no report stage; the request for help is the application (Awb 4:13),
//     so it defaults to the intake's receipt (today without an intake). An earlier date given
//     is accepted: an application received before the intake was recorded makes the term end
//     earlier, never later.
//
// Never in the future. A refusal is a RuleViolation on application_date.
func ApplicationDate(basis LegalBasis, given *time.Time, report, today time.Time) (time.Time, error) {
	var day time.Time
	switch {
	case given != nil:
		day = DayOf(*given)
	case basis == BasisWmo:
		return time.Time{}, RuleViolation{Field: "application_date", Reason: "required for a Wmo decision: its term of two weeks runs from the " +
			"application (aanvraag), which is not the report (melding) the intake received (Wmo 2015 art. 2.3.2 lid 1, 2.3.5 lid 1)"}
	case !report.IsZero():
		day = DayOf(report)
	default:
		day = DayOf(today)
	}
	if day.After(DayOf(today)) {
		return time.Time{}, RuleViolation{Field: "application_date", Reason: "cannot be in the future"}
	}
	if basis == BasisWmo && !report.IsZero() && day.Before(DayOf(report)) {
		return time.Time{}, RuleViolation{Field: "application_date", Reason: "cannot be before " + DayOf(report).Format(DateLayout) +
			", the day the intake received the report (melding): under the Wmo the application follows the report (Wmo 2015 art. 2.3.2)"}
	}
	return day, nil
}

// MotivationGoal is a goal of the case plan that motivates the decision: its life domain and
// the ZRM scores at the start and aimed for.
type MotivationGoal struct {
	GoalID     string
	LifeDomain string
	Baseline   int32
	Target     int32
}

// Motivation is why the decision is what it is.
type Motivation struct {
	Goals []MotivationGoal
	// LifeDomains are the intake's life domains; TriageOutcome and TriageRule its triage.
	LifeDomains   []string
	TriageOutcome string
	TriageRule    string
	// Text is confidential free text (stored encrypted).
	Text string
}

// Objection is a registered objection (bezwaar) against a sent decision.
type Objection struct {
	ReceivedOn time.Time
	// PostedOn is the day it was posted, when it came by post and the day is known.
	PostedOn     *time.Time
	RegisteredAt time.Time
	// OnTime: lodged in time (Calendar.ObjectionOnTime, Awb art. 6:9).
	OnTime bool
}

// ObjectionPostWeek is how long after the objection period an objection posted within it may
// still arrive (Awb art. 6:9 lid 2: one week).
const ObjectionPostWeek = 7

// ObjectionOnTime judges an objection by Awb art. 6:9: on time when received on or before the
// deadline (lid 1), or, sent by post (posted not nil), when posted on or before the deadline
// and received no later than a week after it (lid 2). That week is a statutory period too:
// ending on a weekend day or holiday it runs to the next working day (Algemene termijnenwet
// art. 1), the reading that never judges late an objection the law may count on time.
func (c Calendar) ObjectionOnTime(deadline, received time.Time, posted *time.Time) bool {
	deadline, received = DayOf(deadline), DayOf(received)
	if !received.After(deadline) {
		return true
	}
	if posted == nil || DayOf(*posted).After(deadline) {
		return false
	}
	return !received.After(c.PeriodEnd(deadline.AddDate(0, 0, ObjectionPostWeek)))
}

// Decision is a beschikking.
type Decision struct {
	ID string
	// Number is assigned when the decision is DECIDED: "<municipality>-<year>-<seq>".
	Number       string
	Municipality string
	District     string
	ResidentID   string
	HouseholdID  string
	IntakeID     string
	CaseID       string
	// TeamOIN is the team that owns the intake or case: it drafts and proposes.
	TeamOIN    string
	LegalBasis LegalBasis
	Granted    bool
	// RejectionGrounds: confidential free text (encrypted), required when not granted.
	RejectionGrounds string
	Product          Product
	// ProviderAGB is the provider for care in kind; empty for a personal budget.
	ProviderAGB string
	Form        Form
	Start       time.Time
	End         *time.Time
	Volume      Volume
	BudgetCents int64
	Motivation  Motivation
	// OwnContributionNotice: the Wmo own-contribution (eigen bijdrage) paragraph; empty for
	// Jeugdwet (no own contribution for youth care).
	OwnContributionNotice string
	// ObjectionClause: the Awb objection paragraph (six weeks).
	ObjectionClause string
	// ParagraphsVersion is the version of the municipality's standard paragraphs used.
	ParagraphsVersion int
	ApplicationDate   time.Time
	// DueDate is the last day to decide (statutory term, Algemene termijnenwet).
	DueDate time.Time
	// ReportDate is the day the intake received the report (melding) or request for help;
	// zero without an intake.
	ReportDate time.Time
	// InvestigationDue is, for a Wmo decision with a report, the last day of the
	// investigation after it (Calendar.InvestigationDue); nil otherwise.
	InvestigationDue *time.Time
	Status           DecisionStatus
	DraftedBy        string
	// ProposedBy is the professional who proposed it.
	ProposedBy string
	// FirstSigner signed first (under Mandate); for a decision above the four-eyes threshold
	// SecondOfficial co-signs and only then is it DECIDED.
	FirstSigner        string
	FirstSignerRole    string
	FirstSignedAt      *time.Time
	Mandate            string
	MandateVersion     int
	DecidedBy          string
	SecondOfficial     string
	SecondOfficialRole string
	DecidedAt          *time.Time
	SentAt             *time.Time
	// ObjectionDeadline is six weeks after sending.
	ObjectionDeadline *time.Time
	Objection         *Objection
	WithdrawnAt       *time.Time
	WithdrawalReason  string
	// Replaces is the decision this one amends (herziening); ReplacedBy the one amending it.
	Replaces   string
	ReplacedBy string
	// AllocationRequestID is the provider's request for allocation (315) it answers, if any.
	AllocationRequestID string
	// AllocationNumbers are the allocations issued when it was decided.
	AllocationNumbers []string
	// WithinStatutoryTerm: decided on or before DueDate (set when DECIDED).
	WithinStatutoryTerm bool
	// OverdueAlertedAt is when decision.overdue was emitted.
	OverdueAlertedAt *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	// Letter is the rendered letter stored at SEND (may be empty when no renderer exists).
	Letter            []byte
	LetterContentType string
	// Addressee is the applicant's name and address as intake registered them, read when the
	// decision was drafted (personal data: stored encrypted); zero when intake knew none or
	// did not show them to the drafter.
	Addressee Addressee
}

// Addressee is who a decision letter is addressed to: the applicant's name and address.
type Addressee struct {
	Name       string `json:"name,omitempty"`
	Street     string `json:"street,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city,omitempty"`
}

// Complete says whether the addressee has everything a letter's address block needs.
func (a Addressee) Complete() bool {
	return a.Name != "" && a.Street != "" && a.PostalCode != "" && a.City != ""
}

// DecisionDueDate computes the statutory due date: the application date plus the term in weeks,
// extended to the next working day (Algemene termijnenwet art. 1).
func (c Calendar) DecisionDueDate(basis LegalBasis, application time.Time) time.Time {
	return c.PeriodEnd(DayOf(application).AddDate(0, 0, 7*basis.StatutoryTerm()))
}

// InvestigationDue is the last day of the Wmo investigation after a report received on
// report: six weeks, extended to the next working day (Wmo 2015 art. 2.3.2 lid 1, Algemene
// termijnenwet art. 1).
func (c Calendar) InvestigationDue(report time.Time) time.Time {
	return c.PeriodEnd(DayOf(report).AddDate(0, 0, 7*WmoInvestigationWeeks))
}

// ObjectionDeadline is the last day for an objection to a decision sent on sent.
func (c Calendar) ObjectionDeadline(sent time.Time) time.Time {
	return c.PeriodEnd(DayOf(sent).AddDate(0, 0, 7*ObjectionWeeks))
}

func (d *Decision) move(to DecisionStatus) error {
	if !slices.Contains(decisionTransitions[d.Status], to) {
		return DecisionTransitionError{ID: d.ID, From: d.Status, To: to}
	}
	d.Status = to
	return nil
}

// Validate reports the rules a draft must meet before it can be proposed. Fields are named as
// in the API.
func (d Decision) Validate(codes Codes) []RuleViolation {
	var out []RuleViolation
	add := func(f, r string) { out = append(out, RuleViolation{Field: f, Reason: r}) }
	if d.LegalBasis != BasisWmo && d.LegalBasis != BasisJeugdwet {
		add("legal_basis", "must be WMO_2_3_5 or JEUGDWET_2_3")
	}
	if d.ResidentID == "" {
		add("resident_id", "the applicant is required")
	}
	if d.ApplicationDate.IsZero() {
		add("application_date", "required")
	}
	if _, ok := codes.ProductCategories[d.Product.Category]; !ok {
		add("product.category", "must be a product category of the national iJw/iWmo list")
	} else if !d.LegalBasis.Covers(codes, d.Product.Category) {
		add("product.category", "is not a category of the law of legal_basis (Wmo 01-18, Jeugdwet 40-50)")
	}
	if d.Product.Code == "" {
		add("product.code", "required")
	}
	if !d.Granted {
		if strings.TrimSpace(d.RejectionGrounds) == "" {
			add("rejection_grounds", "required when the decision rejects the application")
		}
		return out
	}
	switch d.Form {
	case FormInKind:
		if d.ProviderAGB == "" {
			add("provider_agb", "required for care in kind (or choose a personal budget)")
		}
	case FormPGB:
		if d.BudgetCents <= 0 {
			add("budget_cents", "a personal budget needs an amount")
		}
	default:
		add("form", "must be IN_KIND or PGB")
	}
	if d.Start.IsZero() {
		add("start_date", "required when granted")
	}
	if d.End != nil && d.End.Before(d.Start) {
		add("end_date", "cannot be before start_date")
	}
	if d.Volume.Amount <= 0 || d.Volume.Unit == "" || d.Volume.Frequency == "" {
		add("volume", "amount, unit and frequency are required when granted")
	}
	if d.ObjectionClause == "" {
		add("objection_clause", "required (Awb art. 3:45)")
	}
	if d.LegalBasis == BasisWmo && d.OwnContributionNotice == "" {
		add("own_contribution_notice", "required for a Wmo decision")
	}
	// The letter motivates a provision with the goals per life domain of the case's plan (Awb
	// 3:46) and cannot be sent without them: a decision decided without goals could never
	// reach the resident.
	if len(d.Motivation.Goals) == 0 {
		add("case_id", "a granted decision is motivated by the goals of the case's plan (Awb 3:46), and this draft has none: adopt the plan, then draft the decision from the case")
	}
	return out
}

// Propose moves a draft to PROPOSED when it is complete.
func (d *Decision) Propose(by string, codes Codes, at time.Time) error {
	if d.Status != DecisionDraft {
		return DecisionTransitionError{ID: d.ID, From: d.Status, To: DecisionProposed}
	}
	if v := d.Validate(codes); len(v) > 0 {
		return v[0]
	}
	d.ProposedBy, d.UpdatedAt = by, at
	return d.move(DecisionProposed)
}

// Signature is an official's signature under a mandate.
type Signature struct {
	User string
	Role string
	At   time.Time
}

// Sign records an official's signature under the municipality's mandate register. It returns
// true when the decision is now DECIDED: at once when no second official is needed; else at
// the second signature, by a different user, who must hold a mandate that covers the
// decision too. Deciding outside a mandate is a MandateError naming the mandate.
func (d *Decision) Sign(s Signature, reg MandateRegister) (bool, error) {
	if d.Status != DecisionProposed {
		return false, DecisionTransitionError{ID: d.ID, From: d.Status, To: DecisionDecided}
	}
	m, fourEyes, err := reg.Authorise(s.Role, *d)
	if err != nil {
		return false, err
	}
	if d.FirstSigner == "" {
		d.FirstSigner, d.FirstSignerRole, d.Mandate, d.MandateVersion = s.User, s.Role, m.Name, reg.Version
		at := s.At
		d.FirstSignedAt, d.UpdatedAt = &at, s.At
		if fourEyes {
			return false, nil
		}
	} else {
		if s.User == d.FirstSigner {
			return false, MandateError{Message: fmt.Sprintf("decision %s exceeds the four-eyes threshold of mandate %q: a second official other than %s must co-sign",
				d.ID, d.Mandate, s.User)}
		}
		d.SecondOfficial, d.SecondOfficialRole = s.User, s.Role
	}
	at := s.At
	d.DecidedBy, d.DecidedAt, d.UpdatedAt = d.FirstSigner, &at, s.At
	d.WithinStatutoryTerm = !DayIn(s.At, Amsterdam).After(d.DueDate)
	return true, d.move(DecisionDecided)
}

// NeedsSecondOfficial reports whether the decision waits for a co-signature.
func (d Decision) NeedsSecondOfficial() bool {
	return d.Status == DecisionProposed && d.FirstSigner != ""
}

// Send records that the decision was sent to the applicant; the objection period starts.
func (d *Decision) Send(at time.Time, cal Calendar) error {
	if err := d.move(DecisionSent); err != nil {
		return err
	}
	dl := cal.ObjectionDeadline(DayIn(at, Amsterdam))
	d.SentAt, d.ObjectionDeadline, d.UpdatedAt = &at, &dl, at
	return nil
}

// Withdraw withdraws (intrekking) a decided or sent decision with a reason code.
func (d *Decision) Withdraw(reason string, at time.Time) error {
	if !slices.Contains(DecisionWithdrawalReasons, reason) {
		return RuleViolation{Field: "reason", Reason: "must be a decision withdrawal reason"}
	}
	if err := d.move(DecisionWithdrawn); err != nil {
		return err
	}
	d.WithdrawalReason, d.WithdrawnAt, d.UpdatedAt = reason, &at, at
	return nil
}

// Amendment returns a new DRAFT that will replace d (herziening), carrying its content; d
// itself is marked AMENDED only when the amendment is decided (ReplaceBy).
func (d Decision) Amendment(id, by string, at time.Time) (Decision, error) {
	if d.Status != DecisionDecided && d.Status != DecisionSent {
		return Decision{}, DecisionTransitionError{ID: d.ID, From: d.Status, To: DecisionAmended}
	}
	if d.ReplacedBy != "" {
		return Decision{}, DecisionTransitionError{ID: d.ID, From: d.Status, To: DecisionAmended}
	}
	n := d
	n.ID, n.Number, n.Status, n.Replaces, n.ReplacedBy = id, "", DecisionDraft, d.ID, ""
	n.DraftedBy, n.ProposedBy, n.FirstSigner, n.FirstSignedAt, n.Mandate, n.MandateVersion = by, "", "", nil, "", 0
	n.FirstSignerRole, n.SecondOfficialRole = "", ""
	n.DecidedBy, n.SecondOfficial, n.DecidedAt, n.SentAt, n.ObjectionDeadline, n.Objection = "", "", nil, nil, nil, nil
	n.WithdrawnAt, n.WithdrawalReason, n.AllocationNumbers, n.WithinStatutoryTerm, n.OverdueAlertedAt = nil, "", nil, false, nil
	n.Letter, n.LetterContentType = nil, ""
	n.Motivation.Goals = slices.Clone(d.Motivation.Goals)
	n.Motivation.LifeDomains = slices.Clone(d.Motivation.LifeDomains)
	n.CreatedAt, n.UpdatedAt = at, at
	return n, nil
}

// ReplaceBy marks d AMENDED by the decided amendment id.
func (d *Decision) ReplaceBy(id string, at time.Time) error {
	if err := d.move(DecisionAmended); err != nil {
		return err
	}
	d.ReplacedBy, d.UpdatedAt = id, at
	return nil
}

// RegisterObjection records an objection received on receivedOn (and, sent by post, posted
// on postedOn; nil when not by post or not known) against a sent decision, judged on time by
// cal.ObjectionOnTime.
func (d *Decision) RegisterObjection(receivedOn time.Time, postedOn *time.Time, at time.Time, cal Calendar) error {
	if d.Status != DecisionSent || d.ObjectionDeadline == nil {
		return DecisionStateError{ID: d.ID, Status: d.Status, Action: "register an objection (only against a SENT decision)"}
	}
	if d.Objection != nil {
		return DecisionStateError{ID: d.ID, Status: d.Status, Action: "register a second objection"}
	}
	if receivedOn.Before(DayIn(*d.SentAt, Amsterdam)) {
		return RuleViolation{Field: "received_on", Reason: "cannot be before the decision was sent"}
	}
	if DayOf(receivedOn).After(DayIn(at, Amsterdam)) {
		return RuleViolation{Field: "received_on", Reason: "cannot be in the future"}
	}
	var posted *time.Time
	if postedOn != nil {
		p := DayOf(*postedOn)
		switch {
		case p.After(DayIn(at, Amsterdam)):
			return RuleViolation{Field: "posted_on", Reason: "cannot be in the future"}
		case p.After(DayOf(receivedOn)):
			return RuleViolation{Field: "posted_on", Reason: "cannot be after received_on: an objection is posted before it arrives"}
		case p.Before(DayIn(*d.SentAt, Amsterdam)):
			return RuleViolation{Field: "posted_on", Reason: "cannot be before the decision was sent"}
		}
		posted = &p
	}
	d.Objection = &Objection{ReceivedOn: DayOf(receivedOn), PostedOn: posted, RegisteredAt: at,
		OnTime: cal.ObjectionOnTime(*d.ObjectionDeadline, receivedOn, posted)}
	d.UpdatedAt = at
	return nil
}

// DecisionStateError is an action the decision's status does not allow.
type DecisionStateError struct {
	ID     string
	Status DecisionStatus
	Action string
}

func (e DecisionStateError) Error() string {
	return fmt.Sprintf("decision %s is %s: cannot %s", e.ID, e.Status, e.Action)
}

// ForbiddenTransition makes it FAILED_PRECONDITION in apperr's vocabulary.
func (DecisionStateError) ForbiddenTransition() {}

// Overdue reports whether the decision is not decided by its due date (today is later).
func (d Decision) Overdue(today time.Time) bool {
	open := d.Status == DecisionDraft || d.Status == DecisionProposed
	return open && DayOf(today).After(d.DueDate)
}

// Allocation is the allocation a granted, decided decision issues.
func (d Decision) Allocation() Allocation {
	return Allocation{
		ProviderAGB: d.ProviderAGB, CaseID: d.CaseID, Municipality: d.Municipality, District: d.District,
		Product: d.Product, Start: d.Start, End: d.End, Volume: d.Volume, BudgetCents: d.BudgetCents, Form: d.Form,
		DecisionNumber: d.Number,
	}
}

// DecisionNumber formats a decision number.
func DecisionNumber(municipality string, year, seq int) string {
	return fmt.Sprintf("%s-%d-%06d", municipality, year, seq)
}

// DecisionWithdrawalReasons are the reasons a decision can be withdrawn for.
var DecisionWithdrawalReasons = []string{"CHANGED_CIRCUMSTANCES", "INCORRECT_INFORMATION", "RESIDENT_REQUEST", "RESIDENT_MOVED", "OTHER"}

// WithdrawalReasonFor is the allocation withdrawal reason when a decision is withdrawn for
// reason (or "AMENDED" when an amendment replaces it).
func WithdrawalReasonFor(reason string) string {
	switch reason {
	case "INCORRECT_INFORMATION":
		return "ISSUED_IN_ERROR"
	case "CHANGED_CIRCUMSTANCES", "RESIDENT_REQUEST":
		return "NO_LONGER_NEEDED"
	case "RESIDENT_MOVED":
		return "RESIDENT_MOVED"
	}
	return "OTHER"
}

// BeyondDecisionError is a change of an allocation that goes beyond the decision it was issued
// under: the decision is the legal ground of the allocation, so more (or other) care, a longer
// period or a larger budget needs an amendment of the decision (AmendDecision), decided under
// mandate, not a change of the allocation.
type BeyondDecisionError struct {
	Number, DecisionNumber, What string
}

func (e BeyondDecisionError) Error() string {
	return fmt.Sprintf("allocation %s was issued under decision %s, which %s: amend the decision (AmendDecision) instead",
		e.Number, e.DecisionNumber, e.What)
}

// ForbiddenTransition makes it FAILED_PRECONDITION in apperr's vocabulary.
func (BeyondDecisionError) ForbiddenTransition() {}

// Covers checks that an allocation (as a change would leave it) stays within the decision it
// was issued under: its period within the decision's, its volume in the decision's unit and
// frequency and not above it, its budget not above the decision's. Less than decided, or a
// later start within the period, is the allocation's own business.
func (d Decision) Covers(a Allocation) error {
	beyond := func(what string) error {
		return BeyondDecisionError{Number: a.Number, DecisionNumber: d.Number, What: what}
	}
	switch {
	case DayOf(a.Start).Before(DayOf(d.Start)):
		return beyond("starts on " + d.Start.Format(DateLayout))
	case d.End != nil && (a.End == nil || DayOf(*a.End).After(DayOf(*d.End))):
		return beyond("ends on " + d.End.Format(DateLayout))
	case a.Volume.Unit != d.Volume.Unit || a.Volume.Frequency != d.Volume.Frequency:
		return beyond(fmt.Sprintf("grants volume in %s per %s", unitLabel(d.Volume.Unit), frequencyLabel(d.Volume.Frequency)))
	case a.Volume.Amount > d.Volume.Amount:
		return beyond(fmt.Sprintf("grants at most volume %d (%s per %s)", d.Volume.Amount, unitLabel(d.Volume.Unit), frequencyLabel(d.Volume.Frequency)))
	case a.BudgetCents > d.BudgetCents:
		return beyond("grants at most budget " + euro(d.BudgetCents))
	}
	return nil
}
