// Package suite starts the whole of Wijkbrug in one process for development, demos and the
// end-to-end test: a PostgreSQL cluster from the local binaries, an embedded NATS server with
// JetStream, a development CA with service and partner certificates, the four services and
// demo data. Production runs the same service code as separate binaries against external
// PostgreSQL and NATS.
package suite

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
	"golang.org/x/sync/errgroup"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddednats"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	casedirection "github.com/wijkbrug/wijkbrug/services/case-direction/service"
	intake "github.com/wijkbrug/wijkbrug/services/intake/service"
	providermonitoring "github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	referral "github.com/wijkbrug/wijkbrug/services/referral/service"
)

// Options configure a suite.
type Options struct {
	// DataDir keeps PostgreSQL, JetStream, certificates and keys across restarts.
	DataDir string
	// Ephemeral uses a temporary data directory that is removed on stop.
	Ephemeral bool
	// BasePort is the intake port; case-direction, provider-monitoring and referral follow
	// (+1, +2, +3), the REST ports are BasePort+20… and the admin ports BasePort+40… . 0 picks
	// free ports (tests).
	BasePort int
	// PostgresPort and NATSPort; 0 picks free ports.
	PostgresPort, NATSPort int
	// LogLevel of the services.
	LogLevel string
	Logger   *slog.Logger
	// LogOutput receives the services' JSON logs (default: standard error).
	LogOutput io.Writer
	// NoRateLimits switches the per-organisation and per-user rate limits off: the benchmark
	// measures the services with a handful of acting users at thousands of calls per second,
	// not the limiter (whose budgets are per professional).
	NoRateLimits bool
	// PostgresSettings are extra server settings (-c key=value), e.g. the benchmark's
	// pg_stat_statements.
	PostgresSettings map[string]string
	// ConsumerWorkers and ConsumerBatch set every service's event consumers (the service
	// binaries' WIJKBRUG_CONSUMER_WORKERS and WIJKBRUG_CONSUMER_BATCH); 0 keeps the defaults.
	ConsumerWorkers, ConsumerBatch int
	// ConsumerLinger sets the services' WIJKBRUG_CONSUMER_LINGER; nil keeps the default
	// (svc.DefaultConsumerLinger).
	ConsumerLinger *time.Duration
}

// Partner is a demo partner organisation with its client certificate.
type Partner struct {
	Key      string // short name used in file names: gp, veiligthuis, housing, provider, team
	Org      devca.Org
	CertFile string
	KeyFile  string
}

// Endpoint is one running service.
type Endpoint struct {
	Name    string
	Service string // gRPC service full name
	Addr    string
	// RESTAddr is the REST/JSON edge (same mutual TLS).
	RESTAddr  string
	AdminAddr string
	Database  string
}

// Suite is a running all-in-one suite.
type Suite struct {
	DataDir  string
	CAFile   string
	NATSURL  string
	Postgres *embeddedpg.Cluster
	NATS     *embeddednats.Server
	Services []Endpoint
	Partners map[string]Partner
	// Observer is the operations identity that may read the service streams (wijkbrug events).
	Observer Partner
	// WebhookReceiverCert and …Key are a localhost server certificate of the dev CA for a
	// partner's webhook receiver in development (pki/webhook-receiver.pem).
	WebhookReceiverCert, WebhookReceiverKey string
	StartedIn                               time.Duration

	cancel  context.CancelFunc
	done    chan error
	cleanup []func()
	// unlock releases the data directory after everything else has stopped (lockDataDir).
	unlock func()
}

// Demo organisations. The OINs are fictional but well-formed (20 digits).
var (
	DemoTeam        = devca.Org{OIN: "00000001000000000100", Name: "Sociaal Wijkteam Centrum", Type: string(identity.OrgTeam)}
	DemoGP          = devca.Org{OIN: "00000001000000000200", Name: "Huisartsenpraktijk De Linde", Type: string(identity.OrgGP)}
	DemoVeiligThuis = devca.Org{OIN: "00000001000000000300", Name: "Veilig Thuis Demo-Regio", Type: string(identity.OrgVeiligThuis)}
	DemoHousing     = devca.Org{OIN: "00000001000000000400", Name: "Woonstichting De Wijk", Type: string(identity.OrgHousingCorporation)}
	DemoProvider    = devca.Org{OIN: "00000001000000000500", Name: "Zorggroep De Brug", Type: string(identity.OrgProvider)}
	// DemoMunicipality is the municipality itself (contract management, triage policy,
	// the privacy officer who answers residents' requests for their access history).
	DemoMunicipalityOrg = devca.Org{OIN: "00000001000000000600", Name: "Gemeente Demo", Type: string(identity.OrgMunicipality)}
	// DemoOperations is the operations identity on the event plane: it may read the service
	// streams (wijkbrug events) and nothing else; gRPC refuses it (no organisation type).
	DemoOperations = devca.Org{OIN: "00000001000000000900", Name: "Wijkbrug operations", Type: "OPERATIONS"}
	// DemoProviderAGB is the demo provider's AGB code; its contract covers the product below
	// in municipality GM0363 (all districts).
	DemoProviderAGB     = "12345678"
	DemoProductCategory = "45"
	DemoProductCode     = "45A01"
	DemoMunicipality    = "GM0363"
	DemoDistrict        = "WK036300"
	demoPartners        = map[string]devca.Org{"team": DemoTeam, "municipality": DemoMunicipalityOrg, "gp": DemoGP, "veiligthuis": DemoVeiligThuis, "housing": DemoHousing, "provider": DemoProvider}
	serviceNames        = []string{"intake", "casedirection", "providermonitoring", "referral"}
	serviceOINs         = map[string]string{"intake": "00000099000000000001", "casedirection": "00000099000000000002", "providermonitoring": "00000099000000000003", "referral": "00000099000000000004"}
)

// Start brings the suite up and returns once all four services report SERVING.
func Start(ctx context.Context, opts Options) (_ *Suite, err error) {
	began := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if err := checkPorts(opts); err != nil {
		return nil, err
	}
	s := &Suite{Partners: map[string]Partner{}, done: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.runCleanup()
		}
	}()
	if opts.Ephemeral || opts.DataDir == "" {
		dir, err := ephemeralDir()
		if err != nil {
			return nil, err
		}
		s.cleanup = append(s.cleanup, func() { _ = os.RemoveAll(dir) })
		opts.DataDir = dir
	}
	if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
		return nil, err
	}
	s.DataDir = opts.DataDir
	// PostgreSQL runs as its own user when we are root, so the data directory must be
	// traversable by it.
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, err
	}
	_ = os.Chmod(opts.DataDir, 0o755)

	pkiDir := filepath.Join(opts.DataDir, "pki")
	s.CAFile = filepath.Join(pkiDir, "ca.pem")
	specs := map[string]svc.Spec{"intake": intake.Spec(), "casedirection": casedirection.Spec(),
		"providermonitoring": providermonitoring.Spec(), "referral": referral.DevelopmentSpec(s.CAFile)}
	// What the services' starts need that no database does is made now, on the CPU that
	// certificates, initdb or the cluster's copy and PostgreSQL's start leave idle, rather than
	// beside the migrations, which keep both CPUs busy.
	svc.Warm(slices.Collect(maps.Values(specs))...)
	if err := os.MkdirAll(pkiDir, 0o755); err != nil {
		return nil, err
	}
	ca, err := devca.LoadOrCreate(pkiDir, devca.DevCAName)
	if err != nil {
		return nil, fmt.Errorf("dev CA: %w", err)
	}
	for key, org := range demoPartners {
		certFile, keyFile, err := ensureClientCert(ca, pkiDir, key, org)
		if err != nil {
			return nil, err
		}
		s.Partners[key] = Partner{Key: key, Org: org, CertFile: certFile, KeyFile: keyFile}
	}
	certFile, keyFile, err := ensureClientCert(ca, pkiDir, "ops", DemoOperations)
	if err != nil {
		return nil, err
	}
	s.Observer = Partner{Key: "ops", Org: DemoOperations, CertFile: certFile, KeyFile: keyFile}
	// A server certificate (localhost) for trying webhook subscriptions with a receiver on
	// this machine, e.g. examples/subscriber (the referral service trusts the dev CA for them).
	if s.WebhookReceiverCert, s.WebhookReceiverKey, err = ensureWebhookReceiverCert(ca, pkiDir); err != nil {
		return nil, err
	}
	keys, err := loadOrCreateKeys(filepath.Join(opts.DataDir, "keys.env"))
	if err != nil {
		return nil, err
	}
	natsSecurity, err := eventPlaneSecurity(ca, pkiDir, s)
	if err != nil {
		return nil, err
	}
	accessLogKey, err := loadOrCreateAccessLogKey(opts.DataDir)
	if err != nil {
		return nil, err
	}

	// The services' twelve ports are bound first: make run's fixed ports lie in the kernel's
	// ephemeral range, and once PostgreSQL runs, the services open dozens of connections to it
	// whose local ports the kernel picks there. It never picks a port that is bound.
	ports, err := bindServicePorts(opts.BasePort)
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, ports.close)

	// A fixed PostgreSQL or NATS port that another program holds stops the start here, naming
	// it: another Wijkbrug's PostgreSQL on the port answered the readiness check, and this
	// suite migrated, seeded and rebuilt read models in that suite's databases.
	if err := portsFree(map[string]int{"PostgreSQL (-pg-port)": opts.PostgresPort, "NATS (-nats-port)": opts.NATSPort}); err != nil {
		return nil, err
	}

	// One suite per data directory, before PostgreSQL and NATS are started in it (what comes
	// before only adds files that are missing): a second suite on other ports had rewritten
	// the running one's NATS configuration before PostgreSQL refused it the directory (probe
	// B, thirty-fourth session). On the same ports the port checks above answer first.
	if s.unlock, err = lockDataDir(opts.DataDir); err != nil {
		return nil, err
	}

	// PostgreSQL and NATS start in parallel: together they are most of the start-up time.
	var wg sync.WaitGroup
	var pgErr, natsErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		// A first start that runs initdb keeps its result for later new clusters once the
		// suite serves (below), not before PostgreSQL starts.
		s.Postgres, pgErr = embeddedpg.Start(ctx, embeddedpg.Options{Dir: filepath.Join(opts.DataDir, "postgres"), Port: opts.PostgresPort, Fsync: true, Logger: log,
			ExtraSettings: opts.PostgresSettings, DeferInitCache: true})
	}()
	go func() {
		defer wg.Done()
		s.NATS, natsErr = embeddednats.Start(embeddednats.Options{StoreDir: filepath.Join(opts.DataDir, "nats"), Port: opts.NATSPort, SyncAlways: true, Security: natsSecurity})
	}()
	wg.Wait()
	if s.Postgres != nil {
		s.cleanup = append(s.cleanup, func() { _ = s.Postgres.Stop() })
	}
	if s.NATS != nil {
		s.cleanup = append(s.cleanup, s.NATS.Shutdown)
	}
	if err := errors.Join(pgErr, natsErr); err != nil {
		return nil, err
	}
	s.NATSURL = s.NATS.ClientURL()

	addr := func(name string) string { return ports.addr(name, grpcPort) }

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	type ready struct{ name, grpc, admin string }
	// Each service's demo data is written as soon as its database is migrated, while the
	// services go on starting.
	seeds := demoSeeds(func(db string) string {
		owner, _ := embeddedpg.DatabaseRoles(db)
		return s.Postgres.DSNAs(owner, db)
	})
	var seeding errgroup.Group
	readyCh := make(chan ready, len(serviceNames))
	errCh := make(chan error, len(serviceNames))
	var running sync.WaitGroup
	if err := s.Postgres.PrepareDatabases(ctx, serviceNames...); err != nil {
		cancel()
		return nil, err
	}
	for _, name := range serviceNames {
		certFile, keyFile := serviceCertFiles(pkiDir, name)
		// Each database has its own owner and application role, as in production.
		ownerRole, appRole := embeddedpg.DatabaseRoles(name)
		cfg := svc.Config{
			GRPCAddr: addr(name), AdminAddr: ports.addr(name, adminPort),
			RESTAddr:    ports.addr(name, restPort),
			DatabaseURL: s.Postgres.DSNAs(appRole, name), DatabaseConns: 16, MigrateOnStart: true,
			MigrationDatabaseURL: s.Postgres.DSNAs(ownerRole, name), DatabaseAppRole: appRole,
			NATSURL: s.NATSURL, StreamReplicas: 1,
			TLSCert: certFile, TLSKey: keyFile, TLSCA: s.CAFile,
			BSNEncryptionKey: keys[0], BSNIndexKey: keys[1], PseudonymKey: keys[2],
			IntakeAddr: addr("intake"), CaseDirectionAddr: addr("casedirection"),
			ProviderMonitoringAddr: addr("providermonitoring"), ReferralAddr: addr("referral"),
			// The demo team owns intakes from signals; the demo municipality sees GM0363's
			// outcome figures (case-direction, issue 17); both keep GM0363's social map.
			Settings: map[string]string{"WIJKBRUG_DEFAULT_TEAM_OIN": DemoTeam.OIN,
				"WIJKBRUG_OUTCOMES_MUNICIPALITY_OINS": DemoMunicipality + "=" + DemoMunicipalityOrg.OIN,
				"WIJKBRUG_SOCIAL_MAP_MAINTAINERS":     DemoMunicipality + "=" + DemoTeam.OIN + "," + DemoMunicipality + "=" + DemoMunicipalityOrg.OIN},
			LogLevel: opts.LogLevel, ShutdownGrace: 10 * time.Second,
			RateLimit: 2000, RateBurst: 4000, UserRateLimit: 50, UserRateBurst: 100, MaxCallDuration: 30 * time.Second,
			PrivacyOfficerOINs: DemoMunicipalityOrg.OIN,
			AccessLogKey:       accessLogKey, AccessLogKeyID: 1, CheckpointInterval: 10 * time.Second,
			OutboxRetention: 7 * 24 * time.Hour, IdempotencyRetention: 7 * 24 * time.Hour,
			ConsumerWorkers: opts.ConsumerWorkers, ConsumerBatch: opts.ConsumerBatch, ConsumerLinger: svc.DefaultConsumerLinger,
		}
		if opts.ConsumerLinger != nil {
			cfg.ConsumerLinger = *opts.ConsumerLinger
		}
		if cfg.LogLevel == "" {
			cfg.LogLevel = "warn"
		}
		if opts.NoRateLimits {
			cfg.RateLimit, cfg.UserRateLimit = 0, 0
		}
		spec := specs[name]
		s.Services = append(s.Services, Endpoint{Name: name, Service: spec.Services[0].ServiceName, Addr: cfg.GRPCAddr, RESTAddr: cfg.RESTAddr, AdminAddr: cfg.AdminAddr, Database: name})
		running.Add(1)
		go func() {
			defer running.Done()
			hooks := svc.Hooks{LogOutput: opts.LogOutput, OnServing: func(g, a string) { readyCh <- ready{spec.Name, g, a} }, Listen: ports.take}
			if seed := seeds[name]; seed != nil {
				hooks.OnMigrated = func() { seeding.Go(func() error { return seed(runCtx) }) }
			}
			err := svc.Run(runCtx, spec, cfg, hooks)
			if err != nil {
				errCh <- fmt.Errorf("%s: %w", spec.Name, err)
			}
		}()
	}
	go func() { running.Wait(); close(errCh) }()
	s.cleanup = append(s.cleanup, func() { cancel(); running.Wait(); _ = seeding.Wait() })

	timeout := time.After(60 * time.Second)
	for n := 0; n < len(serviceNames); {
		select {
		case <-readyCh:
			n++
		case err := <-errCh:
			if err != nil {
				return nil, err
			}
		case <-timeout:
			return nil, errors.New("services not serving within 60 s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.StartedIn = time.Since(began)
	// Every service has called OnMigrated (before OnServing), so every seed has begun.
	if err := seeding.Wait(); err != nil {
		return nil, err
	}
	// initdb's result, if this start ran it, goes into the cache now that nothing waits for it
	// (written and synced to disk: 0.1–0.3 s here once PostgreSQL has synced its data
	// directory); Stop waits for it first.
	kept := make(chan struct{})
	go func() { defer close(kept); s.Postgres.KeepInitResult() }()
	s.cleanup = append(s.cleanup, func() { <-kept })
	go func() {
		var first error
		for err := range errCh {
			if first == nil {
				first = err
			}
		}
		s.done <- first
	}()
	return s, nil
}

// Done reports when a service stops by itself (with its error).
func (s *Suite) Done() <-chan error { return s.done }

// Stop stops the services, NATS and PostgreSQL, in that order.
func (s *Suite) Stop() { s.runCleanup() }

// runCleanup undoes Start in reverse: the services first, then NATS and PostgreSQL, then the
// ports, and an ephemeral data directory last. (In Start's order the directory was removed
// while PostgreSQL still ran and could write into it again: a bench run left
// wijkbrug-dev-…/postgres/data/global/pg_internal.init behind.)
func (s *Suite) runCleanup() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
	s.cleanup = nil
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// lockDataDir takes the data directory for this suite (an advisory lock on its .lock file,
// which the kernel releases when the process ends, however it ends), or says which suite
// holds it.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another Wijkbrug suite (%s): stop it, or give another -data-dir", dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d\n", os.Getpid())), 0)
	return func() { _ = f.Close() }, nil
}

// Endpoint returns the named service.
func (s *Suite) Endpoint(name string) Endpoint {
	for _, e := range s.Services {
		if e.Name == name {
			return e
		}
	}
	return Endpoint{}
}

// The kinds of port each service has.
const (
	grpcPort = iota
	adminPort
	restPort
)

// lastPortOffset is the highest port of the twelve above BasePort (referral's admin port).
const lastPortOffset = 43

// checkPorts refuses port numbers no listener can have, before anything is created: a
// -base-port of 70000 failed to bind as "invalid port (is another Wijkbrug running? …)",
// a hint for a different problem.
func checkPorts(opts Options) error {
	if b := opts.BasePort; b < 0 || b > 0 && b+lastPortOffset > 65535 {
		return fmt.Errorf("-base-port %d: the services' twelve ports run from it to +%d and must lie within 1-65535 (at most %d; 0 picks free ports)",
			b, lastPortOffset, 65535-lastPortOffset)
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"-pg-port", opts.PostgresPort}, {"-nats-port", opts.NATSPort}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("%s %d: a port is 1-65535 (0 picks a free one)", p.flag, p.port)
		}
	}
	return nil
}

// boundPorts are the services' listeners, bound before anything else starts.
type boundPorts struct {
	mu        sync.Mutex
	listeners map[string][3]net.Listener // by service
	taken     map[string]bool            // addresses handed to a service
}

// portsFree checks that each fixed port (0: picked later) can be bound on 127.0.0.1 now.
func portsFree(ports map[string]int) error {
	var errs []error
	for _, what := range slices.Sorted(maps.Keys(ports)) {
		port := ports[what]
		if port == 0 {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: port %d: %w (is another Wijkbrug running? %s moves it)", strings.Fields(what)[0], port, err,
				strings.Trim(strings.Fields(what)[1], "()")))
			continue
		}
		_ = l.Close()
	}
	return errors.Join(errs...)
}

// bindServicePorts binds each service's gRPC, admin and REST port: from base (gRPC base+i,
// REST base+20+i, admin base+40+i) or, with base 0, ports netport picks.
func bindServicePorts(base int) (_ *boundPorts, err error) {
	if err := checkPorts(Options{BasePort: base}); err != nil {
		return nil, err
	}
	b := &boundPorts{listeners: map[string][3]net.Listener{}, taken: map[string]bool{}}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	for i, name := range serviceNames {
		var ls [3]net.Listener
		for k, off := range [3]int{0, 40, 20} {
			var l net.Listener
			var err error
			if base > 0 {
				port := base + off + i
				if l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
					err = fmt.Errorf("%s: port %d: %w (is another Wijkbrug running? -base-port moves all twelve ports)", name, port, err)
				}
			} else {
				// Bound where picked: a port checked free and bound later can be taken in between
				// by another process (another test binary's PostgreSQL).
				l, err = netport.Listen()
			}
			if err != nil {
				b.listeners[name] = ls
				return nil, err
			}
			ls[k] = l
		}
		b.listeners[name] = ls
	}
	return b, nil
}

func (b *boundPorts) addr(name string, kind int) string {
	return b.listeners[name][kind].Addr().String()
}

// take hands a service the listener bound for addr (svc.Hooks.Listen), once.
func (b *boundPorts) take(addr string) (net.Listener, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ls := range b.listeners {
		for _, l := range ls {
			if l != nil && l.Addr().String() == addr && !b.taken[addr] {
				b.taken[addr] = true
				return l, nil
			}
		}
	}
	return nil, fmt.Errorf("suite: no port bound for %s", addr)
}

// close closes every listener; those a service already closed are left as they are.
func (b *boundPorts) close() {
	for _, ls := range b.listeners {
		for _, l := range ls {
			if l != nil {
				_ = l.Close()
			}
		}
	}
}

func ensureClientCert(ca *devca.CA, dir, key string, org devca.Org) (string, string, error) {
	certFile, keyFile := filepath.Join(dir, key+".pem"), filepath.Join(dir, key+"-key.pem")
	if fileExists(certFile) && fileExists(keyFile) {
		return certFile, keyFile, nil
	}
	_, certPEM, keyPEM, err := ca.IssueClient(org, 365*24*time.Hour)
	if err != nil {
		return "", "", fmt.Errorf("issue %s certificate: %w", key, err)
	}
	return devca.WriteFiles(dir, key, certPEM, keyPEM)
}

func ensureWebhookReceiverCert(ca *devca.CA, dir string) (string, string, error) {
	certFile, keyFile := filepath.Join(dir, "webhook-receiver.pem"), filepath.Join(dir, "webhook-receiver-key.pem")
	if fileExists(certFile) && fileExists(keyFile) {
		return certFile, keyFile, nil
	}
	_, certPEM, keyPEM, err := ca.IssueServer([]string{"localhost"}, nil)
	if err != nil {
		return "", "", fmt.Errorf("issue webhook receiver certificate: %w", err)
	}
	return devca.WriteFiles(dir, "webhook-receiver", certPEM, keyPEM)
}

// eventPlaneSecurity is the NATS security of the suite, the same model as production: the
// server's certificate, the four services, the demo partners (each reads only its own feed)
// and the operations observer.
func eventPlaneSecurity(ca *devca.CA, pkiDir string, s *Suite) (*embeddednats.Security, error) {
	natsCert, natsKey, err := ensureNATSCert(ca, pkiDir)
	if err != nil {
		return nil, err
	}
	dns := map[string]string{}
	for _, name := range serviceNames {
		certFile, _, err := ensureServiceCert(ca, pkiDir, name)
		if err != nil {
			return nil, err
		}
		if dns[name], err = natsauth.DNFromFile(certFile); err != nil {
			return nil, err
		}
	}
	model := natsauth.Model{Services: natsauth.Services(dns)}
	for _, key := range slices.Sorted(maps.Keys(s.Partners)) {
		p := s.Partners[key]
		dn, err := natsauth.DNFromFile(p.CertFile)
		if err != nil {
			return nil, err
		}
		model.Partners = append(model.Partners, natsauth.Partner{OIN: p.Org.OIN, DN: dn})
	}
	ops, err := natsauth.DNFromFile(s.Observer.CertFile)
	if err != nil {
		return nil, err
	}
	model.Observers = []string{ops}
	return &embeddednats.Security{Model: model, TLS: natsauth.TLS{CertFile: natsCert, KeyFile: natsKey, CAFile: s.CAFile}}, nil
}

func ensureNATSCert(ca *devca.CA, dir string) (string, string, error) {
	certFile, keyFile := filepath.Join(dir, "nats.pem"), filepath.Join(dir, "nats-key.pem")
	if fileExists(certFile) && fileExists(keyFile) {
		return certFile, keyFile, nil
	}
	_, certPEM, keyPEM, err := ca.IssueServer([]string{"nats"}, nil)
	if err != nil {
		return "", "", fmt.Errorf("issue NATS certificate: %w", err)
	}
	return devca.WriteFiles(dir, "nats", certPEM, keyPEM)
}

func serviceCertFiles(dir, name string) (string, string) {
	base := "service-" + name
	return filepath.Join(dir, base+".pem"), filepath.Join(dir, base+"-key.pem")
}

func ensureServiceCert(ca *devca.CA, dir, name string) (string, string, error) {
	base := "service-" + name
	certFile, keyFile := serviceCertFiles(dir, name)
	if fileExists(certFile) && fileExists(keyFile) {
		return certFile, keyFile, nil
	}
	_, certPEM, keyPEM, err := ca.IssueService(devca.Org{OIN: serviceOINs[name], Name: "wijkbrug-" + name, Type: string(identity.OrgService)}, []string{name}, nil)
	if err != nil {
		return "", "", fmt.Errorf("issue %s certificate: %w", name, err)
	}
	return devca.WriteFiles(dir, base, certPEM, keyPEM)
}

// Keys are the development BSN keys of the suite's data directory: the encryption, blind-index
// and pseudonym keys (base64), as the services were given them.
func (s *Suite) Keys() ([3]string, error) {
	return loadOrCreateKeys(filepath.Join(s.DataDir, "keys.env"))
}

// Specs are the four services' specs, by database name (the suite runs referral with its
// development webhook settings; its schema and encrypted columns are the same).
func Specs() map[string]svc.Spec {
	return map[string]svc.Spec{"intake": intake.Spec(), "casedirection": casedirection.Spec(),
		"providermonitoring": providermonitoring.Spec(), "referral": referral.Spec()}
}

// loadOrCreateKeys keeps the development BSN keys with the data they protect: a new key
// would make the stored BSNs unreadable.
func loadOrCreateKeys(path string) ([3]string, error) {
	var keys [3]string
	names := []string{"WIJKBRUG_BSN_ENCRYPTION_KEY", "WIJKBRUG_BSN_INDEX_KEY", "WIJKBRUG_PSEUDONYM_KEY"}
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			for i, n := range names {
				if v, ok := strings.CutPrefix(line, n+"="); ok {
					keys[i] = strings.TrimSpace(v)
				}
			}
		}
		if keys[0] != "" && keys[1] != "" && keys[2] != "" {
			return keys, nil
		}
	}
	var b strings.Builder
	b.WriteString("# Development keys for this data directory only. Never use them in production.\n")
	for i, n := range names {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return keys, err
		}
		keys[i] = base64.StdEncoding.EncodeToString(k)
		fmt.Fprintf(&b, "%s=%s\n", n, keys[i])
	}
	return keys, os.WriteFile(path, []byte(b.String()), 0o600)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ClientTLS is the client TLS configuration of a demo partner (or the observer) from its
// certificate files.
func (s *Suite) ClientTLS(p Partner) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool}, nil
}

// ConnectNATS connects to the suite's NATS as p (a demo partner: inbox = its OIN) or as the
// observer.
func (s *Suite) ConnectNATS(p Partner) (*nats.Conn, error) {
	tc, err := s.ClientTLS(p)
	if err != nil {
		return nil, err
	}
	inbox := p.Org.OIN
	if p.Key == s.Observer.Key {
		inbox = natsauth.ObserverInbox
	}
	return nats.Connect(s.NATSURL, natsx.Secure(tc, inbox)...)
}

// ConnectNATSAsService connects to the suite's NATS as the service name (intake,
// casedirection, providermonitoring, referral), with that service's certificate and
// permissions: tests read what only a service may (a partner feed stream's information).
func (s *Suite) ConnectNATSAsService(name string) (*nats.Conn, error) {
	certFile, keyFile := serviceCertFiles(filepath.Join(s.DataDir, "pki"), name)
	tc, err := s.ClientTLS(Partner{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		return nil, err
	}
	return nats.Connect(s.NATSURL, natsx.Secure(tc, name)...)
}

// SeedDemo loads the demo data — the demo provider and its contract, the demo municipality's
// organisations and triage administration, three provisions on the social map — into the
// four service databases; dsn gives the URL of a database by its name (intake, casedirection,
// providermonitoring, referral). It migrates first and is idempotent, so it works on the
// suite's own databases and on those of a deployment (as the databases' owner).
func SeedDemo(ctx context.Context, dsn func(db string) string) error {
	// Each service's demo data goes into its own database, so they are written at once.
	var g errgroup.Group
	for _, seed := range demoSeeds(dsn) {
		g.Go(func() error { return seed(ctx) })
	}
	return g.Wait()
}

// demoSeeds writes each service's demo data (by database name).
func demoSeeds(dsn func(db string) string) map[string]func(context.Context) error {
	wrap := func(err error) error {
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		return nil
	}
	return map[string]func(context.Context) error{
		"providermonitoring": func(ctx context.Context) error {
			if err := providermonitoring.SeedDemo(ctx, dsn("providermonitoring"), providermonitoring.DemoProvider{
				AGB: DemoProviderAGB, Name: DemoProvider.Name, OIN: DemoProvider.OIN, Municipality: DemoMunicipality,
				ProductCategory: DemoProductCategory, ProductCode: DemoProductCode,
			}); err != nil {
				return wrap(err)
			}
			// The team and the municipality act for GM0363 (answering requests, contracts, views).
			return wrap(providermonitoring.SeedMunicipalOrganisations(ctx, dsn("providermonitoring"), DemoMunicipality, DemoTeam.OIN, DemoMunicipalityOrg.OIN))
		},
		"intake": func(ctx context.Context) error {
			return wrap(intake.SeedDemo(ctx, dsn("intake"), intake.DemoMunicipality{OIN: DemoMunicipalityOrg.OIN, Municipality: DemoMunicipality}))
		},
		"referral": func(ctx context.Context) error {
			return wrap(referral.SeedDemo(ctx, dsn("referral"), referral.DemoSocialMap{MaintainerOIN: DemoTeam.OIN,
				ProviderOIN: DemoProvider.OIN, ProviderName: DemoProvider.Name, Municipality: DemoMunicipality, District: DemoDistrict}))
		},
	}
}

// ephemeralDir makes a fresh data directory wijkbrug-dev-<8 hex digits> in the temporary
// folder. Not os.MkdirTemp: its suffix is a decimal number of up to ten digits, which the path
// carries into every log line that names a file, and one in eleven such numbers passes the
// BSN check digit, so the privacy scans of logs (rightly strict) would flag it. Eight hex
// digits can never form a nine-digit number, and keep the PostgreSQL socket path short.
func ephemeralDir() (string, error) {
	for range 10 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		dir := filepath.Join(os.TempDir(), "wijkbrug-dev-"+hex.EncodeToString(b[:]))
		if err := os.Mkdir(dir, 0o700); err == nil {
			return dir, nil
		} else if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("no free name for a temporary data directory")
}
