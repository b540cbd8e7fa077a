// Package app holds the intake use cases: registering help requests from the desk, the phone,
// the web and partner signals, triaging them, and handing complex ones to case direction.
// Ports are declared here, by the consumer of them.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/txn"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// Residents stores residents.
type Residents interface {
	// Register returns the resident with r.BSN, inserting r when there is none yet; created
	// reports whether it was inserted. A resident that existed is returned as FindByBSN
	// returns it (the kept one after a merge). Registering the same BSN concurrently yields
	// one resident.
	Register(ctx context.Context, r domain.Resident) (res domain.Resident, created bool, err error)
	// FindByBSN returns the resident with the BSN (the kept one when it was merged);
	// apperr NotFound when none.
	FindByBSN(ctx context.Context, bsn string) (domain.Resident, error)
	// Get returns apperr NotFound when there is no such resident.
	Get(ctx context.Context, id string) (domain.Resident, error)
	AddTeam(ctx context.Context, teamOIN, residentID string) error
	// OtherTeams lists the teams other than teamOIN that work with the resident or with a
	// current member of the household, and whether the resident themself matched.
	OtherTeams(ctx context.Context, teamOIN, residentID, householdID string) ([]domain.InvolvedTeam, domain.MatchBasis, error)
	// NoteTeam remembers a team's name (from its certificate), to tell others whom to contact.
	NoteTeam(ctx context.Context, oin, name string) error
	TeamWorksWith(ctx context.Context, teamOIN, residentID string) (bool, error)
	TeamWorksWithHousehold(ctx context.Context, teamOIN, householdID string) (bool, error)
	// CurrentResidents returns a household's current members (id and pseudonym).
	CurrentResidents(ctx context.Context, householdID string) ([]domain.ResidentRef, error)
	// CurrentResidentsAfter returns up to limit current members with a resident id above after.
	CurrentResidentsAfter(ctx context.Context, householdID, after string, limit int) ([]domain.ResidentRef, error)
	// WasMember reports whether a resident is or was a member of a household.
	WasMember(ctx context.Context, householdID, residentID string) (bool, error)
	// HouseholdMunicipality returns apperr NotFound when there is no such household.
	HouseholdMunicipality(ctx context.Context, householdID string) (string, error)
	// Merge marks duplicate as merged into keep (memberships end on today, team links follow).
	Merge(ctx context.Context, keep, duplicate, today string) error
	// LockForMerge locks the residents, in id order, until the transaction ends.
	LockForMerge(ctx context.Context, ids ...string) error
	// LockResident locks the resident until the transaction ends; apperr NotFound when none.
	LockResident(ctx context.Context, id string) error
	// LoadDetails decrypts the resident's name, date of birth and address into r.
	LoadDetails(ctx context.Context, r *domain.Resident) error
	// SaveDetails stores the resident's name, date of birth, address and district.
	SaveDetails(ctx context.Context, r domain.Resident) error
}

// Households stores households.
type Households interface {
	Insert(ctx context.Context, h domain.Household) error
	// OfResident returns the id of the resident's current household; apperr NotFound when
	// none.
	OfResident(ctx context.Context, residentID string) (string, error)
	// GetHousehold returns the household with its address and all memberships; forUpdate
	// locks it. apperr NotFound when none.
	GetHousehold(ctx context.Context, id string, forUpdate bool) (domain.Household, error)
	// LockAddress serialises household registrations at one address.
	LockAddress(ctx context.Context, a domain.Address) error
	// FindByAddress returns the household with current members at the same dwelling.
	FindByAddress(ctx context.Context, a domain.Address) (id string, found bool, err error)
	AddMember(ctx context.Context, householdID string, m domain.Member) error
	EndMember(ctx context.Context, householdID, residentID, endedOn string) error
}

// Intakes stores intakes.
type Intakes interface {
	// Insert stores a new intake with the COMMIT of the transaction of ctx: nothing in that
	// transaction may read it back.
	Insert(ctx context.Context, i domain.Intake) error
	// Get returns apperr NotFound when there is no such intake.
	Get(ctx context.Context, id string) (domain.Intake, error)
	// GetForUpdate is Get, locking the intake until the transaction ends.
	GetForUpdate(ctx context.Context, id string) (domain.Intake, error)
	// Existing returns those of ids that name a stored intake.
	Existing(ctx context.Context, ids []string) ([]string, error)
	Update(ctx context.Context, i domain.Intake) error
	AddContactAttempt(ctx context.Context, id, intakeID, kind string, reached bool, at time.Time, by string) error
	// AddClarification stores a clarification conversation of the intake (its summary sealed).
	AddClarification(ctx context.Context, intakeID string, c domain.Clarification) error
	// Clarifications returns the intake's clarification conversations, oldest first, with
	// their summaries opened.
	Clarifications(ctx context.Context, intakeID string) ([]domain.Clarification, error)
	// Queue returns a team's open intakes in queue order, without the question.
	// Queue returns up to limit of them after the entry with key after (nil: from the start).
	Queue(ctx context.Context, teamOIN string, after *domain.QueueKey, limit int) ([]domain.Intake, error)
	// Find returns up to limit of the team's intakes that match f, newest received first,
	// after the position after (nil: from the newest).
	Find(ctx context.Context, teamOIN string, f domain.IntakeFilter, after *paging.At, limit int) ([]domain.Intake, error)
	// ClaimOverdue locks open intakes past their deadline not yet announced, skipping rows
	// other schedulers hold.
	ClaimOverdue(ctx context.Context, now time.Time, limit int) ([]domain.Intake, error)
	MarkOverdueAnnounced(ctx context.Context, id string, at time.Time) error
	MoveResident(ctx context.Context, fromResident, toResident, toHousehold string) error
}

// Policies stores triage policies.
type Policies interface {
	// Current returns the version in force, or the default policy.
	Current(ctx context.Context, municipality string) (domain.Policy, error)
	// CurrentForUpdate is Current, serialising adoptions for the municipality.
	CurrentForUpdate(ctx context.Context, municipality string) (domain.Policy, error)
	// Version returns one version (0 = default); apperr NotFound for an unknown one.
	Version(ctx context.Context, municipality string, version int) (domain.Policy, error)
	Insert(ctx context.Context, p domain.Policy) error
	Administers(ctx context.Context, orgOIN, municipality string) (bool, error)
}

// Assessments stores ZRM assessments.
type Assessments interface {
	Insert(ctx context.Context, a domain.Assessment) error
	// Get returns apperr NotFound when there is no such assessment.
	Get(ctx context.Context, id string) (domain.Assessment, error)
	List(ctx context.Context, residentID, householdID string) ([]domain.Assessment, error)
	// Page returns up to limit assessments of the resident or household, newest first, after
	// the given position (nil: from the newest).
	Page(ctx context.Context, residentID, householdID string, after *paging.At, limit int) ([]domain.Assessment, error)
	// Latest returns the newest assessment of the resident, else of the household.
	Latest(ctx context.Context, residentID, householdID string) (domain.Assessment, bool, error)
	MoveResident(ctx context.Context, from, to string) error
}

// Events publishes what happened (through the outbox, in the same transaction).
type Events interface {
	IntakeReceived(ctx context.Context, i domain.Intake) error
	IntakeTriaged(ctx context.Context, i domain.Intake, at time.Time) error
	IntakeContactAttempted(ctx context.Context, i domain.Intake, reached bool, at time.Time) error
	IntakeCaseOpened(ctx context.Context, i domain.Intake) error
	IntakeClosed(ctx context.Context, i domain.Intake, at time.Time) error
	IntakeTriageStarted(ctx context.Context, i domain.Intake) error
	IntakeTriageOverdue(ctx context.Context, i domain.Intake) error
	AssessmentRecorded(ctx context.Context, a domain.Assessment) error
	TriagePolicyReplaced(ctx context.Context, p domain.Policy) error
	ResidentsMerged(ctx context.Context, keep, duplicate domain.Resident) error
	HouseholdCreated(ctx context.Context, h domain.Household) error
	HouseholdMemberAdded(ctx context.Context, h domain.Household, m domain.Member, previousHouseholdID string) error
	HouseholdMemberRemoved(ctx context.Context, h domain.Household, residentID, endedOn string) error
	ResidentMatched(ctx context.Context, m domain.Match) error
}

// CaseRequest asks case direction to open the case of a household.
type CaseRequest struct {
	IdempotencyKey string
	HouseholdID    string
	IntakeID       string
	Municipality   string
	District       string
	TeamOIN        string
	LifeDomains    []string
	// BaselineAssessmentID is the latest ZRM assessment of the resident or household that the
	// intake's team may read, if any: the case's first evaluation compares with it.
	BaselineAssessmentID string
	// Residents are the household's current members (ids and pseudonyms), under whose
	// pseudonyms case-direction logs access to the case.
	Residents []domain.ResidentRef
}

// CaseDirection is the case-direction service.
type CaseDirection interface {
	// OpenCase returns the id of the new case. When the household already has an open case
	// it returns apperr AlreadyExists whose ID names that case.
	OpenCase(ctx context.Context, r CaseRequest) (caseID string, err error)
}

// Signal is what intake needs to know of a partner signal.
type Signal struct {
	ID          string
	SourceType  string
	ResidentBSN string
	Description string
	LifeDomains []string
	Crisis      bool
	// Meldcode is a signal shared under the meldcode huiselijk geweld en kindermishandeling
	// (legal basis MELDCODE): the source suspects domestic violence or child abuse.
	Meldcode     bool
	Municipality string
	District     string
}

// Signals is the referral service, which owns signals.
type Signals interface {
	// GetSignal returns apperr NotFound when referral does not know the signal.
	GetSignal(ctx context.Context, id string) (Signal, error)
	// GetSignals returns the signals in the order of ids (at most MaxSignalsPerRead),
	// or an error when referral does not know one of them.
	GetSignals(ctx context.Context, ids []string) ([]Signal, error)
}

// Pseudonymizer turns a BSN into the pseudonym used in the access log.
type Pseudonymizer interface {
	Pseudonym(bsn string) string
}

// Deps are the adapters the application runs on.
type Deps struct {
	Tx            txn.Runner
	Residents     Residents
	Households    Households
	Intakes       Intakes
	Policies      Policies
	Assessments   Assessments
	Events        Events
	Access        accesslog.Recorder
	Pseudo        Pseudonymizer
	CaseDirection CaseDirection
	Signals       Signals
	// DefaultTeamOIN owns intakes from signals until routing per district exists.
	DefaultTeamOIN string
}

// App is the intake application.
type App struct {
	d Deps
	// Now is the clock; tests move it.
	Now func() time.Time
}

// New builds the application.
func New(d Deps) *App { return &App{d: d, Now: time.Now} }

// now is microsecond precision, as PostgreSQL stores it, so an answer given right after a
// write equals a later read of the same record.
func (a *App) now() time.Time { return a.Now().UTC().Truncate(time.Microsecond) }

// today is the current date in the Netherlands, YYYY-MM-DD.
func (a *App) today() string { return domain.Today(a.now()).Format(domain.DateLayout) }

// RegisterIntake registers a help request a team took at the desk, by phone or digitally.
// The calling team owns it.
func (a *App) RegisterIntake(ctx context.Context, residentBSN string, in domain.Intake) (domain.Intake, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return in, apperr.Unauthenticated("no caller")
	}
	if caller.Org.Type != identity.OrgTeam {
		return in, apperr.PermissionDenied("only a neighbourhood team registers intakes")
	}
	if in.Channel == domain.ChannelSignal {
		return in, apperr.Invalid("channel", "intakes from signals are registered by the service itself")
	}
	in.ID = uuid.NewString()
	in.TeamOIN = caller.Org.OIN
	in.SignalIDs, in.SourceType = nil, ""
	var out domain.Intake
	err := a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		if err := a.d.Residents.NoteTeam(ctx, caller.Org.OIN, caller.Org.Name); err != nil {
			return err
		}
		var err error
		out, err = a.register(ctx, residentBSN, in, accesslog.RouteNewRecord)
		return err
	})
	if out.Match != nil {
		// A match is whom to contact, not access: the household's case (another team's,
		// when the intake joined it) stays unknown to the team, as GetCase keeps it.
		out.CaseID = ""
	}
	return out, err
}

// hideForeignCase leaves the case out of a team's intake when the team does not work with
// the intake's resident (the intake was a match, see relateTeam): the case it went to may be
// another team's, whose existence GetCase does not confirm to it either.
func (a *App) hideForeignCase(ctx context.Context, teamOIN string, in *domain.Intake) error {
	if in.CaseID == "" {
		return nil
	}
	works, err := a.d.Residents.TeamWorksWith(ctx, teamOIN, in.ResidentID)
	if err != nil {
		return err
	}
	if !works {
		in.CaseID = ""
	}
	return nil
}

// signalNamespace derives intake ids from signal ids, so that one signal gives one intake
// even when its event is published again with a new event id, and so that a retry after a
// rolled-back attempt asks case direction with the same idempotency key.
var signalNamespace = uuid.MustParse("6f1d4c2e-8a4b-4e0f-9a51-3c7d2b9e1f00")

// IntakeIDForSignal is the id of the intake registered for a signal.
func IntakeIDForSignal(signalID string) string {
	return uuid.NewSHA1(signalNamespace, []byte(signalID)).String()
}

// RegisterFromSignal registers the intake for a partner signal, owned by the default team.
// The signal event carries no personal data, so the details are read from referral (or were
// read ahead with the signals of other events: ReadSignalsAhead).
func (a *App) RegisterFromSignal(ctx context.Context, signalID string) (domain.Intake, error) {
	id := IntakeIDForSignal(signalID)
	var out domain.Intake
	err := a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		// A signal read ahead had no intake when it was read: it is registered without looking
		// again. Should one have been registered since (a copy of the event handled elsewhere
		// at the same moment), the intake's key refuses the second one at the commit and the
		// events are handled again alone, through the look-up below.
		sig, readAhead := takeSignal(ctx, signalID)
		if !readAhead {
			existing, err := a.d.Intakes.Get(ctx, id)
			if err == nil {
				out = existing
				return nil
			}
			if !apperr.IsKind(err, apperr.KindNotFound) {
				return err
			}
			if sig, err = a.d.Signals.GetSignal(ctx, signalID); err != nil {
				return err
			}
		}
		in := domain.Intake{
			ID: id, Channel: domain.ChannelSignal, SignalIDs: []string{signalID}, SourceType: sig.SourceType,
			Question: sig.Description, LifeDomains: sig.LifeDomains, Urgency: domain.SignalUrgency(sig.Crisis, sig.SourceType, sig.Meldcode),
			SafetyConcern: sig.Meldcode, Municipality: sig.Municipality, District: sig.District, TeamOIN: a.d.DefaultTeamOIN,
		}
		var err error
		out, err = a.register(ctx, sig.ResidentBSN, in, accesslog.RouteSystem)
		return err
	})
	return out, err
}

// register stores a new intake for the resident with residentBSN and triages it. It runs in
// the caller's transaction, and so does the call to case direction: that is safe because
// OpenCase is idempotent by key, and a retry of a rolled-back attempt reuses the key.
func (a *App) register(ctx context.Context, residentBSN string, in domain.Intake, route string) (domain.Intake, error) {
	res, created, err := a.d.Residents.Register(ctx, domain.Resident{
		ID: uuid.NewString(), BSN: residentBSN, Pseudonym: a.d.Pseudo.Pseudonym(residentBSN),
		Municipality: in.Municipality, District: in.District,
	})
	if err != nil {
		return in, err
	}
	// A known BSN may belong to a duplicate merged into another resident: Register returns
	// the kept one.
	if created {
		if err := a.d.Access.Record(ctx, accesslog.Entry{Action: "intake.resident.create", ObjectType: "resident", ObjectID: res.ID,
			ResidentPseudonym: res.Pseudonym, Route: route, Outcome: accesslog.OutcomeGranted}); err != nil {
			return in, err
		}
	}
	if in.HouseholdID, err = a.householdOf(ctx, res, created); err != nil {
		return in, err
	}
	in.ResidentID, in.ResidentPseudonym = res.ID, res.Pseudonym
	if err := a.relateTeam(ctx, &in, res, created); err != nil {
		return in, err
	}
	policy, err := a.currentPolicy(ctx, in.Municipality)
	if err != nil {
		return in, err
	}
	in.Receive(a.now(), policy)
	if err := a.d.Events.IntakeReceived(ctx, in); err != nil {
		return in, err
	}
	if err := a.d.Access.Record(ctx, a.entry("intake.intake.create", in, route, accesslog.OutcomeGranted)); err != nil {
		return in, err
	}
	// The intake is stored once, in the state its triage on receipt leaves it in
	// (triageOnReceipt inserts it).
	return a.triageOnReceipt(ctx, in, policy, created)
}

// householdOf returns the household a new intake belongs to: a new resident gets a
// one-person household; a known one keeps theirs.
func (a *App) householdOf(ctx context.Context, res domain.Resident, created bool) (string, error) {
	if !created {
		id, err := a.d.Households.OfResident(ctx, res.ID)
		if !apperr.IsKind(err, apperr.KindNotFound) {
			return id, err
		}
	}
	h := domain.NewSingleHousehold(uuid.NewString(), res, a.today())
	return h.ID, a.d.Households.Insert(ctx, h)
}

// triageOnReceipt applies the policy to a new intake. Only a decision for case direction is
// carried out at once (a crisis or a complex household should not wait); advice and
// referrals need the clarification conversation, so otherwise the intake waits RECEIVED in
// the team's queue and nothing more is announced.
//
// newResident says the resident was registered in this transaction, with a household made for
// them: neither can have a ZRM assessment yet, so the facts are the intake's own and nothing is
// looked up (two round trips fewer for every signal about someone new).
//
// The new intake is inserted here, in its state after triage (RECEIVED, or decided with its
// case), with the COMMIT: nothing reads it back in the registering transaction, so inserting
// it as received and updating it after the case was opened cost two round trips where none is
// needed (issue 12).
//
// Only ZRM assessments the intake's team may read count (readableAssessments): an intake that
// matched a resident another team works with is triaged without that team's assessments.
func (a *App) triageOnReceipt(ctx context.Context, in domain.Intake, policy domain.Policy, newResident bool) (domain.Intake, error) {
	facts := in.Facts()
	var scope assessmentScope
	if !newResident {
		var err error
		if scope, err = a.readableAssessments(ctx, in, true); err != nil {
			return in, err
		}
		if facts, err = a.facts(ctx, in, &scope); err != nil {
			return in, err
		}
	}
	d, decided := policy.Triage(facts)
	if !decided || d.Outcome != domain.OutcomeCaseDirection {
		return in, a.d.Intakes.Insert(ctx, in)
	}
	if in.Urgency != domain.UrgencyCrisis {
		// Triaged by the policy, without a professional.
		if err := in.StartTriage(""); err != nil {
			return in, err
		}
	}
	return a.carryOut(ctx, in, d, newResident, &scope, a.d.Intakes.Insert)
}

// assessmentScope names the resident and the household whose ZRM assessments an intake's team
// may read; "" for one it may not read.
//
// The latest assessment in scope is read once and kept (latest, looked): triage reads it for the
// policy's facts and a case opened right after starts from it, in the same transaction.
type assessmentScope struct {
	residentID, householdID string
	looked, found           bool
	latest                  domain.Assessment
}

// readableAssessments returns which of the intake's resident's and household's ZRM assessments
// the intake's team may read, by the rule ListAssessments applies to a caller of that team
// (subjectOf): a resident's when the team works with the resident, a household's when it works
// with a current member of it. Triage reads no other assessment: a team whose intake only
// matched a resident another team works with (relateTeam) reads none of that team's, so its
// triage outcome cannot hint at the other team's scores.
//
// atReceipt is for an intake being registered, whose relation to its team relateTeam has just
// settled: without a match the team works with the resident, a current member of the intake's
// household (householdOf), so nothing is looked up (the team's triage is as it always was);
// with a match it does not work with the resident, and only the household is asked about.
// Later (DecideTriage) both are asked: a handover may have given the team the file since.
func (a *App) readableAssessments(ctx context.Context, in domain.Intake, atReceipt bool) (assessmentScope, error) {
	if atReceipt && in.Match == nil {
		return assessmentScope{residentID: in.ResidentID, householdID: in.HouseholdID}, nil
	}
	var s assessmentScope
	if !atReceipt && in.ResidentID != "" {
		works, err := a.d.Residents.TeamWorksWith(ctx, in.TeamOIN, in.ResidentID)
		if err != nil {
			return s, err
		}
		if works {
			s.residentID = in.ResidentID
		}
	}
	if in.HouseholdID != "" {
		works, err := a.d.Residents.TeamWorksWithHousehold(ctx, in.TeamOIN, in.HouseholdID)
		if err != nil {
			return s, err
		}
		if works {
			s.householdID = in.HouseholdID
		}
	}
	return s, nil
}

// latestAssessment returns the newest assessment of the scope's resident, else of its
// household; ok is false when there is none the team may read.
func (a *App) latestAssessment(ctx context.Context, s *assessmentScope) (domain.Assessment, bool, error) {
	if s.residentID == "" && s.householdID == "" {
		return domain.Assessment{}, false, nil
	}
	if !s.looked {
		latest, found, err := a.d.Assessments.Latest(ctx, s.residentID, s.householdID)
		if err != nil {
			return latest, found, err
		}
		s.latest, s.found, s.looked = latest, found, true
	}
	return s.latest, s.found, nil
}

// facts are the intake's triage inputs with the latest ZRM assessment of its resident (or
// household) that the intake's team may read (scope, from readableAssessments).
func (a *App) facts(ctx context.Context, in domain.Intake, scope *assessmentScope) (domain.Facts, error) {
	f := in.Facts()
	latest, ok, err := a.latestAssessment(ctx, scope)
	if err != nil {
		return f, err
	}
	if ok {
		f.Scores = latest.ScoreMap()
	}
	return f, nil
}

// carryOut records decision d on the intake and carries it out: case direction opens (or
// joins) the household's case; other outcomes close the intake. It announces the decision,
// then the case or the closing. newResident is triageOnReceipt's and scope the assessments the
// intake's team may read (openCase says more). save stores the decided intake: Intakes.Update
// for a stored one, Intakes.Insert for one registered in this transaction.
func (a *App) carryOut(ctx context.Context, in domain.Intake, d domain.Decision, newResident bool, scope *assessmentScope, save func(context.Context, domain.Intake) error) (domain.Intake, error) {
	if err := in.Decide(d); err != nil {
		return in, err
	}
	if d.Outcome == domain.OutcomeCaseDirection {
		caseID, err := a.openCase(ctx, in, newResident, scope)
		if err != nil {
			return in, err
		}
		if err := in.LinkCase(caseID); err != nil {
			return in, err
		}
	}
	if err := save(ctx, in); err != nil {
		return in, err
	}
	if err := a.d.Events.IntakeTriaged(ctx, in, a.now()); err != nil {
		return in, err
	}
	if in.Status == domain.StatusCaseOpened {
		return in, a.d.Events.IntakeCaseOpened(ctx, in)
	}
	return in, a.d.Events.IntakeClosed(ctx, in, a.now())
}

// openCase asks case direction for the household's case. A household has at most one open
// case; when it already has one, the intake joins that case.
//
// newResident says the intake's resident was registered in this transaction: their household
// was made for them, so they are its one member and neither has a ZRM assessment to start the
// case from. Nothing is looked up then (two round trips fewer for a crisis about someone new).
// Otherwise the case starts from the latest assessment in scope, one the intake's team may read
// (readableAssessments), not from another team's, which the case's team could not compare with.
func (a *App) openCase(ctx context.Context, in domain.Intake, newResident bool, scope *assessmentScope) (string, error) {
	var residents []domain.ResidentRef
	var latest domain.Assessment
	var found bool
	if newResident {
		residents = []domain.ResidentRef{{ResidentID: in.ResidentID, Pseudonym: in.ResidentPseudonym}}
	} else {
		var err error
		if residents, err = a.d.Residents.CurrentResidents(ctx, in.HouseholdID); err != nil {
			return "", err
		}
		if latest, found, err = a.latestAssessment(ctx, scope); err != nil {
			return "", err
		}
	}
	req := CaseRequest{
		IdempotencyKey: "intake-" + in.ID, HouseholdID: in.HouseholdID, IntakeID: in.ID,
		Municipality: in.Municipality, District: in.District, TeamOIN: in.TeamOIN, LifeDomains: in.LifeDomains,
		Residents: residents,
	}
	if found {
		req.BaselineAssessmentID = latest.ID
	}
	caseID, err := a.d.CaseDirection.OpenCase(ctx, req)
	if e, ok := apperr.As(err); ok && e.Kind == apperr.KindAlreadyExists && e.ID != "" {
		return e.ID, nil
	}
	return caseID, err
}

// CheckIntakeOwnership answers another Wijkbrug service whether an organisation is the team
// that owns the intake. An unknown intake is simply "not the owner". With withFacts, an owner's
// intake and household come with the answer (nil otherwise).
func (a *App) CheckIntakeOwnership(ctx context.Context, id, orgOIN, orgType string, withFacts bool) (bool, *OwnedIntake, error) {
	var owner bool
	var facts *OwnedIntake
	err := a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		in, err := a.d.Intakes.Get(ctx, id)
		if apperr.IsKind(err, apperr.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		owner = orgType == string(identity.OrgTeam) && orgOIN == in.TeamOIN
		outcome := accesslog.OutcomeGranted
		if !owner {
			outcome = accesslog.OutcomeDenied
		}
		if err := a.d.Access.Record(ctx, a.entry("intake.intake.check_ownership", in, accesslog.RouteService, outcome)); err != nil {
			return err
		}
		if !owner || !withFacts {
			return nil
		}
		// The reads GetIntake (to a service: without the question) and ListHouseholdResidents
		// would make, logged as they log them, in this transaction (issue 12: one call and one
		// commit instead of three).
		if err := a.d.Access.Record(ctx, a.entry("intake.intake.read", in, accesslog.RouteService, accesslog.OutcomeGranted)); err != nil {
			return err
		}
		in.Question = ""
		facts = &OwnedIntake{Intake: in}
		if in.HouseholdID == "" {
			return nil
		}
		const page = 500
		for after := ""; ; {
			refs, err := a.d.Residents.CurrentResidentsAfter(ctx, in.HouseholdID, after, page)
			if err != nil {
				return err
			}
			for _, r := range refs {
				if err := a.d.Access.Record(ctx, householdMemberShown(in.HouseholdID, r.Pseudonym)); err != nil {
					return err
				}
				facts.HouseholdResidents = append(facts.HouseholdResidents, r.Pseudonym)
			}
			if len(refs) < page {
				return nil
			}
			after = refs[len(refs)-1].ResidentID
		}
	})
	if err != nil {
		return false, nil, err
	}
	return owner, facts, nil
}

// OwnedIntake is an intake as CheckIntakeOwnership gives it to the service that asked, with the
// pseudonyms of its household's current members.
type OwnedIntake struct {
	Intake             domain.Intake
	HouseholdResidents []string
}

// GetIntake returns an intake to the team that owns it, or to a Wijkbrug service without the
// question (which only the team needs). Anyone else gets NOT_FOUND, so the existence of
// another team's intake is not disclosed; the refusal is logged too.
func (a *App) GetIntake(ctx context.Context, id string) (domain.Intake, error) {
	caller, _ := identity.From(ctx)
	var out domain.Intake
	err := accesslog.ReadTx(ctx, a.d.Tx, func(ctx context.Context) error {
		in, err := a.d.Intakes.Get(ctx, id)
		if err != nil {
			return err
		}
		route := ""
		switch {
		case caller.Org.Type == identity.OrgService:
			route = accesslog.RouteService
			in.Question = ""
		case caller.Org.Type == identity.OrgTeam && caller.Org.OIN == in.TeamOIN:
			route = accesslog.RouteTeam
		}
		got, err := accesslog.Guard(ctx, a.d.Access, accesslog.Access{Entry: a.entry("intake.intake.read", in, "", ""), Route: route})
		if err != nil {
			return err
		}
		if got == accesslog.RouteTeam {
			if err := a.hideForeignCase(ctx, caller.Org.OIN, &in); err != nil {
				return err
			}
		}
		// The summaries are confidential free text like the question: not for a service.
		if got != accesslog.RouteService {
			if in.Clarifications, err = a.d.Intakes.Clarifications(ctx, in.ID); err != nil {
				return err
			}
		}
		out = in
		return nil
	})
	if err != nil {
		return domain.Intake{}, err
	}
	return out, nil
}

func (a *App) entry(action string, in domain.Intake, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "intake", ObjectID: in.ID,
		ResidentPseudonym: in.ResidentPseudonym, Route: route, Outcome: outcome}
}
