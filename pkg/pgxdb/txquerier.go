package pgxdb

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// txQuerier is the Querier of a transaction. Until the transaction has sent anything, each
// method sends BEGIN in one pipeline with its own statement and reads BEGIN's answer first;
// after that it is the connection itself.
type txQuerier txState

func (q *txQuerier) st() *txState { return (*txState)(q) }

// foldable reports whether sql can share a pipeline with BEGIN: a pipeline uses the extended
// protocol, which takes one statement per query. Text of several statements (only possible
// without parameters) gets its own BEGIN first.
func foldable(sql string, args []any) bool {
	return len(args) > 0 || !strings.Contains(strings.TrimRight(sql, "; \t\r\n"), ";")
}

// beginAlone sends BEGIN by itself (for COPY and for text of several statements).
func (q *txQuerier) beginAlone(ctx context.Context) error {
	st := q.st()
	st.begun = true
	_, err := st.conn.Exec(ctx, "BEGIN")
	return err
}

// withBegin sends BEGIN and sql in one pipeline and reads BEGIN's answer. The caller reads
// sql's answer from the batch and closes it.
func (q *txQuerier) withBegin(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	st := q.st()
	st.begun = true
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sql, args...)
	br := st.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	return br, nil
}

func (q *txQuerier) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	st := q.st()
	if st.begun {
		return st.conn.Exec(ctx, sql, args...)
	}
	if !foldable(sql, args) {
		if err := q.beginAlone(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
		return st.conn.Exec(ctx, sql, args...)
	}
	br, err := q.withBegin(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (q *txQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	st := q.st()
	if st.begun {
		return st.conn.Query(ctx, sql, args...)
	}
	if !foldable(sql, args) {
		if err := q.beginAlone(ctx); err != nil {
			return nil, err
		}
		return st.conn.Query(ctx, sql, args...)
	}
	br, err := q.withBegin(ctx, sql, args)
	if err != nil {
		return nil, err
	}
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
	st := q.st()
	if st.begun {
		return st.conn.QueryRow(ctx, sql, args...)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf{rows}
}

func (q *txQuerier) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	st := q.st()
	if st.begun || b.Len() == 0 {
		return st.conn.SendBatch(ctx, b)
	}
	st.begun = true
	withBegin := &pgx.Batch{}
	withBegin.Queue("BEGIN")
	withBegin.QueuedQueries = append(withBegin.QueuedQueries, b.QueuedQueries...)
	br := st.conn.SendBatch(ctx, withBegin)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return errBatch{err}
	}
	return br
}

func (q *txQuerier) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	st := q.st()
	if !st.begun {
		if err := q.beginAlone(ctx); err != nil {
			return 0, err
		}
	}
	return st.conn.CopyFrom(ctx, tableName, columnNames, rowSrc)
}

// batchRows are the rows of a statement that went out in one pipeline with BEGIN: closing them
// (or reading past the last row) also reads the pipeline's end, so the connection is free.
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
