package testkit

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// GenericPlan returns the plan PostgreSQL makes for sql without its values — the plan a
// statement sent with pgxdb.SendGeneric runs on — as EXPLAIN (COSTS OFF) text. args are given
// only for EXPLAIN EXECUTE, which takes literals: strings, ints, times and string slices.
func GenericPlan(t testing.TB, conn *pgx.Conn, sql string, args []any) string {
	t.Helper()
	ctx := context.Background()
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	params := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			params[i] = quote(v)
		case int:
			params[i] = strconv.Itoa(v)
		case time.Time:
			params[i] = quote(v.Format(time.RFC3339Nano))
		case []string:
			q := make([]string, len(v))
			for j := range v {
				q[j] = quote(v[j])
			}
			params[i] = "ARRAY[" + strings.Join(q, ", ") + "]"
		default:
			t.Fatalf("GenericPlan: no literal for %T", a)
		}
	}
	if _, err := conn.Exec(ctx, `PREPARE testkit_generic AS `+sql); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := conn.Exec(ctx, `DEALLOCATE testkit_generic; RESET plan_cache_mode`); err != nil {
			t.Fatal(err)
		}
	}()
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `EXPLAIN (COSTS OFF) EXECUTE testkit_generic(`+strings.Join(params, ", ")+`)`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
