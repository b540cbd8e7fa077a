package app

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// GetTriagePolicy returns a version of a municipality's policy (0 = the one in force; the
// default when it has adopted none). Policies hold no personal data: whoever may call the
// method may read any municipality's.
func (a *App) GetTriagePolicy(ctx context.Context, municipality string, version int) (domain.Policy, error) {
	if version == 0 {
		return a.d.Policies.Current(ctx, municipality)
	}
	return a.d.Policies.Version(ctx, municipality, version)
}

// ReplaceTriagePolicy adopts p as the next version of its municipality's policy. The caller
// must be a MUNICIPALITY organisation that administers that municipality; expectedVersion
// must be the version in force (so two administrators cannot overwrite each other unseen).
// Intakes received earlier keep the version they were received under.
func (a *App) ReplaceTriagePolicy(ctx context.Context, p domain.Policy, expectedVersion int) (domain.Policy, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return p, apperr.Unauthenticated("no caller")
	}
	if caller.Org.Type != identity.OrgMunicipality {
		return p, apperr.PermissionDenied("only a municipality adopts triage policies")
	}
	err := a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		ok, err := a.d.Policies.Administers(ctx, caller.Org.OIN, p.Municipality)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.PermissionDenied("the organisation does not administer municipality " + p.Municipality)
		}
		current, err := a.d.Policies.CurrentForUpdate(ctx, p.Municipality)
		if err != nil {
			return err
		}
		if current.Version != expectedVersion {
			return apperr.FailedPrecondition(fmt.Sprintf("the policy in force is version %d, not the expected %d", current.Version, expectedVersion))
		}
		p.Version, p.AdoptedAt, p.AdoptedBy = current.Version+1, a.now(), caller.User
		if err := a.d.Policies.Insert(ctx, p); err != nil {
			return err
		}
		return a.d.Events.TriagePolicyReplaced(ctx, p)
	})
	return p, err
}
