package app_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/app"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/referral/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	teamOIN     = "00000001000000000100"
	providerOIN = "00000001000000000500"
)

func key(t *testing.T) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// everyoneInvolved stands in for case-direction and intake, whose checks are not what this
// test is about (the gRPC tests cover them): every case and intake is a running one of GM0363
// about the household of residentOfEveryCase.
type everyoneInvolved struct{ pseudo app.Pseudonymizer }

// residentOfEveryCase is the resident every case and intake of everyoneInvolved is about.
const residentOfEveryCase = "111222333"

func (everyoneInvolved) Involved(context.Context, string, string, string) (bool, *domain.CaseFacts, error) {
	return true, nil, nil
}
func (everyoneInvolved) Owner(context.Context, string, string, string) (bool, *domain.IntakeFacts, error) {
	return true, nil, nil
}
func (e everyoneInvolved) Case(_ context.Context, id string) (domain.CaseFacts, error) {
	return domain.CaseFacts{ID: id, Municipality: "GM0363", Status: "ACTIVE", Residents: []string{e.pseudo.Pseudonym(residentOfEveryCase)}}, nil
}
func (e everyoneInvolved) Intake(_ context.Context, id string) (domain.IntakeFacts, error) {
	return domain.IntakeFacts{ID: id, Municipality: "GM0363", Status: "IN_TRIAGE", Residents: []string{e.pseudo.Pseudonym(residentOfEveryCase)}}, nil
}

// newDSN returns a new database migrated as referral's.
func newDSN(t *testing.T) string {
	return testkit.NewDatabase(t, "referral", func(ctx context.Context, dsn string) error { return svc.Migrate(ctx, service.Spec(), dsn) })
}

// newProtector returns a BSN protector with fresh keys.
func newProtector(t *testing.T) *bsn.Protector {
	prot, err := bsn.NewProtector(bsn.Keys{Encryption: key(t), Index: key(t), Pseudonym: key(t)})
	if err != nil {
		t.Fatal(err)
	}
	return prot
}

// newApp builds the application on db the way the service does, with its own clock.
func newApp(t *testing.T, db *pgxdb.DB, prot *bsn.Protector, now func() time.Time) *app.App {
	return newAppWriting(db, outbox.NewWriter(db, "referral"), prot, now)
}

// newAppWriting is newApp with its events going to w.
func newAppWriting(db *pgxdb.DB, w *outbox.Writer, prot *bsn.Protector, now func() time.Time) *app.App {
	a := app.New(app.Deps{
		Tx: db, Signals: postgres.NewSignals(db, prot), Provisions: postgres.NewProvisions(db),
		Consents: postgres.NewConsents(db, prot), Referrals: postgres.NewReferrals(db, prot), Themes: postgres.NewThemes(db),
		Events: events.NewPublisher(w), Access: logstore.New(db, "referral"), Pseudo: prot,
		Cases: everyoneInvolved{prot}, Intakes: everyoneInvolved{prot},
		Settings: app.Settings{MapMaintainers: map[string][]string{"GM0363": {teamOIN}}},
	})
	a.Now = now
	return a
}

func as(oin string, orgType identity.OrgType) context.Context {
	return identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: oin, Type: orgType, Name: oin}, User: "u", Role: "professional", Purpose: "test"})
}

// TestTwoExpirySchedulersNeverExpireTwice runs two scheduler instances (as two replicas would)
// on one database, over and over at the same time, and checks that every overdue referral is
// expired exactly once, with exactly one event, and that referrals not yet due are left alone.
func TestTwoExpirySchedulersNeverExpireTwice(t *testing.T) {
	ctx := context.Background()
	db, err := pgxdb.Open(ctx, newDSN(t), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	prot := newProtector(t)
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := start
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	a := newApp(t, db, prot, now)

	prov, err := a.UpsertProvision(as(teamOIN, identity.OrgTeam), domain.Provision{
		OrganisationOIN: providerOIN, Name: "Maatjesproject", Kind: domain.KindCommunity, Status: domain.ProvisionActive,
		CapacityStatus: "AVAILABLE", Taxonomy: []string{"buddy-project"}, Municipality: "GM0363", AcceptsDigitalReferrals: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	const due, notDue = 40, 5
	for i := range due + notDue {
		acceptBy := start.Add(time.Hour)
		if i >= due {
			acceptBy = start.Add(72 * time.Hour)
		}
		_, err := a.CreateReferral(as(teamOIN, identity.OrgTeam), domain.Referral{
			ProvisionID: prov.ID, CaseID: "5d1c3e7a-2b4f-4e8a-9c6d-7e8f9a0b1c2d", ResidentBSN: "111222333", Municipality: "GM0363",
			Question: "buddy wanted", Categories: []string{"IDENTITY"}, LegalBasis: domain.BasisWMO, AcceptBy: acceptBy,
		}, true)
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	clock = start.Add(2 * time.Hour)
	mu.Unlock()

	system := identity.WithCaller(ctx, identity.System(identity.Organisation{OIN: "00000099000000000004", Name: "wijkbrug-referral", Type: identity.OrgService}, "referral-expiry"))
	replicas := []*app.App{newApp(t, db, prot, now), newApp(t, db, prot, now)}
	var wg sync.WaitGroup
	counts := make([]int, len(replicas))
	for i, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				n, err := r.ExpireDue(system, 3)
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
					return
				}
				counts[i] += n
			}
		}()
	}
	wg.Wait()
	if counts[0]+counts[1] != due {
		t.Fatalf("replicas expired %d + %d referrals, want %d in total", counts[0], counts[1], due)
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Logf("note: one replica did all the work (%v); the SKIP LOCKED path was not exercised this run", counts)
	}
	var expired, twice, sentLeft, events int
	q := db.Pool
	if err := q.QueryRow(ctx, `SELECT count(*) FROM referrals WHERE status = 'EXPIRED'`).Scan(&expired); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRow(ctx, `SELECT count(*) FROM (SELECT referral_id FROM referral_transitions WHERE to_status = 'EXPIRED'
		GROUP BY referral_id HAVING count(*) > 1) x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRow(ctx, `SELECT count(*) FROM referrals WHERE status = 'SENT'`).Scan(&sentLeft); err != nil {
		t.Fatal(err)
	}
	// Every referral has one event per status on the municipality subject: SENT, then EXPIRED.
	if err := q.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE subject = 'wijkbrug.referral.GM0363.referral.status_changed'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if expired != due || twice != 0 || sentLeft != notDue || events != due+notDue+due {
		t.Fatalf("expired=%d twice=%d sentLeft=%d events=%d", expired, twice, sentLeft, events)
	}
	var logged int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.referral.expire' AND route = 'SYSTEM'`).Scan(&logged); err != nil || logged != due {
		t.Fatalf("each expiry is access-logged once: %d %v", logged, err)
	}
}
