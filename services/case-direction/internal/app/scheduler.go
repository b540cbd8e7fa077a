package app

import (
	"context"
)

// watchBatch is how many due check-ins one transaction handles.
const watchBatch = 50

// EmitOverdueCheckIns emits case.watch_check_overdue once for every pilot-light check-in that
// was due at or before now and not done, and moves the next check-in one interval on. Each
// batch runs in one transaction that locks its cases with FOR UPDATE SKIP LOCKED and writes
// the event, so several replicas may run it at once without emitting an event twice. It
// returns the number of events written.
func (a *App) EmitOverdueCheckIns(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := a.tx.Tx(ctx, func(ctx context.Context) error {
			now := a.now()
			due, err := a.cases.LockDueWatches(ctx, now, watchBatch)
			if err != nil {
				return err
			}
			for _, c := range due {
				dueAt := *c.Watch.NextCheckAt
				fresh, err := a.cases.RecordOverdue(ctx, c.ID, dueAt, now)
				if err != nil {
					return err
				}
				c.Watch.MissCheckIn()
				if err := a.cases.Update(ctx, c); err != nil {
					return err
				}
				if !fresh {
					continue
				}
				if err := a.events.CaseWatchCheckOverdue(ctx, c, dueAt); err != nil {
					return err
				}
				n++
			}
			if len(due) == 0 {
				n = -1
			}
			return nil
		})
		if err != nil || n < 0 {
			return total, err
		}
		total += n
	}
}
