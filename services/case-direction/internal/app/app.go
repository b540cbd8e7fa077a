// Package app holds the case-direction use cases of the walking skeleton: opening a case for a
// household, reading it, assigning its director and allocating custom care for it through
// provider-monitoring. Ports are declared here, by their consumer.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/txn"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// Cases stores cases, their director history and their allocation actions.
type Cases interface {
	// Insert stores a new case. When the household already has an open case nothing is
	// stored and that case's id is returned instead.
	Insert(ctx context.Context, c domain.Case) (existingID string, err error)
	// Get returns a case with its allocations, or apperr NotFound.
	Get(ctx context.Context, id string) (domain.Case, error)
	// GetForUpdate is Get with the case row locked for the rest of the transaction.
	GetForUpdate(ctx context.Context, id string) (domain.Case, error)
	// GetForShare is Get with the case row share-locked for the rest of the transaction: it
	// keeps the case from changing (closing) without blocking inserts that reference it.
	GetForShare(ctx context.Context, id string) (domain.Case, error)
	// Update stores the mutable part of a case: status, director, closing time.
	Update(ctx context.Context, c domain.Case) error
	// RecordDirector ends the current entry of the director history and starts one for d.
	RecordDirector(ctx context.Context, caseID string, d domain.Director) error
	// AddAllocation stores an allocation action; false when that allocation number is
	// already recorded. An action of origin CASE_REQUEST claims an allocation the case
	// already learnt of from provider-monitoring's event (the event raced the request) and
	// reports true.
	AddAllocation(ctx context.Context, caseID string, a domain.AllocationAction) (bool, error)
	// SetAllocationStatus moves an allocation whose status is one of from to status to. It
	// returns the case of the allocation ("" when the number is unknown), whether anything
	// changed and, when it did, the case's current residents.
	SetAllocationStatus(ctx context.Context, number string, from []string, to string, at time.Time) (domain.AllocationWrite, error)
	// AllocationCase returns the case of an allocation, "" when the number is unknown.
	AllocationCase(ctx context.Context, number string) (string, error)
	// AllocationState returns the case of an allocation ("" when the number is unknown) and
	// whether it is pending: attached by provider-monitoring and not yet confirmed.
	AllocationState(ctx context.Context, number string) (caseID string, pending bool, err error)
	// ConfirmAllocation marks a pending allocation as committed by provider-monitoring.
	ConfirmAllocation(ctx context.Context, number string) error
	// DropPendingAllocation removes a pending allocation provider-monitoring never committed.
	DropPendingAllocation(ctx context.Context, number string) error
	// LockPendingAllocations locks up to limit allocations pending since before, oldest
	// first (FOR UPDATE SKIP LOCKED), and returns their numbers.
	LockPendingAllocations(ctx context.Context, before time.Time, limit int) ([]string, error)
	// SetAllocationProgress records the latest progress judgement unless a later one was
	// recorded; it returns what SetAllocationStatus does.
	SetAllocationProgress(ctx context.Context, number, judgement string, at time.Time) (domain.AllocationWrite, error)

	// SetResidents makes refs the case's current residents; false when nothing changed.
	SetResidents(ctx context.Context, caseID string, refs []domain.ResidentRef, at time.Time) (bool, error)
	// CurrentResidents returns the residents the case concerns now, ordered by id; NOT_FOUND
	// for a case that does not exist.
	CurrentResidents(ctx context.Context, caseID string) ([]domain.ResidentRef, error)
	// OpenCaseOf returns the household's open case, "" when it has none.
	OpenCaseOf(ctx context.Context, householdID string) (string, error)
	// RecordIntakeHousehold remembers which household an intake is about.
	RecordIntakeHousehold(ctx context.Context, intakeID, householdID string) error
	// CaseOfIntake returns the case a referral made for an intake belongs to: the case it is
	// recorded on, else the case opened from the intake, else the open case of the intake's
	// household (own false); "" when there is none.
	CaseOfIntake(ctx context.Context, intakeID, referralID string) (id string, own bool, err error)
	// SetReferralIntake marks a referral of the case as made for the intake.
	SetReferralIntake(ctx context.Context, referralID, intakeID string) error

	// SavePlan stores a newly adopted plan version and its goals.
	SavePlan(ctx context.Context, caseID string, p domain.Plan) error
	// SetGoalStatus stores a goal's status.
	SetGoalStatus(ctx context.Context, goalID string, status domain.GoalStatus, at time.Time) error
	// ReferralCase returns the case the referral service reported a referral for ("" for
	// none).
	ReferralCase(ctx context.Context, referralID string) (caseID string, err error)
	// AddGoalAction links a referral or allocation to a goal; false when already linked.
	AddGoalAction(ctx context.Context, goalID string, a domain.GoalAction, at time.Time) (bool, error)
	// SetReferralStatus records a reported referral status unless a later one is known.
	SetReferralStatus(ctx context.Context, caseID, referralID, status string, at time.Time) (bool, error)
	// AddTodo stores an evaluation to-do unless the same one is open; false then.
	AddTodo(ctx context.Context, caseID string, t domain.EvaluationTodo) (bool, error)
	// AddEvaluation stores an evaluation and settles the open to-dos.
	AddEvaluation(ctx context.Context, caseID string, e domain.Evaluation) error
	// AddConference stores a case conference.
	AddConference(ctx context.Context, caseID string, c domain.Conference) error
	// AddCheckIn stores a pilot-light check-in.
	AddCheckIn(ctx context.Context, caseID, by string, reopened bool, at time.Time) error
	// SaveSafetyConcern inserts or updates a safety concern.
	SaveSafetyConcern(ctx context.Context, caseID string, s domain.SafetyConcern) error
	// SaveOutcomes stores the closing outcomes per life domain.
	SaveOutcomes(ctx context.Context, caseID string, o []domain.DomainOutcome) error
	// List returns one page of a caseload and the counts per status.
	List(ctx context.Context, f domain.ListFilter) ([]domain.Summary, map[domain.Status]int, error)
	// FoldCounts folds the count rows of up to limit groups of the caseload counts into one
	// each and reports how many groups it folded.
	FoldCounts(ctx context.Context, limit int) (int, error)
	// LockDueWatches locks (FOR UPDATE SKIP LOCKED) up to limit cases in WATCH whose next
	// check-in was due at or before now.
	LockDueWatches(ctx context.Context, now time.Time, limit int) ([]domain.Case, error)
	// RecordOverdue notes a missed check-in; false when it was noted before.
	RecordOverdue(ctx context.Context, caseID string, dueAt, at time.Time) (bool, error)

	// AddInvolvement stores a new involvement.
	AddInvolvement(ctx context.Context, caseID string, i domain.Involvement) error
	// SaveInvolvementEnd stores an involvement's last day and the moment it was ended.
	SaveInvolvementEnd(ctx context.Context, caseID string, i domain.Involvement) error
	// EndDirectorInvolvement ends the current director's involvement now and returns it
	// (nil when there was none).
	EndDirectorInvolvement(ctx context.Context, caseID string, at time.Time) (*domain.Involvement, error)
	// EndOpenInvolvements ends every involvement but the director's that has not ended yet
	// and returns them.
	EndOpenInvolvements(ctx context.Context, caseID string, at time.Time) ([]domain.Involvement, error)
	// InvolvedCases returns, newest first (opened_at, id descending), the ids and positions of
	// up to limit cases after the cursor in which the organisation has an involvement active
	// at t.
	InvolvedCases(ctx context.Context, orgOIN, orgType string, t time.Time, after *domain.Cursor, limit int) ([]domain.Cursor, error)
}

// Events publishes what happened (through the outbox, in the same transaction).
type Events interface {
	CaseOpened(ctx context.Context, c domain.Case) error
	CaseDirectorAssigned(ctx context.Context, c domain.Case) error
	CaseAllocationRequested(ctx context.Context, c domain.Case, a domain.AllocationAction) error
	CaseStatusChanged(ctx context.Context, c domain.Case, from domain.Status, at time.Time) error
	CaseClosed(ctx context.Context, c domain.Case, at time.Time) error
	CasePlanAdopted(ctx context.Context, c domain.Case) error
	CaseGoalStatusChanged(ctx context.Context, c domain.Case, g domain.Goal, from domain.GoalStatus, at time.Time) error
	CaseGoalActionAdded(ctx context.Context, c domain.Case, goalID string, a domain.GoalAction) error
	CaseEvaluated(ctx context.Context, c domain.Case, e domain.Evaluation) error
	CaseEvaluationDue(ctx context.Context, c domain.Case, t domain.EvaluationTodo) error
	CaseConferenceHeld(ctx context.Context, c domain.Case, conf domain.Conference) error
	CaseWatchCheckedIn(ctx context.Context, c domain.Case, reopened bool, at time.Time) error
	CaseWatchCheckOverdue(ctx context.Context, c domain.Case, dueAt time.Time) error
	CaseSafetyConcernRecorded(ctx context.Context, c domain.Case, s domain.SafetyConcern) error
	CaseHandedOver(ctx context.Context, c domain.Case) error
	CaseInvolvementAdded(ctx context.Context, c domain.Case, i domain.Involvement, at time.Time) error
	CaseInvolvementEnded(ctx context.Context, c domain.Case, i domain.Involvement, at time.Time) error
	CaseResidentsChanged(ctx context.Context, c domain.Case, at time.Time) error
}

// Volume is an amount of care per unit and frequency: the VolumeUnit and VolumeFrequency codes
// (HOUR, WEEK); provider-monitoring maps them to the iJw/iWmo code lists.
type Volume struct {
	Amount    int32
	Unit      string
	Frequency string
}

// AllocationRequest is what a director asks for: which care, from whom, when and how much.
type AllocationRequest struct {
	ProviderAGB     string
	ProductCategory string
	ProductCode     string
	StartDate       string
	EndDate         string
	Volume          Volume
}

// AllocationOrder is the request as sent to provider-monitoring, completed with the case.
type AllocationOrder struct {
	AllocationRequest
	IdempotencyKey string
	CaseID         string
	Municipality   string
	District       string
}

// Allocator issues allocations (provider-monitoring). Its errors are statuses of the peer
// and are passed on to the caller as they are: "no valid contract" means the same thing to
// the director as to us.
type Allocator interface {
	Allocate(ctx context.Context, o AllocationOrder) (domain.AllocationAction, error)
	// Allocation reads an allocation issued some other way (as a Wijkbrug service) and
	// returns it as an action with the case it was issued for ("" when none).
	Allocation(ctx context.Context, number string) (a domain.AllocationAction, caseID string, err error)
}

// Households reads the current members of a household from intake (ids and pseudonyms).
type Households interface {
	Residents(ctx context.Context, householdID string) ([]domain.ResidentRef, error)
}

// Comparison is two ZRM assessments compared by intake: the later one's scores and the
// change per life domain.
type Comparison struct {
	Scores  []domain.Score
	Changes []domain.DomainChange
}

// Assessments compares ZRM assessments recorded in intake (ZRM once: case direction never
// re-types scores). Both must concern the household or a resident who is or was one of its
// members; otherwise the answer is NOT_FOUND, passed on to the caller.
type Assessments interface {
	Compare(ctx context.Context, householdID, fromID, toID string) (Comparison, error)
}

// App is the case-direction application.
type App struct {
	tx          txn.Runner
	cases       Cases
	events      Events
	access      accesslog.Recorder
	allocator   Allocator
	assessments Assessments
	households  Households
	Now         func() time.Time
}

// Deps are the application's ports.
type Deps struct {
	Tx          txn.Runner
	Cases       Cases
	Events      Events
	Access      accesslog.Recorder
	Allocator   Allocator
	Assessments Assessments
	Households  Households
}

// New builds the application.
func New(d Deps) *App {
	return &App{tx: d.Tx, cases: d.Cases, events: d.Events, access: d.Access, allocator: d.Allocator, assessments: d.Assessments,
		households: d.Households, Now: time.Now}
}

// Access-log actions.
const (
	actionCreate            = "casedirection.case.create"
	actionRead              = "casedirection.case.read"
	actionAssignDirector    = "casedirection.case.assign_director"
	actionRequestAllocation = "casedirection.case.request_allocation"
	actionAllocationStarted = "casedirection.case.allocation_started"
	actionAllocationStatus  = "casedirection.case.allocation_status"
	actionList              = "casedirection.case.list"
	actionAdoptPlan         = "casedirection.case.adopt_plan"
	actionStartPlan         = "casedirection.case.start_plan"
	actionGoalAction        = "casedirection.case.add_goal_action"
	actionGoalStatus        = "casedirection.case.set_goal_status"
	actionEvaluate          = "casedirection.case.evaluate"
	actionConference        = "casedirection.case.record_conference"
	actionCheckIn           = "casedirection.case.check_in"
	actionSafety            = "casedirection.case.record_safety_concern"
	actionHandOver          = "casedirection.case.hand_over"
	actionClose             = "casedirection.case.close"
	actionReferralStatus    = "casedirection.case.referral_status"
	actionEvaluationDue     = "casedirection.case.evaluation_due"
	actionAddInvolvement    = "casedirection.case.add_involvement"
	actionEndInvolvement    = "casedirection.case.end_involvement"
	actionListInvolvements  = "casedirection.case.list_involvements"
	actionResidents         = "casedirection.case.residents"
	actionListResidents     = "casedirection.case.list_residents"
	actionAllocationLinked  = "casedirection.case.allocation_linked"
	actionListInvolved      = "casedirection.case.list_involved"
)

// OpenCase registers a case for a household. Intake opens cases (as a Wijkbrug service); a
// team may open one for itself. A household with an open case gets no second one: the answer
// is ALREADY_EXISTS naming the open case, so intake can link to it.
func (a *App) OpenCase(ctx context.Context, c domain.Case) (domain.Case, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return c, apperr.Unauthenticated("no caller")
	}
	if caller.Org.Type != identity.OrgService && caller.Org.OIN != c.TeamOIN {
		return c, apperr.PermissionDenied("a team can only open cases for itself")
	}
	c.ID = uuid.NewString()
	c.Status = domain.StatusRegistered
	c.Director = nil
	c.OpenedAt = a.now()
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		existing, err := a.cases.Insert(ctx, c)
		if err != nil {
			return err
		}
		if existing != "" {
			return a.alreadyOpen(ctx, caller, existing)
		}
		if err := a.events.CaseOpened(ctx, c); err != nil {
			return err
		}
		// Logged under each resident the case was opened with: the same pseudonyms the
		// recorder would read back from the rows this transaction wrote, without the read.
		return a.access.Record(ctx, caseEntry(actionCreate, c, accesslog.RouteNewRecord, accesslog.OutcomeGranted))
	})
	if err != nil {
		return domain.Case{}, err
	}
	return c, nil
}

// alreadyOpen names the household's open case to callers that may see it. Another team only
// learns that there is one, so the id of a case it is not part of is not disclosed.
func (a *App) alreadyOpen(ctx context.Context, caller identity.Caller, existingID string) error {
	const msg = "household already has an open case"
	if caller.Org.Type == identity.OrgService {
		return apperr.AlreadyExists("case", existingID, msg)
	}
	other, err := a.cases.Get(ctx, existingID)
	if err != nil {
		return err
	}
	if other.TeamOIN == caller.Org.OIN {
		return apperr.AlreadyExists("case", existingID, msg)
	}
	return apperr.AlreadyExists("case", "", msg)
}

// GetCase returns a case to its team, to a Wijkbrug service, or to an organisation with an
// active involvement in it (which does not see case-conference decisions, the case's only
// free text). Anyone else gets NOT_FOUND, so the existence of another team's case is not
// disclosed; the refusal is logged too. An emergency grant opens the case as an involvement
// does: the decisions stay with the team.
func (a *App) GetCase(ctx context.Context, id string) (domain.Case, error) {
	c, route, err := a.read(ctx, id, actionRead)
	if err != nil {
		return domain.Case{}, err
	}
	if route == accesslog.RouteInvolved || route == accesslog.RouteEmergency {
		involvedView(&c)
	}
	return c, nil
}

// involvedView is a case as an involved organisation sees it: without the case-conference
// decisions, the case's only free text.
func involvedView(c *domain.Case) {
	for k := range c.Details.Conferences {
		c.Details.Conferences[k].Decisions = nil
	}
}

// ListInvolvements returns every involvement of the case (past, current and future) to whoever
// may read the case.
func (a *App) ListInvolvements(ctx context.Context, id string) ([]domain.Involvement, error) {
	c, _, err := a.read(ctx, id, actionListInvolvements)
	return c.Involvements, err
}

// CheckInvolvement answers another Wijkbrug service whether an organisation is the case's team
// or has an involvement active now. An unknown case is simply "not involved". With withFacts,
// an involved organisation's case comes with the answer (nil otherwise), without the
// case-conference decisions, logged as GetCase and ListCaseResidents log a service's reads: one
// call and one commit instead of three (issue 12).
func (a *App) CheckInvolvement(ctx context.Context, caseID, orgOIN, orgType string, withFacts bool) (bool, *domain.Case, error) {
	var involved bool
	var facts *domain.Case
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.cases.Get(ctx, caseID)
		if apperr.IsKind(err, apperr.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		involved = (orgType == string(identity.OrgTeam) && orgOIN == c.TeamOIN) || c.InvolvedAt(orgOIN, orgType, a.now())
		outcome := accesslog.OutcomeGranted
		if !involved {
			outcome = accesslog.OutcomeDenied
		}
		if err := a.access.Record(ctx, caseEntry("casedirection.case.check_involvement", c, accesslog.RouteService, outcome)); err != nil {
			return err
		}
		if !involved || !withFacts {
			return nil
		}
		for _, action := range []string{actionRead, actionListResidents} {
			if err := a.access.Record(ctx, caseEntry(action, c, accesslog.RouteService, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		// What the service asks for does not include the case-conference decisions (the case's
		// only free text): they stay here, as an involved organisation's view leaves them out.
		involvedView(&c)
		facts = &c
		return nil
	})
	if err != nil {
		return false, nil, err
	}
	return involved, facts, nil
}

// read loads a case for a reader and logs the read under action, granted or denied
// (accesslog.Guard).
func (a *App) read(ctx context.Context, id, action string) (domain.Case, string, error) {
	caller, _ := identity.From(ctx)
	var out domain.Case
	var route string
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		c, err := a.cases.Get(ctx, id)
		if err != nil {
			return err
		}
		route, err = accesslog.Guard(ctx, a.access, accesslog.Access{Entry: caseEntry(action, c, "", ""), Route: readRoute(caller, c, a.now())})
		out = c
		return err
	})
	if err != nil {
		return domain.Case{}, "", err
	}
	return out, route, nil
}

// AssignDirector makes a professional of the calling team the director of the team's case:
// a registered case becomes ACTIVE, a running one is handed over to the new director.
func (a *App) AssignDirector(ctx context.Context, caseID, professionalID string) (domain.Case, error) {
	caller, _ := identity.From(ctx)
	var out domain.Case
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.cases.GetForUpdate(ctx, caseID)
		if err != nil {
			return err
		}
		if err := a.requireTeam(ctx, caller, c, actionAssignDirector); err != nil {
			return err
		}
		from, at := c.Status, a.now()
		changed, err := c.AssignDirector(professionalID, caller.Org.OIN, at)
		if err != nil {
			return err
		}
		if c.Status != from {
			if err := a.events.CaseStatusChanged(ctx, c, from, at); err != nil {
				return err
			}
		}
		if changed {
			if err := a.cases.Update(ctx, c); err != nil {
				return err
			}
			if err := a.cases.RecordDirector(ctx, c.ID, *c.Director); err != nil {
				return err
			}
			if err := a.events.CaseDirectorAssigned(ctx, c); err != nil {
				return err
			}
			if err := a.replaceDirectorInvolvement(ctx, c, at); err != nil {
				return err
			}
			if c, err = a.cases.Get(ctx, c.ID); err != nil {
				return err
			}
		}
		out = c
		return a.access.Record(ctx, caseEntry(actionAssignDirector, c, accesslog.RouteTeam, accesslog.OutcomeGranted))
	})
	return out, err
}

// RequestAllocation has provider-monitoring allocate custom care for the case and records the
// allocation as an action of the case. The key sent to provider-monitoring is derived from
// the case and the caller's own key, so a retry (also after this transaction rolled back
// behind a successful allocation) gets the same allocation instead of a second one.
func (a *App) RequestAllocation(ctx context.Context, caseID, idempotencyKey string, req AllocationRequest, goalIDs []string) (domain.Case, string, error) {
	caller, _ := identity.From(ctx)
	var out domain.Case
	var number string
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		// Share-locked across the call to provider-monitoring: a CloseCase (or handover) waits
		// for this allocation to be recorded and then sees it open, instead of closing the case
		// while the allocation is being issued (the concurrency probe found a CLOSED case with
		// an ISSUED allocation). Other allocations and events of the case are not blocked: they
		// insert rows that reference the case, or wait for the commit.
		c, err := a.cases.GetForShare(ctx, caseID)
		if err != nil {
			return err
		}
		if err := a.requireTeam(ctx, caller, c, actionRequestAllocation); err != nil {
			return err
		}
		if err := c.CanRequestAllocation(); err != nil {
			return err
		}
		for _, g := range goalIDs {
			if _, ok := c.Plan.Goal(g); !ok {
				return apperr.NotFound("goal", g)
			}
		}
		action, err := a.allocator.Allocate(ctx, AllocationOrder{
			AllocationRequest: req,
			IdempotencyKey:    DerivedKey(c.ID, idempotencyKey),
			CaseID:            c.ID,
			Municipality:      c.Municipality,
			District:          c.District,
		})
		if err != nil {
			return err
		}
		added, err := a.cases.AddAllocation(ctx, c.ID, action)
		if err != nil {
			return err
		}
		if added {
			c.Allocations = withAllocation(c.Allocations, action)
			if err := a.events.CaseAllocationRequested(ctx, c, action); err != nil {
				return err
			}
		}
		for _, g := range goalIDs {
			ga := domain.GoalAction{AllocationNumber: action.Number, Status: action.Status}
			linked, err := a.cases.AddGoalAction(ctx, g, ga, a.now())
			if err != nil {
				return err
			}
			if linked {
				if err := a.events.CaseGoalActionAdded(ctx, c, g, ga); err != nil {
					return err
				}
			}
		}
		if len(goalIDs) > 0 {
			if c, err = a.cases.Get(ctx, c.ID); err != nil {
				return err
			}
		}
		out, number = c, action.Number
		return a.access.Record(ctx, caseEntry(actionRequestAllocation, c, accesslog.RouteTeam, accesslog.OutcomeGranted))
	})
	return out, number, err
}

// MaxPeerKeyLength is the longest idempotency key a Wijkbrug service accepts
// (pkg/idempotency.MaxKeyLength).
const MaxPeerKeyLength = 128

// DerivedKey is the idempotency key for provider-monitoring: "case-<case id>-<caller's key>".
// A caller's key may itself be up to 128 bytes, which would make the derived key too long for
// the peer; such keys are replaced by their SHA-256, which keeps the derivation stable.
func DerivedKey(caseID, key string) string {
	k := "case-" + caseID + "-" + key
	if len(k) <= MaxPeerKeyLength {
		return k
	}
	sum := sha256.Sum256([]byte(key))
	return "case-" + caseID + "-sha256:" + hex.EncodeToString(sum[:])
}

// requireTeam lets only the team that owns the case change it. Others get NOT_FOUND (their
// attempt is logged outside the transaction, which the refusal rolls back), except a team
// involved in the case: it reads the case, so its existence is no secret to it, and it is
// told PERMISSION_DENIED instead.
func (a *App) requireTeam(ctx context.Context, caller identity.Caller, c domain.Case, action string) error {
	route := ""
	if caller.Org.Type == identity.OrgTeam && caller.Org.OIN == c.TeamOIN {
		route = accesslog.RouteTeam
	}
	_, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: caseEntry(action, c, "", ""), Route: route, Change: true, Quiet: true})
	if apperr.IsKind(err, apperr.KindNotFound) && readRoute(caller, c, a.now()) == accesslog.RouteInvolved {
		return apperr.PermissionDenied("only the team that owns the case can change it; an involved team reads it")
	}
	return err
}

// readRoute is how caller may read the case at `at`: as a Wijkbrug service, as the owning
// team, or through an active involvement; "" when it may not.
func readRoute(caller identity.Caller, c domain.Case, at time.Time) string {
	switch {
	case caller.Org.Type == identity.OrgService:
		return accesslog.RouteService
	case caller.Org.Type == identity.OrgTeam && caller.Org.OIN == c.TeamOIN:
		return accesslog.RouteTeam
	case c.InvolvedAt(caller.Org.OIN, string(caller.Org.Type), at):
		return accesslog.RouteInvolved
	}
	return ""
}

// The domain's errors speak apperr's vocabulary, so they are returned as they are and the
// edge gives each its code; these lines keep a renamed method from silently making one INTERNAL.
var (
	_ apperr.ForbiddenTransition = (*domain.TransitionError)(nil)
	_ apperr.ForbiddenTransition = (*domain.ActionError)(nil)
	_ apperr.ForbiddenTransition = (*domain.GoalError)(nil)
	_ apperr.ForbiddenTransition = (*domain.ClosingError)(nil)
	_ apperr.ForbiddenTransition = (*domain.NoDirectorError)(nil)
	_ apperr.ForbiddenTransition = (*domain.MeldcodeError)(nil)
	_ apperr.RuleViolation       = (*domain.InvolvementError)(nil)
	_ apperr.Missing             = (*domain.UnknownGoalError)(nil)
)

// now is microsecond precision, as PostgreSQL stores it, so an answer given right after a
// write equals a later read of the same record.
func (a *App) now() time.Time { return a.Now().UTC().Truncate(time.Microsecond) }

// Today is the Dutch calendar day by the service's clock (domain.Day), as midnight UTC: the
// edge checks the dates of a request that need no stored state against it, with the request's
// other fields.
func (a *App) Today() time.Time { return domain.Day(a.now()) }

// entry builds an access-log entry. Cases hold no BSN, so the resident pseudonym stays empty;
// the case id leads to the household in intake.
func entry(action, caseID, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "case", ObjectID: caseID, Route: route, Outcome: outcome}
}

// caseEntry is entry for a case read with its current residents (Cases.Get) or opened with
// them: the access is logged under each of them without looking them up again (one round
// trip fewer per call, issue 12). Where the residents may have changed since the case was
// read (HouseholdChanged) or the case was not read, entry leaves them to the recorder.
func caseEntry(action string, c domain.Case, route, outcome string) accesslog.Entry {
	return residentsEntry(action, c.ID, c.CurrentPseudonyms(), route, outcome)
}

// residentsEntry is entry with the pseudonyms of the case's current residents as the caller
// read them (caseEntry, or a write to an allocation that returned them).
func residentsEntry(action, caseID string, residents []string, route, outcome string) accesslog.Entry {
	e := entry(action, caseID, route, outcome)
	e.Residents, e.ResidentsRead = residents, true
	return e
}

// withAllocation is the case's allocations with al in them once: a retried request may find
// the allocation already read with the case (recorded from provider-monitoring's event).
func withAllocation(all []domain.AllocationAction, al domain.AllocationAction) []domain.AllocationAction {
	for i := range all {
		if all[i].Number == al.Number {
			all[i] = al
			return all
		}
	}
	return append(all, al)
}
