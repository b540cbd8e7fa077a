package app

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Themes counts signals, referrals and declines per district and theme.
type Themes interface {
	// Count returns the counts with the residents behind the records of organisations other
	// than asker (an OIN).
	Count(ctx context.Context, municipality, district string, from, to time.Time, asker string) ([]domain.ThemeCount, error)
}

// RecurringThemes returns the counts over [from, to) without the small groups, and the
// minimum group size applied; what the calling organisation recorded itself does not count
// towards that minimum (domain.Suppress). The read of (aggregated) personal data is logged.
func (a *App) RecurringThemes(ctx context.Context, municipality, district string, from, to time.Time) ([]domain.ThemeCount, int, error) {
	caller, _ := identity.From(ctx)
	var out []domain.ThemeCount
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		raw, err := a.themes.Count(ctx, municipality, district, from, to, caller.Org.OIN)
		if err != nil {
			return err
		}
		out = domain.Suppress(raw, a.settings.MinGroupSize)
		return a.access.Record(ctx, accesslog.Entry{Action: "referral.themes.read", ObjectType: "themes",
			ObjectID: municipality + "/" + district, Route: accesslog.RouteTeam, Outcome: accesslog.OutcomeGranted})
	})
	return out, a.settings.MinGroupSize, err
}
