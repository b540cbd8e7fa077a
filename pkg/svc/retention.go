package svc

import (
	"context"
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
