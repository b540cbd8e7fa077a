// Package service is the public entry point of the case-direction service: its Spec is run by
// the case-direction binary and, together with the other three, by the all-in-one wijkbrug
// command.
package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	"github.com/wijkbrug/wijkbrug/pkg/config"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	outcomesv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	appoutcomes "github.com/wijkbrug/wijkbrug/services/case-direction/internal/app/outcomes"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/ports/consumers"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/ports/grpcapi"
	"github.com/wijkbrug/wijkbrug/services/case-direction/migrations"
	"google.golang.org/grpc"
)

// settings are the service's own settings, beside the platform's svc.Config.
type settings struct {
	// WatchInterval is how often the pilot-light and pending-allocations jobs run.
	WatchInterval time.Duration `env:"WIJKBRUG_WATCH_SCHEDULER_INTERVAL" default:"1m" usage:"how often case-direction looks for missed pilot-light (WATCH) check-ins and for allocations attached by provider-monitoring that no event confirmed"`
	// OutcomeMinGroupSize is the minimum group size of outcome figures (issue 17).
	OutcomeMinGroupSize int `env:"WIJKBRUG_OUTCOMES_MIN_GROUP_SIZE" default:"10" usage:"outcome figures resting on fewer units than this are suppressed (with complementary suppression); CBS practice is 10"`
	// OutcomeMunicipalityOINs says which MUNICIPALITY organisations see which municipality's
	// outcome figures: "GM0363=00000001002564440000,GM0599=…".
	OutcomeMunicipalityOINs string `env:"WIJKBRUG_OUTCOMES_MUNICIPALITY_OINS" usage:"comma-separated CBS-code=OIN pairs: the MUNICIPALITY organisations that see a municipality's outcome figures"`
}

// Options change how the service runs; tests use them to control time.
type Options struct {
	// Now is the clock of the use cases and the pilot-light scheduler (default time.Now).
	Now func() time.Time
	// WatchInterval overrides WIJKBRUG_WATCH_SCHEDULER_INTERVAL when not zero.
	WatchInterval time.Duration
	// OutcomeMinGroupSize and OutcomeMunicipalityOINs override the settings when set.
	OutcomeMinGroupSize     int
	OutcomeMunicipalityOINs map[string][]string
}

// Spec describes the case-direction service to the shared runtime.
func Spec() svc.Spec { return SpecWith(Options{}) }

// SpecWith is Spec with options.
func SpecWith(o Options) svc.Spec {
	s := &settings{}
	return svc.Spec{
		Settings:         s,
		Name:             events.Service,
		Encrypted:        postgres.EncryptedColumns,
		EmergencyTypes:   []string{"case"},
		DefaultGRPCAddr:  ":50052",
		DefaultRESTAddr:  ":50072",
		DefaultAdminAddr: ":9092",
		Migrations:       migrations.Set(),
		Policy:           grpcapi.Policy,
		Services:         []grpc.ServiceDesc{casedirectionv1.CaseDirectionService_ServiceDesc, outcomesv1.OutcomeService_ServiceDesc},
		REST:             []rest.Registrar{casedirectionv1.RegisterCaseDirectionServiceHandler, outcomesv1.RegisterOutcomeServiceHandler},
		OpenAPI:          apidoc.Document("casedirection"),
		Setup: func(ctx context.Context, p *svc.Platform) (*svc.Wiring, error) {
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
			// Outcome reporting (issue 17): its own read model, fed by events only.
			oins, err := config.MunicipalityOINs("WIJKBRUG_OUTCOMES_MUNICIPALITY_OINS", s.OutcomeMunicipalityOINs)
			if err != nil {
				return nil, err
			}
			if o.OutcomeMunicipalityOINs != nil {
				oins = o.OutcomeMunicipalityOINs
			}
			minGroup := s.OutcomeMinGroupSize
			if o.OutcomeMinGroupSize > 0 {
				minGroup = o.OutcomeMinGroupSize
			}
			if minGroup < 1 {
				return nil, fmt.Errorf("WIJKBRUG_OUTCOMES_MIN_GROUP_SIZE must be at least 1, got %d", minGroup)
			}
			readModel := postgres.NewOutcomes(p.DB)
			reports := &appoutcomes.Reports{Store: readModel, MinGroupSize: int64(minGroup), MunicipalityOINs: oins}
			outcomeServer := grpcapi.NewOutcomeServer(reports)
			outcomeConsumers := consumers.OutcomeEvents(readModel, p.SystemCaller("outcome-reporting"))
			if err := rebuildOutcomes(ctx, p, readModel, outcomeConsumers); err != nil {
				return nil, err
			}
			return &svc.Wiring{
				Register: func(s grpc.ServiceRegistrar) {
					casedirectionv1.RegisterCaseDirectionServiceServer(s, server)
					outcomesv1.RegisterOutcomeServiceServer(s, outcomeServer)
				},
				Consumers: append([]consumer.Spec{
					consumers.AllocationEvents(a, p.SystemCaller("case-monitoring"), p.Logger),
					consumers.ReferralEvents(a, p.SystemCaller("case-monitoring"), p.Logger),
					consumers.HouseholdEvents(a, p.SystemCaller("case-monitoring"), p.Logger),
				}, outcomeConsumers...),
				Schedulers: []scheduler.Job{{Name: "pilot-light-check-ins", Interval: interval, BatchSize: 50,
					Caller: p.SystemCaller("case-monitoring"), Batch: a.EmitOverdueCheckIns},
					// Allocations attached by provider-monitoring that no event confirmed.
					{Name: "pending-allocations", Interval: interval, BatchSize: 50,
						Caller: p.SystemCaller("case-monitoring"), Batch: a.SettlePendingAllocations},
					// ListCases' counts: fold the +1/-1 rows case writes add (migration 00008).
					{Name: "caseload-counts", Interval: 2 * time.Second, BatchSize: 1000,
						Caller: p.SystemCaller("case-monitoring"), Batch: a.FoldCaseloadCounts}},
			}, nil
		},
	}
}

// rebuildOutcomes carries out a waiting rebuild request (wijkbrug outcomes-rebuild) before the
// consumers start: it deletes the outcome consumers from NATS, then empties the read model and
// forgets their processed events, so the consumers, created anew, replay every stream from the
// start. A crash in between leaves the request waiting, and the next start does it again.
func rebuildOutcomes(ctx context.Context, p *svc.Platform, rm *postgres.Outcomes, specs []consumer.Spec) error {
	pending, err := rm.RebuildRequested(ctx)
	if err != nil || !pending {
		return err
	}
	names := make([]string, 0, len(specs))
	for _, c := range specs {
		err := p.JS.DeleteConsumer(ctx, c.Stream, c.Durable)
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("outcome rebuild: delete consumer %s: %w", c.Durable, err)
		}
		names = append(names, c.Durable)
	}
	if err := rm.Reset(ctx, names); err != nil {
		return fmt.Errorf("outcome rebuild: %w", err)
	}
	p.Logger.WarnContext(ctx, "outcome read model emptied: its consumers replay the streams from the start", "consumers", names)
	return nil
}
