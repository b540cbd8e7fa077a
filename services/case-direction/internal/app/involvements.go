package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// AddInvolvement involves an organisation (and optionally one of its professionals) in the
// team's case as EXECUTOR or ADVISOR. The same organisation, professional and role may have
// one open involvement at a time: a second is ALREADY_EXISTS naming the first.
func (a *App) AddInvolvement(ctx context.Context, caseID string, in domain.Involvement) (domain.Case, domain.Involvement, error) {
	var added domain.Involvement
	c, err := a.change(ctx, caseID, actionAddInvolvement, func(ctx context.Context, c *domain.Case, at time.Time) error {
		if c.Status.Final() {
			return &domain.ActionError{Status: c.Status, Action: "get involvements"}
		}
		in.ID = uuid.NewString()
		i, err := domain.NewInvolvement(in, at)
		if err != nil {
			return err
		}
		if dup, ok := c.DuplicateInvolvement(i, at); ok {
			return apperr.AlreadyExists("involvement", dup.ID, "the organisation is already involved in the case in this role")
		}
		if err := a.cases.AddInvolvement(ctx, c.ID, i); err != nil {
			return err
		}
		added = i
		return a.events.CaseInvolvementAdded(ctx, *c, i, at)
	})
	return c, added, err
}

// EndInvolvement ends one of the case's involvements now (lastDay nil) or after lastDay.
func (a *App) EndInvolvement(ctx context.Context, caseID, involvementID string, lastDay *time.Time) (domain.Case, domain.Involvement, error) {
	var ended domain.Involvement
	c, err := a.change(ctx, caseID, actionEndInvolvement, func(ctx context.Context, c *domain.Case, at time.Time) error {
		i, ok := c.Involvement(involvementID)
		if !ok {
			return apperr.NotFound("involvement", involvementID)
		}
		if err := i.End(lastDay, at); err != nil {
			return err
		}
		if err := a.cases.SaveInvolvementEnd(ctx, c.ID, *i); err != nil {
			return err
		}
		ended = *i
		return a.events.CaseInvolvementEnded(ctx, *c, *i, at)
	})
	return c, ended, err
}

// replaceDirectorInvolvement ends the previous director's involvement and adds the new
// director's (c.Director), with an event for each: exactly one director at a time.
func (a *App) replaceDirectorInvolvement(ctx context.Context, c domain.Case, at time.Time) error {
	prev, err := a.cases.EndDirectorInvolvement(ctx, c.ID, at)
	if err != nil {
		return err
	}
	if prev != nil {
		if err := a.events.CaseInvolvementEnded(ctx, c, *prev, at); err != nil {
			return err
		}
	}
	i := domain.DirectorInvolvement(uuid.NewString(), *c.Director)
	if err := a.cases.AddInvolvement(ctx, c.ID, i); err != nil {
		return err
	}
	return a.events.CaseInvolvementAdded(ctx, c, i, at)
}

// InvolvedCases is one page of the cases an organisation is involved in.
type InvolvedCases struct {
	Cases []domain.Case
	// Next is the position of the page's last case when more follow.
	Next *domain.Cursor
}

// ListInvolvedCases lists, read-only, the cases the calling organisation has an involvement in
// that is active now, newest first, each as GetCase gives it to an involved organisation. Every
// listed case is access-logged under route INVOLVEMENT (per resident, by the Recorder). A read
// runs in no transaction (see ListCases).
func (a *App) ListInvolvedCases(ctx context.Context, after *domain.Cursor, limit int) (InvolvedCases, error) {
	caller, _ := identity.From(ctx)
	at := a.now()
	found, err := a.cases.InvolvedCases(ctx, caller.Org.OIN, string(caller.Org.Type), at, after, limit+1)
	if err != nil {
		return InvolvedCases{}, err
	}
	page, more := found, false
	if len(found) > limit {
		page, more = found[:limit], true
	}
	var out InvolvedCases
	entries := make([]accesslog.Entry, 0, len(page))
	for _, pos := range page {
		c, err := a.cases.Get(ctx, pos.ID)
		if err != nil {
			return InvolvedCases{}, err
		}
		// The store chose the case by the same rule; the domain's answer decides.
		if !c.InvolvedAt(caller.Org.OIN, string(caller.Org.Type), at) {
			continue
		}
		involvedView(&c)
		out.Cases = append(out.Cases, c)
		entries = append(entries, entry(actionListInvolved, c.ID, accesslog.RouteInvolved, accesslog.OutcomeGranted))
	}
	if more {
		last := page[len(page)-1]
		out.Next = &last
	}
	if err := a.access.RecordMany(ctx, entries); err != nil {
		return InvolvedCases{}, err
	}
	return out, nil
}
