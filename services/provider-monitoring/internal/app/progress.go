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
		// The case's goals, asked of case-direction once the caller is known to be the
		// allocation's provider (so nobody else's report makes case-direction read the case).
		if err := al.CanReportProgress(); err != nil {
			return err
		}
		c, err := a.cases.Case(ctx, al.CaseID)
		if err != nil {
			return err
		}
		var goals []string
		for _, g := range c.Goals {
			goals = append(goals, g.GoalID)
		}
		r, err := al.ReportProgress(a.NewID(), goalIDs, goals, j, now)
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
