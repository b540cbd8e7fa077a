package app

import (
	"context"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Consents stores consents.
type Consents interface {
	Insert(ctx context.Context, c domain.Consent) error
	// Get returns apperr NotFound when there is no such consent.
	Get(ctx context.Context, id string) (domain.Consent, error)
	GetForUpdate(ctx context.Context, id string) (domain.Consent, error)
	// GetForShare reads a consent and share-locks it until the transaction ends.
	GetForShare(ctx context.Context, id string) (domain.Consent, error)
	SetWithdrawn(ctx context.Context, c domain.Consent) error
	// ListByResident returns the consents holderOIN recorded for the resident, newest first.
	ListByResident(ctx context.Context, residentBSN, holderOIN string) ([]domain.Consent, error)
}

// RecordConsent records a consent held by the calling organisation.
func (a *App) RecordConsent(ctx context.Context, c domain.Consent) (domain.Consent, error) {
	caller, _ := identity.From(ctx)
	now := a.Now().UTC()
	if c.ValidFrom.IsZero() {
		c.ValidFrom = domain.Day(now)
	}
	if vs := c.Validate(); len(vs) > 0 {
		return c, apperr.Invalid(vs[0].Field, vs[0].Reason)
	}
	c.ID, c.HolderOIN, c.RecordedBy, c.RecordedAt = uuid.NewString(), caller.Org.OIN, caller.User, now
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		if err := a.consents.Insert(ctx, c); err != nil {
			return err
		}
		if err := a.events.ConsentRecorded(ctx, c); err != nil {
			return err
		}
		return a.access.Record(ctx, a.consentEntry("referral.consent.create", c, accesslog.RouteNewRecord, accesslog.OutcomeGranted))
	})
	return c, err
}

// GetConsent returns a consent to the organisation holding it; others get NOT_FOUND.
func (a *App) GetConsent(ctx context.Context, id string) (domain.Consent, error) {
	var out domain.Consent
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.ownConsent(ctx, id, "referral.consent.read", a.consents.Get)
		if err != nil {
			return err
		}
		out = c
		return a.access.Record(ctx, a.consentEntry("referral.consent.read", c, accesslog.RouteOwnRecord, accesslog.OutcomeGranted))
	})
	return out, err
}

// ListConsents returns the resident's consents the calling organisation holds (decision 34:
// a consent belongs to the organisation that recorded it), optionally only those with status
// now. Each consent returned is access-logged; a lookup that finds none is logged too, since
// the caller used the resident's BSN.
//
// One page of them, newest first, after the position after: only the consents shown are logged.
func (a *App) ListConsents(ctx context.Context, residentBSN string, status domain.ConsentStatus, after *paging.At, size int) (out []domain.Consent, more bool, err error) {
	caller, _ := identity.From(ctx)
	err = a.tx.Tx(ctx, func(ctx context.Context) error {
		all, err := a.consents.ListByResident(ctx, residentBSN, caller.Org.OIN)
		if err != nil {
			return err
		}
		now := a.Now()
		var matching []domain.Consent
		for _, c := range all {
			if status == "" || c.StatusAt(now) == status {
				matching = append(matching, c)
			}
		}
		out, more = paging.SeekNewest(matching, ConsentAt, after, size)
		if len(out) == 0 {
			return a.access.Record(ctx, a.consentEntry("referral.consent.list", domain.Consent{ResidentBSN: residentBSN},
				accesslog.RouteOwnRecord, accesslog.OutcomeGranted))
		}
		for _, c := range out {
			if err := a.access.Record(ctx, a.consentEntry("referral.consent.list", c, accesslog.RouteOwnRecord, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		return nil
	})
	return out, more, err
}

// ConsentAt is a consent's place in the list of a resident's consents (newest first).
func ConsentAt(c domain.Consent) paging.At { return paging.At{Time: c.RecordedAt, ID: c.ID} }

// WithdrawConsent records the withdrawal and cancels every open referral resting on the
// consent, each with its own event.
func (a *App) WithdrawConsent(ctx context.Context, id string) (domain.Consent, []string, error) {
	var (
		out       domain.Consent
		cancelled []string
	)
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.ownConsent(ctx, id, "referral.consent.withdraw", a.consents.GetForUpdate)
		if err != nil {
			return err
		}
		now := a.Now().UTC()
		if err := c.Withdraw(now); err != nil {
			return apperr.FailedPrecondition(err.Error())
		}
		if err := a.consents.SetWithdrawn(ctx, c); err != nil {
			return err
		}
		refs, err := a.referrals.OpenByConsent(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, r := range refs {
			if err := a.transition(ctx, r, domain.Transition{Action: domain.ActCancel, Reason: domain.CancelConsentWithdrawn},
				[]domain.Side{domain.SideSystem}, "referral.referral.cancel", accesslog.RouteSystem); err != nil {
				return err
			}
			cancelled = append(cancelled, r.ID)
		}
		if err := a.events.ConsentWithdrawn(ctx, c, cancelled); err != nil {
			return err
		}
		out = c
		return a.access.Record(ctx, a.consentEntry("referral.consent.withdraw", c, accesslog.RouteOwnRecord, accesslog.OutcomeGranted))
	})
	return out, cancelled, err
}

// ownConsent reads a consent for its holder. For anyone else it logs the refusal (outside
// the transaction, which rolls back) and answers NOT_FOUND.
func (a *App) ownConsent(ctx context.Context, id, action string, get func(context.Context, string) (domain.Consent, error)) (domain.Consent, error) {
	caller, _ := identity.From(ctx)
	c, err := get(ctx, id)
	if err != nil {
		return c, err
	}
	route := ""
	if c.HolderOIN == caller.Org.OIN {
		route = accesslog.RouteOwnRecord
	}
	if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: a.consentEntry(action, c, "", ""), Route: route, Change: true, Quiet: true}); err != nil {
		return domain.Consent{}, err
	}
	return c, nil
}

func (a *App) consentEntry(action string, c domain.Consent, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "consent", ObjectID: c.ID,
		ResidentPseudonym: a.pseudo.Pseudonym(c.ResidentBSN), Route: route, Outcome: outcome}
}
