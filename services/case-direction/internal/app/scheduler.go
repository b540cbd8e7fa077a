package app

import (
	"context"

	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// EmitOverdueCheckIns is one batch of the pilot-light scheduler (a pkg/scheduler job): in one
// transaction it locks up to limit cases in WATCH whose next check-in is due (FOR UPDATE SKIP
// LOCKED, so several replicas may run it at once without handling a case twice) and handles
// up to limit missed check-ins of them: each is recorded, emitted once as
// case.watch_check_overdue and moves the case's next check-in one interval on. A case that
// missed several check-ins has them all handled in the batch, unless the limit is reached
// first; then the rest are due for the next batch. It returns the number of check-ins handled.
func (a *App) EmitOverdueCheckIns(ctx context.Context, limit int) (int, error) {
	n := 0
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		n = 0
		now := a.now()
		due, err := a.cases.LockDueWatches(ctx, now, limit)
		if err != nil {
			return err
		}
		for _, c := range due {
			missed := false
			for n < limit && c.Watch != nil && c.Watch.NextCheckAt != nil && !c.Watch.NextCheckAt.After(now) {
				dueAt := *c.Watch.NextCheckAt
				fresh, err := a.cases.RecordOverdue(ctx, c.ID, dueAt, now)
				if err != nil {
					return err
				}
				c.Watch.MissCheckIn()
				missed = true
				n++
				if !fresh {
					continue
				}
				if err := a.events.CaseWatchCheckOverdue(ctx, c, dueAt); err != nil {
					return err
				}
			}
			if missed {
				if err := a.cases.Update(ctx, c); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// FoldCaseloadCounts is the batch of the "caseload-counts" job: every case write adds a +1/-1
// row to the caseload counts (so writes never wait on a shared counter), and this folds up to
// limit groups of them into one row each, so ListCases sums a few rows a team.
func (a *App) FoldCaseloadCounts(ctx context.Context, limit int) (int, error) {
	n := 0
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		var err error
		n, err = a.cases.FoldCounts(ctx, limit)
		return err
	})
	return n, err
}

// SettlePendingAllocations is the batch of the "pending-allocations" job. An allocation
// provider-monitoring attached to a case (AttachAllocation) is pending until its
// allocation.issued event confirms it; should provider-monitoring's transaction fail after the
// attach, no event comes and the case would show the allocation as ISSUED until a closing
// settled it. This locks up to limit allocations pending for longer than
// domain.PendingAllocationSettled (no transaction can still commit them) and asks
// provider-monitoring about each: one it has is confirmed (its event is on its way), one it
// does not have is dropped. A failed question fails the batch; the next run asks again.
func (a *App) SettlePendingAllocations(ctx context.Context, limit int) (int, error) {
	n := 0
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		n = 0
		numbers, err := a.cases.LockPendingAllocations(ctx, a.now().Add(-domain.PendingAllocationSettled), limit)
		if err != nil {
			return err
		}
		for _, number := range numbers {
			// Locked because PendingAllocationSettled has passed: a NOT_FOUND is final.
			if _, err := a.settlePending(ctx, number, true); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
