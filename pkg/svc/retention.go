package svc

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
)

// retentionInterval is how often a service deletes what is past its retention; a pass deletes
// in batches of retentionBatch rows per table until a batch deletes fewer.
const (
	retentionInterval = 10 * time.Minute
	retentionBatch    = 1000
)

// MinIdempotencyRetention is the shortest idempotency retention a service accepts (besides 0,
// keep): a client retries with the same key for as long as its retry policy and an outage
// last, and a key deleted before that retry turns it into a second request.
const MinIdempotencyRetention = 24 * time.Hour

// checkRetention refuses an idempotency retention shorter than MinIdempotencyRetention.
func checkRetention(cfg Config) error {
	if d := cfg.IdempotencyRetention; d > 0 && d < MinIdempotencyRetention {
		return fmt.Errorf("WIJKBRUG_IDEMPOTENCY_RETENTION (-idempotency-retention) is %s: at least %s, or 0 to keep the keys (a retry after a deleted key is applied a second time)", d, MinIdempotencyRetention)
	}
	return nil
}

// retentionJob is the scheduler job every service runs on its own database (docs/decisions.md,
// "Platform rows are deleted after their retention").
func retentionJob(p *Platform) scheduler.Job {
	r := platformdb.Retention{Outbox: p.Config.OutboxRetention, IdempotencyKeys: p.Config.IdempotencyRetention}
	return scheduler.Job{
		Name: "retention", Interval: retentionInterval, BatchSize: retentionBatch,
		Caller: p.SystemCaller("retention"),
		Batch: func(ctx context.Context, limit int) (int, error) {
			return platformdb.Prune(ctx, p.DB, r, limit)
		},
	}
}
