package app_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	providerOIN = "00000001234567800000"
	teamOIN     = "00000001000000000100"
)

// newApp builds the application on a fresh database with the real adapters and a clock that
// the test moves: the gRPC tests cannot reach the service's clock, so timeliness is tested
// here.
func newApp(t *testing.T) (*app.App, *pgxdb.DB, *time.Time) {
	t.Helper()
	now := new(time.Time)
	a, db := appOn(t, newDatabase(t), now)
	return a, db, now
}

// newDatabase is a fresh database with the demo provider and the municipality's organisations.
func newDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "providermonitoring", func(ctx context.Context, dsn string) error {
		return svc.Migrate(ctx, service.Spec(), dsn)
	})
	if err := service.SeedDemo(ctx, dsn, service.DemoProvider{AGB: "12345678", Name: "Zorggroep De Brug", OIN: providerOIN,
		Municipality: "GM0363", ProductCategory: "45", ProductCode: "45A48"}); err != nil {
		t.Fatal(err)
	}
	if err := service.SeedMunicipalOrganisations(ctx, dsn, "GM0363", teamOIN); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// appOn builds another application (a replica) on the database dsn with the clock now.
func appOn(t *testing.T, dsn string, now *time.Time) (*app.App, *pgxdb.DB) {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return appWith(t, db, outbox.NewWriter(db, events.Service), now), db
}

// sealer is a protector with fixed test keys, for the texts a repository seals.
func sealer(t *testing.T) *bsn.Protector {
	t.Helper()
	p, err := bsn.NewProtector(bsn.Keys{Encryption: bytes.Repeat([]byte{1}, 32), Index: bytes.Repeat([]byte{2}, 32), Pseudonym: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// appWith builds the application on db with the clock now, publishing its events with w.
func appWith(t *testing.T, db *pgxdb.DB, w *outbox.Writer, now *time.Time) *app.App {
	t.Helper()
	codes, err := domain.LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(app.Deps{
		Tx: db, Providers: postgres.NewProviders(db), Allocations: postgres.NewAllocations(db), Requests: postgres.NewRequests(db, sealer(t)),
		Monitoring: postgres.NewMonitoring(db), Events: events.NewPublisher(w),
		// The recorder the service uses: an entry about an allocation is logged under each
		// resident of its case.
		Access: logstore.NewPerResidentRecorder(logstore.New(db, events.Service), db, postgres.NewCaseResidents(db).Lookup),
		Rules:  domain.NewTimeliness(codes), Codes: codes, Settings: app.Settings{NotStartedDays: 10}, NewID: uuid.NewString,
		Cases: caseDirection{}, Residents: postgres.NewCaseResidents(db),
	})
	a.Now = func() time.Time { return *now }
	return a
}

// caseGoals are the plans' goals case-direction knows, by case id (tests use fresh case ids).
var caseGoals sync.Map

// caseDirection stands in for the case-direction service (a peer, reached over gRPC in the
// service): it knows the cases a test stored in caseGoals.
type caseDirection struct{}

// caseOwners are the cases' municipality, team and status, by case id (a case without them is
// only in caseGoals).
var caseOwners sync.Map

// storeCase makes a case of the team in GM0363 known to case-direction, with its status.
func storeCase(id, status string) {
	caseOwners.Store(id, app.CaseFacts{Municipality: "GM0363", TeamOIN: teamOIN, Status: status})
	caseGoals.LoadOrStore(id, []string{})
}

func (caseDirection) Case(_ context.Context, id string) (app.CaseFacts, error) {
	goals, ok := caseGoals.Load(id)
	if !ok {
		return app.CaseFacts{}, apperr.NotFound("case", id)
	}
	f := app.CaseFacts{ID: id}
	if o, ok := caseOwners.Load(id); ok {
		f = o.(app.CaseFacts)
		f.ID = id
	}
	for _, g := range goals.([]string) {
		f.Goals = append(f.Goals, domain.MotivationGoal{GoalID: g})
	}
	return f, nil
}

// AttachAllocation refuses, as case-direction does, a case that is unknown, closed or handed over.
func (caseDirection) AttachAllocation(_ context.Context, al domain.Allocation) error {
	if _, ok := caseGoals.Load(al.CaseID); !ok {
		return apperr.NotFound("case", al.CaseID)
	}
	if o, ok := caseOwners.Load(al.CaseID); ok {
		return domain.CaseOpen(al.CaseID, o.(app.CaseFacts).Status)
	}
	return nil
}

// casePseudonyms are the residents case-direction tells for a case, by case id ([]string).
var casePseudonyms sync.Map

func (caseDirection) CaseResidents(_ context.Context, id string) ([]string, error) {
	if _, ok := caseGoals.Load(id); !ok {
		return nil, apperr.NotFound("case", id)
	}
	p, _ := casePseudonyms.Load(id)
	r, _ := p.([]string)
	return r, nil
}

func as(t identity.OrgType, oin string) context.Context {
	return identity.WithCaller(context.Background(), identity.Caller{
		Org: identity.Organisation{OIN: oin, Name: "test", Type: t}, User: "u1", Role: "professional", Purpose: "test"})
}

func amsterdam(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, domain.Amsterdam)
}

func TestStartReportTimeliness(t *testing.T) {
	a, db, now := newApp(t)
	serviceCtx := as(identity.OrgService, "00000009999999900000")
	providerCtx := as(identity.OrgProvider, providerOIN)

	// Care starts on Thursday 17 April 2025; Good Friday, Easter Monday and the weekends make
	// Monday 28 April the 5th working day after it.
	cases := []struct {
		name     string
		reported time.Time
		onTime   bool
	}{
		{"5th working day", amsterdam(2025, 4, 28, 23, 30), true},
		{"6th working day", amsterdam(2025, 4, 29, 0, 5), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			*now = amsterdam(2025, 4, 1, 10, 0)
			al, err := a.Allocate(serviceCtx, domain.Allocation{
				ProviderAGB: "12345678", CaseID: uuid.NewString(), Municipality: "GM0363", District: "WK036301",
				Product: domain.Product{Category: "45", Code: "45A48"}, Start: domain.Date(2025, 4, 14),
				Volume: domain.Volume{Amount: 2, Unit: "04", Frequency: "2"},
			})
			if err != nil {
				t.Fatal(err)
			}
			*now = tc.reported
			got, err := a.ReportDeliveryStarted(providerCtx, al.Number, domain.Date(2025, 4, 17))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != domain.StatusStarted || got.StartReportedOnTime == nil || *got.StartReportedOnTime != tc.onTime {
				t.Fatalf("allocation after report: %+v", got)
			}
			stored, err := a.GetAllocation(serviceCtx, al.Number)
			if err != nil || *stored.StartReportedOnTime != tc.onTime || !stored.StartReportedAt.Equal(tc.reported) {
				t.Fatalf("stored: %+v %v", stored, err)
			}
			var onTime bool
			var payload []byte
			if err := db.Pool.QueryRow(context.Background(), `SELECT on_time FROM deliveries WHERE allocation_number = $1`, al.Number).Scan(&onTime); err != nil || onTime != tc.onTime {
				t.Fatalf("delivery on_time = %v (%v)", onTime, err)
			}
			if err := db.Pool.QueryRow(context.Background(), `SELECT payload FROM outbox WHERE recipient = '' AND aggregate_id = $1 AND subject LIKE '%.delivery_started'`, al.Number).Scan(&payload); err != nil {
				t.Fatal(err)
			}
			var ev pmv1.AllocationDeliveryStarted
			if err := proto.Unmarshal(payload, &ev); err != nil || ev.GetReportedOnTime() != tc.onTime || ev.GetStartedOn() != "2025-04-17" {
				t.Fatalf("event: %v %v", &ev, err)
			}
		})
	}
}

func TestReportStartRefusedIsLogged(t *testing.T) {
	a, db, now := newApp(t)
	*now = amsterdam(2025, 4, 1, 10, 0)
	al, err := a.Allocate(as(identity.OrgService, "00000009999999900000"), domain.Allocation{
		ProviderAGB: "12345678", CaseID: uuid.NewString(), Municipality: "GM0363",
		Product: domain.Product{Category: "45", Code: "45A48"}, Start: domain.Date(2025, 4, 1),
		Volume: domain.Volume{Amount: 2, Unit: "04", Frequency: "2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	other := as(identity.OrgProvider, "00000007777777700000")
	_, err = a.ReportDeliveryStarted(other, al.Number, domain.Date(2025, 4, 1))
	if !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another provider must get NOT_FOUND, got %v", err)
	}
	var denied int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND outcome = 'DENIED' AND org_oin = '00000007777777700000'`, al.Number).Scan(&denied); err != nil || denied != 1 {
		t.Fatalf("denied entries: %d %v", denied, err)
	}
	if _, err := a.Allocate(other, domain.Allocation{}); !apperr.IsKind(err, apperr.KindPermissionDenied) {
		t.Fatalf("a provider cannot allocate, got %v", err)
	}
}
