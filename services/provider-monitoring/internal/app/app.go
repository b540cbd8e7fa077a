// Package app holds the provider-monitoring use cases: providers and contracts, requests for
// allocation and change with their answers, allocations with their versions, the provider's
// reports of start, stop and progress, the not-started alert and the monitoring views. Ports
// are declared here, by the consumer of them.
package app

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/txn"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Providers stores providers and their contracts, and which organisations act for which
// municipality.
type Providers interface {
	// Get returns apperr NotFound when there is no such provider.
	Get(ctx context.Context, agb string) (domain.Provider, error)
	// Contracts returns the provider's contracts with the municipality.
	Contracts(ctx context.Context, agb, municipality string) ([]domain.Contract, error)
	// GetWithContracts returns the provider and its contracts with the municipality; apperr
	// NotFound when there is no such provider.
	GetWithContracts(ctx context.Context, agb, municipality string) (domain.Provider, []domain.Contract, error)
	// Contract returns apperr NotFound when there is no such contract.
	Contract(ctx context.Context, id string) (domain.Contract, error)
	// InsertProvider returns false when the AGB code is already registered.
	InsertProvider(ctx context.Context, p domain.Provider) (bool, error)
	UpsertContract(ctx context.Context, c domain.Contract) error
	// ActsFor reports whether the organisation acts for the municipality.
	ActsFor(ctx context.Context, oin, municipality string) (bool, error)
	// ActsForAny reports whether the organisation acts for any municipality.
	ActsForAny(ctx context.Context, oin string) (bool, error)
	// GetForUpdate is Get, locking the provider for the rest of the transaction.
	GetForUpdate(ctx context.Context, agb string) (domain.Provider, error)
	// AnswersFor reports whether the organisation acts for a municipality that contracts the
	// provider (for a provider without contracts: for any municipality).
	AnswersFor(ctx context.Context, oin, agb string) (bool, error)
	// InUse reports whether an allocation, an allocation request or a decision names the provider.
	InUse(ctx context.Context, agb string) (bool, error)
	// Correct stores the correction and the provider's new name and OIN.
	Correct(ctx context.Context, c domain.ProviderCorrection) error
	// Corrections lists the provider's corrections, newest first.
	Corrections(ctx context.Context, agb string) ([]domain.ProviderCorrection, error)
}

// Allocations stores allocations, their versions, periods of delivery and reports.
type Allocations interface {
	// Insert stores a new allocation under a new allocation number and returns the number
	// and the pseudonyms of its case's residents (for the access log).
	Insert(ctx context.Context, a domain.Allocation) (number string, residents []string, err error)
	// Get returns apperr NotFound when there is no such allocation.
	Get(ctx context.Context, number string) (domain.Allocation, error)
	// GetForUpdate locks the row for the rest of the transaction.
	GetForUpdate(ctx context.Context, number string) (domain.Allocation, error)
	// GetForUpdateWithResidents also returns the pseudonyms of its case's residents.
	GetForUpdateWithResidents(ctx context.Context, number string) (domain.Allocation, []string, error)
	ByCase(ctx context.Context, caseID string) ([]domain.Allocation, error)
	// OfProvider returns up to limit allocations of the providers registered under the OIN,
	// newest issued first, in one of statuses (any when empty), after the position after.
	OfProvider(ctx context.Context, providerOIN string, statuses []string, after *paging.At, limit int) ([]domain.Allocation, error)
	Update(ctx context.Context, a domain.Allocation) error
	InsertVersion(ctx context.Context, v domain.Version) error
	Versions(ctx context.Context, number string) ([]domain.Version, error)
	InsertDelivery(ctx context.Context, d domain.Delivery) error
	RecordStop(ctx context.Context, s domain.Stop) error
	InsertProgress(ctx context.Context, p domain.ProgressReport) error
	InsertDeliveredVolume(ctx context.Context, v domain.DeliveredVolume) error
	// DeliveredVolumes lists an allocation's delivered-volume reports, oldest period first.
	DeliveredVolumes(ctx context.Context, number string) ([]domain.DeliveredVolume, error)
	// ClaimNotStarted marks and returns issued allocations due for the not-started alert,
	// skipping rows locked by another replica.
	ClaimNotStarted(ctx context.Context, cutoff, at time.Time, limit int) ([]domain.Allocation, error)
}

// Requests stores requests for allocation and change.
type Requests interface {
	Insert(ctx context.Context, q domain.Request) error
	// Get returns apperr NotFound when there is no such request.
	Get(ctx context.Context, id string) (domain.Request, error)
	GetForUpdate(ctx context.Context, id string) (domain.Request, error)
	Update(ctx context.Context, q domain.Request) error
	List(ctx context.Context, municipality string, openOnly bool, afterAt time.Time, afterID string, limit int) ([]domain.Request, error)
}

// KnownResidents are the residents of each case as provider-monitoring keeps them from
// case-direction's events (case.opened, case.residents_changed).
type KnownResidents interface {
	// OfCase returns the access-log pseudonyms of the case's residents; none when it knows
	// none (yet).
	OfCase(ctx context.Context, caseID string) ([]string, error)
}

// Monitoring computes the monitoring figures.
type Monitoring interface {
	Figures(ctx context.Context, s domain.Scope, today, notStartedCutoff time.Time) (domain.Figures, error)
}

// Events publishes what happened (through the outbox, in the same transaction).
type Events interface {
	AllocationIssued(ctx context.Context, a domain.Allocation) error
	AllocationDeliveryStarted(ctx context.Context, a domain.Allocation, d domain.Delivery) error
	AllocationDeliveryStopped(ctx context.Context, a domain.Allocation, s domain.Stop) error
	AllocationChanged(ctx context.Context, a domain.Allocation, v domain.Version) error
	AllocationWithdrawn(ctx context.Context, a domain.Allocation) error
	AllocationNotStarted(ctx context.Context, a domain.Allocation, days int, at time.Time) error
	AllocationProgressReported(ctx context.Context, a domain.Allocation, r domain.ProgressReport) error
	AllocationVolumeDelivered(ctx context.Context, a domain.Allocation, v domain.DeliveredVolume, overDelivered bool) error
	AllocationRequestReceived(ctx context.Context, q domain.Request) error
	AllocationRequestAnswered(ctx context.Context, q domain.Request, at time.Time) error
}

// Deps are what the application needs: its ports and its rules.
type Deps struct {
	Tx          txn.Runner
	Providers   Providers
	Allocations Allocations
	Requests    Requests
	Monitoring  Monitoring
	Events      Events
	Access      accesslog.Recorder
	Rules       domain.Timeliness
	Codes       domain.Codes
	Settings    Settings
	// Cases reads a case's plan (its goals) from case-direction, for progress reports and
	// decisions.
	Cases Cases
	// Residents tells whom a case concerns, to log a refused call naming it under them.
	Residents KnownResidents
	// NewID makes ids of requests and progress reports.
	NewID func() string
}

// Settings are the service's own rules beside the code lists.
type Settings struct {
	// NotStartedDays: an allocation still not started this many days after its start date
	// raises the not-started alert (default 10).
	NotStartedDays int
}

// App is the provider-monitoring application.
type App struct {
	tx          txn.Runner
	providers   Providers
	allocations Allocations
	requests    Requests
	monitoring  Monitoring
	events      Events
	access      accesslog.Recorder
	rules       domain.Timeliness
	codes       domain.Codes
	settings    Settings
	cases       Cases
	residents   KnownResidents
	// Now is the clock; timeliness depends on it, so tests set it.
	Now func() time.Time
	// NewID makes ids of requests and progress reports.
	NewID func() string
	// dec are the decision use cases' ports (WithDecisions).
	dec DecisionDeps
}

// New builds the application.
func New(d Deps) *App {
	return &App{tx: d.Tx, providers: d.Providers, allocations: d.Allocations, requests: d.Requests, monitoring: d.Monitoring,
		events: d.Events, access: d.Access, rules: d.Rules, codes: d.Codes, settings: d.Settings, cases: d.Cases, residents: d.Residents,
		Now: microsecondClock, NewID: d.NewID}
}

// Codes returns the code lists the application judges by.
func (a *App) Codes() domain.Codes { return a.codes }

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
	var out domain.Allocation
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		var err error
		out, err = a.issue(ctx, al, caller)
		return err
	})
	return out, err
}

// issue checks the contract and stores a new allocation with its first version and event, in
// the transaction of ctx.
func (a *App) issue(ctx context.Context, al domain.Allocation, caller identity.Caller) (domain.Allocation, error) {
	al.Status, al.Version = domain.StatusIssued, 1
	al.IssuedAt = a.Now().UTC()
	if al.Form == "" {
		al.Form = domain.FormInKind
	}
	al.StartedOn, al.StartReportedAt, al.StartReportedOnTime, al.FirstStartedOn = nil, nil, nil, nil
	provider, contracts, err := a.providers.GetWithContracts(ctx, al.ProviderAGB, al.Municipality)
	if err != nil {
		return al, err
	}
	al.ProviderOIN = provider.OIN
	c, ok := domain.ValidContract(contracts, al)
	if !ok {
		return al, noContract(al.ProviderAGB, al.Product, al.Municipality, al.District, al.Start)
	}
	al.ContractID = c.ID
	var residents []string
	if al.Number, residents, err = a.allocations.Insert(ctx, al); err != nil {
		return al, err
	}
	if err := a.allocations.InsertVersion(ctx, al.VersionOf("", al.IssuedAt, caller.Org.OIN)); err != nil {
		return al, err
	}
	if al.CaseID != "" && caller.Org.Type != identity.OrgService {
		// Issued for a case outside case-direction's RequestAllocation (which holds the case's
		// lock across its call to Allocate and records the allocation itself): case-direction
		// records it now, under the lock its closing takes, so that a case closed while this
		// request was under way refuses it instead of ending CLOSED with an ISSUED allocation
		// (the concurrency probe's close_vs_grant_315). Checking the case beforehand is not
		// enough: the closing can commit between that check and this commit.
		if err := a.cases.AttachAllocation(ctx, al); err != nil {
			return al, err
		}
	}
	if err := a.events.AllocationIssued(ctx, al); err != nil {
		return al, err
	}
	return al, a.access.Record(ctx, residentsEntry("providermonitoring.allocation.create", al.Number, residents, accesslog.RouteNewRecord, accesslog.OutcomeGranted))
}

func noContract(agb string, p domain.Product, municipality, district string, on time.Time) error {
	where := district
	if where == "" {
		where = municipality
	}
	return apperr.FailedPrecondition(fmt.Sprintf("provider %s has no valid contract for product %s in %s on %s",
		agb, p, where, on.Format(domain.DateLayout)))
}

// GetAllocation returns an allocation to its provider, to a Wijkbrug service, or to a team or
// municipality acting for its municipality. Anyone else gets NOT_FOUND, so the existence of
// another provider's allocation is not disclosed; the refusal is logged too.
func (a *App) GetAllocation(ctx context.Context, number string) (domain.Allocation, error) {
	var out domain.Allocation
	err := a.readAllocation(ctx, number, "providermonitoring.allocation.read", func(ctx context.Context, al domain.Allocation) error {
		out = al
		return nil
	})
	return out, err
}

// ListAllocationVersions returns an allocation's versions to those who may read it.
func (a *App) ListAllocationVersions(ctx context.Context, number string) ([]domain.Version, error) {
	var out []domain.Version
	err := a.readAllocation(ctx, number, "providermonitoring.allocation.read_versions", func(ctx context.Context, _ domain.Allocation) error {
		var err error
		out, err = a.allocations.Versions(ctx, number)
		return err
	})
	return out, err
}

// readAllocation runs read on an allocation the caller may read and logs the access either
// way (accesslog.Guard).
func (a *App) readAllocation(ctx context.Context, number, action string, read func(context.Context, domain.Allocation) error) error {
	return accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		al, err := a.allocations.Get(ctx, number)
		if err != nil {
			return err
		}
		route, err := a.readRoute(ctx, al)
		if err != nil {
			return err
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: entry(action, number, "", ""), Route: route}); err != nil {
			return err
		}
		return read(ctx, al)
	})
}

// ReportDeliveryStarted records the provider's report (305) that care started on startedOn,
// and whether it came within the statutory period. Only the allocation's own provider
// reports; to anyone else the allocation does not exist.
func (a *App) ReportDeliveryStarted(ctx context.Context, number string, startedOn time.Time) (domain.Allocation, error) {
	now := a.Now().UTC()
	return a.asProvider(ctx, number, "providermonitoring.allocation.report_start", func(ctx context.Context, al *domain.Allocation) error {
		d, err := al.ReportStart(startedOn, now, a.rules)
		if err != nil {
			return err
		}
		if err := a.allocations.Update(ctx, *al); err != nil {
			return err
		}
		if err := a.allocations.InsertDelivery(ctx, d); err != nil {
			return err
		}
		return a.events.AllocationDeliveryStarted(ctx, *al, d)
	})
}

// ReportDeliveryStopped records the provider's report (307) that care stopped on stoppedOn
// with a JZ588 reason: 20 pauses the allocation, any other reason ends it. The report is
// judged on time within 5 working days.
func (a *App) ReportDeliveryStopped(ctx context.Context, number string, stoppedOn time.Time, reason string) (domain.Allocation, error) {
	now := a.Now().UTC()
	return a.asProvider(ctx, number, "providermonitoring.allocation.report_stop", func(ctx context.Context, al *domain.Allocation) error {
		s, err := al.ReportStop(stoppedOn, now, reason, a.rules, a.codes)
		if err != nil {
			return err
		}
		if err := a.allocations.Update(ctx, *al); err != nil {
			return err
		}
		if err := a.allocations.RecordStop(ctx, s); err != nil {
			return err
		}
		return a.events.AllocationDeliveryStopped(ctx, *al, s)
	})
}

// asProvider runs change on an allocation locked for update, when the caller is the
// allocation's own provider; anyone else gets NOT_FOUND and a DENIED entry that survives the
// rollback.
func (a *App) asProvider(ctx context.Context, number, action string, change func(ctx context.Context, al *domain.Allocation) error) (domain.Allocation, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return domain.Allocation{}, apperr.Unauthenticated("no caller")
	}
	var out domain.Allocation
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		al, residents, err := a.allocations.GetForUpdateWithResidents(ctx, number)
		if err != nil {
			return err
		}
		route := ""
		if caller.Org.Type == identity.OrgProvider && al.ProviderOIN != "" && caller.Org.OIN == al.ProviderOIN {
			route = accesslog.RouteOwnRecord
		}
		// A refused change's transaction rolls back; Guard logs the refusal outside it.
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: residentsEntry(action, number, residents, "", ""), Route: route, Change: true, Quiet: true}); err != nil {
			return err
		}
		if err := change(ctx, &al); err != nil {
			return err
		}
		out = al
		return a.access.Record(ctx, residentsEntry(action, number, residents, accesslog.RouteOwnRecord, accesslog.OutcomeGranted))
	})
	if err != nil {
		return domain.Allocation{}, err
	}
	return out, nil
}

// readRoute says how the caller may read the allocation: a Wijkbrug service, the provider
// whose certificate carries the OIN registered for the allocation's AGB code, or a team or
// municipality acting for the allocation's municipality.
func (a *App) readRoute(ctx context.Context, al domain.Allocation) (string, error) {
	caller, _ := identity.From(ctx)
	if caller.Org.Type == identity.OrgProvider {
		p, err := a.providers.Get(ctx, al.ProviderAGB)
		if err != nil {
			return "", err
		}
		if p.OIN == caller.Org.OIN {
			return accesslog.RouteOwnRecord, nil
		}
		return accesslog.RouteNotAllowed, nil
	}
	return a.municipalRoute(ctx, al.Municipality)
}

// municipalRoute says whether the caller acts for the municipality: a Wijkbrug service (for
// whoever it forwards), or a team or municipality registered for it.
func (a *App) municipalRoute(ctx context.Context, municipality string) (string, error) {
	caller, _ := identity.From(ctx)
	switch caller.Org.Type {
	case identity.OrgService:
		return accesslog.RouteService, nil
	case identity.OrgTeam, identity.OrgMunicipality:
		ok, err := a.providers.ActsFor(ctx, caller.Org.OIN, municipality)
		if err != nil || !ok {
			return accesslog.RouteNotAllowed, err
		}
		return accesslog.RouteTeam, nil
	}
	return accesslog.RouteNotAllowed, nil
}

// The domain's errors speak apperr's vocabulary and name their allocation or request, so they
// are returned as they are and the edge gives each its code; these lines keep a renamed
// method from silently making one INTERNAL.
var (
	_ apperr.ForbiddenTransition = domain.TransitionError{}
	_ apperr.ForbiddenTransition = domain.RequestTransitionError{}
	_ apperr.ForbiddenTransition = domain.StateError{}
	_ apperr.ForbiddenTransition = domain.PeriodOverlapError{}
	_ apperr.RuleViolation       = domain.RuleViolation{}
)

// entry is an access-log entry about an allocation. An allocation holds no BSN; the resident
// is reached through the case, so there is no pseudonym to record here.
func entry(action, number, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "allocation", ObjectID: number, Route: route, Outcome: outcome}
}

// residentsEntry is entry with the pseudonyms of the allocation's case's residents as the
// caller read them with the allocation: the per-resident recorder logs it under each without
// looking them up (issue 12).
func residentsEntry(action, number string, residents []string, route, outcome string) accesslog.Entry {
	e := entry(action, number, route, outcome)
	e.Residents, e.ResidentsRead = residents, true
	return e
}

// microsecondClock is the default clock: microsecond precision, as PostgreSQL stores times, so
// that an answer given right after a write (received_at, created_at) equals a later read of
// the same record (it had nanoseconds, the read microseconds).
func microsecondClock() time.Time { return time.Now().Truncate(time.Microsecond) }
