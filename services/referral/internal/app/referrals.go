package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Referrals stores referrals and their history.
type Referrals interface {
	Insert(ctx context.Context, r domain.Referral) error
	Update(ctx context.Context, r domain.Referral) error
	AddTransition(ctx context.Context, id string, from, to domain.ReferralStatus, reason string, side domain.Side, orgOIN string, at time.Time) error
	// Get returns apperr NotFound when there is no such referral.
	Get(ctx context.Context, id string) (domain.Referral, error)
	GetForUpdate(ctx context.Context, id string) (domain.Referral, error)
	// History returns the referral's transitions, oldest first.
	History(ctx context.Context, id string) ([]domain.HistoryEntry, error)
	// DueForExpiry locks SENT referrals past accept_by, skipping rows locked elsewhere.
	DueForExpiry(ctx context.Context, now time.Time, limit int) ([]domain.Referral, error)
	// OpenByConsent locks the referrals on a consent that are not final.
	OpenByConsent(ctx context.Context, consentID string) ([]domain.Referral, error)
	// OpenByCase locks the referrals made for a case that are not final.
	OpenByCase(ctx context.Context, caseID string) ([]domain.Referral, error)
	// LockCase takes the case's lock until the transaction ends (making a referral for it and
	// its closing run one after the other) and reports whether the case was reported closed;
	// MarkCaseClosed records that case-direction closed it.
	LockCase(ctx context.Context, caseID string) (closed bool, err error)
	MarkCaseClosed(ctx context.Context, caseID string, at time.Time) error
	ListForSide(ctx context.Context, oin string, side domain.Side, status string, p domain.Page) (page []domain.Referral, more bool, err error)
	// ReplacementOf returns the id of the referral that re-routed id ("" when none did).
	ReplacementOf(ctx context.Context, id string) (string, error)
}

// CreateReferral creates a referral from the calling organisation to the organisation of
// r.ProvisionID, as DRAFT or (send) SENT.
func (a *App) CreateReferral(ctx context.Context, r domain.Referral, send bool) (domain.Referral, error) {
	caller, _ := identity.From(ctx)
	now := a.Now().UTC()
	if r.CaseID != "" {
		if err := a.checkCase(ctx, caller, r); err != nil {
			return r, err
		}
	}
	if r.IntakeID != "" {
		if err := a.checkIntake(ctx, caller, r); err != nil {
			return r, err
		}
	}
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		if r.CaseID != "" {
			// case-direction said the case is open (checkCase), but it may be closing now: the
			// case's lock orders this referral against the closing here, which cancels the
			// case's open referrals (CaseClosed). Refused if the closing came first.
			closed, err := a.referrals.LockCase(ctx, r.CaseID)
			if err != nil {
				return err
			}
			if closed {
				return apperr.FailedPrecondition("case " + r.CaseID + " is closed: no new referrals for it")
			}
		}
		prov, err := a.provisions.Get(ctx, r.ProvisionID)
		if err != nil {
			return err
		}
		if prov.Status != domain.ProvisionActive || !prov.AcceptsDigitalReferrals {
			return apperr.FailedPrecondition("provision " + prov.ID + " does not accept digital referrals (inactive, or not set up for them)")
		}
		r.ID, r.ReferrerOIN, r.ReferrerUser, r.RecipientOIN = uuid.NewString(), caller.Org.OIN, caller.User, prov.OrganisationOIN
		r.LifeDomains, r.Status, r.CreatedAt, r.UpdatedAt = prov.LifeDomains, domain.RefDraft, now, now
		if r.Priority == "" {
			r.Priority = "ROUTINE"
		}
		if r.AcceptBy.IsZero() {
			r.AcceptBy = now.Add(a.settings.AcceptPeriod)
		} else if !r.AcceptBy.After(now) {
			return apperr.Invalid("accept_by", "must be in the future")
		}
		if r.Replaces != "" {
			if err := a.checkReplaces(ctx, r); err != nil {
				return err
			}
		}
		if r.ConsentID != "" {
			if err := a.checkConsent(ctx, r, now); err != nil {
				return err
			}
		}
		// A referral sent at once is stored as sent, with both steps in its history: one
		// INSERT instead of an INSERT and an UPDATE of the same row (issue 12).
		if send {
			if err := r.Apply(domain.Transition{Action: domain.ActSend}, []domain.Side{domain.SideReferrer}, now); err != nil {
				return err
			}
		}
		if err := a.referrals.Insert(ctx, r); err != nil {
			return err
		}
		if err := a.referrals.AddTransition(ctx, r.ID, "", domain.RefDraft, "", domain.SideReferrer, caller.Org.OIN, now); err != nil {
			return err
		}
		if send {
			if err := a.referrals.AddTransition(ctx, r.ID, domain.RefDraft, domain.RefSent, "", domain.SideReferrer, caller.Org.OIN, now); err != nil {
				return err
			}
		}
		if err := a.events.ReferralStatusChanged(ctx, r); err != nil {
			return err
		}
		return a.access.Record(ctx, a.referralEntry("referral.referral.create", r, accesslog.RouteNewRecord, accesslog.OutcomeGranted))
	})
	return r, err
}

// checkCase makes sure a referral that names a case may be made and fits the case. It becomes
// an action of that case: only its team or an organisation involved in it may make one
// (case-direction owns that knowledge). Only then is the case read — case-direction sends it
// with a yes only, or it is read as a Wijkbrug service, so that another organisation's attempt
// never makes case-direction show it — and the referral checked against it
// (domain.Referral.CheckAgainstCase).
func (a *App) checkCase(ctx context.Context, caller identity.Caller, r domain.Referral) error {
	if a.cases == nil {
		return apperr.FailedPrecondition("referrals for a case need case-direction, which is not configured")
	}
	var facts *domain.CaseFacts
	if caller.Org.Type != identity.OrgService {
		involved, involvedFacts, err := a.cases.Involved(ctx, r.CaseID, caller.Org.OIN, string(caller.Org.Type))
		if err != nil {
			return err
		}
		facts = involvedFacts
		route := ""
		if involved {
			route = accesslog.RouteInvolved
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: accesslog.Entry{Action: "referral.referral.create", ObjectType: "case", ObjectID: r.CaseID},
			Route: route, Change: true, Quiet: true}); err != nil {
			return err
		}
	}
	if facts == nil {
		// A service, or a case-direction that sent no facts.
		c, err := a.cases.Case(ctx, r.CaseID)
		if err != nil {
			return err
		}
		facts = &c
	}
	return r.CheckAgainstCase(*facts, a.pseudo.Pseudonym(r.ResidentBSN))
}

// checkIntake is checkCase for an intake: only the team that owns it may refer from it, and the
// referral must fit it (domain.Referral.CheckAgainstIntake).
func (a *App) checkIntake(ctx context.Context, caller identity.Caller, r domain.Referral) error {
	if a.intakes == nil {
		return apperr.FailedPrecondition("referrals for an intake need the intake service, which is not configured")
	}
	var facts *domain.IntakeFacts
	if caller.Org.Type != identity.OrgService {
		owner, ownerFacts, err := a.intakes.Owner(ctx, r.IntakeID, caller.Org.OIN, string(caller.Org.Type))
		if err != nil {
			return err
		}
		facts = ownerFacts
		route := ""
		if owner {
			route = accesslog.RouteTeam
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: accesslog.Entry{Action: "referral.referral.create", ObjectType: "intake", ObjectID: r.IntakeID},
			Route: route, Change: true, Quiet: true}); err != nil {
			return err
		}
	}
	if facts == nil {
		// Not the owner (emergency access), a service, or an intake that sent no facts.
		in, err := a.intakes.Intake(ctx, r.IntakeID)
		if err != nil {
			return err
		}
		facts = &in
	}
	return r.CheckAgainstIntake(*facts, a.pseudo.Pseudonym(r.ResidentBSN))
}

// checkReplaces allows re-routing only of the caller's own referral that ended without help,
// for the same resident, to another provision.
func (a *App) checkReplaces(ctx context.Context, r domain.Referral) error {
	old, err := a.referrals.Get(ctx, r.Replaces)
	if err != nil {
		if apperr.IsKind(err, apperr.KindNotFound) {
			return apperr.NotFound("referral", r.Replaces)
		}
		return err
	}
	route := ""
	if old.ReferrerOIN == r.ReferrerOIN {
		route = accesslog.RouteOwnRecord
	}
	if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: a.referralEntry("referral.referral.reroute", old, "", ""), Route: route, Change: true, Quiet: true}); err != nil {
		return err
	}
	var v apperr.Validation
	v.Check(old.ProvisionID != r.ProvisionID, "provision_id", "re-routing goes to another provision than the replaced referral's")
	v.Check(old.ResidentBSN == r.ResidentBSN, "resident_bsn", "must be the resident of the replaced referral")
	if err := v.Err(); err != nil {
		return err
	}
	// Re-routed before: the answer names the referral that did it (a concurrent re-routing
	// still ends on the unique index, naming the replaced one).
	replacement, err := a.referrals.ReplacementOf(ctx, old.ID)
	if err != nil {
		return err
	}
	if replacement != "" {
		return domain.ReplacedError{Replaced: old.ID, Replacement: replacement}
	}
	if !old.CanBeReplaced() {
		return apperr.FailedPrecondition(fmt.Sprintf("referral %s is %s: only a declined, expired, cancelled or failed referral can be re-routed", old.ID, old.Status))
	}
	return nil
}

// checkConsent requires the consent to be the caller's, of the same resident, and valid for
// the recipient and the shared categories.
func (a *App) checkConsent(ctx context.Context, r domain.Referral, now time.Time) error {
	// Share-locked: a concurrent WithdrawConsent either waits for this referral and cancels
	// it, or has withdrawn the consent before this reads it.
	c, err := a.ownConsent(ctx, r.ConsentID, "referral.consent.use", a.consents.GetForShare)
	if err != nil {
		return err
	}
	if c.ResidentBSN != r.ResidentBSN {
		return apperr.Invalid("consent_id", "the consent is of another resident")
	}
	if err := c.Covers(domain.ActivityReferral, r.RecipientOIN, r.Categories, now); err != nil {
		return apperr.FailedPrecondition("consent " + c.ID + " does not allow this referral: " + err.Error())
	}
	return nil
}

// GetReferral returns a referral to its referrer, its recipient (once sent) or a Wijkbrug
// service; anyone else gets NOT_FOUND, and the refusal is logged.
func (a *App) GetReferral(ctx context.Context, id string) (domain.Referral, error) {
	caller, _ := identity.From(ctx)
	var out domain.Referral
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		r, err := a.referrals.Get(ctx, id)
		if err != nil {
			return err
		}
		route := ""
		switch {
		case caller.Org.Type == identity.OrgService:
			route = accesslog.RouteService
		case len(r.SidesOf(caller.Org.OIN)) > 0:
			route = accesslog.RouteOwnRecord
		}
		_, err = accesslog.Guard(ctx, a.access, accesslog.Access{Entry: a.referralEntry("referral.referral.read", r, "", ""), Route: route})
		out = r
		return err
	})
	if err != nil {
		return domain.Referral{}, err
	}
	return out, nil
}

// ReferralHistory returns a referral's status changes to its referrer or its recipient
// (once sent). Anyone else, Wijkbrug services included, gets NOT_FOUND, and the refusal is
// logged.
func (a *App) ReferralHistory(ctx context.Context, id string) ([]domain.HistoryEntry, error) {
	caller, _ := identity.From(ctx)
	var out []domain.HistoryEntry
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		r, err := a.referrals.Get(ctx, id)
		if err != nil {
			return err
		}
		route := ""
		if len(r.SidesOf(caller.Org.OIN)) > 0 {
			route = accesslog.RouteOwnRecord
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: a.referralEntry("referral.referral.history", r, "", ""), Route: route}); err != nil {
			return err
		}
		out, err = a.referrals.History(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListReferrals lists the caller's referrals on one side; each returned one is logged.
func (a *App) ListReferrals(ctx context.Context, side domain.Side, status string, p domain.Page) ([]domain.Referral, bool, error) {
	caller, _ := identity.From(ctx)
	var (
		out  []domain.Referral
		more bool
	)
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		var err error
		if out, more, err = a.referrals.ListForSide(ctx, caller.Org.OIN, side, status, p); err != nil {
			return err
		}
		for _, r := range out {
			if err := a.access.Record(ctx, a.referralEntry("referral.referral.list", r, accesslog.RouteOwnRecord, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		return nil
	})
	return out, more, err
}

// TransitionReferral makes t on referral id as the calling organisation, whose side (referrer
// or recipient) must own the transition.
func (a *App) TransitionReferral(ctx context.Context, id string, t domain.Transition) (domain.Referral, error) {
	caller, _ := identity.From(ctx)
	action := "referral.referral." + string(t.Action)
	var out domain.Referral
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		r, err := a.referrals.GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		sides := r.SidesOf(caller.Org.OIN)
		route := ""
		if len(sides) > 0 {
			route = accesslog.RouteOwnRecord
		}
		if _, err := accesslog.Guard(ctx, a.access, accesslog.Access{Entry: a.referralEntry(action, r, "", ""), Route: route, Change: true, Quiet: true}); err != nil {
			return err
		}
		now := a.Now().UTC()
		if (t.Action == domain.ActAccept || t.Action == domain.ActDecline) && r.Status == domain.RefSent && now.After(r.AcceptBy) {
			return apperr.FailedPrecondition("the referral was not accepted before accept_by " + r.AcceptBy.Format(time.RFC3339) + " and expires")
		}
		if t.Action == domain.ActSend && r.Status == domain.RefDraft {
			if !r.AcceptBy.After(now) {
				return apperr.FailedPrecondition("accept_by " + r.AcceptBy.Format(time.RFC3339) + " has passed: create a new referral")
			}
			if r.ConsentID != "" {
				if err := a.checkConsent(ctx, r, now); err != nil {
					return err
				}
			}
		}
		if err := a.transition(ctx, r, t, sides, action, accesslog.RouteOwnRecord); err != nil {
			if errors.Is(err, domain.ErrWrongSide) {
				if lerr := a.access.RecordDetached(ctx, a.referralEntry(action, r, accesslog.RouteOwnRecord, accesslog.OutcomeDenied)); lerr != nil {
					return lerr
				}
			}
			return err
		}
		out, err = a.referrals.Get(ctx, id)
		return err
	})
	return out, err
}

// transition applies t, stores the referral and its history, and publishes the change.
func (a *App) transition(ctx context.Context, r domain.Referral, t domain.Transition, sides []domain.Side, action, route string) error {
	caller, _ := identity.From(ctx)
	from, now := r.Status, a.Now().UTC()
	if err := r.Apply(t, sides, now); err != nil {
		return err
	}
	side := sides[0]
	if len(sides) > 1 && t.Action != domain.ActSend && t.Action != domain.ActCancel {
		side = domain.SideRecipient
	}
	if err := a.referrals.Update(ctx, r); err != nil {
		return err
	}
	if err := a.referrals.AddTransition(ctx, r.ID, from, r.Status, r.Reason, side, caller.Org.OIN, now); err != nil {
		return err
	}
	if err := a.events.ReferralStatusChanged(ctx, r); err != nil {
		return err
	}
	return a.access.Record(ctx, a.referralEntry(action, r, route, accesslog.OutcomeGranted))
}

// ExpireDue is one batch of the referral-expiry scheduler (a pkg/scheduler job): it expires up
// to limit SENT referrals past accept_by in one transaction and returns how many. Rows are
// locked with SKIP LOCKED, so replicas running this at the same time never expire (and
// announce) the same referral twice. ctx must carry the system caller.
func (a *App) ExpireDue(ctx context.Context, limit int) (int, error) {
	var n int
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		n = 0
		due, err := a.referrals.DueForExpiry(ctx, a.Now().UTC(), limit)
		if err != nil {
			return err
		}
		for _, r := range due {
			if err := a.transition(ctx, r, domain.Transition{Action: domain.ActExpire}, []domain.Side{domain.SideSystem},
				"referral.referral.expire", accesslog.RouteSystem); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// The domain's errors speak apperr's vocabulary, so they are returned as they are and the
// edge gives each its code; these lines keep a renamed method from silently making one INTERNAL.
var (
	_ apperr.Forbidden           = domain.WrongSideError{}
	_ apperr.ForbiddenTransition = domain.TransitionError{}
	_ apperr.ForbiddenTransition = (*domain.SignalRefusalError)(nil)
	_ apperr.RuleViolation       = domain.RuleViolation{}
	_ apperr.Conflict            = domain.ReplacedError{}
	_ apperr.ForbiddenTransition = domain.ContextError{}
)

func (a *App) referralEntry(action string, r domain.Referral, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "referral", ObjectID: r.ID,
		ResidentPseudonym: a.pseudo.Pseudonym(r.ResidentBSN), Route: route, Outcome: outcome}
}
