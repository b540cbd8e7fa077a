package app_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/intake/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const teamOIN = "00000001000000000100"

func key() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// newApps builds n application instances (as n replicas would be) on one fresh database, each
// with the real adapters and a clock the test sets.
func newApps(t *testing.T, n int) ([]*app.App, *pgxdb.DB, *atomic.Pointer[time.Time]) {
	t.Helper()
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "intake", func(ctx context.Context, dsn string) error { return svc.Migrate(ctx, service.Spec(), dsn) })
	prot, err := bsn.NewProtector(bsn.Keys{Encryption: key(), Index: key(), Pseudonym: key()})
	if err != nil {
		t.Fatal(err)
	}
	clock := &atomic.Pointer[time.Time]{}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock.Store(&start)
	var apps []*app.App
	var db0 *pgxdb.DB
	for range n {
		db, err := pgxdb.Open(ctx, dsn, 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		db0 = db
		residents := postgres.NewResidents(db, prot)
		a := app.New(app.Deps{
			Tx: db, Residents: residents, Households: residents, Intakes: postgres.NewIntakes(db, prot),
			Policies: postgres.NewPolicies(db), Assessments: postgres.NewAssessments(db),
			Events: events.NewPublisher(outbox.NewWriter(db, events.Service)), Access: logstore.New(db, events.Service), Pseudo: prot,
		})
		a.Now = func() time.Time { return *clock.Load() }
		apps = append(apps, a)
	}
	return apps, db0, clock
}

func asTeam() context.Context {
	return identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: teamOIN, Name: "Sociaal Wijkteam Centrum", Type: identity.OrgTeam}, User: "anna", Role: "intake_worker", Purpose: "test"})
}

// bsnFor returns a BSN passing the 11-proef, different for every n.
func bsnFor(n int) string {
	for k := 0; ; k++ {
		s := fmt.Sprintf("%08d", 20000000+(n*100+k)*7919%79999999)
		sum := 0
		for i := range 8 {
			sum += (9 - i) * int(s[i]-'0')
		}
		if d := sum % 11; d < 10 {
			return s + string(rune('0'+d))
		}
	}
}

func TestTwoSchedulersAnnounceEachOverdueIntakeOnce(t *testing.T) {
	t.Parallel()
	apps, db, clock := newApps(t, 2)
	ctx := asTeam()
	var ids []string
	for i := range 30 {
		urgency := domain.UrgencyNormal
		if i%3 == 0 {
			urgency = domain.UrgencyHigh
		}
		in, err := apps[0].RegisterIntake(ctx, bsnFor(i), domain.Intake{Channel: domain.ChannelDesk, Urgency: urgency, Municipality: "GM0363"})
		if err != nil {
			t.Fatalf("RegisterIntake: %v", err)
		}
		ids = append(ids, in.ID)
	}
	// One intake is closed before its deadline: it is never overdue.
	if _, err := apps[0].StartTriage(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := apps[0].WithdrawIntake(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}

	q, _, err := apps[0].ListTeamQueue(ctx, nil, 100)
	if err != nil || len(q) != 29 {
		t.Fatalf("queue: %v, %d entries", err, len(q))
	}
	for i, e := range q {
		if e.Overdue {
			t.Fatalf("nothing is overdue yet: %+v", e)
		}
		if i > 0 && q[i-1].Intake.Urgency == domain.UrgencyNormal && e.Intake.Urgency == domain.UrgencyHigh {
			t.Fatal("queue: HIGH after NORMAL")
		}
	}
	// Before the deadline the schedulers find nothing.
	if n, err := apps[0].AnnounceOverdue(context.Background(), 100); err != nil || n != 0 {
		t.Fatalf("before the deadline: %d, %v", n, err)
	}

	later := clock.Load().AddDate(0, 0, domain.TriageDays).Add(time.Minute)
	clock.Store(&later)
	var (
		wg    sync.WaitGroup
		total atomic.Int64
	)
	for _, a := range apps {
		wg.Go(func() {
			for {
				n, err := a.AnnounceOverdue(context.Background(), 4)
				if err != nil {
					t.Errorf("AnnounceOverdue: %v", err)
					return
				}
				total.Add(int64(n))
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, a := range apps {
		if n, err := a.AnnounceOverdue(context.Background(), 100); err != nil || n != 0 {
			t.Fatalf("a second round announced %d (%v)", n, err)
		}
	}
	var events, distinct int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT aggregate_id) FROM outbox WHERE recipient = '' AND subject = 'wijkbrug.intake.GM0363.intake.triage_overdue'`).
		Scan(&events, &distinct); err != nil {
		t.Fatal(err)
	}
	if total.Load() != 29 || events != 29 || distinct != 29 {
		t.Fatalf("announced %d, events %d for %d intakes; want 29 each", total.Load(), events, distinct)
	}
	var withdrawn int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE recipient = '' AND subject LIKE '%triage_overdue' AND aggregate_id = $1`, ids[1]).Scan(&withdrawn); err != nil || withdrawn != 0 {
		t.Fatalf("the withdrawn intake was announced: %d %v", withdrawn, err)
	}
	q, _, err = apps[1].ListTeamQueue(ctx, nil, 100)
	if err != nil || len(q) != 29 || !q[0].Overdue || !q[28].Overdue {
		t.Fatalf("queue after the deadline: %v, %d entries", err, len(q))
	}
}

func TestOverdueSchedulerRunsInTheBackground(t *testing.T) {
	t.Parallel()
	apps, db, clock := newApps(t, 1)
	in, err := apps[0].RegisterIntake(asTeam(), bsnFor(99), domain.Intake{Channel: domain.ChannelPhone, Urgency: domain.UrgencyNormal, Municipality: "GM0363"})
	if err != nil {
		t.Fatal(err)
	}
	later := in.TriageDue.Add(time.Second)
	clock.Store(&later)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		scheduler.Run(ctx, scheduler.Job{Name: "triage-deadline", Interval: 10 * time.Millisecond, BatchSize: 100,
			Caller: identity.System(identity.Organisation{OIN: "00000099000000000001", Name: "intake", Type: identity.OrgService}, "triage-deadline"),
			Batch:  apps[0].AnnounceOverdue}, nil, nil)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM intakes WHERE id = $1 AND overdue_announced_at IS NOT NULL`, in.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not announce the overdue intake")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
