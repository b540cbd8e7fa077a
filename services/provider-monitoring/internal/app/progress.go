package app

import (
	"context"

	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// ReportProgress records the provider's progress report on the case's goals; reached goals
// while care runs advise scaling down (AllocationScaleDownAdvised). Only the allocation's own
// provider reports.
func (a *App) ReportProgress(ctx context.Context, number string, goalIDs []string, j domain.Judgement) (domain.ProgressReport, error) {
	now := a.Now().UTC()
	var out domain.ProgressReport
	_, err := a.asProvider(ctx, number, "providermonitoring.allocation.report_progress", func(ctx context.Context, al *domain.Allocation) error {
		r, err := al.ReportProgress(a.NewID(), goalIDs, j, now)
		if err != nil {
			return err
		}
		if err := a.allocations.InsertProgress(ctx, r); err != nil {
			return err
		}
		out = r
		return a.events.AllocationProgressReported(ctx, *al, r)
	})
	return out, err
}
