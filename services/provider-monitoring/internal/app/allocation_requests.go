package app

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// SubmitRequest registers a provider's request for allocation (315) or change (317). The
// caller must be the provider named in it (its OIN registered for the AGB code); a request
// for allocation needs a valid contract for the product, a request for change one of the
// provider's own running allocations. The answer is due within 5 working days.
func (a *App) SubmitRequest(ctx context.Context, q domain.Request) (domain.Request, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return q, apperr.Unauthenticated("no caller")
	}
	now := a.Now().UTC()
	var out domain.Request
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		p, err := a.providers.Get(ctx, q.ProviderAGB)
		if err != nil && !apperr.IsKind(err, apperr.KindNotFound) {
			return err
		}
		if err != nil || caller.Org.Type != identity.OrgProvider || p.OIN != caller.Org.OIN {
			// Another organisation's AGB code: neither confirmed nor used.
			return apperr.PermissionDenied(fmt.Sprintf("the caller is not provider %s", q.ProviderAGB))
		}
		if q.Kind == domain.RequestChange {
			al, err := a.allocations.Get(ctx, q.AllocationNumber)
			if err != nil {
				return err
			}
			route := ""
			if al.ProviderAGB == q.ProviderAGB {
				route = accesslog.RouteOwnRecord
			}
			if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: entry("providermonitoring.allocation_request.create", q.AllocationNumber, "", ""),
				Route: route, Change: true, Quiet: true}); err != nil {
				return err
			}
			if al.Status != domain.StatusIssued && al.Status != domain.StatusStarted && al.Status != domain.StatusPaused {
				return apperr.FailedPrecondition(fmt.Sprintf("allocation %s is %s and cannot be changed", al.Number, al.Status))
			}
			q.Municipality, q.District, q.Product = al.Municipality, al.District, al.Product
		} else {
			contracts, err := a.providers.Contracts(ctx, q.ProviderAGB, q.Municipality)
			if err != nil {
				return err
			}
			if _, ok := domain.ValidContract(contracts, domain.Allocation{ProviderAGB: q.ProviderAGB, Municipality: q.Municipality,
				District: q.District, Product: q.Product, Start: q.Start}); !ok {
				return noContract(q.ProviderAGB, q.Product, q.Municipality, q.District, q.Start)
			}
		}
		q.ID = a.NewID()
		q = domain.NewRequest(q, now, a.rules)
		if err := a.requests.Insert(ctx, q); err != nil {
			return err
		}
		if err := a.events.AllocationRequestReceived(ctx, q); err != nil {
			return err
		}
		out = q
		return a.access.Record(ctx, requestEntry("providermonitoring.allocation_request.create", q.ID, accesslog.RouteNewRecord, accesslog.OutcomeGranted))
	})
	return out, err
}

// Answer is the municipality's answer to a request.
type Answer struct {
	// Decision is GRANTED, REFUSED or UNDER_INVESTIGATION.
	Decision      domain.RequestStatus
	RefusalReason string
	// CaseID, BudgetCents and Form apply to the allocation granting a request for allocation.
	CaseID      string
	BudgetCents int64
	Form        domain.Form
}

// AnswerRequest answers a request: granting issues the allocation (315) or changes it (317)
// in the same transaction; a refusal carries its reason; under investigation sets the due day
// of the final decision. By teams and municipalities acting for the request's municipality;
// to others the request does not exist.
func (a *App) AnswerRequest(ctx context.Context, id string, ans Answer) (domain.Request, *domain.Allocation, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return domain.Request{}, nil, apperr.Unauthenticated("no caller")
	}
	now := a.Now().UTC()
	var (
		out   domain.Request
		alloc *domain.Allocation
	)
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		q, err := a.requests.GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		route, err := a.municipalRoute(ctx, q.Municipality)
		if err != nil {
			return err
		}
		if route != accesslog.RouteTeam {
			route = ""
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: requestEntry("providermonitoring.allocation_request.answer", id, "", ""),
			Route: route, Change: true, Quiet: true, Resource: "allocation request"}); err != nil {
			return err
		}
		if ans.Decision == domain.RequestGranted && q.Kind == domain.RequestAllocation && q.Open() {
			// One 315, one allocation: not when a decision in force answers it already (an
			// answered request is q.Answer's forbidden transition).
			inForce, err := a.decisionAnswering(ctx, q.ID, "")
			if err != nil {
				return err
			}
			if err := q.Unanswered(inForce); err != nil {
				return err
			}
			if ans.CaseID != "" {
				if err := a.caseForAllocation(ctx, ans.CaseID, q.Municipality); err != nil {
					return err
				}
			}
		}
		if err := q.Answer(ans.Decision, now, a.rules); err != nil {
			return err
		}
		switch ans.Decision {
		case domain.RequestRefused:
			q.RefusalReason = ans.RefusalReason
		case domain.RequestGranted:
			if q.Kind == domain.RequestAllocation {
				al, err := a.issue(ctx, q.AllocationFor(ans.CaseID, ans.BudgetCents, ans.Form), caller)
				if err != nil {
					return err
				}
				alloc = &al
			} else {
				al, err := a.allocations.GetForUpdate(ctx, q.AllocationNumber)
				if err != nil {
					return err
				}
				if err := a.applyChange(ctx, &al, q.ChangeFor(), caller); err != nil {
					return q.GrantRefused(al.Number, err)
				}
				alloc = &al
			}
			q.ResultingAllocation = alloc.Number
		}
		if err := a.requests.Update(ctx, q); err != nil {
			return err
		}
		if err := a.events.AllocationRequestAnswered(ctx, q, now); err != nil {
			return err
		}
		out = q
		return a.access.Record(ctx, requestEntry("providermonitoring.allocation_request.answer", id, route, accesslog.OutcomeGranted))
	})
	if err != nil {
		return domain.Request{}, nil, err
	}
	return out, alloc, nil
}

// caseForAllocation checks, with case-direction, the case a new allocation in municipality is
// to belong to, as case-direction checks its own RequestAllocation: the case exists, it is the
// calling team's (for a municipality: a case in that municipality), else NOT_FOUND naming
// it, the refusal logged under the case's residents (refuseNamed); and it is open (not
// handed over or closed), else FAILED_PRECONDITION.
func (a *App) caseForAllocation(ctx context.Context, caseID, municipality string) error {
	caller, _ := identity.From(ctx)
	c, err := a.cases.Case(ctx, caseID)
	if err != nil {
		return err
	}
	if c.Municipality != municipality || (caller.Org.Type == identity.OrgTeam && c.TeamOIN != caller.Org.OIN) {
		return a.refuseNamed(ctx, "providermonitoring.allocation_request.answer", namedRecord{resource: "case", id: caseID},
			a.residentsConcerned(ctx, caseID, nil))
	}
	return domain.CaseOpen(caseID, c.Status)
}

// decisionAnswering is the decision in force (other than except) that answers the request;
// nil when none (or when the decision use cases are not wired).
func (a *App) decisionAnswering(ctx context.Context, requestID, except string) (*domain.Decision, error) {
	if a.dec.Decisions == nil {
		return nil, nil
	}
	return a.dec.Decisions.InForceForRequest(ctx, requestID, except)
}

// GetRequest returns a request to its provider and to teams and municipalities acting for its
// municipality (and Wijkbrug services); to others it does not exist.
func (a *App) GetRequest(ctx context.Context, id string) (domain.Request, error) {
	caller, _ := identity.From(ctx)
	var out domain.Request
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		q, err := a.requests.Get(ctx, id)
		if err != nil {
			return err
		}
		route := accesslog.RouteNotAllowed
		if caller.Org.Type == identity.OrgProvider {
			p, err := a.providers.Get(ctx, q.ProviderAGB)
			if err != nil {
				return err
			}
			if p.OIN == caller.Org.OIN {
				route = accesslog.RouteOwnRecord
			}
		} else if route, err = a.municipalRoute(ctx, q.Municipality); err != nil {
			return err
		}
		_, err = accesslog.Guard(ctx, a.access, accesslog.Access{Entry: requestEntry("providermonitoring.allocation_request.read", id, "", ""),
			Route: route, Resource: "allocation request"})
		out = q
		return err
	})
	if err != nil {
		return domain.Request{}, err
	}
	return out, nil
}

// ListRequests lists a municipality's requests for a team or municipality acting for it.
func (a *App) ListRequests(ctx context.Context, municipality string, openOnly bool, afterAt time.Time, afterID string, limit int) ([]domain.Request, error) {
	var out []domain.Request
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		route, err := a.municipalRoute(ctx, municipality)
		if err != nil {
			return err
		}
		if route == accesslog.RouteNotAllowed {
			return apperr.PermissionDenied("the caller does not act for municipality " + municipality)
		}
		if out, err = a.requests.List(ctx, municipality, openOnly, afterAt, afterID, limit); err != nil {
			return err
		}
		for _, q := range out {
			if err := a.access.Record(ctx, requestEntry("providermonitoring.allocation_request.read", q.ID, route, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Overdue reports whether a request's answer is overdue now.
func (a *App) Overdue(q domain.Request) bool { return q.Overdue(a.Now(), a.rules) }

func requestEntry(action, id, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "allocation_request", ObjectID: id, Route: route, Outcome: outcome}
}
