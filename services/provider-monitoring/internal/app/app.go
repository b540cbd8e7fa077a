// Package app holds the provider-monitoring use cases: issuing an allocation to a contracted
// provider, reading it, and the provider's report that care started. Ports are declared here,
// by the consumer of them.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/txn"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Providers stores providers and their contracts.
type Providers interface {
	// Get returns apperr NotFound when there is no such provider.
	Get(ctx context.Context, agb string) (domain.Provider, error)
	// Contracts returns the provider's contracts with the municipality.
	Contracts(ctx context.Context, agb, municipality string) ([]domain.Contract, error)
}

// Allocations stores allocations and their periods of delivery.
type Allocations interface {
	// NextNumber draws a new allocation number.
	NextNumber(ctx context.Context) (string, error)
	Insert(ctx context.Context, a domain.Allocation) error
	// Get returns apperr NotFound when there is no such allocation.
	Get(ctx context.Context, number string) (domain.Allocation, error)
	// GetForUpdate locks the row for the rest of the transaction.
	GetForUpdate(ctx context.Context, number string) (domain.Allocation, error)
	Update(ctx context.Context, a domain.Allocation) error
	InsertDelivery(ctx context.Context, d domain.Delivery) error
}

// Events publishes what happened (through the outbox, in the same transaction).
type Events interface {
	AllocationIssued(ctx context.Context, a domain.Allocation) error
	AllocationDeliveryStarted(ctx context.Context, a domain.Allocation, d domain.Delivery) error
}

// App is the provider-monitoring application.
type App struct {
	tx          txn.Runner
	providers   Providers
	allocations Allocations
	events      Events
	access      accesslog.Recorder
	rules       domain.Timeliness
	// Now is the clock; timeliness depends on it, so tests set it.
	Now func() time.Time
}

// New builds the application.
func New(tx txn.Runner, providers Providers, allocations Allocations, events Events, access accesslog.Recorder, rules domain.Timeliness) *App {
	return &App{tx: tx, providers: providers, allocations: allocations, events: events, access: access, rules: rules, Now: time.Now}
}

// Allocate issues an allocation to a provider that has a valid contract for the product in the
// allocation's district on its start date. Only Wijkbrug services (case-direction) allocate.
func (a *App) Allocate(ctx context.Context, al domain.Allocation) (domain.Allocation, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return al, apperr.Unauthenticated("no caller")
	}
	if caller.Org.Type != identity.OrgService {
		return al, apperr.PermissionDenied("only Wijkbrug services issue allocations")
	}
	al.Status = domain.StatusIssued
	al.IssuedAt = a.Now().UTC()
	al.StartedOn, al.StartReportedAt, al.StartReportedOnTime = nil, nil, nil
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		if _, err := a.providers.Get(ctx, al.ProviderAGB); err != nil {
			return err
		}
		contracts, err := a.providers.Contracts(ctx, al.ProviderAGB, al.Municipality)
		if err != nil {
			return err
		}
		if _, ok := domain.ValidContract(contracts, al); !ok {
			where := al.District
			if where == "" {
				where = al.Municipality
			}
			return apperr.FailedPrecondition(fmt.Sprintf("provider %s has no valid contract for product %s in %s on %s",
				al.ProviderAGB, al.Product, where, al.Start.Format(domain.DateLayout)))
		}
		if al.Number, err = a.allocations.NextNumber(ctx); err != nil {
			return err
		}
		if err := a.allocations.Insert(ctx, al); err != nil {
			return err
		}
		if err := a.events.AllocationIssued(ctx, al); err != nil {
			return err
		}
		return a.access.Record(ctx, entry("providermonitoring.allocation.create", al.Number, accesslog.RouteNewRecord, accesslog.OutcomeGranted))
	})
	if err != nil {
		return domain.Allocation{}, err
	}
	return al, nil
}

// GetAllocation returns an allocation to its provider or to a Wijkbrug service. Anyone else
// gets NOT_FOUND, so the existence of another provider's allocation is not disclosed; the
// refusal is logged too.
func (a *App) GetAllocation(ctx context.Context, number string) (domain.Allocation, error) {
	var out domain.Allocation
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		al, err := a.allocations.Get(ctx, number)
		if err != nil {
			return err
		}
		route, err := a.route(ctx, al)
		if err != nil {
			return err
		}
		if route == accesslog.RouteNotAllowed {
			return a.access.Record(ctx, entry("providermonitoring.allocation.read", number, route, accesslog.OutcomeDenied))
		}
		out = al
		return a.access.Record(ctx, entry("providermonitoring.allocation.read", number, route, accesslog.OutcomeGranted))
	})
	if err != nil {
		return domain.Allocation{}, err
	}
	if out.Number == "" {
		return domain.Allocation{}, apperr.NotFound("allocation", number)
	}
	return out, nil
}

// ReportDeliveryStarted records the provider's report (305) that care started on startedOn,
// and whether it came within the statutory period. Only the allocation's own provider
// reports; to anyone else the allocation does not exist.
func (a *App) ReportDeliveryStarted(ctx context.Context, number string, startedOn time.Time) (domain.Allocation, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return domain.Allocation{}, apperr.Unauthenticated("no caller")
	}
	now := a.Now()
	var out domain.Allocation
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		al, err := a.allocations.GetForUpdate(ctx, number)
		if err != nil {
			return err
		}
		provider, err := a.providers.Get(ctx, al.ProviderAGB)
		if err != nil {
			return err
		}
		if caller.Org.Type != identity.OrgProvider || caller.Org.OIN != provider.OIN {
			// The refused change's transaction rolls back; its log entry must not.
			if err := a.access.RecordDetached(ctx, entry("providermonitoring.allocation.report_start", number, accesslog.RouteNotAllowed, accesslog.OutcomeDenied)); err != nil {
				return err
			}
			return apperr.NotFound("allocation", number)
		}
		d, err := al.ReportStart(startedOn, now.UTC(), a.rules)
		if err != nil {
			return ruleError(number, err)
		}
		if err := a.allocations.Update(ctx, al); err != nil {
			return err
		}
		if err := a.allocations.InsertDelivery(ctx, d); err != nil {
			return err
		}
		if err := a.events.AllocationDeliveryStarted(ctx, al, d); err != nil {
			return err
		}
		out = al
		return a.access.Record(ctx, entry("providermonitoring.allocation.report_start", number, accesslog.RouteOwnRecord, accesslog.OutcomeGranted))
	})
	if err != nil {
		return domain.Allocation{}, err
	}
	return out, nil
}

// route says how the caller may read the allocation: a Wijkbrug service, or the provider
// whose certificate carries the OIN registered for the allocation's AGB code.
func (a *App) route(ctx context.Context, al domain.Allocation) (string, error) {
	caller, _ := identity.From(ctx)
	switch caller.Org.Type {
	case identity.OrgService:
		return accesslog.RouteService, nil
	case identity.OrgProvider:
		p, err := a.providers.Get(ctx, al.ProviderAGB)
		if err != nil {
			return "", err
		}
		if p.OIN == caller.Org.OIN {
			return accesslog.RouteOwnRecord, nil
		}
	}
	return accesslog.RouteNotAllowed, nil
}

// ruleError turns a domain refusal into the typed error the caller gets.
func ruleError(number string, err error) error {
	var te domain.TransitionError
	if errors.As(err, &te) {
		return apperr.FailedPrecondition(fmt.Sprintf("allocation %s cannot go from %s to %s", number, te.From, te.To))
	}
	var rv domain.RuleViolation
	if errors.As(err, &rv) {
		return apperr.Invalid(rv.Field, rv.Reason)
	}
	return err
}

// entry is an access-log entry about an allocation. An allocation holds no BSN; the resident
// is reached through the case, so there is no pseudonym to record here.
func entry(action, number, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "allocation", ObjectID: number, Route: route, Outcome: outcome}
}
