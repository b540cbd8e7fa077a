package postgres

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/case-direction/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var indexRows = regexp.MustCompile(`Index (?:Only )?Scan (?:using|on) cases_\w+.*\(actual rows=(\d+)`)

// A caseload page reads the page, not the caseload: on 60,000 cases of 30 teams, every page
// (whole team, one status, one director, first and later pages) is a range of an index in the
// list's order that reads about a page — no sequential scan, no sort of the caseload — and the
// open to-dos are counted for the page's rows only. (make bench measures the same at 1,000,000 cases.)
// CD_EXPLAIN_OUT=<file> writes the plans, for docs/performance.md.
func TestCaseloadPagesAreIndexRanges(t *testing.T) {
	if testing.Short() {
		t.Skip("bulk data")
	}
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "casedirection", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
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
		ANALYZE`); err != nil {
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
			if strings.Contains(plan, "Seq Scan on cases") {
				t.Errorf("%s (%s) scans the cases table:\n%s", p.name, q.what, plan)
			}
			if q.what == "page" {
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
