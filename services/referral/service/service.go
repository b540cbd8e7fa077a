// Package service is the public entry point of the referral service: its Spec is run by the
// referral binary and, together with the other three, by the all-in-one wijkbrug command,
// which also loads demo data with SeedDemo.
package service

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	"github.com/wijkbrug/wijkbrug/pkg/config"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/feed"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/peers"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/app"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/ports/consumers"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/ports/grpcapi"
	"github.com/wijkbrug/wijkbrug/services/referral/migrations"
	"google.golang.org/grpc"
)

// settings are the service's own settings, beside the platform's svc.Config.
type settings struct {
	AcceptPeriod   time.Duration `env:"WIJKBRUG_REFERRAL_ACCEPT_PERIOD" default:"336h" usage:"time a recipient has to accept or decline a referral when the referrer gives no accept_by"`
	ExpiryInterval time.Duration `env:"WIJKBRUG_REFERRAL_EXPIRY_INTERVAL" default:"1m" usage:"how often the scheduler expires referrals not accepted by their accept_by"`
	MinGroupSize   int           `env:"WIJKBRUG_THEMES_MIN_GROUP_SIZE" default:"5" usage:"smallest number of residents behind a published recurring-theme count (smaller groups are suppressed)"`
	MapMaintainers string        `env:"WIJKBRUG_SOCIAL_MAP_MAINTAINERS" usage:"comma-separated CBS-code=OIN pairs: the TEAM and MUNICIPALITY organisations that maintain a municipality's social map (add and change its provisions)"`

	// Webhook delivery of partner subscriptions (pkg/feed).
	WebhookAllowLoopback bool          `env:"WIJKBRUG_WEBHOOK_ALLOW_LOOPBACK" default:"false" usage:"accept webhook endpoints on loopback addresses (127.0.0.1, ::1, localhost): development and tests only; private and link-local addresses are refused always"`
	WebhookCA            string        `env:"WIJKBRUG_WEBHOOK_CA" usage:"PEM file of extra CAs trusted for partners' webhook endpoints, beside the system roots"`
	WebhookMaxFailures   int           `env:"WIJKBRUG_WEBHOOK_MAX_FAILURES" default:"8" usage:"consecutive failed deliveries after which a webhook subscription is paused (PAUSED_FAILING)"`
	WebhookRetryBase     time.Duration `env:"WIJKBRUG_WEBHOOK_RETRY_BASE" default:"1s" usage:"first back-off after a failed webhook delivery; it doubles per failure"`
	WebhookRetryMax      time.Duration `env:"WIJKBRUG_WEBHOOK_RETRY_MAX" default:"10m" usage:"longest back-off between webhook delivery attempts"`
	WebhookTimeout       time.Duration `env:"WIJKBRUG_WEBHOOK_TIMEOUT" default:"10s" usage:"timeout of one webhook delivery (connect, TLS, request and answer)"`
}

// webhookConfig is the delivery configuration from the settings.
func (s *settings) webhookConfig(p *svc.Platform) (feed.WebhookConfig, error) {
	var bad []error
	if s.WebhookMaxFailures < 1 {
		bad = append(bad, fmt.Errorf("WIJKBRUG_WEBHOOK_MAX_FAILURES is %d: at least 1", s.WebhookMaxFailures))
	}
	if s.WebhookRetryBase <= 0 {
		bad = append(bad, fmt.Errorf("WIJKBRUG_WEBHOOK_RETRY_BASE is %s: more than 0", s.WebhookRetryBase))
	}
	if s.WebhookRetryMax < s.WebhookRetryBase {
		bad = append(bad, fmt.Errorf("WIJKBRUG_WEBHOOK_RETRY_MAX is %s: at least WIJKBRUG_WEBHOOK_RETRY_BASE (%s)", s.WebhookRetryMax, s.WebhookRetryBase))
	}
	if s.WebhookTimeout <= 0 {
		bad = append(bad, fmt.Errorf("WIJKBRUG_WEBHOOK_TIMEOUT is %s: more than 0", s.WebhookTimeout))
	}
	if err := errors.Join(bad...); err != nil {
		return feed.WebhookConfig{}, err
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if s.WebhookCA != "" {
		pem, err := os.ReadFile(s.WebhookCA)
		if err != nil {
			return feed.WebhookConfig{}, fmt.Errorf("WIJKBRUG_WEBHOOK_CA: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return feed.WebhookConfig{}, errors.New("WIJKBRUG_WEBHOOK_CA: no PEM certificate")
		}
	}
	if s.WebhookAllowLoopback {
		p.Logger.Warn("webhook endpoints on loopback addresses are accepted (WIJKBRUG_WEBHOOK_ALLOW_LOOPBACK): development and tests only")
	}
	return feed.WebhookConfig{AllowLoopback: s.WebhookAllowLoopback, MaxFailures: s.WebhookMaxFailures, RetryBase: s.WebhookRetryBase,
		RetryMax: s.WebhookRetryMax, Timeout: s.WebhookTimeout, RootCAs: roots, ClientCertificates: p.ClientTLS.Certificates}, nil
}

// Spec describes the referral service to the shared runtime.
func Spec() svc.Spec { return spec(nil) }

// DevelopmentSpec is Spec for the all-in-one development suite: partners' webhook receivers
// run on the same machine, so endpoints on loopback addresses are accepted, and the suite's
// development CA (devCA, a PEM file) is trusted for them when WIJKBRUG_WEBHOOK_CA names no
// other. Private and link-local addresses stay refused.
func DevelopmentSpec(devCA string) svc.Spec {
	return spec(func(s *settings) {
		s.WebhookAllowLoopback = true
		if s.WebhookCA == "" {
			s.WebhookCA = devCA
		}
	})
}

func spec(dev func(*settings)) svc.Spec {
	s := &settings{}
	return svc.Spec{
		Settings:         s,
		Name:             events.Service,
		Encrypted:        postgres.EncryptedColumns,
		EmergencyTypes:   []string{"signal", "referral"},
		DefaultGRPCAddr:  ":50054",
		DefaultRESTAddr:  ":50074",
		DefaultAdminAddr: ":9094",
		Migrations:       migrations.Set(),
		// Referral also serves the partners' Subscriptions API (natsauth.FeedManager).
		Policy:   feed.WithPolicy(grpcapi.Policy),
		Services: []grpc.ServiceDesc{referralv1.ReferralService_ServiceDesc, subscriptionsv1.SubscriptionService_ServiceDesc},
		REST:     []rest.Registrar{referralv1.RegisterReferralServiceHandler, subscriptionsv1.RegisterSubscriptionServiceHandler},
		OpenAPI:  apidoc.Document("referral"),
		// The webhook client's roots start from the system's; Go loads them once per process
		// (about 40 ms of CPU here), before Setup needs them.
		Warm: func() { _, _ = x509.SystemCertPool() },
		Setup: func(_ context.Context, p *svc.Platform) (*svc.Wiring, error) {
			if dev != nil {
				dev(s)
			}
			var bad []error
			if s.AcceptPeriod <= 0 {
				bad = append(bad, fmt.Errorf("WIJKBRUG_REFERRAL_ACCEPT_PERIOD is %s: more than 0", s.AcceptPeriod))
			}
			if s.ExpiryInterval <= 0 {
				bad = append(bad, fmt.Errorf("WIJKBRUG_REFERRAL_EXPIRY_INTERVAL is %s: more than 0", s.ExpiryInterval))
			}
			if s.MinGroupSize < 1 {
				bad = append(bad, fmt.Errorf("WIJKBRUG_THEMES_MIN_GROUP_SIZE is %d: at least 1", s.MinGroupSize))
			}
			if err := errors.Join(bad...); err != nil {
				return nil, err
			}
			cd, err := p.Dial(p.Config.CaseDirectionAddr)
			if err != nil {
				return nil, err
			}
			in, err := p.Dial(p.Config.IntakeAddr)
			if err != nil {
				return nil, err
			}
			maintainers, err := config.MunicipalityOINs("WIJKBRUG_SOCIAL_MAP_MAINTAINERS", s.MapMaintainers)
			if err != nil {
				return nil, err
			}
			a := newApp(p, app.Settings{AcceptPeriod: s.AcceptPeriod, MinGroupSize: s.MinGroupSize, MapMaintainers: maintainers},
				peers.NewCaseDirection(cd), peers.NewIntake(in))
			server := grpcapi.NewServer(a, p.Idem)
			hookCfg, err := s.webhookConfig(p)
			if err != nil {
				return nil, err
			}
			webhooks := feed.NewWebhooks(p.DB, p.JS, p.Protector, hookCfg, p.Metrics, p.Logger)
			subscriptions := feed.NewServer(feed.NewManager(p.JS, p.Config.StreamReplicas, p.Logger).WithWebhooks(webhooks), p.Idem)
			return &svc.Wiring{
				Register: func(r grpc.ServiceRegistrar) {
					referralv1.RegisterReferralServiceServer(r, server)
					subscriptionsv1.RegisterSubscriptionServiceServer(r, subscriptions)
				},
				Consumers: []consumer.Spec{
					consumers.IntakeEvents(a, p.SystemCaller("signal-feedback")),
					consumers.CaseEvents(a, p.SystemCaller("signal-feedback")),
				},
				// Pushes webhook subscriptions to the partners' endpoints.
				Background: []func(context.Context){webhooks.Run},
				Schedulers: []scheduler.Job{{Name: "referral-expiry", Interval: s.ExpiryInterval, BatchSize: 100,
					Caller: p.SystemCaller("referral-expiry"), Batch: a.ExpireDue}},
			}, nil
		},
	}
}

func newApp(p *svc.Platform, s app.Settings, cases app.Cases, intakes app.Intakes) *app.App {
	p.Outbox.SetFeedRouter(events.FeedRecipients())
	return app.New(app.Deps{
		Tx: p.DB, Signals: postgres.NewSignals(p.DB, p.Protector), Provisions: postgres.NewProvisions(p.DB),
		Consents: postgres.NewConsents(p.DB, p.Protector), Referrals: postgres.NewReferrals(p.DB, p.Protector),
		Themes: postgres.NewThemes(p.DB), Events: events.NewPublisher(p.Outbox), Access: p.Access, Pseudo: p.Protector,
		Settings: s, Cases: cases, Intakes: intakes,
	})
}
