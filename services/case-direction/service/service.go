// Package service is the public entry point of the case-direction service: its Spec is run by
// the case-direction binary and, together with the other three, by the all-in-one wijkbrug
// command.
package service

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/ports/consumers"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/ports/grpcapi"
	"github.com/wijkbrug/wijkbrug/services/case-direction/migrations"
	"google.golang.org/grpc"
)

// settings are the service's own settings, beside the platform's svc.Config.
type settings struct {
	// WatchInterval is how often the pilot-light scheduler looks for missed check-ins.
	WatchInterval time.Duration `env:"WIJKBRUG_WATCH_SCHEDULER_INTERVAL" default:"1m" usage:"how often case-direction looks for missed pilot-light (WATCH) check-ins"`
}

// Options change how the service runs; tests use them to control time.
type Options struct {
	// Now is the clock of the use cases and the pilot-light scheduler (default time.Now).
	Now func() time.Time
	// WatchInterval overrides WIJKBRUG_WATCH_SCHEDULER_INTERVAL when not zero.
	WatchInterval time.Duration
}

// Spec describes the case-direction service to the shared runtime.
func Spec() svc.Spec { return SpecWith(Options{}) }

// SpecWith is Spec with options.
func SpecWith(o Options) svc.Spec {
	s := &settings{}
	return svc.Spec{
		Settings:         s,
		Name:             events.Service,
		DefaultGRPCAddr:  ":50052",
		DefaultRESTAddr:  ":50072",
		DefaultAdminAddr: ":9092",
		Migrations:       migrations.Set(),
		Policy:           grpcapi.Policy,
		Services:         []grpc.ServiceDesc{casedirectionv1.CaseDirectionService_ServiceDesc},
		REST:             []rest.Registrar{casedirectionv1.RegisterCaseDirectionServiceHandler},
		OpenAPI:          apidoc.Document("casedirection"),
		Setup: func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
			interval := s.WatchInterval
			if o.WatchInterval > 0 {
				interval = o.WatchInterval
			}
			if interval <= 0 {
				return nil, fmt.Errorf("WIJKBRUG_WATCH_SCHEDULER_INTERVAL must be positive, got %s", interval)
			}
			pm, err := p.Dial(p.Config.ProviderMonitoringAddr)
			if err != nil {
				return nil, fmt.Errorf("dial provider-monitoring: %w", err)
			}
			in, err := p.Dial(p.Config.IntakeAddr)
			if err != nil {
				return nil, fmt.Errorf("dial intake: %w", err)
			}
			cases := postgres.NewCases(p.DB, p.Protector)
			// Every access to a case is logged under each resident it concerns.
			access := logstore.NewPerResidentRecorder(p.Access, p.DB, postgres.CaseResidents)
			a := app.New(app.Deps{Tx: p.DB, Cases: cases, Events: events.NewPublisher(p.Outbox), Access: access,
				Allocator: peers.NewProviderMonitoring(pm), Assessments: peers.NewIntake(in), Households: peers.NewIntake(in)})
			if o.Now != nil {
				a.Now = o.Now
			}
			p.Outbox.SetFeedRouter(events.FeedRecipients(cases, a.Now))
			server := grpcapi.NewServer(a, p.Idem)
			return &svc.Wiring{
				Register: func(s grpc.ServiceRegistrar) { casedirectionv1.RegisterCaseDirectionServiceServer(s, server) },
				Consumers: []consumer.Spec{
					consumers.AllocationEvents(a, p.SystemCaller("case-monitoring"), p.Logger),
					consumers.ReferralEvents(a, p.SystemCaller("case-monitoring"), p.Logger),
					consumers.HouseholdEvents(a, p.SystemCaller("case-monitoring"), p.Logger),
				},
				Schedulers: []scheduler.Job{{Name: "pilot-light-check-ins", Interval: interval, BatchSize: 50,
					Caller: p.SystemCaller("case-monitoring"), Batch: a.EmitOverdueCheckIns},
					// ListCases' counts: fold the +1/-1 rows case writes add (migration 00008).
					{Name: "caseload-counts", Interval: 2 * time.Second, BatchSize: 1000,
						Caller: p.SystemCaller("case-monitoring"), Batch: a.FoldCaseloadCounts}},
			}, nil
		},
	}
}
