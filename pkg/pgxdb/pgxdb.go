// Package pgxdb is the PostgreSQL access shared by every service: a pgx/v5 pool, a
// transaction helper that puts the transaction into the context (so the repository, the
// outbox, the idempotency store and the access log all write in the same transaction without
// passing it around), and goose migrations.
package pgxdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Querier is what both a pool and a transaction offer.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error)
}

// DB wraps a pool.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects a pool and checks that the database answers.
func Open(ctx context.Context, dsn string, maxConns int32, opts ...Option) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	for _, o := range opts {
		o(cfg)
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	// A span per query, batch, copy and connect (statement text, never the parameters).
	cfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTrimSQLInSpanName())
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Option adjusts a pool's configuration in Open.
type Option func(*pgxpool.Config)

// ApplicationName names the pool's sessions in pg_stat_activity (which service and replica a
// session is), unless the URL names them already.
func ApplicationName(name string) Option {
	return func(c *pgxpool.Config) {
		if c.ConnConfig.RuntimeParams["application_name"] == "" {
			c.ConnConfig.RuntimeParams["application_name"] = name
		}
	}
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks the database.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

type txKey struct{}

// txState is what a transaction carries in its context: the connection it runs on, whether
// BEGIN has gone out yet, the writes deferred to go out with its next statement or COMMIT,
// and what to do once it has committed.
type txState struct {
	conn        *pgxpool.Conn
	begun       bool
	deferred    pgx.Batch
	afterCommit []func()
}

func stateOf(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{}).(*txState)
	return st
}

// Q returns the transaction in ctx, or the pool when there is none.
func (db *DB) Q(ctx context.Context) Querier {
	if st := stateOf(ctx); st != nil {
		return (*txQuerier)(st)
	}
	return db.Pool
}

// InTx reports whether ctx carries a transaction.
func InTx(ctx context.Context) bool { return stateOf(ctx) != nil }

// Defer queues a write of the transaction of ctx: it goes out in one pipeline with the
// transaction's next statement, or with the COMMIT, and runs before it, so it costs no round
// trip of its own and every later statement of the transaction sees it. When it fails, the
// statement it went out with returns its error, the transaction rolls back and Tx returns the
// error, exactly as if it had failed where it was queued. Outside a transaction it runs at
// once. It is for writes whose answer nothing needs (outbox events, access-log entries,
// idempotency answers): each of those would otherwise cost the request a round trip.
func (db *DB) Defer(ctx context.Context, sql string, args ...any) error {
	if st := stateOf(ctx); st != nil {
		st.deferred.Queue(sql, args...)
		return nil
	}
	_, err := db.Pool.Exec(ctx, sql, args...)
	return err
}

// SendBatchAfterDeferred sends b in the transaction of ctx, after the writes deferred so far,
// in one pipeline (with BEGIN in front when the transaction has not sent anything yet), and
// returns the first error of what went ahead of b, or b's results, which the caller reads and
// closes. It is Q(ctx).SendBatch with that error returned on its own. Outside a transaction it
// is the pool's SendBatch.
func (db *DB) SendBatchAfterDeferred(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	br := db.Q(ctx).SendBatch(ctx, b)
	if e, ok := br.(errBatch); ok {
		return nil, e.err
	}
	return br, nil
}

// AfterCommit runs fn once the transaction of ctx has committed (never when it rolls back);
// outside a transaction it runs fn at once. fn must be quick and must not fail: it is for
// wake-ups, not for work that needs to succeed.
func AfterCommit(ctx context.Context, fn func()) {
	if st := stateOf(ctx); st != nil {
		st.afterCommit = append(st.afterCommit, fn)
		return
	}
	fn()
}

// Tx runs fn in a transaction, committing when it returns nil. When ctx already carries a
// transaction, fn joins it: the outermost caller decides about commit, so use cases compose.
//
// BEGIN and COMMIT cost no round trips of their own (docs/decisions.md, "BEGIN and COMMIT
// ride along"): BEGIN goes out in one pipeline with the transaction's first statement, COMMIT
// in one pipeline with the writes deferred after the last one (Defer). A transaction of one
// statement plus deferred writes therefore takes two round trips, where pgx's own
// Begin/Commit take four. The semantics are PostgreSQL's own: a statement that fails aborts
// the transaction, the rest of its pipeline is skipped, and nothing commits.
func (db *DB) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	if InTx(ctx) {
		return fn(ctx)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	st := &txState{conn: conn}
	done := false
	defer func() {
		if st.begun && !done {
			// The transaction failed or never got to COMMIT: end it so the connection goes back
			// to the pool idle (pgxpool destroys a connection left inside a transaction).
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		conn.Release()
	}()
	if err := fn(context.WithValue(ctx, txKey{}, st)); err != nil {
		return err
	}
	if err := st.commit(ctx); err != nil {
		return err
	}
	done = true
	for _, f := range st.afterCommit {
		f()
	}
	return nil
}

// commit sends the deferred writes and COMMIT in one pipeline (with BEGIN in front when the
// transaction has not sent anything yet). A transaction that sent nothing has nothing to
// commit.
func (st *txState) commit(ctx context.Context) error {
	if st.deferred.Len() == 0 {
		if !st.begun {
			return nil
		}
		tag, err := st.conn.Exec(ctx, "COMMIT")
		return commitResult(tag, err)
	}
	b := &pgx.Batch{}
	if !st.begun {
		b.Queue("BEGIN")
	}
	b.QueuedQueries = append(b.QueuedQueries, st.deferred.QueuedQueries...)
	b.Queue("COMMIT")
	st.begun = true
	br := st.conn.SendBatch(ctx, b)
	var first error
	var tag pgconn.CommandTag
	for range b.Len() {
		t, err := br.Exec()
		if err != nil && first == nil {
			first = err
		}
		tag = t
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	if first != nil {
		return first
	}
	return commitResult(tag, nil)
}

// commitResult turns COMMIT's answer into an error: PostgreSQL answers COMMIT of a transaction
// that an earlier (caught) error aborted with ROLLBACK, not with an error.
func commitResult(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if tag.String() == "ROLLBACK" {
		return fmt.Errorf("commit: %w", pgx.ErrTxCommitRollback)
	}
	return nil
}

// IsUniqueViolation reports a unique-constraint violation, optionally of one constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return constraint == "" || pe.ConstraintName == constraint
	}
	return false
}

// IsNoRows reports pgx.ErrNoRows.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// UUIDs returns the ids that are UUIDs, parsed, for a `= ANY($1::uuid[])` parameter: one
// malformed id (taken from a request or an event) must not fail the cast for all the others.
// They are pgtype.UUID, which pgx sends in binary as they are; for strings pgx built an encode
// error on every call before falling back (3 % of a ListCases run's CPU samples in the bench).
func UUIDs(ids []string) []pgtype.UUID {
	out := make([]pgtype.UUID, 0, len(ids))
	for _, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			out = append(out, pgtype.UUID{Bytes: u, Valid: true})
		}
	}
	return out
}

// IndexScanPlan is the SET LOCAL statements that leave PostgreSQL one kind of plan for the
// rest of a transaction: index scans, planned for each run with the parameters it gets. The
// background rounds that read a table's newest rows through a partial index (the outbox relay,
// the access-log sealer) send them first, in the same round trip.
//   - A prepared statement otherwise gets a generic plan after five runs and keeps it until the
//     table is analyzed again. One made while the table was nearly empty is a sequential scan,
//     and it stayed in use as the table grew: every relay mark read the whole outbox (intake's
//     1.6 ms a mark, 23 % of PostgreSQL's execution time in the bench's chain run), a sealer
//     read once took 22 ms (docs/performance-history.md, seventh and eighth sessions).
//   - Planned for each run with every plan allowed, the relay's read was a bitmap scan of the
//     partial index and a sort: 4.3 ms a read against 0.04 ms for the ordered index scan.
//
// Planning a one-table statement costs far less than either. The settings end with the
// transaction.
var IndexScanPlan = []string{
	`SET LOCAL plan_cache_mode = force_custom_plan`,
	`SET LOCAL enable_seqscan = off`,
	`SET LOCAL enable_bitmapscan = off`,
}
