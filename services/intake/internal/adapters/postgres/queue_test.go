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
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/intake/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var (
	queueIndexRows = regexp.MustCompile(`Index (?:Only )?Scan (?:using|on) intakes_\w+.*\(actual rows=(\d+)`)
	sortNode       = regexp.MustCompile(`(?m)^\s*(?:->\s+)?(?:Incremental )?Sort\b`)
)

// queueDB is a database with 60,000 intakes of 30 teams (2,000 a team, two in three of them
// open, 5 % CRISIS and 20 % HIGH), as a busy region's intake holds.
func queueDB(t *testing.T) (*pgx.Conn, string) {
	t.Helper()
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "intake", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `
		INSERT INTO residents (id, bsn_enc, bsn_index, pseudonym, municipality_code)
		SELECT md5('res' || i)::uuid, '\x00', decode(md5('res' || i), 'hex'), 'pseudo-' || i, 'GM0363'
		FROM generate_series(1, 60000) i;
		INSERT INTO households (id, municipality_code) SELECT md5('hh' || i)::uuid, 'GM0363' FROM generate_series(1, 60000) i;
		INSERT INTO intakes (id, channel, resident_id, household_id, urgency, status, municipality_code, team_oin,
		                     received_at, triage_due)
		SELECT md5('intake' || i)::uuid, 'DIRECT', md5('res' || i)::uuid, md5('hh' || i)::uuid,
		       CASE WHEN i % 20 = 0 THEN 'CRISIS' WHEN i % 5 = 1 THEN 'HIGH' ELSE 'NORMAL' END,
		       (ARRAY['RECEIVED', 'IN_TRIAGE', 'CLOSED'])[1 + (i / 30) % 3], 'GM0363', 'team-' || (i % 30),
		       timestamptz '2026-01-01' + i * interval '7 minutes', timestamptz '2026-01-08' + (i % 977) * interval '13 minutes'
		FROM generate_series(1, 60000) i;
		ANALYZE`); err != nil {
		t.Fatal(err)
	}
	return conn, dsn
}

// A page of a team's triage queue reads the page, not the queue: on 60,000 intakes of 30
// teams, the first and a later page are a range of intakes_team_queue_order in the queue's
// order (urgency rank, deadline, id) that reads about a page — no sort of the team's open
// intakes, no sequential scan. Without the index of migration 00007 the team's whole open
// queue (1,333 intakes here, thousands in the bench) is fetched and sorted for every page.
// INTAKE_EXPLAIN_OUT=<file> writes the plans, for docs/performance.md.
func TestTeamQueuePagesAreIndexRanges(t *testing.T) {
	ctx := context.Background()
	conn, _ := queueDB(t)
	const limit = 51
	pages := []struct {
		name  string
		after *domain.QueueKey
	}{
		{"first page", nil},
		{"later page, among the HIGH", &domain.QueueKey{Rank: 1, TriageDue: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), ID: "80000000-0000-0000-0000-000000000000"}},
		{"later page, among the NORMAL", &domain.QueueKey{Rank: 2, TriageDue: time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC), ID: "80000000-0000-0000-0000-000000000000"}},
	}
	var doc strings.Builder
	for _, p := range pages {
		sql, args := queueQuery("team-3", p.after, limit)
		rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "+sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		doc.WriteString("-- " + p.name + "\n" + plan + "\n\n")
		if !strings.Contains(plan, "intakes_team_queue_order") {
			t.Errorf("%s: not read from intakes_team_queue_order:\n%s", p.name, plan)
		}
		if sortNode.MatchString(plan) {
			t.Errorf("%s: sorts instead of reading in order:\n%s", p.name, plan)
		}
		if strings.Contains(plan, "Seq Scan on intakes") {
			t.Errorf("%s: scans the intakes table:\n%s", p.name, plan)
		}
		// The service runs the page on its generic plan (pgxdb.QueryGeneric), planned once per
		// connection without the values: the same index range, no sort, no scan.
		generic := testkit.GenericPlan(t, conn, sql, args)
		if !strings.Contains(generic, "intakes_team_queue_order") || sortNode.MatchString(generic) || strings.Contains(generic, "Seq Scan") {
			t.Errorf("%s: the generic plan is not the index range:\n%s", p.name, generic)
		}
		for _, m := range queueIndexRows.FindAllStringSubmatch(plan, -1) {
			if n, _ := strconv.Atoi(m[1]); n > 2*limit {
				t.Errorf("%s: %d index entries read for a page of %d:\n%s", p.name, n, limit, plan)
			}
		}
	}
	if out := os.Getenv("INTAKE_EXPLAIN_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Paging through a team's queue with the keyset returns every open intake of the team once,
// in the queue's order (domain.QueueKey), and none of another team or a closed one.
func TestTeamQueuePagesWalkTheWholeQueueInOrder(t *testing.T) {
	ctx := context.Background()
	conn, dsn := queueDB(t)
	var want int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM intakes WHERE team_oin = 'team-7' AND status IN ('RECEIVED', 'IN_TRIAGE')`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	db, err := pgxdb.Open(ctx, dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo := NewIntakes(db, nil)
	var (
		after *domain.QueueKey
		prev  *domain.QueueKey
		seen  = map[string]bool{}
	)
	for pages := 0; ; pages++ {
		if pages > want {
			t.Fatal("paging does not end")
		}
		list, err := repo.Queue(ctx, "team-7", after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		for _, in := range list {
			if in.TeamOIN != "team-7" || (in.Status != domain.StatusReceived && in.Status != domain.StatusInTriage) {
				t.Fatalf("listed %s of %s in status %s", in.ID, in.TeamOIN, in.Status)
			}
			if seen[in.ID] {
				t.Fatalf("%s listed twice", in.ID)
			}
			seen[in.ID] = true
			k := in.QueueKey()
			if prev != nil && !queueBefore(*prev, k) {
				t.Fatalf("%+v listed after %+v", k, *prev)
			}
			prev = &k
		}
		after = prev
	}
	if len(seen) != want {
		t.Fatalf("paged through %d intakes, the team has %d open", len(seen), want)
	}
}

func queueBefore(a, b domain.QueueKey) bool {
	if a.Rank != b.Rank {
		return a.Rank < b.Rank
	}
	if !a.TriageDue.Equal(b.TriageDue) {
		return a.TriageDue.Before(b.TriageDue)
	}
	return a.ID < b.ID
}
