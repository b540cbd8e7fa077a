// Package service is the public entry point of the referral service: its Spec is run by the
// referral binary and, together with the other three, by the all-in-one wijkbrug command,
// which also loads demo data with SeedDemo.
package service

import (
	"context"
	"errors"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/feed"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/app"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/ports/consumers"
	grpcport "github.com/wijkbrug/wijkbrug/services/referral/internal/ports/grpc"
	"github.com/wijkbrug/wijkbrug/services/referral/migrations"
	"google.golang.org/grpc"
)

// settings are the service's own settings, beside the platform's svc.Config.
type settings struct {
	AcceptPeriod   time.Duration `env:"WIJKBRUG_REFERRAL_ACCEPT_PERIOD" default:"336h" usage:"time a recipient has to accept or decline a referral when the referrer gives no accept_by"`
	ExpiryInterval time.Duration `env:"WIJKBRUG_REFERRAL_EXPIRY_INTERVAL" default:"1m" usage:"how often the scheduler expires referrals not accepted by their accept_by"`
	MinGroupSize   int           `env:"WIJKBRUG_THEMES_MIN_GROUP_SIZE" default:"5" usage:"smallest number of residents behind a published recurring-theme count (smaller groups are suppressed)"`
}

// Spec describes the referral service to the shared runtime.
func Spec() svc.Spec {
	s := &settings{}
	return svc.Spec{
		Settings:         s,
		Name:             events.Service,
		DefaultGRPCAddr:  ":50054",
		DefaultRESTAddr:  ":50074",
		DefaultAdminAddr: ":9094",
		Migrations:       migrations.Set(),
		// Referral also serves the partners' Subscriptions API (natsauth.FeedManager).
		Policy:   feed.WithPolicy(grpcport.Policy),
		Services: []grpc.ServiceDesc{referralv1.ReferralService_ServiceDesc, subscriptionsv1.SubscriptionService_ServiceDesc},
		REST:     []rest.Registrar{referralv1.RegisterReferralServiceHandler, subscriptionsv1.RegisterSubscriptionServiceHandler},
		OpenAPI:  apidoc.Document("referral"),
		Setup: func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
			if s.AcceptPeriod <= 0 || s.ExpiryInterval <= 0 || s.MinGroupSize < 1 {
				return nil, errors.New("WIJKBRUG_REFERRAL_ACCEPT_PERIOD and WIJKBRUG_REFERRAL_EXPIRY_INTERVAL must be positive, WIJKBRUG_THEMES_MIN_GROUP_SIZE at least 1")
			}
			cd, err := p.Dial(p.Config.CaseDirectionAddr)
			if err != nil {
				return nil, err
			}
			in, err := p.Dial(p.Config.IntakeAddr)
			if err != nil {
				return nil, err
			}
			a := newApp(p, app.Settings{AcceptPeriod: s.AcceptPeriod, MinGroupSize: s.MinGroupSize}, peers.NewCaseDirection(cd), peers.NewIntake(in))
			server := grpcport.NewServer(a, p.Idem)
			subscriptions := feed.NewServer(feed.NewManager(p.JS, p.Config.StreamReplicas), p.Idem)
			return &svc.Wiring{
				Register: func(r grpc.ServiceRegistrar) {
					referralv1.RegisterReferralServiceServer(r, server)
					subscriptionsv1.RegisterSubscriptionServiceServer(r, subscriptions)
				},
				Consumers: []consumer.Spec{
					consumers.IntakeEvents(a, p.SystemCaller("signal-feedback")),
					consumers.CaseEvents(a, p.SystemCaller("signal-feedback")),
				},
				Schedulers: []svc.Scheduler{{Name: "referral-expiry", Interval: s.ExpiryInterval,
					Tick: func(ctx context.Context) (int, error) {
						return a.ExpireAllDue(ctx, p.SystemCaller("referral-expiry"))
					}}},
			}, nil
		},
	}
}

func newApp(p *svc.Platform, s app.Settings, cases app.Cases, intakes app.Intakes) *app.App {
	p.Outbox.SetFeedRouter(events.FeedRecipients(p.DB))
	return app.New(app.Deps{
		Tx: p.DB, Signals: postgres.NewSignals(p.DB, p.Protector), Provisions: postgres.NewProvisions(p.DB),
		Consents: postgres.NewConsents(p.DB, p.Protector), Referrals: postgres.NewReferrals(p.DB, p.Protector),
		Themes: postgres.NewThemes(p.DB), Events: events.NewPublisher(p.Outbox), Access: p.Access, Pseudo: p.Protector,
		Settings: s, Cases: cases, Intakes: intakes,
	})
}
