package app

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Themes counts signals, referrals and declines per district and theme.
type Themes interface {
	Count(ctx context.Context, municipality, district string, from, to time.Time) ([]domain.ThemeCount, error)
}

// RecurringThemes returns the counts over [from, to) with small groups suppressed, and the
// minimum group size applied. The read of (aggregated) personal data is logged.
func (a *App) RecurringThemes(ctx context.Context, municipality, district string, from, to time.Time) ([]domain.ThemeCount, int, error) {
	var out []domain.ThemeCount
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		raw, err := a.themes.Count(ctx, municipality, district, from, to)
		if err != nil {
			return err
		}
		out = domain.Suppress(raw, a.settings.MinGroupSize)
		return a.access.Record(ctx, accesslog.Entry{Action: "referral.themes.read", ObjectType: "themes",
			ObjectID: municipality + "/" + district, Route: accesslog.RouteTeam, Outcome: accesslog.OutcomeGranted})
	})
	return out, a.settings.MinGroupSize, err
}
