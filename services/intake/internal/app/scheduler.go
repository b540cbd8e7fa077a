package app

import (
	"context"
	"log/slog"
	"time"
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

// OverdueScheduler returns the background task that announces overdue intakes every
// interval (draining full batches at once) until its context ends.
func (a *App) OverdueScheduler(interval time.Duration, log *slog.Logger) func(ctx context.Context) {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			for ctx.Err() == nil {
				n, err := a.AnnounceOverdue(ctx, OverdueBatch)
				if err != nil {
					if ctx.Err() == nil {
						log.Warn("triage-deadline scheduler", "error", err.Error())
					}
					break
				}
				if n < OverdueBatch {
					break
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}
