package app

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// teamCaller returns the calling team; the method policy already admits only teams, this
// guards the use case when it is called otherwise.
func teamCaller(ctx context.Context) (identity.Caller, error) {
	c, ok := identity.From(ctx)
	if !ok {
		return c, apperr.Unauthenticated("no caller")
	}
	if c.Org.Type != identity.OrgTeam {
		return c, apperr.PermissionDenied("only a neighbourhood team may do this")
	}
	return c, nil
}

// teamOrForwardingService is teamCaller, or a Wijkbrug service forwarding a team's request
// (x-wijkbrug-on-behalf-of): then the team's OIN stands in for the caller's in per-object
// checks.
func teamOrForwardingService(ctx context.Context) (identity.Caller, error) {
	c, ok := identity.From(ctx)
	if ok && c.Org.Type == identity.OrgService && identity.ValidOIN(c.OnBehalfOf) {
		c.Org = identity.Organisation{OIN: c.OnBehalfOf, Type: identity.OrgTeam}
		return c, nil
	}
	return teamCaller(ctx)
}

// ownIntake locks and returns an intake of the calling team. Another team's intake is
// NOT_FOUND, and the refusal is logged outside the transaction (which rolls back).
func (a *App) ownIntake(ctx context.Context, caller identity.Caller, id, action string) (domain.Intake, error) {
	in, err := a.d.Intakes.GetForUpdate(ctx, id)
	if err != nil {
		return in, err
	}
	route := ""
	if in.TeamOIN == caller.Org.OIN {
		route = accesslog.RouteTeam
	}
	if _, err := accesslog.Guard(ctx, a.d.Access, accesslog.Access{Entry: a.entry(action, in, "", ""), Route: route, Change: true, Quiet: true}); err != nil {
		return domain.Intake{}, err
	}
	return in, nil
}

// change runs fn on an own intake in a transaction and logs the write.
func (a *App) change(ctx context.Context, id, action string, fn func(ctx context.Context, caller identity.Caller, in *domain.Intake) error) (domain.Intake, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return domain.Intake{}, err
	}
	var out domain.Intake
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		in, err := a.ownIntake(ctx, caller, id, action)
		if err != nil {
			return err
		}
		if err := fn(ctx, caller, &in); err != nil {
			return err
		}
		if err := a.d.Access.Record(ctx, a.entry(action, in, accesslog.RouteTeam, accesslog.OutcomeGranted)); err != nil {
			return err
		}
		// The answer names the intake's case as GetIntake does: not another team's, which a
		// triage to case direction may have joined (hideForeignCase).
		out = in
		return a.hideForeignCase(ctx, caller.Org.OIN, &out)
	})
	return out, err
}

// StartTriage: a professional of the owning team picks up a received intake.
func (a *App) StartTriage(ctx context.Context, id string) (domain.Intake, error) {
	return a.change(ctx, id, "intake.intake.start_triage", func(ctx context.Context, caller identity.Caller, in *domain.Intake) error {
		if err := in.StartTriage(caller.User); err != nil {
			return err
		}
		if err := a.d.Intakes.Update(ctx, *in); err != nil {
			return err
		}
		return a.d.Events.IntakeTriageStarted(ctx, *in)
	})
}

// DecideTriage decides an intake in triage: the professional's outcome, or (applyPolicy) the
// outcome of the policy version pinned on the intake. The policy reads, and a case opened
// starts from, only ZRM assessments the intake's team may read now (readableAssessments).
func (a *App) DecideTriage(ctx context.Context, id string, outcome domain.Outcome, applyPolicy bool) (domain.Intake, error) {
	return a.change(ctx, id, "intake.intake.decide", func(ctx context.Context, _ identity.Caller, in *domain.Intake) error {
		if in.Status != domain.StatusInTriage {
			return apperr.FailedPrecondition(fmt.Sprintf("triage is decided in %s, the intake is %s", domain.StatusInTriage, in.Status))
		}
		policy, err := a.d.Policies.Version(ctx, in.Municipality, in.PolicyVersion)
		if err != nil {
			return err
		}
		var scope assessmentScope
		if applyPolicy || outcome == domain.OutcomeCaseDirection {
			if scope, err = a.readableAssessments(ctx, *in, false); err != nil {
				return err
			}
		}
		var d domain.Decision
		if applyPolicy {
			facts, err := a.facts(ctx, *in, &scope)
			if err != nil {
				return err
			}
			var ok bool
			if d, ok = policy.Triage(facts); !ok {
				return apperr.FailedPrecondition(fmt.Sprintf("no rule of triage policy version %d applies: a professional decides", policy.Version))
			}
		} else {
			if !policy.Positioning.Allows(outcome) {
				return apperr.FailedPrecondition(fmt.Sprintf("a %s team does not decide %s", policy.Positioning, outcome))
			}
			d = domain.Decision{Outcome: outcome, Rule: domain.RuleProfessional, PolicyVersion: policy.Version}
		}
		decided, err := a.carryOut(ctx, *in, d, false, &scope, a.d.Intakes.Update)
		*in = decided
		return err
	})
}

// RecordContactAttempt records an attempt to reach the resident; the last attempt the
// policy allows ends the intake NOT_REACHED.
func (a *App) RecordContactAttempt(ctx context.Context, id, kind string, reached bool) (domain.Intake, error) {
	return a.change(ctx, id, "intake.intake.contact_attempt", func(ctx context.Context, caller identity.Caller, in *domain.Intake) error {
		policy, err := a.d.Policies.Version(ctx, in.Municipality, in.PolicyVersion)
		if err != nil {
			return err
		}
		if err := in.RecordContactAttempt(reached, policy.ContactAttempts); err != nil {
			return err
		}
		if err := a.d.Intakes.AddContactAttempt(ctx, uuid.NewString(), in.ID, kind, reached, a.now(), caller.User); err != nil {
			return err
		}
		if err := a.d.Intakes.Update(ctx, *in); err != nil {
			return err
		}
		if err := a.d.Events.IntakeContactAttempted(ctx, *in, reached, a.now()); err != nil {
			return err
		}
		if in.Status == domain.StatusNotReached {
			return a.d.Events.IntakeClosed(ctx, *in, a.now())
		}
		return nil
	})
}

// WithdrawIntake records that the resident withdrew the request.
func (a *App) WithdrawIntake(ctx context.Context, id string) (domain.Intake, error) {
	return a.change(ctx, id, "intake.intake.withdraw", func(ctx context.Context, _ identity.Caller, in *domain.Intake) error {
		if err := in.Withdraw(); err != nil {
			return err
		}
		if err := a.d.Intakes.Update(ctx, *in); err != nil {
			return err
		}
		return a.d.Events.IntakeClosed(ctx, *in, a.now())
	})
}

// MergeIntake closes duplicate id into intake intoID. Both are locked in id order, so two
// concurrent merges cannot deadlock.
func (a *App) MergeIntake(ctx context.Context, id, intoID string) (merged, into domain.Intake, err error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return merged, into, err
	}
	if id == intoID {
		return merged, into, apperr.Invalid("into_intake_id", "must differ from intake_id")
	}
	const action = "intake.intake.merge"
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		first, second := id, intoID
		if second < first {
			first, second = second, first
		}
		got := map[string]domain.Intake{}
		for _, x := range []string{first, second} {
			in, err := a.ownIntake(ctx, caller, x, action)
			if err != nil {
				return err
			}
			got[x] = in
		}
		merged, into = got[id], got[intoID]
		if err := merged.MergeInto(&into); err != nil {
			return err
		}
		for _, in := range []domain.Intake{merged, into} {
			if err := a.d.Intakes.Update(ctx, in); err != nil {
				return err
			}
			if err := a.d.Access.Record(ctx, a.entry(action, in, accesslog.RouteTeam, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		return a.d.Events.IntakeClosed(ctx, merged, a.now())
	})
	return merged, into, err
}

// QueueEntry is an open intake in a team's queue.
type QueueEntry struct {
	Intake  domain.Intake
	Overdue bool
}

// ListTeamQueue returns one page of the calling team's open intakes, most urgent first, then
// by deadline, then by id (a stable order), and whether more follow; each listed intake is
// access-logged. A read runs in no transaction: its access-log entry is committed before the
// page is returned, in one commit with the entries of other reads (logstore's group commit).
func (a *App) ListTeamQueue(ctx context.Context, after *domain.QueueKey, limit int) ([]QueueEntry, bool, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return nil, false, err
	}
	list, err := a.d.Intakes.Queue(ctx, caller.Org.OIN, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	now := a.now()
	out := make([]QueueEntry, 0, len(list))
	entries := make([]accesslog.Entry, 0, len(list))
	for _, in := range list {
		entries = append(entries, a.entry("intake.intake.list", in, accesslog.RouteTeam, accesslog.OutcomeGranted))
		out = append(out, QueueEntry{Intake: in, Overdue: in.Overdue(now)})
	}
	if err := a.d.Access.RecordMany(ctx, entries); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// ListIntakes finds the calling team's own intakes (any status) matching f, newest received
// first, one page after the position after; each intake shown is logged under its resident.
// A read runs in no transaction (see ListTeamQueue).
func (a *App) ListIntakes(ctx context.Context, f domain.IntakeFilter, after *paging.At, size int) ([]domain.Intake, bool, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return nil, false, err
	}
	rows, err := a.d.Intakes.Find(ctx, caller.Org.OIN, f, after, size+1)
	if err != nil {
		return nil, false, err
	}
	out, more := paging.Cut(rows, size)
	entries := make([]accesslog.Entry, 0, len(out))
	for i, in := range out {
		entries = append(entries, a.entry("intake.intake.list", in, accesslog.RouteTeam, accesslog.OutcomeGranted))
		if err := a.hideForeignCase(ctx, caller.Org.OIN, &out[i]); err != nil {
			return nil, false, err
		}
	}
	if err := a.d.Access.RecordMany(ctx, entries); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// A forbidden state change or merge is a domain RefusalError, which the edge reads as
// FAILED_PRECONDITION (its message holds statuses only); it is returned as it is.
var (
	_ apperr.ForbiddenTransition = (*domain.RefusalError)(nil)
	_ apperr.RuleViolation       = (*domain.ClarificationError)(nil)
)

// RecordClarification records a clarification conversation on an intake of the calling team
// that is still being clarified (RECEIVED or IN_TRIAGE). It changes nothing else about the
// intake and publishes no event: its content is the conversation, which no event may carry.
func (a *App) RecordClarification(ctx context.Context, id string, c domain.Clarification) (domain.Clarification, domain.Intake, error) {
	in, err := a.change(ctx, id, "intake.intake.record_clarification", func(ctx context.Context, caller identity.Caller, in *domain.Intake) error {
		now := a.now().Truncate(time.Microsecond) // as PostgreSQL stores it
		if err := in.Clarify(c, now); err != nil {
			return err
		}
		c.ID, c.RecordedBy, c.RecordedAt = uuid.NewString(), caller.User, now
		return a.d.Intakes.AddClarification(ctx, in.ID, c)
	})
	if err != nil {
		return domain.Clarification{}, domain.Intake{}, err
	}
	return c, in, nil
}
