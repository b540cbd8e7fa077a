package app

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// The case sees everything done for its household (issue 10): its residents (for the access
// log), allocations however they were issued, and referrals made for its intakes.

// HouseholdChanged brings the residents of the household's open case up to date with intake
// (a member joined, left or moved). Nothing happens for a household without an open case.
func (a *App) HouseholdChanged(ctx context.Context, householdID string) error {
	caseID, err := a.cases.OpenCaseOf(ctx, householdID)
	if err != nil || caseID == "" {
		return err
	}
	refs, err := a.households.Residents(ctx, householdID)
	if err != nil {
		return err
	}
	return a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.cases.GetForUpdate(ctx, caseID)
		if err != nil {
			return err
		}
		if c.Status.Final() || c.HouseholdID != householdID {
			return nil
		}
		at := a.now()
		changed, err := a.cases.SetResidents(ctx, c.ID, refs, at)
		if err != nil || !changed {
			return err
		}
		if err := a.events.CaseResidentsChanged(ctx, c, at); err != nil {
			return err
		}
		return a.access.Record(ctx, entry(actionResidents, c.ID, accesslog.RouteSystem, accesslog.OutcomeGranted))
	})
}

// IntakeReceived remembers which household an intake is about, so referrals made for it later
// find the household's case.
func (a *App) IntakeReceived(ctx context.Context, intakeID, householdID string) error {
	return a.cases.RecordIntakeHousehold(ctx, intakeID, householdID)
}

// ListCaseResidents tells a Wijkbrug service the residents the case concerns now, a page at
// a time (after: the last resident id of the page before). A case concerns a household's
// few residents, so they are read whole, with the case's row, in one round trip, and the
// access is logged under each of them without looking them up again.
func (a *App) ListCaseResidents(ctx context.Context, caseID, after string, size int) (out []domain.ResidentRef, more bool, err error) {
	err = a.tx.Tx(ctx, func(ctx context.Context) error {
		all, err := a.cases.CurrentResidents(ctx, caseID)
		if err != nil {
			return err
		}
		pseudonyms := make([]string, 0, len(all))
		var rest []domain.ResidentRef
		for _, r := range all {
			pseudonyms = append(pseudonyms, r.Pseudonym)
			if r.ResidentID > after { // ids in the canonical text form, ordered as PostgreSQL orders them
				rest = append(rest, r)
			}
		}
		out, more = paging.Cut(rest, size)
		return a.access.Record(ctx, residentsEntry(actionListResidents, caseID, pseudonyms, accesslog.RouteService, accesslog.OutcomeGranted))
	})
	return out, more, err
}

// AllocationIssued makes an allocation issued for the case outside RequestAllocation (a
// provider's granted request, a decided decision in kind) an action of the case, so it shows on
// the case, its provider's reports reach the case and it holds closing until it ends. It
// reports whether the case exists; an allocation already recorded is left as it is.
func (a *App) AllocationIssued(ctx context.Context, caseID string, al domain.AllocationAction) (bool, error) {
	found := false
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		// A share lock, not FOR UPDATE: a RequestAllocation of the same allocation in flight
		// inserts its action first (unique number) and then needs a key-share lock on this case
		// row for the foreign key; holding FOR UPDATE here while our insert waits for its
		// transaction was a deadlock (seen in the bench smoke). The share lock still orders us
		// against CloseCase (FOR UPDATE), so closing sees this allocation. Should the event win
		// the race, RequestAllocation claims the row (origin CASE_REQUEST) when it inserts.
		c, err := a.cases.GetForShare(ctx, caseID)
		if apperr.IsKind(err, apperr.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		known, pending, err := a.cases.AllocationState(ctx, al.Number)
		if err != nil {
			return err
		}
		if known != "" {
			if pending {
				// Attached while provider-monitoring issued it: now committed.
				return a.cases.ConfirmAllocation(ctx, al.Number)
			}
			return nil
		}
		al.UpdatedAt = al.UpdatedAt.UTC().Truncate(time.Microsecond)
		added, err := a.cases.AddAllocation(ctx, c.ID, al)
		if err != nil || !added {
			return err
		}
		return a.access.Record(ctx, caseEntry(actionAllocationLinked, c, accesslog.RouteSystem, accesslog.OutcomeGranted))
	})
	return found, err
}

// AttachAllocation records an allocation provider-monitoring is issuing for the case outside
// RequestAllocation (a granted request for allocation, a decision in kind), inside
// provider-monitoring's transaction and before it commits. The case's share lock orders it
// against CloseCase and HandOver (FOR UPDATE): either the case is closed or handed over first
// and the allocation is refused (NotOpenError, so provider-monitoring issues nothing), or the
// closing finds the allocation open. The allocation is pending until its allocation.issued
// event confirms it; CloseCase settles one still pending (settlePendingAllocations). It reports
// whether this call recorded it (false: recorded before, on this case).
func (a *App) AttachAllocation(ctx context.Context, caseID string, al domain.AllocationAction) (bool, error) {
	attached := false
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		c, err := a.cases.GetForShare(ctx, caseID)
		if err != nil {
			return err
		}
		known, err := a.cases.AllocationCase(ctx, al.Number)
		if err != nil {
			return err
		}
		if known != "" {
			if known != c.ID {
				return apperr.FailedPrecondition(fmt.Sprintf("allocation %s is recorded on another case", al.Number))
			}
			return nil
		}
		if err := c.CanAttachAllocation(); err != nil {
			return err
		}
		now := a.now().UTC().Truncate(time.Microsecond)
		al.Status, al.PendingSince = domain.AllocationIssued, &now
		al.UpdatedAt = al.UpdatedAt.UTC().Truncate(time.Microsecond)
		if attached, err = a.cases.AddAllocation(ctx, c.ID, al); err != nil || !attached {
			return err
		}
		return a.access.Record(ctx, caseEntry(actionAllocationLinked, c, accesslog.RouteService, accesslog.OutcomeGranted))
	})
	return attached, err
}

// settlePendingAllocations asks provider-monitoring, before a case closes, about each of its
// allocations still pending (attached, no allocation.issued event yet): one provider-monitoring
// has is confirmed and stays open, so the closing is refused naming it; one it does not have
// was never committed and is dropped once domain.PendingAllocationSettled has passed since it
// was attached (before that its transaction may still commit, and it holds the closing). Both
// writes are part of the closing's transaction: a refused closing leaves them to the next
// attempt (or, for a real allocation, to its event).
func (a *App) settlePendingAllocations(ctx context.Context, c *domain.Case, at time.Time) error {
	kept := c.Allocations[:0:0]
	for _, al := range c.Allocations {
		if al.PendingSince == nil {
			kept = append(kept, al)
			continue
		}
		outcome, err := a.settlePending(ctx, al.Number, at.Sub(*al.PendingSince) >= domain.PendingAllocationSettled)
		if err != nil {
			return err
		}
		switch outcome {
		case pendingDropped:
			continue
		case pendingConfirmed:
			al.PendingSince = nil
		}
		kept = append(kept, al)
	}
	c.Allocations = kept
	return nil
}

// pendingOutcome is what settlePending did with a pending allocation.
type pendingOutcome int

const (
	pendingKept      pendingOutcome = iota // provider-monitoring does not have it (yet): still pending
	pendingConfirmed                       // provider-monitoring has it: confirmed
	pendingDropped                         // provider-monitoring never committed it: removed
)

// settlePending asks provider-monitoring about one pending allocation: one it has is confirmed;
// one it does not have is dropped when settled says no transaction can still commit it
// (domain.PendingAllocationSettled has passed since the attach), and kept otherwise. The
// closing (settlePendingAllocations) and the pending-allocations job (SettlePendingAllocations)
// both settle through it.
func (a *App) settlePending(ctx context.Context, number string, settled bool) (pendingOutcome, error) {
	_, _, err := a.allocator.Allocation(ctx, number)
	switch {
	case err == nil:
		return pendingConfirmed, a.cases.ConfirmAllocation(ctx, number)
	case apperr.IsKind(err, apperr.KindNotFound) && settled:
		return pendingDropped, a.cases.DropPendingAllocation(ctx, number)
	case apperr.IsKind(err, apperr.KindNotFound):
		return pendingKept, nil
	default:
		return pendingKept, err
	}
}

// LinkAllocation looks up an allocation the case does not know yet (an event about it came
// first) and records it for its case, if it has one. It reports whether it is now known.
func (a *App) LinkAllocation(ctx context.Context, number string) (bool, error) {
	al, caseID, err := a.allocator.Allocation(ctx, number)
	if err != nil {
		return false, err
	}
	if caseID == "" {
		return false, nil
	}
	return a.AllocationIssued(ctx, caseID, al)
}

// ReferralForIntake records a referral made for an intake (outside case direction) on the
// case it is already recorded on, else the case opened from that intake, else the open case
// of the intake's household when the referrer owns that case or is involved in it: a team
// whose intake matched another team's household cannot put its referral on that team's case
// (where it would hold up the closing and be out of the owning team's reach). It reports
// whether the referral is now the case's.
func (a *App) ReferralForIntake(ctx context.Context, intakeID, referralID, referrerOIN, status string, goalIDs []string, at time.Time) (bool, error) {
	caseID, own, err := a.cases.CaseOfIntake(ctx, intakeID, referralID)
	if err != nil || caseID == "" {
		return false, err
	}
	var accept func(*domain.Case) bool
	if !own {
		accept = func(c *domain.Case) bool { return c.PartyAt(referrerOIN, at) }
	}
	found, err := a.referralStatus(ctx, caseID, referralID, status, goalIDs, at, accept)
	if err != nil || !found {
		return found, err
	}
	return true, a.cases.SetReferralIntake(ctx, referralID, intakeID)
}

// AllocationKnown reports whether the allocation is an action of a case here.
func (a *App) AllocationKnown(ctx context.Context, number string) (bool, error) {
	caseID, err := a.cases.AllocationCase(ctx, number)
	return caseID != "", err
}
