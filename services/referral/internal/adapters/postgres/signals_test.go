package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/referral/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const listedGP = "00000003000000000007"

var (
	signalIndexRows = regexp.MustCompile(`Index (?:Only )?Scan (?:using|on) signals_\w+.*\(actual rows=(\d+)`)
	sortNode        = regexp.MustCompile(`(?m)^\s*(?:->\s+)?(?:Incremental )?Sort\b`)
)

// signalsDB is a database with 60,000 signals of 200 sources (300 a source) and a repository
// on it. The 300 signals of listedGP are stored through the repository (their BSN and
// description really encrypted), in groups of three received at the same instant, so the
// keyset's id decides between them; the others are bulk rows that are never opened.
func signalsDB(t *testing.T) (*pgx.Conn, *Signals) {
	t.Helper()
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "referral", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	db, err := pgxdb.Open(ctx, dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	key := func() []byte {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	prot, err := bsn.NewProtector(bsn.Keys{Encryption: key(), Index: key(), Pseudonym: key()})
	if err != nil {
		t.Fatal(err)
	}
	repo := NewSignals(db, prot)
	if _, err := conn.Exec(ctx, `
		INSERT INTO signals (id, source_type, source_oin, reporter, legal_basis, resident_bsn_enc, resident_bsn_index,
		                     municipality_code, status, received_at)
		SELECT md5('signal' || i)::uuid, 'GP', '00000003' || lpad((i % 200)::text, 12, '0'), 'dr', 'WMO', '\x00', '\x00',
		       'GM0363', (ARRAY['RECEIVED', 'LINKED_TO_INTAKE', 'FED_BACK'])[1 + i % 3], timestamptz '2026-01-01' + i * interval '3 minutes'
		FROM generate_series(1, 60000) i WHERE '00000003' || lpad((i % 200)::text, 12, '0') <> $1`, listedGP); err != nil {
		t.Fatal(err)
	}
	statuses := []domain.Status{domain.StatusReceived, domain.StatusLinkedToIntake, domain.StatusFedBack}
	for i := range 300 {
		if err := repo.Insert(ctx, domain.Signal{
			ID: uuid.NewString(), SourceType: domain.SourceGP, SourceOIN: listedGP, Reporter: "dr", LegalBasis: domain.BasisWMO,
			ResidentBSN: "111222333", Municipality: "GM0363", LifeDomains: []string{"FINANCES"}, Description: fmt.Sprintf("signal %d", i), Status: statuses[i%3],
			ReceivedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i/3) * time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	return conn, repo
}

// A page of a source's signals (ListMySignals) is one statement reading a range of
// signals_source_order in the list's order (received_at DESC, id DESC), bounded by the whole
// keyset: no sort, no sequential scan, about a page of index entries — also for a later page
// and (reading a few pages of entries) with a status filter. Without migration 00005 the index lacks the id, so ties are sorted
// and the keyset bounds only received_at. REFERRAL_EXPLAIN_OUT=<file> writes the plans.
func TestSignalPagesAreIndexRanges(t *testing.T) {
	ctx := context.Background()
	conn, _ := signalsDB(t)
	const limit = 51
	at := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	after := &domain.Position{At: at, ID: "80000000-0000-0000-0000-000000000000"}
	pages := []struct {
		name   string
		status string
		after  *domain.Position
	}{
		{"first page", "", nil},
		{"later page", "", after},
		{"one status", "FED_BACK", nil},
		{"one status, later page", "FED_BACK", after},
	}
	var doc strings.Builder
	for _, p := range pages {
		sql, args := bySourceQuery(listedGP, p.status, p.after, limit)
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
		if !strings.Contains(plan, "signals_source_order") {
			t.Errorf("%s: not read from signals_source_order:\n%s", p.name, plan)
		}
		// Without a status the page is the index's order; with one, a small remaining range
		// may be fetched and sorted (the planner's choice), but never more than the bound below.
		if p.status == "" && sortNode.MatchString(plan) {
			t.Errorf("%s: sorts instead of reading in order:\n%s", p.name, plan)
		}
		if strings.Contains(plan, "Seq Scan on signals") {
			t.Errorf("%s: scans the signals table:\n%s", p.name, plan)
		}
		if p.after != nil && !strings.Contains(plan, "ROW(received_at, id) < ROW(") {
			t.Errorf("%s: the keyset is not the index bound:\n%s", p.name, plan)
		}
		// Without a status the service runs the page on its generic plan
		// (pgxdb.QueryGeneric), planned once per connection without the values: the same
		// index range in order, with the keyset as its bound.
		if p.status == "" {
			generic := testkit.GenericPlan(t, conn, sql, args)
			if !strings.Contains(generic, "signals_source_order") || sortNode.MatchString(generic) || strings.Contains(generic, "Seq Scan") ||
				(p.after != nil && !strings.Contains(generic, "ROW(received_at, id) < ROW(")) {
				t.Errorf("%s: the generic plan is not the index range:\n%s", p.name, generic)
			}
		}
		// A status keeps about one in three: three pages of entries for one page of rows.
		for _, m := range signalIndexRows.FindAllStringSubmatch(plan, -1) {
			if n, _ := strconv.Atoi(m[1]); n > 4*limit {
				t.Errorf("%s: %d index entries read for a page of %d:\n%s", p.name, n, limit, plan)
			}
		}
	}
	if out := os.Getenv("REFERRAL_EXPLAIN_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Paging through a source's signals returns each of its signals once, newest first (ties by
// id), opened (BSN and description), and none of another source; with a status only those.
func TestSignalPagesWalkTheSourcesSignalsInOrder(t *testing.T) {
	ctx := context.Background()
	_, repo := signalsDB(t)
	for _, status := range []string{"", "FED_BACK"} {
		want := 300
		if status != "" {
			want = 100
		}
		seen := map[string]bool{}
		var prev *domain.Signal
		var after *domain.Position
		for pages := 0; ; pages++ {
			if pages > want {
				t.Fatal("paging does not end")
			}
			list, more, err := repo.ListBySource(ctx, listedGP, status, domain.Page{Size: 40, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range list {
				if s.SourceOIN != listedGP || (status != "" && string(s.Status) != status) {
					t.Fatalf("listed %s of %s in %s", s.ID, s.SourceOIN, s.Status)
				}
				if s.ResidentBSN != "111222333" || !strings.HasPrefix(s.Description, "signal ") {
					t.Fatalf("%s not opened: BSN %q, description %q", s.ID, s.ResidentBSN, s.Description)
				}
				if seen[s.ID] {
					t.Fatalf("%s listed twice", s.ID)
				}
				seen[s.ID] = true
				if prev != nil && !(s.ReceivedAt.Before(prev.ReceivedAt) || s.ReceivedAt.Equal(prev.ReceivedAt) && s.ID < prev.ID) {
					t.Fatalf("%s (%s) listed after %s (%s)", s.ID, s.ReceivedAt, prev.ID, prev.ReceivedAt)
				}
				prev = &s
			}
			if !more {
				break
			}
			last := list[len(list)-1]
			after = &domain.Position{At: last.ReceivedAt, ID: last.ID}
		}
		if len(seen) != want {
			t.Fatalf("status %q: paged through %d signals, want %d", status, len(seen), want)
		}
	}
}
