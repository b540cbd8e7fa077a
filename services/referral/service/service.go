// Package service is the public entry point of the referral service: its Spec is run by the
// referral binary and, together with the other three, by the all-in-one wijkbrug command.
package service

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/app"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/ports/consumers"
	grpcport "github.com/wijkbrug/wijkbrug/services/referral/internal/ports/grpc"
	"github.com/wijkbrug/wijkbrug/services/referral/migrations"
	"google.golang.org/grpc"
)

// Spec describes the referral service to the shared runtime.
func Spec() svc.Spec {
	return svc.Spec{
		Name:             "referral",
		DefaultGRPCAddr:  ":50054",
		DefaultAdminAddr: ":9094",
		Migrations:       migrations.Set(),
		Policy:           grpcport.Policy,
		Services:         []grpc.ServiceDesc{referralv1.ReferralService_ServiceDesc},
		Setup: func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
			a := app.New(p.DB, postgres.NewSignals(p.DB, p.Protector), events.NewPublisher(p.Outbox), p.Access, p.Protector)
			server := grpcport.NewServer(a, p.Idem)
			return &svc.Wiring{
				Register:  func(s grpc.ServiceRegistrar) { referralv1.RegisterReferralServiceServer(s, server) },
				Consumers: []consumer.Spec{consumers.IntakeEvents(a, p.SystemCaller("signal-feedback"))},
			}, nil
		},
	}
}
