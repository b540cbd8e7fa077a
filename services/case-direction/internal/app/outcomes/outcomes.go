// Package outcomes is the application layer of outcome reporting (issue 17): it records the
// facts the consumers take from events, and answers figure queries for the municipality or
// team that may see them, with small cells suppressed.
package outcomes

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain/outcomes"
)

// Store is the read model: idempotent upserts keyed by aggregate id, and the facts of one
// municipality with their scope resolved.
type Store interface {
	SignalReceived(ctx context.Context, id string, s outcomes.Scope, source string, at time.Time) error
	IntakeReceived(ctx context.Context, id string, s outcomes.Scope, channel, source string, at time.Time) error
	IntakeContacted(ctx context.Context, id string, at time.Time) error
	IntakeTriaged(ctx context.Context, id, municipality, outcome string, at time.Time) error
	CaseOpened(ctx context.Context, id, intakeID string, s outcomes.Scope, at time.Time) error
	CaseScaledDown(ctx context.Context, id, municipality string, at time.Time) error
	CaseReescalated(ctx context.Context, id, municipality string, at time.Time) error
	CaseEnded(ctx context.Context, id, municipality string, handedOver bool, result string, at time.Time, domains []outcomes.DomainChange) error
	GoalSettled(ctx context.Context, goalID, caseID, lifeDomain, status string, at time.Time) error
	ReferralChanged(ctx context.Context, r ReferralChange) error
	AllocationIssued(ctx context.Context, number, caseID, municipality string, issuedAt, startDate time.Time) error
	AllocationStarted(ctx context.Context, number, caseID, municipality string, startDate, startedOn time.Time, onTime bool) error
	DecisionDecided(ctx context.Context, d DecisionFact) error
	DecisionOverdue(ctx context.Context, d DecisionFact) error

	Signals(ctx context.Context, municipality string) ([]outcomes.Signal, error)
	Intakes(ctx context.Context, municipality string) ([]outcomes.Intake, error)
	Cases(ctx context.Context, municipality string) ([]outcomes.Case, error)
	Goals(ctx context.Context, municipality string) ([]outcomes.Goal, error)
	Referrals(ctx context.Context, municipality string) ([]outcomes.Referral, error)
	Allocations(ctx context.Context, municipality string) ([]outcomes.Allocation, error)
	Decisions(ctx context.Context, municipality string) ([]outcomes.Decision, error)
}

// DecisionFact is what decision.decided or decision.overdue says about one decision (no
// resident, no product, no text). DecidedOn is zero for decision.overdue.
type DecisionFact struct {
	ID, CaseID, IntakeID, Municipality, District, LegalBasis string
	Granted, WithinTerm                                      bool
	DueDate, DecidedOn                                       time.Time
}

// ReferralChange is one status change of a referral.
type ReferralChange struct {
	ID, CaseID, IntakeID, Municipality, Status, DeclineReason string
	At                                                        time.Time
}

// Tx runs fn in one transaction (the consumer's, when there is one).
type Tx interface {
	Tx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Reports answers figure queries.
type Reports struct {
	Store Store
	// MinGroupSize is the minimum group size (outcomes.DefaultMinGroupSize when 0).
	MinGroupSize int64
	// MunicipalityOINs lists, per municipality code, the MUNICIPALITY organisations that may
	// see its figures.
	MunicipalityOINs map[string][]string
}

// FigureSet names the RPC's figure set.
type FigureSet int

// Figure sets.
const (
	IntakeSet FigureSet = iota
	CaseSet
	ZrmSet
	ReferralSet
	AllocationSet
	DecisionSet
)

// AllSets are the figure sets in the order the export writes them.
var AllSets = []FigureSet{IntakeSet, CaseSet, ZrmSet, ReferralSet, AllocationSet, DecisionSet}

// authorise checks that the caller may see q's figures: a MUNICIPALITY its own municipality,
// a TEAM its own figures (q is narrowed to the team).
func (r *Reports) authorise(ctx context.Context, q *outcomes.Query) error {
	caller, ok := identity.From(ctx)
	if !ok {
		return apperr.Unauthenticated("no caller")
	}
	switch caller.Org.Type {
	case identity.OrgMunicipality:
		for _, oin := range r.MunicipalityOINs[q.Municipality] {
			if oin == caller.Org.OIN {
				return nil
			}
		}
		return apperr.PermissionDenied("municipality_code: organisation " + caller.Org.OIN + " does not administer municipality " + q.Municipality)
	case identity.OrgTeam:
		if q.Team != "" && q.Team != caller.Org.OIN {
			return apperr.PermissionDenied("team_oin: a team sees its own figures only")
		}
		q.Team = caller.Org.OIN
		return nil
	}
	return apperr.PermissionDenied("outcome figures are for municipalities and teams")
}

// prepare checks q's periods and the caller's right to see it, narrows it to what the caller
// may see and sets the minimum group size.
func (r *Reports) prepare(ctx context.Context, q outcomes.Query) (outcomes.Query, error) {
	if _, err := q.Periods(); err != nil {
		return q, err
	}
	if err := r.authorise(ctx, &q); err != nil {
		return q, err
	}
	q.MinGroupSize = r.minGroupSize()
	return q, nil
}

// Figures computes one figure set for q.
func (r *Reports) Figures(ctx context.Context, set FigureSet, q outcomes.Query) ([]outcomes.Table, error) {
	q, err := r.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	return r.compute(ctx, set, q)
}

// MinGroup is the minimum group size in force.
func (r *Reports) MinGroup() int64 { return r.minGroupSize() }

func (r *Reports) minGroupSize() int64 {
	if r.MinGroupSize > 0 {
		return r.MinGroupSize
	}
	return outcomes.DefaultMinGroupSize
}

func (r *Reports) compute(ctx context.Context, set FigureSet, q outcomes.Query) ([]outcomes.Table, error) {
	switch set {
	case IntakeSet:
		in, err := r.Store.Intakes(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		sig, err := r.Store.Signals(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		return outcomes.IntakeFigures(q, sig, in)
	case CaseSet:
		cs, err := r.Store.Cases(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		return outcomes.CaseFigures(q, cs)
	case ZrmSet:
		cs, err := r.Store.Cases(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		gs, err := r.Store.Goals(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		return outcomes.ZrmChange(q, cs, gs)
	case ReferralSet:
		rs, err := r.Store.Referrals(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		return outcomes.ReferralFigures(q, rs)
	case AllocationSet:
		as, err := r.Store.Allocations(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		return outcomes.AllocationFigures(q, as)
	case DecisionSet:
		ds, err := r.Store.Decisions(ctx, q.Municipality)
		if err != nil {
			return nil, err
		}
		return outcomes.DecisionFigures(q, ds)
	}
	return nil, apperr.Invalid("figure_set", "unknown figure set")
}

// Export computes every figure set for q (one authorisation, one minimum).
func (r *Reports) Export(ctx context.Context, q outcomes.Query) ([]outcomes.Table, error) {
	q, err := r.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []outcomes.Table
	for _, set := range AllSets {
		ts, err := r.compute(ctx, set, q)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

// Report gathers the figures of a municipality's report: the intake, case, ZRM and decision sets for
// the municipality as a whole, per quarter, by table name. Only the municipality's own
// organisations see it.
func (r *Reports) Report(ctx context.Context, municipality, from, to string) (map[string]outcomes.Table, error) {
	if caller, _ := identity.From(ctx); caller.Org.Type != identity.OrgMunicipality {
		return nil, apperr.PermissionDenied("the outcome report is for municipalities")
	}
	q, err := r.prepare(ctx, outcomes.Query{Scope: outcomes.Scope{Municipality: municipality}, From: from, To: to,
		Granularity: outcomes.Quarter, GroupBy: outcomes.ByMunicipality})
	if err != nil {
		return nil, err
	}
	out := map[string]outcomes.Table{}
	for _, set := range []FigureSet{IntakeSet, CaseSet, ZrmSet, DecisionSet} {
		ts, err := r.compute(ctx, set, q)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			out[t.Name] = t
		}
	}
	return out, nil
}
