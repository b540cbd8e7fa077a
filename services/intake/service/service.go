// Package service is the public entry point of the intake service: its Spec is run by the
// intake binary and, together with the other three, by the all-in-one wijkbrug command.
package service

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/ports/consumers"
	grpcport "github.com/wijkbrug/wijkbrug/services/intake/internal/ports/grpc"
	"github.com/wijkbrug/wijkbrug/services/intake/migrations"
	"google.golang.org/grpc"
)

// Spec describes the intake service to the shared runtime.
func Spec() svc.Spec {
	return svc.Spec{
		Name:             "intake",
		DefaultGRPCAddr:  ":50051",
		DefaultAdminAddr: ":9091",
		Migrations:       migrations.Set(),
		Policy:           grpcport.Policy,
		Services:         []grpc.ServiceDesc{intakev1.IntakeService_ServiceDesc},
		Setup: func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
			referral, err := p.Dial(p.Config.ReferralAddr)
			if err != nil {
				return nil, fmt.Errorf("dial referral: %w", err)
			}
			caseDirection, err := p.Dial(p.Config.CaseDirectionAddr)
			if err != nil {
				return nil, fmt.Errorf("dial case-direction: %w", err)
			}
			residents := postgres.NewResidents(p.DB, p.Protector)
			a := app.New(app.Deps{
				Tx: p.DB, Residents: residents, Households: residents, Intakes: postgres.NewIntakes(p.DB, p.Protector),
				Events: events.NewPublisher(p.Outbox), Access: p.Access, Pseudo: p.Protector,
				CaseDirection: peers.NewCaseDirection(caseDirection), Signals: peers.NewReferral(referral),
				DefaultTeamOIN: p.Config.DefaultTeamOIN,
			})
			server := grpcport.NewServer(a, p.Idem)
			return &svc.Wiring{
				Register:  func(s grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(s, server) },
				Consumers: []consumer.Spec{consumers.Signals(a, p.SystemCaller("signal-intake"))},
			}, nil
		},
	}
}
