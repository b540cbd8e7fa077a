package app

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
)

// AlertNotStarted is one batch of the not-started scheduler (a pkg/scheduler job): it raises
// the not-started alert once for up to limit issued allocations that have not started
// NotStartedDays after their start date. In one transaction it claims them (FOR UPDATE SKIP
// LOCKED, so replicas never take the same one), marks them and writes their events and
// access-log entries. ctx must carry the service's system caller. It returns how many alerts
// it raised.
func (a *App) AlertNotStarted(ctx context.Context, limit int) (int, error) {
	n := 0
	now := a.Now().UTC()
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		due, err := a.allocations.ClaimNotStarted(ctx, a.notStartedCutoff(), now, limit)
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
	return n, err
}
