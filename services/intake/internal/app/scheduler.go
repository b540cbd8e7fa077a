package app

import (
	"context"
)

// AnnounceOverdue is one batch of the triage-deadline scheduler (a pkg/scheduler job): it
// announces, once per intake, up to limit open intakes whose triage deadline has passed. In
// one transaction it locks them (FOR UPDATE SKIP LOCKED, skipping intakes another replica
// holds), writes the IntakeTriageOverdue events to the outbox and marks the intakes
// announced. It returns how many it announced.
func (a *App) AnnounceOverdue(ctx context.Context, limit int) (int, error) {
	n := 0
	err := a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		now := a.now()
		list, err := a.d.Intakes.ClaimOverdue(ctx, now, limit)
		if err != nil {
			return err
		}
		for _, in := range list {
			if err := a.d.Events.IntakeTriageOverdue(ctx, in); err != nil {
				return err
			}
			if err := a.d.Intakes.MarkOverdueAnnounced(ctx, in.ID, now); err != nil {
				return err
			}
		}
		n = len(list)
		return nil
	})
	return n, err
}
