package app

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// ChangeAllocation makes a new version of an allocation (end date, volume, budget; start date
// before care started) with a change reason; the previous versions stay readable. By Wijkbrug
// services and by teams and municipalities acting for the allocation's municipality.
func (a *App) ChangeAllocation(ctx context.Context, number string, c domain.Change) (domain.Allocation, error) {
	return a.asMunicipality(ctx, number, "providermonitoring.allocation.change", func(ctx context.Context, al *domain.Allocation, caller identity.Caller) error {
		return a.applyChange(ctx, al, c, caller)
	})
}

// applyChange applies c to the locked allocation and stores the new version and its event.
// An allocation issued under a decision stays within it (else AmendDecision); a new start
// date needs a valid contract on that day, as at issue (the contract it falls under is
// recorded).
func (a *App) applyChange(ctx context.Context, al *domain.Allocation, c domain.Change, caller identity.Caller) error {
	start := al.Start
	if err := al.Apply(c); err != nil {
		return err
	}
	if al.DecisionNumber != "" {
		d, err := a.dec.Decisions.ByNumber(ctx, al.DecisionNumber)
		if err != nil {
			return err
		}
		if err := d.Covers(*al); err != nil {
			return err
		}
	}
	if !al.Start.Equal(start) {
		_, contracts, err := a.providers.GetWithContracts(ctx, al.ProviderAGB, al.Municipality)
		if err != nil {
			return err
		}
		ct, ok := domain.ValidContract(contracts, *al)
		if !ok {
			return noContract(al.ProviderAGB, al.Product, al.Municipality, al.District, al.Start)
		}
		al.ContractID = ct.ID
	}
	v := al.VersionOf(c.Reason, a.Now().UTC(), caller.Org.OIN)
	if err := a.allocations.Update(ctx, *al); err != nil {
		return err
	}
	if err := a.allocations.InsertVersion(ctx, v); err != nil {
		return err
	}
	return a.events.AllocationChanged(ctx, *al, v)
}

// WithdrawAllocation withdraws an issued or started allocation. Same callers as a change.
func (a *App) WithdrawAllocation(ctx context.Context, number, reason string) (domain.Allocation, error) {
	return a.asMunicipality(ctx, number, "providermonitoring.allocation.withdraw", func(ctx context.Context, al *domain.Allocation, _ identity.Caller) error {
		if err := al.Withdraw(reason); err != nil {
			return err
		}
		if err := a.allocations.Update(ctx, *al); err != nil {
			return err
		}
		return a.events.AllocationWithdrawn(ctx, *al)
	})
}

// asMunicipality runs change on a locked allocation when the caller acts for its
// municipality; to anyone else it does not exist (NOT_FOUND, logged DENIED).
func (a *App) asMunicipality(ctx context.Context, number, action string, change func(context.Context, *domain.Allocation, identity.Caller) error) (domain.Allocation, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return domain.Allocation{}, apperr.Unauthenticated("no caller")
	}
	var out domain.Allocation
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		al, err := a.allocations.GetForUpdate(ctx, number)
		if err != nil {
			return err
		}
		route, err := a.municipalRoute(ctx, al.Municipality)
		if err != nil {
			return err
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: entry(action, number, "", ""), Route: route, Change: true, Quiet: true}); err != nil {
			return err
		}
		if err := change(ctx, &al, caller); err != nil {
			return err
		}
		out = al
		return a.access.Record(ctx, entry(action, number, route, accesslog.OutcomeGranted))
	})
	if err != nil {
		return domain.Allocation{}, err
	}
	return out, nil
}

// ListMyAllocations lists the calling provider's own allocations (what it is involved in),
// newest issued first, one page after the position after; each one shown is logged. A read
// runs in no transaction (see ListDecisions).
func (a *App) ListMyAllocations(ctx context.Context, statuses []string, after *paging.At, size int) ([]domain.Allocation, bool, error) {
	caller, _ := identity.From(ctx)
	if caller.Org.Type != identity.OrgProvider {
		return nil, false, apperr.PermissionDenied("only a provider lists its own allocations")
	}
	rows, err := a.allocations.OfProvider(ctx, caller.Org.OIN, statuses, after, size+1)
	if err != nil {
		return nil, false, err
	}
	out, more := paging.Cut(rows, size)
	entries := make([]accesslog.Entry, 0, len(out))
	for _, al := range out {
		entries = append(entries, entry("providermonitoring.allocation.list_own", al.Number, accesslog.RouteOwnRecord, accesslog.OutcomeGranted))
	}
	if err := a.access.RecordMany(ctx, entries); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// ListCaseAllocations returns a case's allocations with their status: all of them to a
// Wijkbrug service, and to a team or municipality those in municipalities it acts for. A read
// runs in no transaction (see ListDecisions).
func (a *App) ListCaseAllocations(ctx context.Context, caseID string) ([]domain.Allocation, error) {
	all, err := a.allocations.ByCase(ctx, caseID)
	if err != nil {
		return nil, err
	}
	route := accesslog.RouteTeam
	if c, _ := identity.From(ctx); c.Org.Type == identity.OrgService {
		route = accesslog.RouteService
	}
	var out []domain.Allocation
	allowed := map[string]string{}
	for _, al := range all {
		r, ok := allowed[al.Municipality]
		if !ok {
			if r, err = a.municipalRoute(ctx, al.Municipality); err != nil {
				return nil, err
			}
			allowed[al.Municipality] = r
		}
		if r != accesslog.RouteNotAllowed {
			out = append(out, al)
		}
	}
	outcome := accesslog.OutcomeGranted
	if len(all) > 0 && len(out) == 0 {
		route, outcome = accesslog.RouteNotAllowed, accesslog.OutcomeDenied
	}
	if err := a.access.Record(ctx, accesslog.Entry{Action: "providermonitoring.case_allocations.read", ObjectType: "case",
		ObjectID: caseID, Route: route, Outcome: outcome}); err != nil {
		return nil, err
	}
	return out, nil
}
