package app

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Decisions stores decisions (beschikkingen).
type Decisions interface {
	Insert(ctx context.Context, d domain.Decision) error
	Update(ctx context.Context, d domain.Decision) error
	// Get returns apperr NotFound when there is no such decision.
	Get(ctx context.Context, id string) (domain.Decision, error)
	GetForUpdate(ctx context.Context, id string) (domain.Decision, error)
	// List returns up to limit decisions of the municipality (of team when not empty), newest
	// first, in one of statuses (any when empty), after the position after.
	List(ctx context.Context, municipality, team string, statuses []string, after *paging.At, limit int) ([]domain.Decision, error)
	// ByNumber returns the decision numbered number; apperr NotFound when there is none.
	ByNumber(ctx context.Context, number string) (domain.Decision, error)
	// InForceForRequest returns a decision other than except, DECIDED or SENT, that answers
	// the request for allocation (id and number only); nil when there is none.
	InForceForRequest(ctx context.Context, requestID, except string) (*domain.Decision, error)
	// NextNumber draws the next decision number of the municipality and year.
	NextNumber(ctx context.Context, municipality string, year int) (string, error)
	// ClaimOverdue marks and returns open decisions past their due date not yet alerted.
	ClaimOverdue(ctx context.Context, today, at time.Time, limit int) ([]domain.Decision, error)
}

// Mandates stores mandate registers (versioned data per municipality).
type Mandates interface {
	// Version returns a version (0 = in force; the built-in default when none was adopted).
	Version(ctx context.Context, municipality string, version int) (domain.MandateRegister, error)
	// CurrentForUpdate is Version(0), serialising adoptions for the municipality.
	CurrentForUpdate(ctx context.Context, municipality string) (domain.MandateRegister, error)
	// Adopt stores the next version and returns it with its number.
	Adopt(ctx context.Context, reg domain.MandateRegister) (domain.MandateRegister, error)
}

// IntakeFacts is what the intake service knows of an intake that a decision needs: no
// question or other free text.
type IntakeFacts struct {
	ID, ResidentID, HouseholdID, Municipality, District, TeamOIN, CaseID string
	ReceivedAt                                                           time.Time
	LifeDomains                                                          []string
	TriageOutcome, TriageRule                                            string
}

// CaseFacts is what case-direction knows of a case that a decision needs: its plan's goals,
// and its status (case-direction's code, e.g. HANDED_OVER; empty when not told).
type CaseFacts struct {
	ID, HouseholdID, IntakeID, Municipality, District, TeamOIN, Status string
	Goals                                                              []domain.MotivationGoal
}

// Intakes reads intakes from the intake service (as a Wijkbrug service).
type Intakes interface {
	Intake(ctx context.Context, id string) (IntakeFacts, error)
	// Addressee reads a resident's registered name and address (or, without one, the
	// household's address), forwarding the calling team: intake shows them only when that
	// team works with the resident (else apperr NotFound) and logs the read under the resident.
	Addressee(ctx context.Context, residentID string) (domain.Addressee, error)
	// HouseholdResidents returns the household's current members with their access-log
	// pseudonyms (intake logs the read under each of them).
	HouseholdResidents(ctx context.Context, householdID string) ([]ResidentRef, error)
}

// ResidentRef is a resident as intake names it to another service: its id and access-log
// pseudonym, no BSN.
type ResidentRef struct {
	ResidentID, Pseudonym string
}

// Cases reads cases from case-direction (as a Wijkbrug service).
type Cases interface {
	Case(ctx context.Context, id string) (CaseFacts, error)
	// CaseResidents returns the access-log pseudonyms of the residents the case concerns now.
	CaseResidents(ctx context.Context, caseID string) ([]string, error)
	// AttachAllocation records an allocation being issued for a case (outside case-direction's
	// own RequestAllocation) on that case, in this service's transaction and before it
	// commits: a case closed or handed over in the meantime refuses it (FAILED_PRECONDITION).
	AttachAllocation(ctx context.Context, al domain.Allocation) error
}

// DecisionEvents publishes the decision events (information-poor).
type DecisionEvents interface {
	DecisionDrafted(ctx context.Context, d domain.Decision) error
	DecisionProposed(ctx context.Context, d domain.Decision) error
	DecisionDecided(ctx context.Context, d domain.Decision) error
	DecisionSent(ctx context.Context, d domain.Decision) error
	DecisionAmended(ctx context.Context, old, by domain.Decision) error
	DecisionWithdrawn(ctx context.Context, d domain.Decision) error
	DecisionObjectionRegistered(ctx context.Context, d domain.Decision) error
	DecisionOverdue(ctx context.Context, d domain.Decision, at time.Time) error
}

// DecisionDeps are the decision use cases' ports, beside the App's own.
type DecisionDeps struct {
	Decisions Decisions
	Mandates  Mandates
	Intakes   Intakes
	Events    DecisionEvents
	Letters   Letters
}

// WithDecisions wires the decision ports into the application.
func (a *App) WithDecisions(d DecisionDeps) *App {
	a.dec = d
	return a
}

// DraftInput is what a DraftDecision call adds to what Wijkbrug knows.
type DraftInput struct {
	IntakeID, CaseID, RequestID string
	LegalBasis                  domain.LegalBasis
	Granted                     bool
	RejectionGrounds            string
	ApplicationDate             *time.Time
	// The director's product choice, used when there is no request.
	Product        *domain.Product
	Form           domain.Form
	ProviderAGB    string
	Start          *time.Time
	End            *time.Time
	Volume         *domain.Volume
	BudgetCents    int64
	MotivationText string
}

// actionDraft is DraftDecision's access-log action, granted (on the new decision) or refused
// (on the intake or case the caller named).
const actionDraft = "providermonitoring.decision.create"

func decisionEntry(action, id, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "decision", ObjectID: id, Route: route, Outcome: outcome}
}

// ownerRoute says whether the caller may draft, propose, read or amend a decision of team in
// municipality: the owning team, or a municipality (or team) registered as acting for the
// municipality; a Wijkbrug service reads only.
func (a *App) ownerRoute(ctx context.Context, team, municipality string) (string, error) {
	caller, _ := identity.From(ctx)
	switch caller.Org.Type {
	case identity.OrgTeam:
		if team != "" && caller.Org.OIN == team {
			return accesslog.RouteTeam, nil
		}
		return accesslog.RouteNotAllowed, nil
	case identity.OrgMunicipality:
		return a.municipalRoute(ctx, municipality)
	case identity.OrgService:
		return accesslog.RouteService, nil
	}
	return accesslog.RouteNotAllowed, nil
}

// DraftDecision drafts a decision from the intake (applicant, household, triage) and the case
// plan (goals with life domains and ZRM scores), the provider's request or the director's
// product choice, and the municipality's standard paragraphs. The caller must own the intake
// or case (its team) or act for its municipality; to anyone else the intake or case does not
// exist, and the refusal is logged under the residents concerned (refuseNamed).
func (a *App) DraftDecision(ctx context.Context, in DraftInput) (domain.Decision, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return domain.Decision{}, apperr.Unauthenticated("no caller")
	}
	if caller.Org.Type != identity.OrgTeam && caller.Org.Type != identity.OrgMunicipality {
		return domain.Decision{}, apperr.PermissionDenied("only teams and municipalities draft decisions")
	}
	now := a.Now().UTC()
	d := domain.Decision{ID: a.NewID(), LegalBasis: in.LegalBasis, Granted: in.Granted, RejectionGrounds: in.RejectionGrounds,
		Status: domain.DecisionDraft, DraftedBy: caller.User, CreatedAt: now, UpdatedAt: now, AllocationRequestID: in.RequestID}
	d.Motivation.Text = in.MotivationText
	// A refusal names what the caller named (the case, or else the intake), never what it
	// leads to: another team's intake must not give away the id of its case.
	named := namedRecord{resource: "intake", id: in.IntakeID}
	if in.CaseID != "" {
		named = namedRecord{resource: "case", id: in.CaseID}
	}
	// What the peers know, read before the transaction (they log their own access, a read by
	// a Wijkbrug service). Each record is checked as soon as it is read, before the next one
	// is asked for: a caller refused on the case or intake it named makes no peer read the
	// next record for it (only, where provider-monitoring does not know them yet, the
	// pseudonyms of the residents to log the refusal under; residentsConcerned).
	var cs *CaseFacts
	if in.CaseID != "" {
		c, err := a.cases.Case(ctx, in.CaseID)
		if err != nil {
			return d, err
		}
		if err := a.mayDraft(ctx, c.TeamOIN, c.Municipality, named, c.ID, nil); err != nil {
			return d, err
		}
		if in.IntakeID != "" && c.IntakeID != "" && c.IntakeID != in.IntakeID {
			return d, apperr.Invalid("case_id", "the case does not belong to intake "+in.IntakeID)
		}
		cs = &c
	}
	intakeID := in.IntakeID
	if intakeID == "" && cs != nil {
		intakeID = cs.IntakeID
	}
	var it *IntakeFacts
	if intakeID != "" {
		i, err := a.dec.Intakes.Intake(ctx, intakeID)
		if err != nil {
			return d, err
		}
		// An intake the caller named (alone, or beside a case that does not name it) must be
		// the caller's as well; the one a case names goes with the case.
		if in.IntakeID != "" && (cs == nil || cs.IntakeID == "") {
			if err := a.mayDraft(ctx, i.TeamOIN, i.Municipality, namedRecord{resource: "intake", id: in.IntakeID}, i.CaseID, &i); err != nil {
				return d, err
			}
		}
		it = &i
		if cs == nil && i.CaseID != "" {
			c, err := a.cases.Case(ctx, i.CaseID)
			if err != nil {
				return d, err
			}
			// The intake's case decides, as when it is named; the refusal names the intake.
			if err := a.mayDraft(ctx, c.TeamOIN, c.Municipality, named, c.ID, &i); err != nil {
				return d, err
			}
			cs = &c
		}
	}
	if cs != nil && it != nil && cs.IntakeID != "" && cs.IntakeID != it.ID {
		return d, apperr.Invalid("case_id", "the case does not belong to intake "+it.ID)
	}
	if it != nil {
		d.IntakeID, d.ResidentID, d.HouseholdID = it.ID, it.ResidentID, it.HouseholdID
		d.Municipality, d.District, d.TeamOIN = it.Municipality, it.District, it.TeamOIN
		d.Motivation.LifeDomains, d.Motivation.TriageOutcome, d.Motivation.TriageRule = it.LifeDomains, it.TriageOutcome, it.TriageRule
	}
	if cs != nil {
		d.CaseID, d.Municipality, d.TeamOIN = cs.ID, cs.Municipality, cs.TeamOIN
		if d.HouseholdID == "" {
			d.HouseholdID = cs.HouseholdID
		}
		if cs.District != "" {
			d.District = cs.District
		}
		d.Motivation.Goals = cs.Goals
	}
	if d.Municipality == "" {
		return d, apperr.Invalid("intake_id", "intake_id or case_id is required")
	}
	// The letter's addressee, as intake registered the applicant: asked only for the team
	// that owns the intake or case (the per-object rule checked here first; intake checks
	// again that the team works with the resident). A municipality drafting does not see the
	// resident's details in intake; its letter needs the recipient typed at sending.
	if d.ResidentID != "" && caller.Org.Type == identity.OrgTeam && caller.Org.OIN == d.TeamOIN {
		addr, err := a.dec.Intakes.Addressee(ctx, d.ResidentID)
		if err != nil && !apperr.IsKind(err, apperr.KindNotFound) {
			return d, err
		}
		d.Addressee = addr
	}
	// The intake's receipt is the report (melding) or request for help; the statutory term
	// runs from the application (domain.ApplicationDate: under the Wmo not the same day).
	if it != nil {
		d.ReportDate = domain.DayIn(it.ReceivedAt, domain.Amsterdam)
	}
	application, err := domain.ApplicationDate(d.LegalBasis, in.ApplicationDate, d.ReportDate, domain.DayIn(now, domain.Amsterdam))
	if err != nil {
		return d, err
	}
	d.ApplicationDate = application
	d.DueDate = a.rules.Calendar.DecisionDueDate(d.LegalBasis, d.ApplicationDate)
	if d.LegalBasis == domain.BasisWmo && !d.ReportDate.IsZero() {
		due := a.rules.Calendar.InvestigationDue(d.ReportDate)
		d.InvestigationDue = &due
	}
	err = a.tx.Tx(ctx, func(ctx context.Context) error {
		// Checked again in the transaction (whom an organisation acts for may have changed).
		route, err := a.ownerRoute(ctx, d.TeamOIN, d.Municipality)
		if err != nil {
			return err
		}
		if routeForChange(route) == "" {
			return a.refuseNamed(ctx, actionDraft, named, a.residentsConcerned(ctx, d.CaseID, it))
		}
		if cs != nil && d.Granted {
			// A handed-over or closed case gets no granted decision (it would issue care the
			// team no longer directs); a rejection may still answer the application.
			if err := domain.CaseOpen(cs.ID, cs.Status); err != nil {
				return err
			}
		}
		if err := a.fillProduct(ctx, &d, in); err != nil {
			return err
		}
		reg, err := a.dec.Mandates.Version(ctx, d.Municipality, 0)
		if err != nil {
			return err
		}
		d.ParagraphsVersion, d.ObjectionClause = reg.Version, reg.Paragraphs.ObjectionClause
		if d.LegalBasis == domain.BasisWmo {
			d.OwnContributionNotice = reg.Paragraphs.OwnContributionNotice
		}
		if _, ok := a.codes.ProductCategories[d.Product.Category]; !ok {
			return apperr.Invalid("product.category", "must be a product category of the national iJw/iWmo list")
		}
		if !d.LegalBasis.Covers(a.codes, d.Product.Category) {
			return apperr.Invalid("product.category", fmt.Sprintf("category %s is not a category of the law of legal_basis %s (Wmo 01-18, Jeugdwet 40-50)", d.Product.Category, d.LegalBasis))
		}
		if err := a.dec.Decisions.Insert(ctx, d); err != nil {
			return err
		}
		if err := a.dec.Events.DecisionDrafted(ctx, d); err != nil {
			return err
		}
		return a.access.Record(ctx, decisionEntry(actionDraft, d.ID, route, accesslog.OutcomeGranted))
	})
	return d, err
}

// namedRecord is a record of another service a caller named by id: an intake or a case.
type namedRecord struct{ resource, id string }

// mayDraft checks that the caller may draft a decision on a record of team in municipality
// (ownerRoute: the team itself, or an organisation acting for the municipality). When it may
// not, the refusal names what the caller named and is logged under the residents of caseID
// or else of intake (refuseNamed).
func (a *App) mayDraft(ctx context.Context, team, municipality string, named namedRecord, caseID string, intake *IntakeFacts) error {
	route, err := a.ownerRoute(ctx, team, municipality)
	if err != nil {
		return err
	}
	if routeForChange(route) != "" {
		return nil
	}
	return a.refuseNamed(ctx, actionDraft, named, a.residentsConcerned(ctx, caseID, intake))
}

// refuseNamed refuses a change on a record of another service that the caller named (an
// intake or case id): NOT_FOUND naming that id, the answer an id nobody knows gets, and a
// DENIED entry whose object is that record, under each of residents (the residents it
// concerns), so that the residents' access history shows who tried what. The entry is
// written outside the transaction of ctx, if any (it rolls back).
func (a *App) refuseNamed(ctx context.Context, action string, named namedRecord, residents []string) error {
	e := accesslog.Entry{Action: action, ObjectType: named.resource, ObjectID: named.id, Residents: residents, ResidentsRead: true}
	_, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: e, Change: true, Resource: named.resource})
	return err
}

// residentsConcerned returns the access-log pseudonyms of the residents a refused call
// concerned (provider-monitoring holds no BSN): the case's, as kept from case-direction's
// events or else asked of case-direction; without them, the intake's applicant, asked of
// intake among the members of the intake's household. Best effort: when no one can tell,
// the DENIED entry is written without a resident (it still names the record) and the caller
// still gets NOT_FOUND, since any other answer would tell it that the record exists.
func (a *App) residentsConcerned(ctx context.Context, caseID string, intake *IntakeFacts) []string {
	if caseID != "" {
		if a.residents != nil {
			if r, err := a.residents.OfCase(ctx, caseID); err == nil && len(r) > 0 {
				return r
			}
		}
		if r, err := a.cases.CaseResidents(ctx, caseID); err == nil && len(r) > 0 {
			return r
		}
	}
	if intake == nil || intake.HouseholdID == "" || intake.ResidentID == "" || a.dec.Intakes == nil {
		return nil
	}
	members, err := a.dec.Intakes.HouseholdResidents(ctx, intake.HouseholdID)
	if err != nil {
		return nil
	}
	for _, m := range members {
		if m.ResidentID == intake.ResidentID && m.Pseudonym != "" {
			return []string{m.Pseudonym}
		}
	}
	return nil
}

// routeForChange keeps only the routes that may change a decision (not a service's).
func routeForChange(route string) string {
	if route == accesslog.RouteTeam {
		return route
	}
	return ""
}

// fillProduct takes the product, provider, period and volume from the provider's request for
// allocation (which must be of the decision's municipality) or from the director's choice.
func (a *App) fillProduct(ctx context.Context, d *domain.Decision, in DraftInput) error {
	d.Form, d.BudgetCents = in.Form, in.BudgetCents
	if d.Form == "" {
		d.Form = domain.FormInKind
	}
	if in.RequestID != "" {
		if d.Form == domain.FormPGB && d.Granted {
			// A PGB is paid to the resident (through the SVB), not allocated to a provider: no
			// 301 answers the provider's 315 (see docs/services/provider-monitoring.md).
			return apperr.Invalid("form", "a personal budget (PGB) is not allocated to a provider, so it cannot answer a provider's request for allocation (315): "+
				"refuse the request (AnswerAllocationRequest) and draft the PGB decision without allocation_request_id")
		}
		q, err := a.requests.Get(ctx, in.RequestID)
		if err != nil {
			return err
		}
		if q.Municipality != d.Municipality || q.Kind != domain.RequestAllocation {
			return apperr.NotFound("allocation request", in.RequestID)
		}
		// One 315, one allocation: not for a request answered already (granted, refused, or
		// by a decision in force). Drafts may compete; deciding checks again.
		inForce, err := a.dec.Decisions.InForceForRequest(ctx, q.ID, "")
		if err != nil {
			return err
		}
		if err := q.Unanswered(inForce); err != nil {
			return err
		}
		d.Product, d.ProviderAGB, d.Start, d.End, d.Volume = q.Product, q.ProviderAGB, q.Start, q.End, q.Volume
		if q.District != "" {
			d.District = q.District
		}
		return nil
	}
	if !d.Granted {
		if in.Product != nil {
			d.Product = *in.Product
		}
		return nil
	}
	var v apperr.Validation
	v.Check(in.Product != nil, "product", "required without allocation_request_id")
	v.Check(in.Start != nil, "start_date", "required without allocation_request_id")
	v.Check(in.Volume != nil, "volume", "required without allocation_request_id")
	v.Check(d.Form != domain.FormInKind || in.ProviderAGB != "", "provider_agb", "required for care in kind")
	if err := v.Err(); err != nil {
		return err
	}
	d.Product, d.ProviderAGB, d.Start, d.End, d.Volume = *in.Product, in.ProviderAGB, *in.Start, in.End, *in.Volume
	if d.Form == domain.FormPGB {
		d.ProviderAGB = ""
		return nil
	}
	// An unknown provider is NOT_FOUND now, not at deciding (its contract is checked then).
	_, err := a.providers.Get(ctx, d.ProviderAGB)
	return err
}

// changeDecision runs change on a locked decision when route allows the caller; to anyone
// else the decision does not exist (NOT_FOUND, logged DENIED outside the transaction).
func (a *App) changeDecision(ctx context.Context, id, action string, route func(context.Context, domain.Decision) (string, error),
	change func(context.Context, *domain.Decision, identity.Caller) error) (domain.Decision, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return domain.Decision{}, apperr.Unauthenticated("no caller")
	}
	var out domain.Decision
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		d, err := a.dec.Decisions.GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		r, err := route(ctx, d)
		if err != nil {
			return err
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: decisionEntry(action, id, "", ""), Route: r, Change: true, Quiet: true}); err != nil {
			return err
		}
		if err := change(ctx, &d, caller); err != nil {
			return err
		}
		out = d
		return a.access.Record(ctx, decisionEntry(action, id, r, accesslog.OutcomeGranted))
	})
	return out, err
}

// asOwner allows the owning team and municipalities acting for the decision's municipality.
func (a *App) asOwner(ctx context.Context, d domain.Decision) (string, error) {
	r, err := a.ownerRoute(ctx, d.TeamOIN, d.Municipality)
	return routeForChange(r), err
}

// asMunicipalOfficial allows municipalities acting for the decision's municipality.
func (a *App) asMunicipalOfficial(ctx context.Context, d domain.Decision) (string, error) {
	caller, _ := identity.From(ctx)
	if caller.Org.Type != identity.OrgMunicipality {
		return "", nil
	}
	r, err := a.municipalRoute(ctx, d.Municipality)
	return routeForChange(r), err
}

// ProposeDecision proposes a complete draft (DRAFT → PROPOSED).
func (a *App) ProposeDecision(ctx context.Context, id string) (domain.Decision, error) {
	now := a.Now().UTC()
	return a.changeDecision(ctx, id, "providermonitoring.decision.propose", a.asOwner, func(ctx context.Context, d *domain.Decision, c identity.Caller) error {
		if err := d.Propose(c.User, a.codes, now); err != nil {
			return err
		}
		if err := a.dec.Decisions.Update(ctx, *d); err != nil {
			return err
		}
		return a.dec.Events.DecisionProposed(ctx, *d)
	})
}

// DecideDecision signs a proposed decision under the caller's mandate. When it is DECIDED it
// is numbered, a granted decision in kind issues its allocation (carrying the number) in the
// same transaction, a request it answers is granted, and an amendment replaces the decision
// it amends.
func (a *App) DecideDecision(ctx context.Context, id string) (domain.Decision, []domain.Allocation, error) {
	now := a.Now().UTC()
	var issued []domain.Allocation
	d, err := a.changeDecision(ctx, id, "providermonitoring.decision.decide", a.asMunicipalOfficial, func(ctx context.Context, d *domain.Decision, c identity.Caller) error {
		if err := a.mayDecide(ctx, *d); err != nil {
			return err
		}
		reg, err := a.dec.Mandates.Version(ctx, d.Municipality, 0)
		if err != nil {
			return err
		}
		decided, err := d.Sign(domain.Signature{User: c.User, Role: c.Role, At: now}, reg)
		if err != nil {
			return err
		}
		var replaced *domain.Decision
		if decided && d.Replaces != "" {
			// The decision it amends is locked and moved first: one that can no longer be
			// amended (another amendment was decided first) refuses the signature before a
			// number is taken or an allocation is recorded on the case.
			if replaced, err = a.amended(ctx, d.Replaces, d.ID, now); err != nil {
				return err
			}
		}
		if decided {
			day := domain.DayIn(now, domain.Amsterdam)
			if d.Number, err = a.dec.Decisions.NextNumber(ctx, d.Municipality, day.Year()); err != nil {
				return err
			}
			if issued, err = a.issueDecided(ctx, d, c, now); err != nil {
				return err
			}
			if err := a.refuseRejected(ctx, *d, now); err != nil {
				return err
			}
		}
		if err := a.dec.Decisions.Update(ctx, *d); err != nil {
			return err
		}
		if !decided {
			return nil
		}
		if replaced != nil {
			if err := a.replace(ctx, *replaced, *d); err != nil {
				return err
			}
		}
		return a.dec.Events.DecisionDecided(ctx, *d)
	})
	return d, issued, err
}

// mayDecide checks what may have changed since the decision was drafted: the request for
// allocation it answers is still unanswered (locked, so two decisions on one request
// serialise; an amendment answers its original's request again and is not checked), and the
// case a granted decision in kind issues care for is still open.
func (a *App) mayDecide(ctx context.Context, d domain.Decision) error {
	if d.AllocationRequestID != "" && d.Replaces == "" {
		q, err := a.requests.GetForUpdate(ctx, d.AllocationRequestID)
		if err != nil {
			return err
		}
		inForce, err := a.dec.Decisions.InForceForRequest(ctx, q.ID, d.ID)
		if err != nil {
			return err
		}
		if err := q.Unanswered(inForce); err != nil {
			return err
		}
	}
	if d.Granted && d.Form == domain.FormInKind && d.CaseID != "" {
		c, err := a.cases.Case(ctx, d.CaseID)
		if err != nil {
			return err
		}
		return domain.CaseOpen(d.CaseID, c.Status)
	}
	return nil
}

// issueDecided issues the allocation of a granted decision in kind through the one
// allocation path (contract check, number, version, event), and grants the request it
// answers. A personal budget (PGB) is paid through the SVB: no allocation to a provider.
func (a *App) issueDecided(ctx context.Context, d *domain.Decision, c identity.Caller, now time.Time) ([]domain.Allocation, error) {
	if !d.Granted || d.Form != domain.FormInKind {
		return nil, nil
	}
	al := d.Allocation()
	var q *domain.Request
	if d.AllocationRequestID != "" {
		r, err := a.requests.GetForUpdate(ctx, d.AllocationRequestID)
		if err != nil {
			return nil, err
		}
		if r.Open() {
			q = &r
			al.RequestID = r.ID
		}
	}
	out, err := a.issue(ctx, al, c)
	if err != nil {
		return nil, err
	}
	d.AllocationNumbers = append(d.AllocationNumbers, out.Number)
	if q != nil {
		if err := q.Answer(domain.RequestGranted, now, a.rules); err != nil {
			return nil, err
		}
		q.ResultingAllocation = out.Number
		if err := a.requests.Update(ctx, *q); err != nil {
			return nil, err
		}
		if err := a.events.AllocationRequestAnswered(ctx, *q, now); err != nil {
			return nil, err
		}
	}
	return []domain.Allocation{out}, nil
}

// refuseRejected answers the provider's request for allocation a decided rejection answers:
// REFUSED, the provider told why by the decision's number only (the grounds are the
// resident's, in the letter), and judged on time against the request's due day as an answer
// by AnswerAllocationRequest is. Without it the request stayed open, overdue for the
// municipality, and the provider never heard. An amendment answers its original's request,
// which that answered already.
func (a *App) refuseRejected(ctx context.Context, d domain.Decision, now time.Time) error {
	if d.Granted || d.AllocationRequestID == "" || d.Replaces != "" {
		return nil
	}
	q, err := a.requests.GetForUpdate(ctx, d.AllocationRequestID)
	if err != nil {
		return err
	}
	if !q.Open() {
		return nil
	}
	if err := q.Answer(domain.RequestRefused, now, a.rules); err != nil {
		return err
	}
	q.RefusalReason = "rejected by decision " + d.Number
	if err := a.requests.Update(ctx, q); err != nil {
		return err
	}
	return a.events.AllocationRequestAnswered(ctx, q, now)
}

// amended locks the decision an amendment replaces and marks it replaced by the amendment
// (AMENDED), or refuses when it can no longer be amended.
func (a *App) amended(ctx context.Context, oldID, by string, now time.Time) (*domain.Decision, error) {
	old, err := a.dec.Decisions.GetForUpdate(ctx, oldID)
	if err != nil {
		return nil, err
	}
	if err := old.ReplaceBy(by, now); err != nil {
		return nil, err
	}
	return &old, nil
}

// replace completes an amendment: the replaced decision (marked by amended) withdraws its
// allocations, is stored, and its DecisionAmended event names the amendment.
func (a *App) replace(ctx context.Context, old, by domain.Decision) error {
	if err := a.withdrawAllocations(ctx, old, domain.WithdrawalReasonFor("AMENDED")); err != nil {
		return err
	}
	if err := a.dec.Decisions.Update(ctx, old); err != nil {
		return err
	}
	return a.dec.Events.DecisionAmended(ctx, old, by)
}

// withdrawAllocations withdraws the decision's allocations that have not ended: issued,
// started and paused (a decision no longer in force leaves no allocation that care could
// restart under).
func (a *App) withdrawAllocations(ctx context.Context, d domain.Decision, reason string) error {
	for _, n := range d.AllocationNumbers {
		al, err := a.allocations.GetForUpdate(ctx, n)
		if err != nil {
			return err
		}
		withdrawn, err := al.WithdrawWithDecision(reason)
		if err != nil {
			return err
		}
		if !withdrawn {
			continue
		}
		if err := a.allocations.Update(ctx, al); err != nil {
			return err
		}
		if err := a.events.AllocationWithdrawn(ctx, al); err != nil {
			return err
		}
	}
	return nil
}

// SendDecision records that a decided decision was sent; the objection period starts. The
// letter is rendered as PDF (dated the day it is sent, with its objection deadline) and stored
// with the decision, addressed to the applicant as intake registered them at drafting, or to
// r when given (an override, e.g. a legal representative).
func (a *App) SendDecision(ctx context.Context, id string, r *Recipient, client string) (domain.Decision, error) {
	now := a.Now().UTC()
	return a.changeDecision(ctx, id, "providermonitoring.decision.send", a.asMunicipalOfficial, func(ctx context.Context, d *domain.Decision, _ identity.Caller) error {
		if err := d.Send(now, a.rules.Calendar); err != nil {
			return err
		}
		if r == nil && d.Addressee.Complete() {
			r = addresseeRecipient(d.Addressee)
		}
		if r != nil {
			in, err := a.letterInput(ctx, *d, *r, client, domain.DayIn(now, domain.Amsterdam))
			if err != nil {
				return err
			}
			if d.Letter, d.LetterContentType, err = a.dec.Letters.Render(in, LetterPDF); err != nil {
				return requestFields(err)
			}
		}
		if err := a.dec.Decisions.Update(ctx, *d); err != nil {
			return err
		}
		return a.dec.Events.DecisionSent(ctx, *d)
	})
}

// Amendment is what an amendment changes; nil keeps the old value.
type Amendment struct {
	End            *time.Time
	Volume         *domain.Volume
	BudgetCents    *int64
	MotivationText string
}

// AmendDecision drafts an amendment of a decided or sent decision: a new DRAFT that replaces
// it when decided. The due date is counted from today (the amendment's own application).
func (a *App) AmendDecision(ctx context.Context, id string, am Amendment) (domain.Decision, error) {
	now := a.Now().UTC()
	var n domain.Decision
	_, err := a.changeDecision(ctx, id, "providermonitoring.decision.amend", a.asOwner, func(ctx context.Context, d *domain.Decision, c identity.Caller) error {
		var err error
		if n, err = d.Amendment(a.NewID(), c.User, now); err != nil {
			return err
		}
		if am.End != nil {
			if am.End.Before(n.Start) {
				return apperr.Invalid("end_date", "cannot be before the decision's start date "+n.Start.Format(domain.DateLayout))
			}
			n.End = am.End
		}
		if am.Volume != nil {
			n.Volume = *am.Volume
		}
		if am.BudgetCents != nil {
			n.BudgetCents = *am.BudgetCents
		}
		if am.MotivationText != "" {
			n.Motivation.Text = am.MotivationText
		}
		n.ApplicationDate = domain.DayIn(now, domain.Amsterdam)
		n.DueDate = a.rules.Calendar.DecisionDueDate(n.LegalBasis, n.ApplicationDate)
		if err := a.dec.Decisions.Insert(ctx, n); err != nil {
			return err
		}
		if err := a.access.Record(ctx, decisionEntry("providermonitoring.decision.create", n.ID, accesslog.RouteTeam, accesslog.OutcomeGranted)); err != nil {
			return err
		}
		return a.dec.Events.DecisionDrafted(ctx, n)
	})
	return n, err
}

// WithdrawDecision withdraws a decided or sent decision and its running allocations.
func (a *App) WithdrawDecision(ctx context.Context, id, reason string) (domain.Decision, error) {
	now := a.Now().UTC()
	return a.changeDecision(ctx, id, "providermonitoring.decision.withdraw", a.asMunicipalOfficial, func(ctx context.Context, d *domain.Decision, _ identity.Caller) error {
		if err := d.Withdraw(reason, now); err != nil {
			return err
		}
		if err := a.withdrawAllocations(ctx, *d, domain.WithdrawalReasonFor(reason)); err != nil {
			return err
		}
		if err := a.dec.Decisions.Update(ctx, *d); err != nil {
			return err
		}
		return a.dec.Events.DecisionWithdrawn(ctx, *d)
	})
}

// RegisterObjection registers an objection against a sent decision, received on receivedOn
// and, sent by post, posted on postedOn (nil: not given); on time by Awb art. 6:9.
func (a *App) RegisterObjection(ctx context.Context, id string, receivedOn time.Time, postedOn *time.Time) (domain.Decision, error) {
	now := a.Now().UTC()
	return a.changeDecision(ctx, id, "providermonitoring.decision.register_objection", a.asMunicipalOfficial, func(ctx context.Context, d *domain.Decision, _ identity.Caller) error {
		if err := d.RegisterObjection(receivedOn, postedOn, now, a.rules.Calendar); err != nil {
			return err
		}
		if err := a.dec.Decisions.Update(ctx, *d); err != nil {
			return err
		}
		return a.dec.Events.DecisionObjectionRegistered(ctx, *d)
	})
}

// GetDecision returns a decision to the owning team, a municipality acting for its
// municipality or a Wijkbrug service (without its free text); to anyone else it does not
// exist.
func (a *App) GetDecision(ctx context.Context, id string) (domain.Decision, error) {
	var out domain.Decision
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		d, err := a.dec.Decisions.Get(ctx, id)
		if err != nil {
			return err
		}
		route, err := a.ownerRoute(ctx, d.TeamOIN, d.Municipality)
		if err != nil {
			return err
		}
		got, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: decisionEntry("providermonitoring.decision.read", id, "", ""), Route: route})
		if err != nil {
			return err
		}
		if got == accesslog.RouteService {
			// Free text (grounds, motivation, the letter) is for the team and the
			// municipality, not for a service, as intake keeps the question from services.
			d.RejectionGrounds, d.Motivation.Text, d.Letter = "", "", nil
		}
		out = d
		return nil
	})
	return out, err
}

// ListDecisions lists a municipality's decisions: all of them to a municipality acting for
// it, a team's own to a team. Every decision shown is access-logged. A read runs in no
// transaction: its access-log entry is committed before the page is returned, in one commit
// with the entries of other reads (logstore's group commit).
func (a *App) ListDecisions(ctx context.Context, municipality string, statuses []string, after *paging.At, size int) ([]domain.Decision, bool, error) {
	caller, _ := identity.From(ctx)
	team := ""
	route := accesslog.RouteTeam
	switch caller.Org.Type {
	case identity.OrgTeam:
		team = caller.Org.OIN
	case identity.OrgMunicipality:
		ok, err := a.providers.ActsFor(ctx, caller.Org.OIN, municipality)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, apperr.PermissionDenied("the organisation does not act for municipality " + municipality)
		}
	default:
		return nil, false, apperr.PermissionDenied("only teams and municipalities list decisions")
	}
	list, err := a.dec.Decisions.List(ctx, municipality, team, statuses, after, size+1)
	if err != nil {
		return nil, false, err
	}
	out, more := paging.Cut(list, size)
	entries := make([]accesslog.Entry, 0, len(out))
	for _, d := range out {
		entries = append(entries, decisionEntry("providermonitoring.decision.list", d.ID, route, accesslog.OutcomeGranted))
	}
	if err := a.access.RecordMany(ctx, entries); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// AdoptMandateRegister adopts reg as the next version of its municipality's register. The
// caller must be a MUNICIPALITY acting for it; expectedVersion must be the version in force
// (so two administrators cannot overwrite each other unseen). Registers hold no personal data.
func (a *App) AdoptMandateRegister(ctx context.Context, reg domain.MandateRegister, expectedVersion int) (domain.MandateRegister, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return reg, apperr.Unauthenticated("no caller")
	}
	if caller.Org.Type != identity.OrgMunicipality {
		return reg, apperr.PermissionDenied("only a municipality adopts mandate registers")
	}
	if v := reg.Validate(a.codes); len(v) > 0 {
		var val apperr.Validation
		for _, x := range v {
			val.Add(x.Field, x.Reason)
		}
		return reg, val.Err()
	}
	var out domain.MandateRegister
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		ok, err := a.providers.ActsFor(ctx, caller.Org.OIN, reg.Municipality)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.PermissionDenied("the organisation does not act for municipality " + reg.Municipality)
		}
		current, err := a.dec.Mandates.CurrentForUpdate(ctx, reg.Municipality)
		if err != nil {
			return err
		}
		if current.Version != expectedVersion {
			return apperr.FailedPrecondition(fmt.Sprintf("the mandate register in force is version %d, not the expected %d", current.Version, expectedVersion))
		}
		reg.AdoptedAt, reg.AdoptedBy = a.Now().UTC(), caller.User
		out, err = a.dec.Mandates.Adopt(ctx, reg)
		return err
	})
	return out, err
}

// ListMandates returns a version of a municipality's mandate register (no personal data).
func (a *App) ListMandates(ctx context.Context, municipality string, version int) (domain.MandateRegister, error) {
	return a.dec.Mandates.Version(ctx, municipality, version)
}

// AlertOverdueDecisions is one batch of the decision-overdue scheduler: decision.overdue once
// for each decision not DECIDED by its statutory due date.
func (a *App) AlertOverdueDecisions(ctx context.Context, limit int) (int, error) {
	n := 0
	now := a.Now().UTC()
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		due, err := a.dec.Decisions.ClaimOverdue(ctx, domain.DayIn(now, domain.Amsterdam), now, limit)
		if err != nil {
			return err
		}
		for _, d := range due {
			if err := a.dec.Events.DecisionOverdue(ctx, d, now); err != nil {
				return err
			}
			if err := a.access.Record(ctx, decisionEntry("providermonitoring.decision.alert_overdue", d.ID, accesslog.RouteSystem, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

var (
	_ apperr.ForbiddenTransition = domain.DecisionTransitionError{}
	_ apperr.ForbiddenTransition = domain.DecisionStateError{}
	_ apperr.Forbidden           = domain.MandateError{}
)
