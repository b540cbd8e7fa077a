package pgxdb

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// txQuerier is the Querier of a transaction. Each method sends what has to go out before its
// statement (BEGIN when the transaction has sent nothing yet, then the writes deferred so far)
// in one pipeline with it and reads their answers first; with nothing ahead it is the
// connection itself. So a deferred write runs where it was queued, before every later
// statement of the transaction, without a round trip of its own.
type txQuerier txState

func (q *txQuerier) st() *txState { return (*txState)(q) }

// foldable reports whether sql can share a pipeline: a pipeline uses the extended protocol,
// which takes one statement per query. Text of several statements (only possible without
// parameters) goes out after what is ahead of it has been sent on its own.
func foldable(sql string, args []any) bool {
	return len(args) > 0 || !strings.Contains(strings.TrimRight(sql, "; \t\r\n"), ";")
}

// ahead takes what has to go out before the transaction's next statement: BEGIN when nothing
// has gone out yet, then the writes deferred so far.
func (st *txState) ahead() []*pgx.QueuedQuery {
	if st.nothingAhead() {
		return nil
	}
	b := &pgx.Batch{}
	if !st.begun {
		b.Queue("BEGIN")
		st.begun = true
	}
	b.QueuedQueries = append(b.QueuedQueries, st.deferred.QueuedQueries...)
	st.deferred = pgx.Batch{}
	return b.QueuedQueries
}

// nothingAhead reports whether the next statement can go out by itself.
func (st *txState) nothingAhead() bool { return st.begun && st.deferred.Len() == 0 }

// sendAhead sends what is ahead by itself (for COPY and for text of several statements).
func (q *txQuerier) sendAhead(ctx context.Context) error {
	qs := q.st().ahead()
	if len(qs) == 0 {
		return nil
	}
	br := q.st().conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: qs})
	for range qs {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	return br.Close()
}

// pipeline sends qs and then b's statements in one pipeline and reads the answers of qs. The
// caller reads b's answers and closes the results.
func (q *txQuerier) pipeline(ctx context.Context, qs []*pgx.QueuedQuery, b *pgx.Batch) (pgx.BatchResults, error) {
	br := q.st().conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: append(qs, b.QueuedQueries...)})
	for range qs {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, err
		}
	}
	return br, nil
}

// withAhead sends what is ahead and sql in one pipeline; nil results when nothing is ahead.
func (q *txQuerier) withAhead(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	if !foldable(sql, args) {
		return nil, q.sendAhead(ctx)
	}
	qs := q.st().ahead()
	if len(qs) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return q.pipeline(ctx, qs, b)
}

func (q *txQuerier) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := q.withAhead(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	if br == nil {
		return q.st().conn.Exec(ctx, sql, args...)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (q *txQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := q.withAhead(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	if br == nil {
		return q.st().conn.Query(ctx, sql, args...)
	}
	return rowsOf(br)
}

// rowsOf reads br's next answer as rows whose closing also closes br.
func rowsOf(br pgx.BatchResults) (pgx.Rows, error) {
	rows, err := br.Query()
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (q *txQuerier) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if st := q.st(); st.nothingAhead() {
		return st.conn.QueryRow(ctx, sql, args...)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf{rows}
}

func (q *txQuerier) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if b.Len() == 0 {
		return q.st().conn.SendBatch(ctx, b)
	}
	qs := q.st().ahead()
	if len(qs) == 0 {
		return q.st().conn.SendBatch(ctx, b)
	}
	br, err := q.pipeline(ctx, qs, b)
	if err != nil {
		return errBatch{err}
	}
	return br
}

func (q *txQuerier) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	if err := q.sendAhead(ctx); err != nil {
		return 0, err
	}
	return q.st().conn.CopyFrom(ctx, tableName, columnNames, rowSrc)
}

// batchRows are the rows of a statement that went out in one pipeline with what was ahead of
// it: closing them (or reading past the last row) also reads the pipeline's end, so the
// connection is free.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) finish() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.finish()
	return false
}

func (r *batchRows) Close() { r.finish() }

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// rowOf is QueryRow's row over batchRows: pgx's own semantics (ErrNoRows, first row only).
type rowOf struct{ rows pgx.Rows }

func (r rowOf) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// errBatch answers every read of a batch whose BEGIN failed with that failure.
type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow(b) }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }
