// Package service is the public entry point of the intake service: its Spec is run by the
// intake binary and, together with the other three, by the all-in-one wijkbrug command, which
// also loads demo data with SeedDemo.
package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	"github.com/wijkbrug/wijkbrug/pkg/config"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/ports/consumers"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/ports/grpcapi"
	"github.com/wijkbrug/wijkbrug/services/intake/migrations"
	"google.golang.org/grpc"
)

// Settings are the service's own settings, beside the platform's svc.Config; the runtime
// fills them before Setup (svc.Spec.Settings).
type Settings struct {
	// DefaultTeamOIN is the neighbourhood team that owns intakes from signals until routing
	// per district exists. It has no default: a demo OIN must never own real intakes.
	DefaultTeamOIN string `env:"WIJKBRUG_DEFAULT_TEAM_OIN" flag:"default-team-oin" usage:"OIN of the neighbourhood team that owns new intakes (required; make run uses the demo team)"`
	// MunicipalityOINs says which MUNICIPALITY organisations administer which municipality's
	// triage policy: "GM0363=00000001002564440000,GM0599=…". Added at start-up (never removed).
	MunicipalityOINs string `env:"WIJKBRUG_INTAKE_MUNICIPALITY_OINS" usage:"comma-separated CBS-code=OIN pairs: the MUNICIPALITY organisations that administer a municipality's triage policy"`
	// OverdueInterval is how often the triage-deadline scheduler looks for overdue intakes.
	OverdueInterval time.Duration `env:"WIJKBRUG_INTAKE_OVERDUE_INTERVAL" default:"1m" usage:"how often the triage-deadline scheduler announces intakes past their triage deadline"`
}

// check validates the settings the runtime loaded.
func (s Settings) check() error {
	if s.OverdueInterval <= 0 {
		return errors.New("WIJKBRUG_INTAKE_OVERDUE_INTERVAL must be positive")
	}
	if !identity.ValidOIN(s.DefaultTeamOIN) {
		return fmt.Errorf("WIJKBRUG_DEFAULT_TEAM_OIN (the neighbourhood team that owns intakes from signals) must be a 20-digit OIN, is %q", s.DefaultTeamOIN)
	}
	_, err := administrations(s.MunicipalityOINs)
	return err
}

// administrations reads WIJKBRUG_INTAKE_MUNICIPALITY_OINS.
func administrations(s string) (map[string][]string, error) {
	return config.MunicipalityOINs("WIJKBRUG_INTAKE_MUNICIPALITY_OINS", s)
}

// Spec describes the intake service to the shared runtime.
func Spec() svc.Spec {
	settings := &Settings{}
	return svc.Spec{
		Settings:         settings,
		Name:             events.Service,
		Encrypted:        postgres.EncryptedColumns,
		EmergencyTypes:   []string{"intake", "resident", "household"},
		DefaultGRPCAddr:  ":50051",
		DefaultRESTAddr:  ":50071",
		DefaultAdminAddr: ":9091",
		Migrations:       migrations.Set(),
		Policy:           grpcapi.Policy,
		Services:         []grpc.ServiceDesc{intakev1.IntakeService_ServiceDesc},
		REST:             []rest.Registrar{intakev1.RegisterIntakeServiceHandler},
		OpenAPI:          apidoc.Document("intake"),
		Setup: func(ctx context.Context, p *svc.Platform) (*svc.Wiring, error) {
			if err := settings.check(); err != nil {
				return nil, err
			}
			policies := postgres.NewPolicies(p.DB)
			admins, _ := administrations(settings.MunicipalityOINs)
			for municipality, oins := range admins {
				for _, oin := range oins {
					if err := policies.AddAdministration(ctx, oin, municipality); err != nil {
						return nil, fmt.Errorf("municipality administrations: %w", err)
					}
				}
			}
			referral, err := p.Dial(p.Config.ReferralAddr)
			if err != nil {
				return nil, fmt.Errorf("dial referral: %w", err)
			}
			caseDirection, err := p.Dial(p.Config.CaseDirectionAddr)
			if err != nil {
				return nil, fmt.Errorf("dial case-direction: %w", err)
			}
			residents := postgres.NewResidents(p.DB, p.Protector)
			p.Outbox.SetFeedRouter(events.FeedRecipients())
			a := app.New(app.Deps{
				Tx: p.DB, Residents: residents, Households: residents, Intakes: postgres.NewIntakes(p.DB, p.Protector),
				Policies: policies, Assessments: postgres.NewAssessments(p.DB),
				Events: events.NewPublisher(p.Outbox), Access: p.Access, Pseudo: p.Protector,
				CaseDirection: peers.NewCaseDirection(caseDirection), Signals: peers.NewReferral(referral),
				DefaultTeamOIN: settings.DefaultTeamOIN,
			})
			server := grpcapi.NewServer(a, p.Idem)
			return &svc.Wiring{
				Register:  func(s grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(s, server) },
				Consumers: []consumer.Spec{consumers.Signals(a, p.SystemCaller("signal-intake"))},
				Schedulers: []scheduler.Job{{Name: "triage-deadline", Interval: settings.OverdueInterval, BatchSize: 100,
					Caller: p.SystemCaller("triage-deadline"), Batch: a.AnnounceOverdue}},
			}, nil
		},
	}
}

// DemoMunicipality is a MUNICIPALITY organisation that administers a municipality's triage
// policy, for the demo data of the all-in-one command.
type DemoMunicipality struct {
	OIN, Municipality string
}

// SeedDemo records that the demo municipality organisation administers its municipality's
// triage policy. It is idempotent, and it migrates the database first, so it can run before
// or after the service has started.
func SeedDemo(ctx context.Context, dsn string, m DemoMunicipality) error {
	if _, err := administrations(m.Municipality + "=" + m.OIN); err != nil {
		return fmt.Errorf("seed demo municipality: %w", err)
	}
	return svc.Seed(ctx, Spec(), dsn, func(ctx context.Context, db *pgxdb.DB) error {
		return postgres.NewPolicies(db).AddAdministration(ctx, m.OIN, m.Municipality)
	})
}
