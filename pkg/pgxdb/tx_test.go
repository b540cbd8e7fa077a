package pgxdb_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func migrateNotes(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)`)
	return err
}

// open returns a DB over a pool of one connection whose writes (round trips) are counted.
func open(t *testing.T) (*pgxdb.DB, *atomic.Int64) {
	t.Helper()
	pool, writes := testkit.RoundTripPool(t, testkit.NewDatabase(t, "pgxdb", migrateNotes))
	return &pgxdb.DB{Pool: pool}, writes
}

func count(t *testing.T, db *pgxdb.DB, where string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notes WHERE `+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTxRoundTrips: BEGIN rides with the first statement and COMMIT with the deferred writes,
// so a statement plus deferred writes is two round trips (pgx's Begin/Exec/batch/Commit: four).
func TestTxRoundTrips(t *testing.T) {
	ctx := context.Background()
	db, writes := open(t)
	run := func(id int, deferred bool) int64 {
		before := writes.Load()
		err := db.Tx(ctx, func(ctx context.Context) error {
			if _, err := db.Q(ctx).Exec(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'a')`, id); err != nil {
				return err
			}
			if deferred {
				if err := db.Defer(ctx, `UPDATE notes SET body = 'b' WHERE id = $1`, id); err != nil {
					return err
				}
				return db.Defer(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'c')`, id+1000)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return writes.Load() - before
	}
	// The first transaction prepares its statements (pgx's statement cache); count the next.
	run(1, true)
	run(2, false)
	if got := run(3, true); got != 2 {
		t.Errorf("statement + deferred writes: %d round trips, want 2", got)
	}
	if got := run(4, false); got != 2 {
		t.Errorf("statement alone: %d round trips, want 2 (BEGIN+statement, COMMIT)", got)
	}
	before := writes.Load()
	if err := db.Tx(ctx, func(ctx context.Context) error {
		return db.Defer(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'c')`, 5) // a statement prepared above
	}); err != nil {
		t.Fatal(err)
	}
	if got := writes.Load() - before; got != 1 {
		t.Errorf("deferred writes only: %d round trips, want 1", got)
	}
	before = writes.Load()
	if err := db.Tx(ctx, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := writes.Load() - before; got != 0 {
		t.Errorf("empty transaction: %d round trips, want 0", got)
	}
	if n := count(t, db, `body = 'b' AND id = 3`); n != 1 {
		t.Errorf("deferred update not committed: %d rows", n)
	}
}

// TestTxIsAtomicWhateverGoesFirst: whichever way the transaction's first statement is sent, it
// belongs to the transaction: a failing fn leaves nothing, a succeeding one commits all.
func TestTxIsAtomicWhateverGoesFirst(t *testing.T) {
	ctx := context.Background()
	firsts := map[string]func(ctx context.Context, q pgxdb.Querier, id int) error{
		"exec": func(ctx context.Context, q pgxdb.Querier, id int) error {
			_, err := q.Exec(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'x')`, id)
			return err
		},
		"exec of several statements": func(ctx context.Context, q pgxdb.Querier, id int) error {
			_, err := q.Exec(ctx, strings.ReplaceAll(`INSERT INTO notes (id, body) VALUES (ID, 'x'); UPDATE notes SET body = 'y' WHERE id = ID`, "ID", itoa(id)))
			return err
		},
		"query": func(ctx context.Context, q pgxdb.Querier, id int) error {
			rows, err := q.Query(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'x') RETURNING id`, id)
			if err != nil {
				return err
			}
			// Read to the end without Close: the connection must be free afterwards.
			for rows.Next() {
			}
			return rows.Err()
		},
		"query row": func(ctx context.Context, q pgxdb.Querier, id int) error {
			var got int
			if err := q.QueryRow(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'x') RETURNING id`, id).Scan(&got); err != nil {
				return err
			}
			if got != id {
				return errors.New("query row scanned the wrong value")
			}
			return nil
		},
		"batch": func(ctx context.Context, q pgxdb.Querier, id int) error {
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO notes (id, body) VALUES ($1, 'x')`, id)
			b.Queue(`UPDATE notes SET body = 'z' WHERE id = $1`, id)
			return q.SendBatch(ctx, b).Close()
		},
		"copy": func(ctx context.Context, q pgxdb.Querier, id int) error {
			_, err := q.CopyFrom(ctx, pgx.Identifier{"notes"}, []string{"id", "body"}, pgx.CopyFromRows([][]any{{id, "x"}}))
			return err
		},
	}
	db, _ := open(t)
	fail := errors.New("the use case failed")
	id := 100
	for name, first := range firsts {
		t.Run(name, func(t *testing.T) {
			id++
			rolled, kept := id, id+1000
			err := db.Tx(ctx, func(ctx context.Context) error {
				if err := first(ctx, db.Q(ctx), rolled); err != nil {
					return err
				}
				// A second statement after the first works on the same transaction.
				if _, err := db.Q(ctx).Exec(ctx, `UPDATE notes SET body = body || '!' WHERE id = $1`, rolled); err != nil {
					return err
				}
				return fail
			})
			if !errors.Is(err, fail) {
				t.Fatalf("Tx = %v, want the use case's error", err)
			}
			if n := count(t, db, "id = "+itoa(rolled)); n != 0 {
				t.Errorf("a failed transaction left %d rows", n)
			}
			err = db.Tx(ctx, func(ctx context.Context) error {
				if err := first(ctx, db.Q(ctx), kept); err != nil {
					return err
				}
				return db.Defer(ctx, `UPDATE notes SET body = body || '!' WHERE id = $1`, kept)
			})
			if err != nil {
				t.Fatalf("Tx = %v", err)
			}
			if n := count(t, db, "id = "+itoa(kept)+" AND body LIKE '%!'"); n != 1 {
				t.Errorf("a committed transaction has %d rows with its deferred write, want 1", n)
			}
		})
	}
}

// TestTxDoesNotCommitAnAbortedTransaction: an error the use case caught still aborted the
// transaction in PostgreSQL; COMMIT then answers ROLLBACK, and Tx must say so, with or
// without deferred writes.
func TestTxDoesNotCommitAnAbortedTransaction(t *testing.T) {
	ctx := context.Background()
	db, _ := open(t)
	for i, deferred := range []bool{false, true} {
		id := 200 + i
		err := db.Tx(ctx, func(ctx context.Context) error {
			q := db.Q(ctx)
			if _, err := q.Exec(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'x')`, id); err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'again')`, id); !pgxdb.IsUniqueViolation(err, "") {
				t.Fatalf("second insert: %v, want a unique violation", err)
			}
			if deferred {
				return db.Defer(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'deferred')`, id+1000)
			}
			return nil // the caught error is "handled"
		})
		if err == nil {
			t.Fatalf("deferred=%v: Tx committed a transaction PostgreSQL had aborted", deferred)
		}
		if !deferred && !errors.Is(err, pgx.ErrTxCommitRollback) {
			t.Errorf("Tx = %v, want ErrTxCommitRollback", err)
		}
		if n := count(t, db, "id IN ("+itoa(id)+", "+itoa(id+1000)+")"); n != 0 {
			t.Errorf("deferred=%v: %d rows committed", deferred, n)
		}
	}
	// The pool's only connection came back idle and usable.
	if err := db.Tx(ctx, func(ctx context.Context) error {
		_, err := db.Q(ctx).Exec(ctx, `INSERT INTO notes (id, body) VALUES (299, 'after')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "id = 299"); n != 1 {
		t.Errorf("transaction after the aborted ones: %d rows", n)
	}
}

// TestTxDeferredFailureRollsBackEverything: a deferred write that fails fails the transaction
// where it was queued; the writes before it and the COMMIT behind it do not happen.
func TestTxDeferredFailureRollsBackEverything(t *testing.T) {
	ctx := context.Background()
	db, _ := open(t)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO notes (id, body) VALUES (300, 'taken')`); err != nil {
		t.Fatal(err)
	}
	err := db.Tx(ctx, func(ctx context.Context) error {
		if _, err := db.Q(ctx).Exec(ctx, `INSERT INTO notes (id, body) VALUES (301, 'x')`); err != nil {
			return err
		}
		if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (302, 'x')`); err != nil {
			return err
		}
		if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (300, 'clash')`); err != nil {
			return err
		}
		return db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (303, 'x')`)
	})
	if !pgxdb.IsUniqueViolation(err, "notes_pkey") {
		t.Fatalf("Tx = %v, want the deferred write's unique violation", err)
	}
	if n := count(t, db, "id IN (301, 302, 303)"); n != 0 {
		t.Errorf("%d rows of the failed transaction committed", n)
	}
	// The same holds when the deferred writes are all the transaction sent.
	err = db.Tx(ctx, func(ctx context.Context) error {
		if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (304, 'x')`); err != nil {
			return err
		}
		return db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (300, 'clash')`)
	})
	if !pgxdb.IsUniqueViolation(err, "notes_pkey") {
		t.Fatalf("Tx = %v, want the deferred write's unique violation", err)
	}
	if n := count(t, db, "id = 304"); n != 0 {
		t.Errorf("%d rows of the failed deferred-only transaction committed", n)
	}
	if st := db.Pool.Stat(); st.IdleConns() != 1 {
		t.Errorf("pool has %d idle connections after the failures, want its one connection back", st.IdleConns())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSendBatchAfterDeferred: the writes deferred so far go out in one pipeline with the next
// batch, so what follows sees them; a failing deferred write is returned there and the
// transaction commits nothing.
func TestSendBatchAfterDeferred(t *testing.T) {
	ctx := context.Background()
	db, writes := open(t)
	// units runs three units of work in one transaction: each counts the rows of the units
	// before it (from), then defers a row of its own.
	units := func(from int) (seen []int, roundTrips int64) {
		before := writes.Load()
		err := db.Tx(ctx, func(ctx context.Context) error {
			for id := from; id < from+3; id++ {
				b := &pgx.Batch{}
				b.Queue(`SELECT count(*) FROM notes WHERE id >= $1`, from)
				br, err := db.SendBatchAfterDeferred(ctx, b)
				if err != nil {
					return err
				}
				var n int
				err = br.QueryRow().Scan(&n)
				if cerr := br.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
				seen = append(seen, n)
				if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'x')`, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return seen, writes.Load() - before
	}
	units(390) // prepares the statements (pgx's statement cache); count the next
	seen, roundTrips := units(400)
	if want := []int{0, 1, 2}; !slices.Equal(seen, want) {
		t.Errorf("each unit saw %v rows of the earlier ones, want %v", seen, want)
	}
	// Three batches (the first with BEGIN, the others with the earlier unit's write) and the
	// last write with COMMIT.
	if roundTrips != 4 {
		t.Errorf("%d round trips, want 4", roundTrips)
	}
	if n := count(t, db, "id >= 400"); n != 3 {
		t.Errorf("%d rows committed, want 3", n)
	}

	err := db.Tx(ctx, func(ctx context.Context) error {
		if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (410, 'x')`); err != nil {
			return err
		}
		if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (400, 'clash')`); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO notes (id, body) VALUES (411, 'x')`)
		br, err := db.SendBatchAfterDeferred(ctx, b)
		if err != nil {
			return err
		}
		return br.Close()
	})
	if !pgxdb.IsUniqueViolation(err, "notes_pkey") {
		t.Fatalf("Tx = %v, want the deferred write's unique violation", err)
	}
	if n := count(t, db, "id IN (410, 411)"); n != 0 {
		t.Errorf("%d rows of the failed transaction committed", n)
	}
}

// TestDeferredWritesGoOutWithTheNextStatement: a deferred write runs where it was queued,
// before the transaction's next statement, whichever way that statement is sent, and costs no
// round trip of its own (COPY and text of several statements cannot share a pipeline: there
// it goes out by itself first; COPY's own exchange is not counted).
func TestDeferredWritesGoOutWithTheNextStatement(t *testing.T) {
	ctx := context.Background()
	db, writes := open(t)
	const countSQL = `SELECT count(*) FROM notes WHERE id = $1`
	ways := []struct {
		name       string
		roundTrips int64
		next       func(ctx context.Context, q pgxdb.Querier, id int) (int, error)
	}{
		{"exec", 2, func(ctx context.Context, q pgxdb.Querier, id int) (int, error) {
			tag, err := q.Exec(ctx, `UPDATE notes SET body = 'seen' WHERE id = $1`, id)
			return int(tag.RowsAffected()), err
		}},
		{"query", 2, func(ctx context.Context, q pgxdb.Querier, id int) (int, error) {
			rows, err := q.Query(ctx, countSQL, id)
			if err != nil {
				return 0, err
			}
			n, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
			return n, err
		}},
		{"query row", 2, func(ctx context.Context, q pgxdb.Querier, id int) (int, error) {
			var n int
			err := q.QueryRow(ctx, countSQL, id).Scan(&n)
			return n, err
		}},
		{"batch", 2, func(ctx context.Context, q pgxdb.Querier, id int) (int, error) {
			b := &pgx.Batch{}
			b.Queue(countSQL, id)
			br := q.SendBatch(ctx, b)
			var n int
			err := br.QueryRow().Scan(&n)
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			return n, err
		}},
		{"exec of several statements", 3, func(ctx context.Context, q pgxdb.Querier, id int) (int, error) {
			tag, err := q.Exec(ctx, `UPDATE notes SET body = 'seen' WHERE id = `+itoa(id)+`; UPDATE notes SET body = 'seen' WHERE id = `+itoa(id))
			return int(tag.RowsAffected()), err
		}},
		{"copy", -1, func(ctx context.Context, q pgxdb.Querier, id int) (int, error) {
			if _, err := q.CopyFrom(ctx, pgx.Identifier{"notes"}, []string{"id", "body"}, pgx.CopyFromRows([][]any{{id + 1, "x"}})); err != nil {
				return 0, err
			}
			var n int
			err := q.QueryRow(ctx, `SELECT count(*) FROM notes WHERE id = $1 OR id = $2`, id, id+1).Scan(&n)
			return n - 1, err
		}},
	}
	id := 500
	for _, w := range ways {
		for round := range 2 { // the first prepares the statements (pgx's statement cache)
			id += 10
			var seen int
			before := writes.Load()
			err := db.Tx(ctx, func(ctx context.Context) error {
				if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES ($1, 'x')`, id); err != nil {
					return err
				}
				var err error
				seen, err = w.next(ctx, db.Q(ctx), id)
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			got := writes.Load() - before
			if seen != 1 {
				t.Errorf("%s: the next statement saw %d deferred rows, want 1", w.name, seen)
			}
			if round == 1 && w.roundTrips >= 0 && got != w.roundTrips {
				t.Errorf("%s: %d round trips, want %d", w.name, got, w.roundTrips)
			}
		}
	}
	// A failing deferred write fails the statement it went out with, and nothing commits.
	err := db.Tx(ctx, func(ctx context.Context) error {
		if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (900, 'x')`); err != nil {
			return err
		}
		if err := db.Defer(ctx, `INSERT INTO notes (id, body) VALUES (510, 'clash')`); err != nil {
			return err
		}
		var n int
		if err := db.Q(ctx).QueryRow(ctx, countSQL, 900).Scan(&n); err != nil {
			return err
		}
		return errors.New("the statement after a failed deferred write succeeded")
	})
	if !pgxdb.IsUniqueViolation(err, "notes_pkey") {
		t.Fatalf("Tx = %v, want the deferred write's unique violation", err)
	}
	if n := count(t, db, "id = 900"); n != 0 {
		t.Errorf("%d rows of the failed transaction committed", n)
	}
}
