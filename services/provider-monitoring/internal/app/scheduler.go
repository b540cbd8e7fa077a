package app

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
)

// notStartedBatch bounds one scheduler transaction.
const notStartedBatch = 100

// AlertNotStarted raises the not-started alert once for every issued allocation that has not
// started NotStartedDays after its start date: in one transaction per batch it claims the due
// allocations (FOR UPDATE SKIP LOCKED, so replicas never take the same one), marks them and
// writes their events. ctx must carry the service's system caller. It returns how many alerts
// it raised.
func (a *App) AlertNotStarted(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		now := a.Now().UTC()
		err := a.tx.Tx(ctx, func(ctx context.Context) error {
			due, err := a.allocations.ClaimNotStarted(ctx, a.notStartedCutoff(), now, notStartedBatch)
			if err != nil {
				return err
			}
			for _, al := range due {
				if err := a.events.AllocationNotStarted(ctx, al, a.settings.NotStartedDays, now); err != nil {
					return err
				}
				if err := a.access.Record(ctx, entry("providermonitoring.allocation.alert_not_started", al.Number, accesslog.RouteSystem, accesslog.OutcomeGranted)); err != nil {
					return err
				}
			}
			n = len(due)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < notStartedBatch {
			return total, nil
		}
	}
}
