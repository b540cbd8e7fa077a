package app

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// RegisterProvider registers a provider. Registering the same provider again (same AGB, name
// and OIN) returns it; an AGB code registered with other details is ALREADY_EXISTS. Providers
// are organisations, not residents: no access-log entry. The registration binds the AGB code
// to the OIN whose certificate then receives the provider's allocations in every
// municipality, so only a municipality that acts for a municipality registers (PERMISSION_DENIED
// otherwise).
func (a *App) RegisterProvider(ctx context.Context, p domain.Provider) (domain.Provider, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return p, apperr.Unauthenticated("no caller")
	}
	var out domain.Provider
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		acts, err := a.providers.ActsForAny(ctx, caller.Org.OIN)
		if err != nil {
			return err
		}
		if !acts {
			return apperr.PermissionDenied("the caller acts for no municipality, so it registers no providers")
		}
		inserted, err := a.providers.InsertProvider(ctx, p)
		if err != nil {
			return err
		}
		if inserted {
			out = p
			return nil
		}
		existing, err := a.providers.Get(ctx, p.AGB)
		if err != nil {
			return err
		}
		if existing != p {
			return apperr.AlreadyExists("provider", p.AGB, "provider "+p.AGB+" is registered with another name or OIN")
		}
		out = existing
		return nil
	})
	return out, err
}

// CorrectProvider corrects a provider's name or OIN (empty keeps it), recording the correction
// with its reason. Only a municipality that contracts the provider corrects it (for a provider
// without contracts, any organisation acting for a municipality, as for registering). The OIN
// decides who receives the provider's allocations, so it is corrected only while nothing names
// the provider; after that moving a provider's care to another organisation is not a correction.
// A correction that changes nothing returns the provider and false.
func (a *App) CorrectProvider(ctx context.Context, agb, name, oin, reason string) (domain.Provider, bool, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return domain.Provider{}, false, apperr.Unauthenticated("no caller")
	}
	var out domain.Provider
	corrected := false
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		p, err := a.providers.GetForUpdate(ctx, agb)
		if err != nil {
			return err
		}
		if err := a.answersForProvider(ctx, caller, agb); err != nil {
			return err
		}
		c := domain.ProviderCorrection{AGB: agb, At: a.Now().UTC(), ByOIN: caller.Org.OIN, ByUser: caller.User,
			OldName: p.Name, NewName: p.Name, OldOIN: p.OIN, NewOIN: p.OIN, Reason: reason}
		if name != "" {
			c.NewName = name
		}
		if oin != "" {
			c.NewOIN = oin
		}
		out = domain.Provider{AGB: agb, Name: c.NewName, OIN: c.NewOIN}
		if c.NewName == c.OldName && c.NewOIN == c.OldOIN {
			return nil
		}
		if c.NewOIN != c.OldOIN {
			used, err := a.providers.InUse(ctx, agb)
			if err != nil {
				return err
			}
			if used {
				return apperr.FailedPrecondition("provider " + agb + " already has allocations, allocation requests or decisions: its OIN decides who receives them and is no longer corrected")
			}
		}
		corrected = true
		return a.providers.Correct(ctx, c)
	})
	return out, corrected, err
}

// answersForProvider refuses a caller that does not act for a municipality contracting the
// provider (for a provider without contracts: for no municipality at all). Wijkbrug services
// pass.
func (a *App) answersForProvider(ctx context.Context, caller identity.Caller, agb string) error {
	if caller.Org.Type == identity.OrgService {
		return nil
	}
	acts, err := a.providers.AnswersFor(ctx, caller.Org.OIN, agb)
	if err != nil {
		return err
	}
	if !acts {
		return apperr.PermissionDenied("provider " + agb + " answers to the municipalities that contract it; the caller acts for none of them")
	}
	return nil
}

// ProviderCorrections lists a provider's corrections, newest first (NOT_FOUND for an unknown
// provider), to the municipalities that may correct it. Providers are organisations: no
// access-log entry.
func (a *App) ProviderCorrections(ctx context.Context, agb string) ([]domain.ProviderCorrection, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return nil, apperr.Unauthenticated("no caller")
	}
	if _, err := a.providers.Get(ctx, agb); err != nil {
		return nil, err
	}
	if err := a.answersForProvider(ctx, caller, agb); err != nil {
		return nil, err
	}
	return a.providers.Corrections(ctx, agb)
}

// AddContract adds a contract between the caller's municipality and a registered provider.
func (a *App) AddContract(ctx context.Context, c domain.Contract) (domain.Contract, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return c, apperr.Unauthenticated("no caller")
	}
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		if ok, err := a.providers.ActsFor(ctx, caller.Org.OIN, c.Municipality); err != nil || !ok {
			if err != nil {
				return err
			}
			return apperr.PermissionDenied("the caller does not act for municipality " + c.Municipality)
		}
		if _, err := a.providers.Get(ctx, c.ProviderAGB); err != nil {
			return err
		}
		c.ID = a.NewID()
		return a.providers.UpsertContract(ctx, c)
	})
	if err != nil {
		return domain.Contract{}, err
	}
	return c, nil
}

// ListContracts lists a provider's contracts with a municipality: to the provider itself and
// to those acting for the municipality.
func (a *App) ListContracts(ctx context.Context, agb, municipality string) ([]domain.Contract, error) {
	var out []domain.Contract
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		if err := a.mayMonitor(ctx, agb, municipality); err != nil {
			return err
		}
		var err error
		out, err = a.providers.Contracts(ctx, agb, municipality)
		return err
	})
	return out, err
}

// mayMonitor allows the provider itself and those acting for the municipality to see a
// provider's contracts and figures there. An unknown provider and another provider's figures
// are NOT_FOUND alike.
func (a *App) mayMonitor(ctx context.Context, agb, municipality string) error {
	caller, _ := identity.From(ctx)
	p, err := a.providers.Get(ctx, agb)
	if err != nil {
		return err
	}
	if caller.Org.Type == identity.OrgProvider {
		if p.OIN != caller.Org.OIN {
			return apperr.NotFound("provider", agb)
		}
		return nil
	}
	route, err := a.municipalRoute(ctx, municipality)
	if err != nil {
		return err
	}
	if route == accesslog.RouteNotAllowed {
		return apperr.PermissionDenied("the caller does not act for municipality " + municipality)
	}
	return nil
}

// ProviderOverview returns the monitoring figures of a provider in a municipality. Figures are
// counts, not personal data: no access-log entry.
func (a *App) ProviderOverview(ctx context.Context, agb, municipality string) (domain.Figures, error) {
	var out domain.Figures
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		if err := a.mayMonitor(ctx, agb, municipality); err != nil {
			return err
		}
		var err error
		out, err = a.monitoring.Figures(ctx, scopeProvider(agb, municipality), a.today(), a.notStartedCutoff())
		return err
	})
	return out, err
}

// ContractOverview returns a contract with the monitoring figures of its allocations.
func (a *App) ContractOverview(ctx context.Context, id string) (domain.Contract, domain.Figures, error) {
	var (
		c domain.Contract
		f domain.Figures
	)
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = a.providers.Contract(ctx, id); err != nil {
			return err
		}
		if err := a.mayMonitor(ctx, c.ProviderAGB, c.Municipality); err != nil {
			if apperr.IsKind(err, apperr.KindPermissionDenied) || apperr.IsKind(err, apperr.KindNotFound) {
				return apperr.NotFound("contract", id)
			}
			return err
		}
		f, err = a.monitoring.Figures(ctx, scopeContract(id), a.today(), a.notStartedCutoff())
		return err
	})
	return c, f, err
}

// today is the Dutch calendar day now.
func (a *App) today() time.Time { return domain.DayIn(a.Now(), a.rules.Location) }

// notStartedCutoff is the latest start date of allocations due for the not-started alert today.
func (a *App) notStartedCutoff() time.Time {
	return domain.NotStartedCutoff(a.today(), a.settings.NotStartedDays)
}

func scopeProvider(agb, municipality string) domain.Scope {
	return domain.Scope{ProviderAGB: agb, Municipality: municipality}
}

func scopeContract(id string) domain.Scope { return domain.Scope{ContractID: id} }
