// Package service is the public entry point of the provider-monitoring service: its Spec is
// run by the provider-monitoring binary and, together with the other three, by the all-in-one
// wijkbrug command, which also loads demo data with SeedDemo.
package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	consumer "github.com/wijkbrug/wijkbrug/pkg/consumer"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/letter"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/ports/consumers"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/ports/grpcapi"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/migrations"
	"google.golang.org/grpc"
)

// settings are the service's own settings, beside the platform's svc.Config.
type settings struct {
	// ExtraNonWorkingDays are days the government equated with holidays by decree
	// (Algemene termijnenwet art. 3 para. 2), e.g. a Friday after Ascension Day.
	ExtraNonWorkingDays string `env:"WIJKBRUG_EXTRA_NON_WORKING_DAYS" usage:"comma-separated dates (YYYY-MM-DD) that do not count as working days for statutory deadlines"`
	// NotStartedDays: an allocation still not started this many days after its start date
	// raises the not-started alert.
	NotStartedDays int `env:"WIJKBRUG_NOT_STARTED_ALERT_DAYS" default:"10" usage:"days after an allocation's start date without a start of care before the not-started alert (AllocationNotStarted)"`
	// SchedulerInterval is how often the not-started scheduler looks for due allocations.
	SchedulerInterval time.Duration `env:"WIJKBRUG_PM_SCHEDULER_INTERVAL" default:"1m" usage:"interval of provider-monitoring's not-started and decision-overdue schedulers"`
}

// Spec describes the provider-monitoring service to the shared runtime.
func Spec() svc.Spec {
	s := &settings{}
	return svc.Spec{
		Settings:         s,
		Name:             events.Service,
		Encrypted:        postgres.EncryptedColumns,
		EmergencyTypes:   []string{"allocation", "allocation_request", "decision"},
		DefaultGRPCAddr:  ":50053",
		DefaultRESTAddr:  ":50073",
		DefaultAdminAddr: ":9093",
		Migrations:       migrations.Set(),
		Policy:           grpcapi.Policy,
		Services:         []grpc.ServiceDesc{providermonitoringv1.ProviderMonitoringService_ServiceDesc, providermonitoringv1.DecisionService_ServiceDesc},
		REST:             []rest.Registrar{providermonitoringv1.RegisterProviderMonitoringServiceHandler, providermonitoringv1.RegisterDecisionServiceHandler},
		OpenAPI:          apidoc.Document("providermonitoring"),
		Setup: func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
			tl, err := timelinessRules(*s)
			if err != nil {
				return nil, err
			}
			var bad []error
			if s.NotStartedDays < 0 {
				bad = append(bad, fmt.Errorf("WIJKBRUG_NOT_STARTED_ALERT_DAYS is %d: 0 or more", s.NotStartedDays))
			}
			if s.SchedulerInterval <= 0 {
				bad = append(bad, fmt.Errorf("WIJKBRUG_PM_SCHEDULER_INTERVAL is %s: more than 0", s.SchedulerInterval))
			}
			if err := errors.Join(bad...); err != nil {
				return nil, err
			}
			// Access to a case's allocations is logged under each resident of the case.
			residents := postgres.NewCaseResidents(p.DB)
			access := logstore.NewPerResidentRecorder(p.Access, p.DB, residents.Lookup)
			cd, err := p.Dial(p.Config.CaseDirectionAddr)
			if err != nil {
				return nil, fmt.Errorf("dial case-direction: %w", err)
			}
			in, err := p.Dial(p.Config.IntakeAddr)
			if err != nil {
				return nil, fmt.Errorf("dial intake: %w", err)
			}
			publisher := events.NewPublisher(p.Outbox)
			a := newApp(p.DB, p.Protector, publisher, access, tl, app.Settings{NotStartedDays: s.NotStartedDays}, peers.NewCaseDirection(cd), residents)
			a.WithDecisions(app.DecisionDeps{
				Decisions: postgres.NewDecisions(p.DB, p.Protector), Mandates: postgres.NewMandates(p.DB),
				Intakes: peers.NewIntake(in), Events: publisher, Letters: letter.Renderer{},
			})
			p.Outbox.SetFeedRouter(events.FeedRecipients())
			server := grpcapi.NewServer(a, p.Idem)
			decisions := grpcapi.NewDecisionServer(a, p.Idem)
			// The scheduler acts as the service itself (for the access log).
			system := p.SystemCaller("care-monitoring")
			return &svc.Wiring{
				Register: func(s grpc.ServiceRegistrar) {
					providermonitoringv1.RegisterProviderMonitoringServiceServer(s, server)
					providermonitoringv1.RegisterDecisionServiceServer(s, decisions)
				},
				Consumers: []consumer.Spec{consumers.CaseEvents(peers.NewCaseDirection(cd), residents, system)},
				Schedulers: []scheduler.Job{{Name: "not-started-alerts", Interval: s.SchedulerInterval, BatchSize: 100,
					Caller: system, Batch: a.AlertNotStarted},
					{Name: "decision-overdue-alerts", Interval: s.SchedulerInterval, BatchSize: 100,
						Caller: system, Batch: a.AlertOverdueDecisions}},
			}, nil
		},
	}
}

// newApp wires the application to its PostgreSQL adapters.
func newApp(db *pgxdb.DB, seal postgres.Sealer, ev app.Events, access accesslog.Recorder, tl domain.Timeliness, st app.Settings, cases app.Cases, residents app.KnownResidents) *app.App {
	codes, _ := domain.LoadCodes() // already loaded once by timelinessRules, so it cannot fail here
	return app.New(app.Deps{
		Tx: db, Providers: postgres.NewProviders(db), Allocations: postgres.NewAllocations(db), Requests: postgres.NewRequests(db, seal),
		Monitoring: postgres.NewMonitoring(db), Events: ev, Access: access,
		Rules: tl, Codes: codes, Settings: st, Cases: cases, Residents: residents, NewID: uuid.NewString,
	})
}

// timelinessRules returns the iJw/iWmo reporting periods and the working-day calendar with the
// configured extra non-working days.
func timelinessRules(s settings) (domain.Timeliness, error) {
	codes, err := domain.LoadCodes()
	if err != nil {
		return domain.Timeliness{}, err
	}
	var extra []time.Time
	for f := range strings.SplitSeq(s.ExtraNonWorkingDays, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := time.Parse(domain.DateLayout, f)
		if err != nil {
			return domain.Timeliness{}, fmt.Errorf("WIJKBRUG_EXTRA_NON_WORKING_DAYS: %q is not a date YYYY-MM-DD", f)
		}
		extra = append(extra, d)
	}
	return domain.NewTimeliness(codes, extra...), nil
}

// DemoProvider is a provider with one contract, for the demo data of the all-in-one command.
type DemoProvider struct {
	AGB, Name, OIN, Municipality string
	// Districts the contract covers; none means the whole municipality.
	Districts                    []string
	ProductCategory, ProductCode string
}

// demoContractNamespace makes a demo contract's id a function of what it covers, so seeding
// twice updates the one contract instead of adding a second.
var demoContractNamespace = uuid.MustParse("6f0c7a7e-3b1f-4c39-9d0e-2f5a8e6b1c01")

// SeedDemo stores provider and an open-ended CHOICE contract for its product, valid from
// 1 January 2020. It is idempotent, and it migrates the database first, so it can run before
// or after the service has started.
func SeedDemo(ctx context.Context, dsn string, provider DemoProvider) error {
	if provider.AGB == "" || provider.OIN == "" || provider.Municipality == "" || provider.ProductCategory == "" || provider.ProductCode == "" {
		return errors.New("seed demo provider: AGB, OIN, municipality and product are required")
	}
	product := domain.Product{Category: provider.ProductCategory, Code: provider.ProductCode}
	return svc.Seed(ctx, Spec(), dsn, func(ctx context.Context, db *pgxdb.DB) error {
		repo := postgres.NewProviders(db)
		if err := repo.UpsertProvider(ctx, domain.Provider{AGB: provider.AGB, Name: provider.Name, OIN: provider.OIN}); err != nil {
			return fmt.Errorf("seed provider %s: %w", provider.AGB, err)
		}
		id := uuid.NewSHA1(demoContractNamespace, []byte(provider.AGB+"|"+provider.Municipality+"|"+product.String()))
		err := repo.UpsertContract(ctx, domain.Contract{
			ID: id.String(), ProviderAGB: provider.AGB, Model: domain.ModelChoice, Municipality: provider.Municipality,
			Products: []domain.Product{product}, Districts: provider.Districts, ValidFrom: domain.Date(2020, time.January, 1),
		})
		if err != nil {
			return fmt.Errorf("seed contract of %s: %w", provider.AGB, err)
		}
		return nil
	})
}

// SeedMunicipalOrganisations records that the organisations (by OIN: the municipality itself,
// its neighbourhood teams) act for the municipality: they answer its requests, change and
// withdraw its allocations, manage its contracts and see its monitoring figures. Idempotent;
// it migrates the database first.
func SeedMunicipalOrganisations(ctx context.Context, dsn, municipality string, oins ...string) error {
	if municipality == "" || len(oins) == 0 {
		return errors.New("seed municipal organisations: municipality and at least one OIN are required")
	}
	return svc.Seed(ctx, Spec(), dsn, func(ctx context.Context, db *pgxdb.DB) error {
		repo := postgres.NewProviders(db)
		for _, oin := range oins {
			if err := repo.AddMunicipalOrganisation(ctx, oin, municipality); err != nil {
				return fmt.Errorf("seed municipal organisation %s: %w", oin, err)
			}
		}
		return nil
	})
}
