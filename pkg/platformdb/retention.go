package platformdb

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// Retention says how long the platform tables keep a row that has done its work. A zero
// duration keeps those rows for good.
type Retention struct {
	// Outbox: a row JetStream acknowledged (published_at set), counted from the
	// acknowledgement. The event itself stays in its stream for the stream's retention.
	Outbox time.Duration
	// IdempotencyKeys: a mutating call's key and first answer, counted from the first call;
	// after it a retry with the key is a new request.
	IdempotencyKeys time.Duration
}

// pruneOutboxSQL deletes the published rows past their retention among the oldest $2 rows, the
// head of the primary key: rows are written in id order, so a pass reads the rows it deletes
// and at most one batch more. A batch that holds a row not due (within its retention, or not
// yet published) deletes the others and ends the pass.
const pruneOutboxSQL = `DELETE FROM outbox WHERE id = ANY(ARRAY(
	SELECT id FROM outbox ORDER BY id LIMIT $2)) AND published_at < now() - $1::interval`

// pruneKeysSQL deletes at most $2 idempotency keys older than $1, found through
// idempotency_keys_created (migration 00010).
const pruneKeysSQL = `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM idempotency_keys WHERE created_at < now() - $1::interval ORDER BY created_at LIMIT $2))`

// Prune deletes at most limit rows of each platform table that are past their retention, one
// statement per table, and returns the most it deleted from one table: when that is limit,
// more may be due (scheduler.Drain calls it again). An unpublished outbox row is never
// deleted, however old.
func Prune(ctx context.Context, db *pgxdb.DB, r Retention, limit int) (int, error) {
	most := 0
	for _, t := range []struct {
		table, sql string
		after      time.Duration
	}{{"outbox", pruneOutboxSQL, r.Outbox}, {"idempotency_keys", pruneKeysSQL, r.IdempotencyKeys}} {
		if t.after <= 0 {
			continue
		}
		tag, err := db.Pool.Exec(ctx, t.sql, t.after, limit)
		if err != nil {
			return most, fmt.Errorf("prune %s: %w", t.table, err)
		}
		most = max(most, int(tag.RowsAffected()))
	}
	return most, nil
}
