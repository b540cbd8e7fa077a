package app

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Provisions stores the social map.
type Provisions interface {
	// Upsert inserts or replaces a provision and reports whether it was new.
	Upsert(ctx context.Context, p domain.Provision) (bool, error)
	// Get returns apperr NotFound when there is no such provision.
	Get(ctx context.Context, id string) (domain.Provision, error)
	Search(ctx context.Context, q domain.ProvisionQuery) ([]domain.SearchHit, error)
	// ListByMunicipality returns up to limit provisions of a municipality by name and id,
	// after the one at after (from the first when nil).
	ListByMunicipality(ctx context.Context, municipality string, after *domain.ExportKey, limit int) ([]domain.Provision, error)
}

// UpsertProvision adds a provision (empty id) or replaces one the caller maintains.
func (a *App) UpsertProvision(ctx context.Context, p domain.Provision) (domain.Provision, error) {
	var out domain.Provision
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		var err error
		out, _, err = a.upsertProvision(ctx, p, "provision.")
		return err
	})
	return out, err
}

// ImportProvisions adds or replaces a whole directory in one transaction: all or nothing.
func (a *App) ImportProvisions(ctx context.Context, ps []domain.Provision) (created, updated int, err error) {
	err = a.tx.Tx(ctx, func(ctx context.Context) error {
		created, updated = 0, 0
		for _, p := range ps {
			_, isNew, err := a.upsertProvision(ctx, p, "")
			if err != nil {
				return err
			}
			if isNew {
				created++
			} else {
				updated++
			}
		}
		return nil
	})
	return created, updated, err
}

func (a *App) upsertProvision(ctx context.Context, p domain.Provision, fieldPrefix string) (domain.Provision, bool, error) {
	caller, _ := identity.From(ctx)
	if vs := p.Validate(fieldPrefix); len(vs) > 0 {
		var v apperr.Validation
		for _, rv := range vs {
			v.Add(rv.Field, rv.Reason)
		}
		return p, false, v.Err()
	}
	// A municipality's map is kept by the organisations named for it: a provision names the
	// organisation that receives its referrals (with the resident's BSN and question), so
	// whoever may place one on a municipality's map decides where its residents are referred.
	if !slices.Contains(a.settings.MapMaintainers[p.Municipality], caller.Org.OIN) {
		return p, false, apperr.PermissionDenied("the caller does not maintain the social map of municipality " + p.Municipality)
	}
	if p.ID == "" {
		p.ID = uuid.NewString()
	} else if existing, err := a.provisions.Get(ctx, p.ID); err == nil {
		// The social map is shared, so its existence is no secret; changing another
		// organisation's entry is simply not allowed.
		if existing.MaintainerOIN != caller.Org.OIN {
			return p, false, apperr.PermissionDenied("provision " + p.ID + " is maintained by another organisation")
		}
	} else if !apperr.IsKind(err, apperr.KindNotFound) {
		return p, false, err
	}
	p.MaintainerOIN = caller.Org.OIN
	p.UpdatedAt = a.Now().UTC()
	isNew, err := a.provisions.Upsert(ctx, p)
	if err != nil {
		return p, false, err
	}
	return p, isNew, a.events.ProvisionChanged(ctx, p)
}

// GetProvision returns a provision (public within the region: no personal data).
func (a *App) GetProvision(ctx context.Context, id string) (domain.Provision, error) {
	return a.provisions.Get(ctx, id)
}

// SearchProvisions searches the social map.
func (a *App) SearchProvisions(ctx context.Context, q domain.ProvisionQuery) ([]domain.SearchHit, error) {
	return a.provisions.Search(ctx, q)
}

// ExportProvisions returns up to limit provisions of a municipality, by name and id, after the
// one at after (nil: from the first).
func (a *App) ExportProvisions(ctx context.Context, municipality string, after *domain.ExportKey, limit int) ([]domain.Provision, error) {
	return a.provisions.ListByMunicipality(ctx, municipality, after, limit)
}
