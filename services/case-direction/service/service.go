// Package service is the public entry point of the case-direction service: its Spec is run by
// the case-direction binary and, together with the other three, by the all-in-one wijkbrug
// command.
package service

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/ports/consumers"
	grpcport "github.com/wijkbrug/wijkbrug/services/case-direction/internal/ports/grpc"
	"github.com/wijkbrug/wijkbrug/services/case-direction/migrations"
	"google.golang.org/grpc"
)

// Spec describes the case-direction service to the shared runtime.
func Spec() svc.Spec {
	return svc.Spec{
		Name:             events.Service,
		DefaultGRPCAddr:  ":50052",
		DefaultAdminAddr: ":9092",
		Migrations:       migrations.Set(),
		Policy:           grpcport.Policy,
		Services:         []grpc.ServiceDesc{casedirectionv1.CaseDirectionService_ServiceDesc},
		Setup: func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
			pm, err := p.Dial(p.Config.ProviderMonitoringAddr)
			if err != nil {
				return nil, fmt.Errorf("dial provider-monitoring: %w", err)
			}
			a := app.New(p.DB, postgres.NewCases(p.DB), events.NewPublisher(p.Outbox), p.Access, peers.NewProviderMonitoring(pm))
			server := grpcport.NewServer(a, p.Idem)
			return &svc.Wiring{
				Register:  func(s grpc.ServiceRegistrar) { casedirectionv1.RegisterCaseDirectionServiceServer(s, server) },
				Consumers: []consumer.Spec{consumers.AllocationEvents(a, p.SystemCaller("case-monitoring"), p.Logger)},
			}, nil
		},
	}
}
