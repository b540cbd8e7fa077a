package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/service"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// noSealer: the scheduler never touches conference decisions.
type noSealer struct{}

func (noSealer) Seal(string, string) []byte          { panic("not used") }
func (noSealer) Open([]byte, string) (string, error) { panic("not used") }

// replica is one instance of the service's application on the shared database, as a second
// pod would run it: its own pool, its own outbox writer.
func replica(t *testing.T, dsn string, now time.Time) *app.App {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	a := app.New(app.Deps{Tx: db, Cases: postgres.NewCases(db, noSealer{}), Events: events.NewPublisher(outbox.NewWriter(db, events.Service)),
		Access: logstore.New(db, events.Service)})
	a.Now = func() time.Time { return now }
	return a
}

// TestTwoSchedulersNeverEmitTheSameOverdueEventTwice runs two scheduler replicas against one
// database, many rounds at once. Every case in WATCH has missed three check-ins: each must be
// reported exactly once, and each case's pilot light moved on exactly three intervals.
func TestTwoSchedulersNeverEmitTheSameOverdueEventTwice(t *testing.T) {
	system := identity.System(identity.Organisation{OIN: "00000001000000000999", Name: "casedirection", Type: identity.OrgService}, "case-monitoring")
	ctx := identity.WithCaller(context.Background(), system)
	dsn := testkit.NewDatabase(t, "casedirection", func(ctx context.Context, dsn string) error { return svc.Migrate(ctx, service.Spec(), dsn) })
	now := time.Now().UTC().Truncate(time.Microsecond)
	const cases, interval, missed = 120, 7, 3
	firstDue := now.Add(-missed*interval*24*time.Hour + time.Hour)

	seed, err := pgxdb.Open(context.Background(), dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	for i := range cases {
		if _, err := seed.Pool.Exec(ctx, `
			INSERT INTO cases (id, household_id, municipality_code, team_oin, status, director_professional_id, director_since,
			                   opened_at, watch_interval_days, watch_until, next_check_at)
			VALUES ($1, $2, 'GM0363', '00000001000000000100', 'WATCH', $3, $4, $4, $5, $6, $7)`,
			uuid.NewString(), uuid.NewString(), fmt.Sprintf("dir-%d", i%5), now.Add(-60*24*time.Hour), interval, now.AddDate(0, 6, 0), firstDue); err != nil {
			t.Fatal(err)
		}
	}
	// A case in WATCH whose check-in is not due, and one that is no longer in WATCH.
	for _, st := range []struct {
		status string
		next   time.Time
	}{{"WATCH", now.Add(time.Hour)}, {"ACTIVE", firstDue}} {
		if _, err := seed.Pool.Exec(ctx, `
			INSERT INTO cases (id, household_id, municipality_code, team_oin, status, opened_at, watch_interval_days, watch_until, next_check_at)
			VALUES ($1, $2, 'GM0363', '00000001000000000100', $3, $4, 7, $5, $6)`,
			uuid.NewString(), uuid.NewString(), st.status, now, now.AddDate(0, 6, 0), st.next); err != nil {
			t.Fatal(err)
		}
	}

	replicas := []*app.App{replica(t, dsn, now), replica(t, dsn, now)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	emitted := 0
	for r := range 2 {
		for range 3 {
			wg.Go(func() {
				for range 3 {
					n, err := scheduler.Drain(ctx, scheduler.Job{Name: "pilot-light-check-ins", BatchSize: 50, Caller: system, Batch: replicas[r].EmitOverdueCheckIns})
					if err != nil {
						t.Errorf("replica %d: %v", r, err)
						return
					}
					mu.Lock()
					emitted += n
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()

	if emitted != cases*missed {
		t.Fatalf("replicas report %d events, want %d", emitted, cases*missed)
	}
	rows, err := seed.Pool.Query(ctx, `SELECT aggregate_id, payload FROM outbox WHERE recipient = '' AND event_type = 'wijkbrug.casedirection.v1.CaseWatchCheckOverdue'`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	perCase := map[string][]int32{}
	for rows.Next() {
		var agg string
		var b []byte
		if err := rows.Scan(&agg, &b); err != nil {
			t.Fatal(err)
		}
		var ev casedirectionv1.CaseWatchCheckOverdue
		if err := proto.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		seen[agg+"@"+ev.GetDueAt().AsTime().String()]++
		perCase[agg] = append(perCase[agg], ev.GetMissedCheckIns())
	}
	rows.Close()
	if len(seen) != cases*missed {
		t.Fatalf("want %d distinct overdue check-ins, got %d", cases*missed, len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("overdue check-in %s emitted %d times", k, n)
		}
	}
	for c, ms := range perCase {
		if len(ms) != missed {
			t.Errorf("case %s: %d events", c, len(ms))
		}
	}
	// Each case moved on exactly three intervals and counted three misses: a case handled by
	// both replicas would show more.
	wantNext := firstDue.AddDate(0, 0, missed*interval)
	var bad int
	if err := seed.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE status = 'WATCH' AND next_check_at < $1 AND (missed_check_ins <> $2 OR next_check_at <> $3)`,
		now, missed, wantNext).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	var moved int
	if err := seed.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE missed_check_ins = $1 AND next_check_at = $2`, missed, wantNext).Scan(&moved); err != nil {
		t.Fatal(err)
	}
	if bad != 0 || moved != cases {
		t.Fatalf("pilot lights: %d moved on correctly (want %d), %d still due", moved, cases, bad)
	}
	var untouched int
	if err := seed.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE missed_check_ins = 0`).Scan(&untouched); err != nil {
		t.Fatal(err)
	}
	if untouched != 2 {
		t.Fatalf("the case not yet due and the case not in WATCH must be left alone, %d untouched", untouched)
	}
}
