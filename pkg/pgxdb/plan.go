package pgxdb

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// The statements SendGeneric puts around a batch. A session-level SET, not SET LOCAL: the reads
// that use it run outside a transaction, where SET LOCAL draws a warning into the server's log
// on every call. Sent in one pipeline they run in one implicit transaction, so the setting is
// never left behind on the pooled connection: RESET runs when the statements succeed, and when
// one fails PostgreSQL undoes the SET with the rest of the transaction.
const (
	genericPlanOn  = `SET plan_cache_mode = force_generic_plan`
	genericPlanOff = `RESET plan_cache_mode`
)

// SendGeneric sends b in one round trip with the statements in it run on the generic plan of
// their prepared statement: planned once per connection, never again for each call's values.
// The results answer b's statements in order (the SET before them is read here, the RESET
// after them by Close).
//
// For the list pages whose plan is an index range in the list's order whatever the values. A
// prepared statement is otherwise planned for its values on its first five runs, and after
// that on every run whose generic plan PostgreSQL estimates dearer than those were. With
// `LIMIT $n` it estimates the generic plan for a tenth of the rows matched instead of the page:
// a caseload page's generic plan cost four times its custom one, so the page was planned again
// on every call, 0.1 ms of PostgreSQL's time against 0.16 ms to run it (docs/decisions.md,
// issue 12, item 34).
func (db *DB) SendGeneric(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	w := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, b.Len()+2)}
	w.Queue(genericPlanOn)
	w.QueuedQueries = append(w.QueuedQueries, b.QueuedQueries...)
	w.Queue(genericPlanOff)
	res := db.Q(ctx).SendBatch(ctx, w)
	if _, err := res.Exec(); err != nil {
		_ = res.Close()
		return errBatch{err}
	}
	return res
}

// QueryGeneric is Query with SendGeneric's plan: one statement on its generic plan. Closing
// the rows (or reading past the last) also reads the RESET after it.
func (db *DB) QueryGeneric(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return rowsOf(db.SendGeneric(ctx, b))
}
