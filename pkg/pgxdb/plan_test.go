package pgxdb_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

func migrateItems(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `
		CREATE TABLE items (id int PRIMARY KEY, grp int NOT NULL, at int NOT NULL);
		CREATE INDEX items_grp_at ON items (grp, at DESC, id DESC);
		CREATE TABLE tags (item_id int NOT NULL, tag text NOT NULL);
		CREATE INDEX tags_item ON tags (item_id);
		INSERT INTO items SELECT i, i % 10, i FROM generate_series(1, 20000) i;
		INSERT INTO tags SELECT i, 't' || i FROM generate_series(1, 20000) i;
		ANALYZE`)
	return err
}

// A page in an index's order with a sub-query per row, `LIMIT $2`: the shape of the list pages.
const pageSQL = `SELECT i.id, ARRAY(SELECT t.tag FROM tags t WHERE t.item_id = i.id)
	FROM (SELECT * FROM items WHERE grp = $1 ORDER BY at DESC, id DESC LIMIT $2) i ORDER BY i.at DESC, i.id DESC`

// plans returns how often the connection planned pageSQL's prepared statement generically and
// for its values, and its plan_cache_mode.
func plans(t *testing.T, db *pgxdb.DB) (generic, custom int, mode string) {
	t.Helper()
	err := db.Pool.QueryRow(context.Background(), `
		SELECT coalesce(sum(generic_plans), 0)::int, coalesce(sum(custom_plans), 0)::int, current_setting('plan_cache_mode')
		FROM pg_prepared_statements WHERE statement = $1`, pageSQL).Scan(&generic, &custom, &mode)
	if err != nil {
		t.Fatal(err)
	}
	return generic, custom, mode
}

func readPage(t *testing.T, res pgx.BatchResults) {
	t.Helper()
	rows, err := res.Query()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 51 {
		t.Fatalf("page of %d rows, want 51", n)
	}
}

// TestSendGenericPlansOnce: a page statement with `LIMIT $n` is planned for its values on
// every run when left to PostgreSQL (its generic plan is estimated for a tenth of the group, not
// the page); sent with SendGeneric it runs on its generic plan, and the connection goes back to
// the default — also after a statement of the batch failed, and inside a transaction.
func TestSendGenericPlansOnce(t *testing.T) {
	ctx := context.Background()
	pool, _ := testkit.RoundTripPool(t, testkit.NewDatabase(t, "pgxdb_plans", migrateItems))
	db := &pgxdb.DB{Pool: pool}

	for i := range 10 {
		b := &pgx.Batch{}
		b.Queue(pageSQL, i%10, 51)
		readPage(t, db.Pool.SendBatch(ctx, b))
	}
	generic0, custom0, _ := plans(t, db)
	if custom0 != 10 {
		// What SendGeneric is for: if PostgreSQL chose the generic plan here by itself, the
		// list pages would not need it (and this test would no longer show that it helps).
		t.Fatalf("left to PostgreSQL the page was planned for its values %d times in 10 runs (generic %d); want every run", custom0, generic0)
	}

	for i := range 10 {
		b := &pgx.Batch{}
		b.Queue(pageSQL, i%10, 51)
		readPage(t, db.SendGeneric(ctx, b))
	}
	generic, custom, mode := plans(t, db)
	if custom != custom0 || generic != generic0+10 {
		t.Errorf("with SendGeneric: %d custom and %d generic plans more in 10 runs; want 0 and 10", custom-custom0, generic-generic0)
	}
	if mode != "auto" {
		t.Errorf("plan_cache_mode after SendGeneric = %q; want auto (the default) back", mode)
	}

	// QueryGeneric: the same for one statement.
	rows, err := db.QueryGeneric(ctx, pageSQL, 4, 51)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 51 {
		t.Fatalf("QueryGeneric: %d rows, %v; want 51", n, err)
	}
	if g, c, mode := plans(t, db); c != custom || g != generic+1 || mode != "auto" {
		t.Errorf("QueryGeneric: %d custom and %d generic plans more, mode %q; want 0, 1, auto", c-custom, g-generic, mode)
	}
	generic++

	// A statement that fails: its error reaches the caller, and the SET is undone with the
	// implicit transaction (RESET never ran).
	b := &pgx.Batch{}
	b.Queue(`SELECT 1 / $1::int`, 0)
	res := db.SendGeneric(ctx, b)
	if _, err := res.Exec(); err == nil {
		t.Error("division by zero in a SendGeneric batch: no error")
	}
	_ = res.Close()
	if _, _, mode := plans(t, db); mode != "auto" {
		t.Errorf("plan_cache_mode after a failed SendGeneric batch = %q; want auto", mode)
	}

	// Inside a transaction: the same, and the transaction goes on.
	err = db.Tx(ctx, func(ctx context.Context) error {
		b := &pgx.Batch{}
		b.Queue(pageSQL, 3, 51)
		readPage(t, db.SendGeneric(ctx, b))
		var mode string
		if err := db.Q(ctx).QueryRow(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&mode); err != nil {
			return err
		}
		if mode != "auto" {
			t.Errorf("plan_cache_mode later in the transaction = %q; want auto", mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if generic2, custom2, mode := plans(t, db); custom2 != custom || generic2 != generic+1 || mode != "auto" {
		t.Errorf("in a transaction: %d custom and %d generic plans more, mode %q; want 0, 1, auto", custom2-custom, generic2-generic, mode)
	}
}
