package postgres

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var indexRows = regexp.MustCompile(`Index (?:Only )?Scan (?:using|on) cases_\w+.*\(actual rows=(\d+)`)

// A caseload page reads the page, not the caseload: on 60,000 cases of 30 teams, every page
// (whole team, one status, one director, first and later pages) is a range of an index in the
// list's order that reads about a page — no sequential scan, no sort of the caseload — and the
// open to-dos and current residents are looked up for the page's rows only, through their
// partial indexes. (make bench measures the same at 1,000,000 cases.)
// CD_EXPLAIN_OUT=<file> writes the plans, for docs/performance.md.
func TestCaseloadPagesAreIndexRanges(t *testing.T) {
	if testing.Short() {
		t.Skip("bulk data")
	}
	ctx := context.Background()
	dsn := newDSN(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `
		INSERT INTO cases (id, household_id, municipality_code, team_oin, status, director_professional_id, opened_at)
		SELECT md5('case' || i)::uuid, md5('hh' || i)::uuid, 'GM0363', 'team-' || (i % 30),
		       (ARRAY['ACTIVE','ACTIVE','PLAN_ADOPTED','IN_PROGRESS','WATCH','CLOSED'])[1 + (i / 30) % 6],
		       'prof-' || (i % 7), timestamptz '2024-01-01' + i * interval '17 minutes'
		FROM generate_series(1, 60000) i;
		-- every case one or two current residents, one in ten a former one as well
		INSERT INTO case_residents (case_id, resident_id, pseudonym, since, until)
		SELECT md5('case' || i)::uuid, md5('res' || i || '-' || k)::uuid, 'ps-' || i || '-' || k,
		       timestamptz '2024-01-01', CASE WHEN k = 3 THEN timestamptz '2024-02-01' END
		FROM generate_series(1, 60000) i, generate_series(1, 3) k
		WHERE k = 1 OR (k = 2 AND i % 2 = 0) OR (k = 3 AND i % 10 = 0);
		-- one case in four an evaluation to-do, done for half of them
		INSERT INTO evaluation_todos (id, case_id, reason, created_at, done_at)
		SELECT md5('todo' || i)::uuid, md5('case' || i)::uuid, 'ALLOCATION_STARTED', timestamptz '2024-03-01',
		       CASE WHEN i % 8 = 0 THEN timestamptz '2024-04-01' END
		FROM generate_series(1, 60000) i WHERE i % 4 = 0;
		ANALYZE`); err != nil {
		t.Fatal(err)
	}
	// The bulk insert added a +1 row per case to caseload_counts; the job folds them.
	foldAll(t, dsn)
	if _, err := conn.Exec(ctx, `ANALYZE caseload_counts`); err != nil {
		t.Fatal(err)
	}
	after := &domain.Cursor{OpenedAt: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), ID: "ffffffff-ffff-ffff-ffff-ffffffffffff"}
	pages := []struct {
		name  string
		f     domain.ListFilter
		index string
	}{
		{"team, first page", domain.ListFilter{TeamOIN: "team-3", Limit: 51}, "cases_team_opened"},
		{"team, later page", domain.ListFilter{TeamOIN: "team-3", After: after, Limit: 51}, "cases_team_opened"},
		{"team, one status", domain.ListFilter{TeamOIN: "team-3", Statuses: []domain.Status{"ACTIVE"}, Limit: 51}, "cases_team_status_opened"},
		{"director", domain.ListFilter{TeamOIN: "team-3", Director: "prof-2", Limit: 51}, "cases_team_director_opened"},
		{"director, later page", domain.ListFilter{TeamOIN: "team-3", Director: "prof-2", After: after, Limit: 51}, "cases_team_director_opened"},
	}
	var doc strings.Builder
	for _, p := range pages {
		if !indexRange(p.f) {
			t.Fatalf("%s: the service would not run it on its generic plan", p.name)
		}
		countSQL, countArgs, pageSQL, pageArgs := listQueries(p.f)
		for _, q := range []struct {
			what string
			sql  string
			args []any
		}{{"page", pageSQL, pageArgs}, {"counts", countSQL, countArgs}} {
			rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "+q.sql, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			doc.WriteString("-- " + p.name + ": " + q.what + "\n" + plan + "\n\n")
			// The service runs both on their generic plans (pgxdb.SendGeneric), planned once
			// per connection without the values: the same index, no scan, no sort.
			generic := testkit.GenericPlan(t, conn, q.sql, q.args)
			if strings.Contains(generic, "Seq Scan") || strings.Contains(generic, "Sort") ||
				(q.what == "page" && !strings.Contains(generic, p.index)) || (q.what == "counts" && !strings.Contains(generic, "caseload_counts")) {
				t.Errorf("%s (%s): the generic plan is not the index range:\n%s", p.name, q.what, generic)
			}
			if strings.Contains(plan, "Seq Scan on cases") {
				t.Errorf("%s (%s) scans the cases table:\n%s", p.name, q.what, plan)
			}
			if q.what == "counts" && (strings.Contains(plan, " on cases") || !strings.Contains(plan, "caseload_counts")) {
				t.Errorf("%s: the counts read the caseload, not caseload_counts:\n%s", p.name, plan)
			}
			if q.what == "page" {
				// A page's rows bring their open to-dos and current residents through the
				// partial indexes, a probe per row, not a scan of either table; the residents
				// come in the index's order. With PostgreSQL's default random_page_cost (4) the
				// residents were a bitmap heap scan and a sort per row, twice the page's time
				// (embeddedpg sets 1.1; docs/decisions.md, issue 12, item 29).
				for _, want := range []string{"evaluation_todos_one_open", "case_residents_current"} {
					if !strings.Contains(plan, want) {
						t.Errorf("%s: a row's sub-query does not use %s:\n%s", p.name, want, plan)
					}
				}
				if strings.Contains(plan, "Seq Scan") {
					t.Errorf("%s: the page scans a table:\n%s", p.name, plan)
				}
				if i := strings.Index(plan, "SubPlan"); i >= 0 && strings.Contains(plan[i:], "Sort") {
					t.Errorf("%s: a row's sub-query sorts:\n%s", p.name, plan)
				}
				if !strings.Contains(plan, p.index) {
					t.Errorf("%s: page not read from %s:\n%s", p.name, p.index, plan)
				}
				// It reads about a page, not the caseload (2,000 cases a team, 285 a director):
				// in order, or — when the planner expects few rows — a small range sorted.
				for _, m := range indexRows.FindAllStringSubmatch(plan, -1) {
					if n, _ := strconv.Atoi(m[1]); n > 4*p.f.Limit {
						t.Errorf("%s: %d index entries read for a page of %d:\n%s", p.name, n, p.f.Limit, plan)
					}
				}
			}
		}
	}
	if out := os.Getenv("CD_EXPLAIN_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// foldAll runs the caseload-counts job's fold until nothing is left to fold.
func foldAll(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo := NewCases(db, nil)
	for {
		var n int
		if err := db.Tx(ctx, func(ctx context.Context) error {
			var err error
			n, err = repo.FoldCounts(ctx, 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// ListCases' counts (caseload_counts, kept by a trigger on cases and folded by the
// caseload-counts job) equal counting the caseload, for a team and for a director, through
// inserts, status, director and team changes and deletes, written while folds run.
func TestCaseloadCountsFollowCaseWrites(t *testing.T) {
	ctx := context.Background()
	dsn := newDSN(t)
	db, err := pgxdb.Open(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo := NewCases(db, nil)
	check := func(when string) {
		t.Helper()
		for _, f := range []domain.ListFilter{{TeamOIN: "team-1"}, {TeamOIN: "team-2"}, {TeamOIN: "team-1", Director: "prof-1"}, {TeamOIN: "team-2", Director: "prof-0"}} {
			countSQL, countArgs, _, _ := listQueries(f)
			got, want := map[string]int{}, map[string]int{}
			rows, _ := db.Pool.Query(ctx, countSQL, countArgs...)
			if err := collectCounts(rows, got); err != nil {
				t.Fatal(err)
			}
			direct := `SELECT status, count(*) FROM cases WHERE team_oin = $1 GROUP BY status`
			if f.Director != "" {
				direct = `SELECT status, count(*) FROM cases WHERE team_oin = $1 AND director_professional_id = $2 GROUP BY status`
			}
			rows, _ = db.Pool.Query(ctx, direct, countArgs...)
			if err := collectCounts(rows, want); err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s, %+v: counts %v, the caseload has %v", when, f, got, want)
			}
		}
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO cases (id, household_id, municipality_code, team_oin, status, director_professional_id, opened_at)
		SELECT md5('case' || i)::uuid, md5('hh' || i)::uuid, 'GM0363', 'team-' || (1 + i % 2),
		       (ARRAY['ACTIVE','PLAN_ADOPTED','WATCH'])[1 + i % 3], CASE WHEN i % 5 = 0 THEN NULL ELSE 'prof-' || (i % 3) END, now()
		FROM generate_series(1, 3000) i`)
	check("after the inserts")
	// Writes of many small transactions while folds run, as replicas and users would.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				sql := []string{
					`UPDATE cases SET status = 'CLOSED' WHERE id = md5('case' || $1::int)::uuid`,
					`UPDATE cases SET director_professional_id = 'prof-1' WHERE id = md5('case' || $1::int)::uuid`,
					`UPDATE cases SET team_oin = 'team-2', status = 'ACTIVE' WHERE id = md5('case' || $1::int)::uuid`,
					`UPDATE cases SET next_check_at = now() WHERE id = md5('case' || $1::int)::uuid`,
				}[i%4]
				if _, err := db.Pool.Exec(ctx, sql, 1+w*700+i*11); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 30 {
			if err := db.Tx(ctx, func(ctx context.Context) error { _, err := repo.FoldCounts(ctx, 3); return err }); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check("after concurrent writes and partial folds")
	exec(`DELETE FROM cases WHERE id IN (SELECT md5('case' || i)::uuid FROM generate_series(2990, 3000) i)`)
	check("after deletes")
	foldAll(t, dsn)
	check("after folding everything")
	var rowsLeft int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM caseload_counts`).Scan(&rowsLeft); err != nil {
		t.Fatal(err)
	}
	// Two teams × four directors (three and none) × at most four statuses.
	if rowsLeft > 2*4*4 {
		t.Fatalf("%d count rows left after folding, want one per group", rowsLeft)
	}
}

func collectCounts(rows pgx.Rows, into map[string]int) error {
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return err
		}
		into[s] = n
	}
	return rows.Err()
}

// Lookups by intake and by case read through indexes, not whole tables: on 60,000 cases, each
// with an evaluation to-do, a resident and a plan whose goal has an action, CaseOfIntake (once
// per referral event about an intake) finds the case opened from the intake, else the open
// case of the intake's household, and loading a case (every write to a case) reads its to-dos,
// plan, goals, their actions, referrals and residents, without a sequential scan of any of
// those tables. CaseOfIntake, the to-dos and the actions did read the whole table.
func TestLookupsByIntakeOrCaseReadNoWholeTable(t *testing.T) {
	if testing.Short() {
		t.Skip("bulk data")
	}
	ctx := context.Background()
	// One connection, so the scans counted are the lookups'.
	db, err := pgxdb.Open(ctx, newDSN(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO cases (id, household_id, intake_id, municipality_code, team_oin, status, director_professional_id, opened_at, plan_version)
		SELECT md5('case' || i)::uuid, md5('hh' || i)::uuid, md5('intake' || i)::uuid, 'GM0363', 'team-' || (i % 30),
		       (ARRAY['ACTIVE','PLAN_ADOPTED','IN_PROGRESS','WATCH','CLOSED'])[1 + i % 5], 'prof-' || (i % 7), now(), 1
		FROM generate_series(1, 60000) i;
		INSERT INTO evaluation_todos (id, case_id, reason, created_at, done_at)
		SELECT md5('todo' || i)::uuid, md5('case' || i)::uuid, 'ALLOCATION_STARTED', now() - interval '1 day', CASE WHEN i % 2 = 0 THEN now() END
		FROM generate_series(1, 60000) i;
		INSERT INTO goals (id, case_id, life_domain, baseline_score, target_score, status, updated_at)
		SELECT md5('goal' || i)::uuid, md5('case' || i)::uuid, 'FINANCES', 2, 4, 'OPEN', now() FROM generate_series(1, 60000) i;
		INSERT INTO plans (case_id, version, adopted_at, adopted_by, resident_agreed, evaluation_date, goal_ids)
		SELECT md5('case' || i)::uuid, 1, now(), 'prof', true, current_date + 90, ARRAY[md5('goal' || i)::uuid] FROM generate_series(1, 60000) i;
		INSERT INTO case_referrals (referral_id, case_id, status, updated_at)
		SELECT md5('ref' || i)::uuid, md5('case' || i)::uuid, 'SENT', now() FROM generate_series(1, 60000) i;
		INSERT INTO goal_actions (goal_id, referral_id, added_at)
		SELECT md5('goal' || i)::uuid, md5('ref' || i)::uuid, now() FROM generate_series(1, 60000) i;
		INSERT INTO case_residents (case_id, resident_id, pseudonym, since)
		SELECT md5('case' || i)::uuid, md5('resident' || i)::uuid, md5('ps' || i), now() FROM generate_series(1, 60000) i;
		-- a later intake of case 7's household (case 7 is open: 7 % 5 = 2)
		INSERT INTO intake_households (intake_id, household_id) VALUES (md5('later')::uuid, md5('hh7')::uuid);
		ANALYZE`); err != nil {
		t.Fatal(err)
	}
	repo := NewCases(db, nil)
	uuidOf := func(s string) string {
		var id string
		if err := db.Pool.QueryRow(ctx, `SELECT md5($1)::uuid::text`, s).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Each lookup, with the scans of its table while it ran.
	noWholeReads := func(table, what string, lookup func()) {
		t.Helper()
		if seq, _ := testkit.ScansDuring(t, db.Pool, table, lookup); seq != 0 {
			t.Errorf("%s read the whole of %s %d times", what, table, seq)
		}
	}
	noWholeReads("cases", "four CaseOfIntake lookups", func() {
		for _, c := range []struct {
			intake, referral, want string
			own                    bool
		}{
			{uuidOf("intake123"), uuidOf("new"), uuidOf("case123"), true}, // the case opened from the intake
			{uuidOf("later"), uuidOf("new"), uuidOf("case7"), false},      // the open case of the intake's household
			{uuidOf("later"), uuidOf("ref9"), uuidOf("case9"), true},      // the case the referral is recorded on
			{uuidOf("unknown"), uuidOf("new"), "", false},
		} {
			got, own, err := repo.CaseOfIntake(ctx, c.intake, c.referral)
			if err != nil || got != c.want || own != c.own {
				t.Errorf("CaseOfIntake(%s, %s) = %q, %v, %v; want %q, %v", c.intake, c.referral, got, own, err, c.want, c.own)
			}
		}
	})
	noWholeReads("case_referrals", "CaseOfIntake", func() {
		if _, _, err := repo.CaseOfIntake(ctx, uuidOf("later"), uuidOf("ref9")); err != nil {
			t.Error(err)
		}
	})
	// A case's read is one pipeline of statements by case id (caseread.go): each part of it
	// reads its table through an index.
	for _, table := range []string{"cases", "evaluation_todos", "goals", "goal_actions", "plans", "case_referrals", "case_residents"} {
		noWholeReads(table, "loading two cases", func() {
			for _, c := range []string{"case123", "case124"} {
				got, err := repo.Get(ctx, uuidOf(c))
				if err != nil || len(got.Details.Todos) != 1 || got.Plan == nil || len(got.Plan.Goals) != 1 || len(got.Plan.Goals[0].Actions) != 1 ||
					len(got.Residents) != 1 {
					t.Fatalf("case %s: %+v, %v; want one to-do, a plan with one goal with one action and one resident", c, got, err)
				}
			}
		})
	}
}
