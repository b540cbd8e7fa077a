package app

import (
	"context"
)

// OverdueBatch is how many overdue intakes one scheduler transaction announces at most.
const OverdueBatch = 100

// AnnounceOverdue announces, once per intake, every open intake whose triage deadline has
// passed: in one transaction it locks a batch (skipping intakes another replica holds),
// writes the IntakeTriageOverdue events to the outbox and marks the intakes announced. It
// returns how many it announced.
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

// AnnounceAllOverdue announces every overdue intake, a full batch at a time, and returns how
// many it announced (one pass of the triage-deadline scheduler, a svc.Scheduler).
func (a *App) AnnounceAllOverdue(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := a.AnnounceOverdue(ctx, OverdueBatch)
		total += n
		if err != nil || n < OverdueBatch {
			return total, err
		}
	}
}
