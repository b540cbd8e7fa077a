// Package svc is the runtime every Wijkbrug service shares: it turns a service's Spec (its
// name, migrations, policy, gRPC registrations and event consumers) into a running process
// with mutual TLS, health, metrics, tracing, the outbox relay and graceful shutdown. A service
// keeps only its business code; the platform is written once, here.
package svc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logserver"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/config"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/encrypted"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/observability"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/scheduler"
	"google.golang.org/grpc"
)

// Spec is what a service contributes.
type Spec struct {
	// Name is the service's short name as used in subjects and streams: "intake",
	// "casedirection", "providermonitoring", "referral".
	Name string
	// DefaultGRPCAddr and DefaultAdminAddr are used when the config leaves them empty.
	DefaultGRPCAddr, DefaultAdminAddr string
	// Migrations is the service's own migration set (the platform set runs first).
	Migrations pgxdb.MigrationSet
	// Policy is the per-method authorisation policy; methods without a rule are denied.
	Policy authz.Policy
	// Services are the service descriptors the service registers (for policy coverage).
	Services []grpc.ServiceDesc
	// DefaultRESTAddr is the REST edge's address when the config leaves it empty.
	DefaultRESTAddr string
	// REST are the service's REST/JSON gateway registrations (the generated
	// RegisterXxxServiceHandler functions) and OpenAPI its OpenAPI 3 document; without
	// registrations the service has no REST edge.
	REST    []rest.Registrar
	OpenAPI []byte
	// Settings, when set, points to a struct of the service's own settings (env/flag tags as
	// in Config). The runtime fills it before Setup — from the command line and environment
	// in the service binary, from the environment in the all-in-one command — lists it in -h
	// and logs it (secrets masked) at start-up. Setup reads it through the same pointer.
	Settings any
	// Encrypted are the service's columns sealed with its encryption key (pkg/encrypted):
	// `migrate` brings them, and the platform's (stored answers, emergency reasons), under
	// the current key.
	Encrypted []encrypted.Column
	// EmergencyTypes are the record types whose per-object reads an emergency grant opens
	// (accesslog.Guard consults the grants for them): StartEmergencyAccess refuses a grant on
	// any other type, naming these, since it would open nothing and only crowd the privacy
	// officer's review.
	EmergencyTypes []string
	// Setup wires the service on the platform.
	Setup func(ctx context.Context, p *Platform) (*Wiring, error)
	// Warm, when set, makes ahead what Setup will need that no database or broker does, into
	// a cache that Setup then finds it in (the package's own or Go's); Warm below calls it.
	Warm func()

	settingsLoaded bool
}

// Wiring is what Setup returns.
type Wiring struct {
	// Register registers the gRPC services.
	Register func(s grpc.ServiceRegistrar)
	// Consumers are durable event consumers.
	Consumers []consumer.Spec
	// Schedulers are the service's database-driven timers (pkg/scheduler); the runtime
	// drains each at start and every interval, with logs and metrics.
	Schedulers []scheduler.Job
	// Background tasks run until their context ends (prefer Schedulers for timers).
	Background []func(ctx context.Context)
}

// Platform is what a service's Setup gets to build its adapters on.
type Platform struct {
	Name      string
	Config    Config
	Logger    *slog.Logger
	DB        *pgxdb.DB
	JS        jetstream.JetStream
	Outbox    *outbox.Writer
	Access    *logstore.Logger
	Idem      *idempotency.Store
	Protector *bsn.Protector
	// Self is this service's organisation, from its own certificate (type SERVICE).
	Self identity.Organisation
	// ClientTLS is for calls to peer services.
	ClientTLS *tls.Config
	// Metrics is the service's Prometheus registry (served on the admin port).
	Metrics  *prometheus.Registry
	dialOpts []grpc.DialOption
	mu       sync.Mutex
	conns    []*grpc.ClientConn
}

// Dial connects to a peer service; the connection is closed at shutdown.
func (p *Platform) Dial(addr string) (*grpc.ClientConn, error) {
	cc, err := grpcx.Dial(addr, p.ClientTLS, grpcx.DefaultCallTimeout, p.dialOpts...)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.conns = append(p.conns, cc)
	p.mu.Unlock()
	return cc, nil
}

// SystemCaller is the identity consumers and schedulers act as. Its purpose must be one of the
// services' own entries in the register of processing activities (authz.Activities): the
// access log records it and peers refuse anything else, so a service built with another one
// is a programming error, stopped where it is made (at composition, before anything runs).
func (p *Platform) SystemCaller(purpose string) identity.Caller {
	if a, ok := authz.ActivityOf(purpose); !ok || !slices.Contains(a.Processors, identity.OrgService) {
		panic(fmt.Sprintf("svc: system purpose %q is not a services' activity in the register of processing activities (pkg/authz/activities.go)", purpose))
	}
	return identity.System(p.Self, purpose)
}

// Hooks let the all-in-one command and tests observe a running service.
type Hooks struct {
	// OnServing is called once, when the service first reports SERVING.
	OnServing func(grpcAddr, adminAddr string)
	// OnServingREST is called once with the REST edge's address, before OnServing (only when
	// the service has a REST edge).
	OnServingREST func(restAddr string)
	// OnMigrated is called once the database is migrated (only with MigrateOnStart), while the
	// service goes on starting: the suite writes its demo data then.
	OnMigrated func()
	// LogOutput receives the service's JSON log lines (default: standard error).
	LogOutput io.Writer
	// Listen, when set, opens the service's gRPC, admin and REST ports instead of
	// net.Listen. The all-in-one suite binds every port before it starts anything: its fixed
	// ports lie in the kernel's ephemeral range, where an outgoing connection of its own (56
	// to PostgreSQL while the services start) could otherwise take one first.
	Listen func(addr string) (net.Listener, error)
}

func (h Hooks) listen(addr string) (net.Listener, error) {
	if h.Listen != nil {
		return h.Listen(addr)
	}
	return net.Listen("tcp", addr)
}

// Main is the whole main function of a service binary: `<svc> [serve] [flags]` or
// `<svc> migrate [flags]`.
func Main(spec Spec) {
	if err := RunArgs(spec, os.Args[1:]); err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, spec.Name+": ") { // verify-accesslog names the service itself
			msg = spec.Name + ": " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
}

// commands of a service binary, with what each does (for -h).
var commands = []struct{ name, what string }{
	{"serve", "serve the gRPC API (mutual TLS) and the admin port until SIGTERM (the default command)"},
	{"migrate", "apply the platform and the service migrations to WIJKBRUG_DATABASE_URL under an advisory lock, print what was applied, and exit (a Kubernetes init container or Job)"},
	{"verify-accesslog", "check the hash chain of the service's access log in WIJKBRUG_DATABASE_URL; exit 1 and list the broken entries when it was tampered with"},
}

// RunArgs runs a command line (without the program name): "serve" (the default),
// "migrate" or "verify-accesslog", with flags; settings not given as flags come from the
// environment. "-h" (or "help") prints the commands or the command's settings and succeeds.
func RunArgs(spec Spec, args []string) error {
	return RunCommand(spec, args, os.Stdout)
}

// RunCommand is RunArgs writing its reports (help, migrations applied, access-log check) to
// out.
func RunCommand(spec Spec, args []string, out io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" {
		cmd, args = "serve", []string{"-h"}
	}
	what := ""
	for _, c := range commands {
		if c.name == cmd {
			what = c.what
		}
	}
	if what == "" {
		return fmt.Errorf("unknown command %q (serve, migrate or verify-accesslog; %s -h for help)", cmd, spec.Name)
	}
	var cfg Config
	fs := flag.NewFlagSet(spec.Name+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s [command] [flags]\n\nCommands:\n", spec.Name)
		for _, c := range commands {
			fmt.Fprintf(out, "  %-17s %s\n", c.name, c.what)
		}
		fmt.Fprintf(out, "\n%s %s: %s.\n\nSettings (flag, or the environment variable named in brackets, or that variable with _FILE naming a file that holds the value):\n", spec.Name, cmd, what)
		fs.PrintDefaults()
	}
	if err := config.Register(fs, &cfg); err != nil {
		return err
	}
	if spec.Settings != nil {
		if err := config.Register(fs, spec.Settings); err != nil {
			return err
		}
		spec.settingsLoaded = true
	}
	if err := config.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		// With the values out of range among those that did parse: all named at once.
		return errors.Join(err, checkSettings(cfg))
	}
	if fs.NArg() > 0 {
		// A stray word (a second command, a flag after it) would be ignored: refused instead.
		return fmt.Errorf("%s %s takes flags only, not %q (%s -h for help)", spec.Name, cmd, fs.Arg(0), spec.Name)
	}
	if cmd != "serve" {
		// serve checks them in Run; migrate and verify-accesslog took a log level or a
		// retention out of range without a word (docs probe, thirty-seventh session), so an
		// init container passed with settings its service would then refuse.
		if err := checkSettings(cfg); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		return Run(ctx, spec, cfg, Hooks{})
	case "migrate":
		if cfg.migrationURL() == "" {
			return errors.New("WIJKBRUG_MIGRATION_DATABASE_URL or WIJKBRUG_DATABASE_URL is required")
		}
		if err := migrateAndGrant(ctx, spec, cfg, out); err != nil {
			return err
		}
		return reseal(ctx, spec, cfg, out)
	case "verify-accesslog":
		if cfg.DatabaseURL == "" {
			return errors.New("WIJKBRUG_DATABASE_URL is required")
		}
		return verifyAsService(ctx, spec, cfg, out)
	default:
		return fmt.Errorf("unknown command %q (serve, migrate or verify-accesslog)", cmd)
	}
}

// Migrate applies the platform and the service migrations.
func Migrate(ctx context.Context, spec Spec, dsn string) error {
	return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), spec.Migrations)
}

// MaxCallCap is the most WIJKBRUG_MAX_CALL_DURATION may be. A call's transaction lives no
// longer than the call, and case-direction counts on that: an allocation provider-monitoring
// attached to a case and never confirmed is taken as rolled back five minutes after the attach
// (domain.PendingAllocationSettled), which is safe only while no call can last that long.
const MaxCallCap = 2 * time.Minute

// checkSettings names every setting out of range at once: fixing them one start at a time took
// as many starts as there were mistakes. Main adds the values that did not parse.
func checkSettings(cfg Config) error {
	_, level := parseLevel(cfg.LogLevel)
	return errors.Join(level, checkCallCap(cfg.MaxCallDuration), checkRetention(cfg), checkLimits(cfg))
}

// checkCallCap refuses a call-duration cap above MaxCallCap; zero or less is the default (30 s).
func checkCallCap(d time.Duration) error {
	if d > MaxCallCap {
		return fmt.Errorf("WIJKBRUG_MAX_CALL_DURATION (-max-call-duration) is %s: at most %s (a call's transaction must end well within case-direction's five minutes for an attached allocation)", d, MaxCallCap)
	}
	return nil
}

// Run runs the service until ctx ends, then shuts down in the order of the design:
// health NOT_SERVING → stop accepting → drain in-flight calls → stop consumers and
// schedulers → flush the outbox relay → close NATS and the pool → flush telemetry.
// Warm makes, in the background, what the services' starts need that no database or broker
// does and that is made once per process: the request validator, each REST edge's OpenAPI
// document as JSON with its routes, and what a Spec's own Warm makes. That is about 40 ms of
// CPU a service here; made ahead it comes from a CPU that waits for PostgreSQL to start, not
// from the two that the migrations keep busy. Run calls it for its service as it begins; the
// all-in-one suite calls it for all four before PostgreSQL starts. A start that gets there
// first makes the part itself or waits for it (sync.OnceValues): nothing is made twice, and an
// error is the start's.
func Warm(specs ...Spec) {
	go func() {
		_, _ = grpcx.Validator()
		for _, spec := range specs {
			if len(spec.REST) > 0 {
				_ = rest.Prepare(spec.OpenAPI)
			}
			if spec.Warm != nil {
				spec.Warm()
			}
		}
	}()
}

func Run(ctx context.Context, spec Spec, cfg Config, hooks Hooks) error {
	Warm(spec)
	logOut := hooks.LogOutput
	if logOut == nil {
		logOut = os.Stderr
	}
	if err := checkSettings(cfg); err != nil {
		return err
	}
	level, _ := parseLevel(cfg.LogLevel)
	logger := observability.NewLogger(logOut, level, spec.Name)
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = spec.DefaultGRPCAddr
	}
	if cfg.AdminAddr == "" {
		cfg.AdminAddr = spec.DefaultAdminAddr
	}
	if cfg.RESTAddr == "" {
		cfg.RESTAddr = spec.DefaultRESTAddr
	}
	privacyOfficers, err := config.OINs("WIJKBRUG_PRIVACY_OFFICER_OINS (-privacy-officer-oins)", cfg.PrivacyOfficerOINs)
	if err != nil {
		return err
	}
	if spec.Settings != nil && !spec.settingsLoaded {
		if err := config.RegisterWith(flag.NewFlagSet(spec.Name, flag.ContinueOnError), spec.Settings, cfg.Settings); err != nil {
			return err
		}
	}
	attrs := []any{}
	for _, it := range config.Describe(&cfg) {
		attrs = append(attrs, it.Env, it.Value)
	}
	if spec.Settings != nil {
		for _, it := range config.Describe(spec.Settings) {
			attrs = append(attrs, it.Env, it.Value)
		}
	}
	logger.Info("starting", attrs...)

	// Every service also serves its access log (resident's right of access).
	policy := authz.Policy{}
	for m, r := range spec.Policy {
		policy[m] = r
	}
	for m, r := range logserver.Policy {
		policy[m] = r
	}
	spec.Policy = policy
	spec.Services = append(append([]grpc.ServiceDesc(nil), spec.Services...), accesslogv1.AccessLogService_ServiceDesc)
	if missing := spec.Policy.Uncovered(spec.Services...); len(missing) > 0 {
		return fmt.Errorf("methods without an authorisation rule: %v", missing)
	}
	shutdownTracing, err := observability.SetupTracing(ctx, spec.Name, logger)
	if err != nil {
		return err
	}
	defer func() { _ = shutdownTracing(context.Background()) }()

	reg := observability.NewRegistry()
	serverTLS, clientTLS, self, deny, err := loadTLS(spec.Name, cfg, logger)
	if err != nil {
		return err
	}
	if deny != nil {
		go deny.Watch(ctx, time.Second) // a broken edit is logged soon, not at the next handshake
	}
	if err := registerCertificateExpiry(reg, cfg); err != nil {
		return err
	}
	protector, err := loadProtector(cfg)
	if err != nil {
		return err
	}
	accessKeys, err := loadAccessLogKeys(cfg)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("WIJKBRUG_DATABASE_URL is required")
	}
	nc, err := natsx.Connect(cfg.NATSURL, "wijkbrug-"+spec.Name, clientTLS, spec.Name)
	if err != nil {
		return err
	}
	defer nc.Close()
	natsx.LogConnectionEvents(nc, logger)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		return err
	}
	// Workers stop on stopWork, in the shutdown below (or when Run fails before it). The
	// stream is declared beside the migrations: neither waits for the other.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	streamReady := make(chan struct{})
	go func() {
		for workCtx.Err() == nil {
			sctx, cancel := context.WithTimeout(workCtx, 5*time.Second)
			_, err := natsx.EnsureStream(sctx, js, spec.Name, cfg.StreamReplicas, logger)
			if err == nil {
				// Partner feed copies go through every service's outbox into the feed stream.
				_, err = natsx.EnsureFeedStream(sctx, js, cfg.StreamReplicas, logger)
			}
			cancel()
			if err == nil {
				close(streamReady)
				return
			}
			logger.Warn("cannot declare stream yet; retrying", "error", err.Error())
			time.Sleep(500 * time.Millisecond)
		}
	}()
	served := make(chan struct{}) // closed when the service first answers calls
	if cfg.MigrateOnStart {
		// What it applied is logged, as the migrate command prints it.
		var report strings.Builder
		err := migrateAndGrant(ctx, spec, cfg, &report)
		for line := range strings.Lines(report.String()) {
			logger.Info(strings.TrimSpace(line))
		}
		if err != nil {
			return err
		}
		if hooks.OnMigrated != nil {
			hooks.OnMigrated()
		}
		// Re-encryption need not hold up the start: values under a retired key stay readable
		// while it runs, and the usual answer is that there is nothing to do. It waits until
		// the service serves, so that its connection and queries take no CPU from the start.
		go func() {
			select {
			case <-served:
			case <-ctx.Done():
				return
			}
			var report strings.Builder
			if err := reseal(ctx, spec, cfg, &report); err != nil {
				logger.Warn("re-encryption under the current key did not finish; the next start tries again", "error", err.Error())
			}
			for line := range strings.Lines(report.String()) {
				logger.Info(strings.TrimSpace(line))
			}
		}()
	}
	// Sessions say which service and replica they are (pg_stat_activity.application_name; the
	// relay's leader adds "relay leader" to its lock session's).
	host, _ := os.Hostname()
	appName := pgxdb.ApplicationName(strings.TrimSuffix(spec.Name+"@"+host, "@"))
	db, err := pgxdb.Open(ctx, cfg.DatabaseURL, int32(cfg.DatabaseConns), appName)
	if err != nil {
		return err
	}
	defer db.Close()
	// The readiness check's own connection (watchHealth).
	probe, err := pgxdb.Open(ctx, cfg.DatabaseURL, 1, appName)
	if err != nil {
		return err
	}
	defer probe.Close()

	if err := observability.RegisterPool(reg, db.Pool, db.Pool.Config().ConnConfig.Database); err != nil {
		return err
	}
	if err := observability.RegisterNATS(reg, nc); err != nil {
		return err
	}
	dialOpts, err := grpcx.ClientMetrics(reg)
	if err != nil {
		return err
	}
	p := &Platform{
		Name: spec.Name, Config: cfg, Logger: logger, DB: db, JS: js,
		Outbox: outbox.NewWriter(db, spec.Name), Access: logstore.New(db, spec.Name),
		Idem: idempotency.New(db, protector), Protector: protector, Self: self, ClientTLS: clientTLS,
		Metrics: reg, dialOpts: dialOpts,
	}
	defer func() {
		for _, cc := range p.conns {
			_ = cc.Close()
		}
	}()
	wiring, err := spec.Setup(ctx, p)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	// Every service deletes the platform rows past their retention (published outbox rows,
	// idempotency keys) with a scheduler job of its own.
	wiring.Schedulers = append(wiring.Schedulers, retentionJob(p))
	for _, j := range wiring.Schedulers {
		if err := j.Validate(); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}

	var revoked func(*x509.Certificate) bool
	if deny != nil {
		revoked = deny.Revoked // also on connections opened before a revocation
	}
	server, err := grpcx.NewServer(grpcx.ServerConfig{Service: spec.Name, TLS: serverTLS, Policy: spec.Policy, Logger: logger, Registry: reg, Revoked: revoked, HoldUntilReady: true,
		RateLimit: grpcx.RateLimit{Rate: float64(cfg.RateLimit), Burst: max(cfg.RateBurst, 1),
			UserRate: float64(cfg.UserRateLimit), UserBurst: max(cfg.UserRateBurst, 1)},
		MaxCallDuration: cfg.MaxCallDuration})
	if err != nil {
		return err
	}
	wiring.Register(server)
	accesslogv1.RegisterAccessLogServiceServer(server, logserver.New(p.Access, protector, p.Idem, privacyOfficers, spec.EmergencyTypes))
	lis, err := hooks.listen(cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("WIJKBRUG_GRPC_ADDR (-grpc-addr): listen %s: %w", cfg.GRPCAddr, err)
	}
	adminLis, err := hooks.listen(cfg.AdminAddr)
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("WIJKBRUG_ADMIN_ADDR (-admin-addr): listen %s: %w", cfg.AdminAddr, err)
	}
	admin := observability.NewAdmin(adminLis, reg)
	restEdge, err := startREST(ctx, spec, cfg, serverTLS, server, logger, hooks.listen)
	if err != nil {
		_ = lis.Close()
		_ = admin.Shutdown(context.Background())
		return err
	}
	serveErr := make(chan error, 3)
	go func() { serveErr <- server.Serve(lis) }()
	go func() { serveErr <- admin.Serve() }()
	if restEdge != nil {
		go func() { serveErr <- restEdge.Serve() }()
	}

	// Workers: consumers and schedulers stop before the relay, so their last events still
	// get flushed.
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	var work, relayDone sync.WaitGroup
	relay := outbox.NewRelay(db, js, outbox.RelayConfig{Service: spec.Name, Logger: logger, Registry: reg})
	p.Outbox.Wakes(relay)
	relayDone.Add(1)
	go func() {
		defer relayDone.Done()
		// Not before the database is known to be this service's (checkSchema, in watchHealth's
		// first check): a relay on another service's database would publish its outbox.
		select {
		case <-served:
		case <-relayCtx.Done():
			return
		}
		relay.Run(relayCtx)
	}()
	// The background jobs start one after another (startJobs), their first passes reusing
	// the pool's connections instead of each opening one at the same moment.
	consumerOpts := consumer.Options{Logger: logger, Metrics: consumer.NewMetrics(reg, spec.Name), Workers: cfg.ConsumerWorkers,
		MaxBatch: cfg.ConsumerBatch, Linger: cfg.ConsumerLinger}
	var jobs []func(context.Context)
	for _, c := range wiring.Consumers {
		jobs = append(jobs, func(ctx context.Context) {
			if err := consumer.Run(ctx, js, db, c, consumerOpts); err != nil && ctx.Err() == nil {
				logger.Error("consumer stopped", "consumer", c.Durable, "error", err.Error())
			}
		})
	}
	// Every service seals its own access log (hash chain); one replica at a time does...
	jobs = append(jobs, func(ctx context.Context) { logstore.RunSealer(ctx, db, accessKeys, time.Second, logger) })
	// ...and exports signed checkpoints of the chain head out of the database.
	jobs = append(jobs, func(ctx context.Context) {
		logstore.RunCheckpoints(ctx, db, js, accessKeys, spec.Name, cfg.StreamReplicas, cfg.CheckpointInterval, logger)
	})
	schedMetrics := scheduler.NewMetrics(reg)
	for _, j := range wiring.Schedulers {
		jobs = append(jobs, func(ctx context.Context) { scheduler.Run(ctx, j, logger, schedMetrics) })
	}
	jobs = append(jobs, wiring.Background...)
	startJobs(workCtx, &work, jobStagger, served, jobs)
	// Readiness means "can serve": SERVING while PostgreSQL answers. NATS does not decide it,
	// because the outbox keeps taking writes while the broker is away; its state is a health
	// detail, a log line and the outbox backlog metrics instead.
	// A current encryption key that does not open the values stored under its id (a key given
	// under another key's id) would fail every read of sealed data as INTERNAL: the service
	// refuses to serve with it, and stops naming the setting. The check is one value per
	// sealed column; one that takes longer than keyCheckTimeout (a table mostly under another
	// key, during a rotation) is left to migrate, which makes the same check.
	fatal := make(chan error, 1)
	keyCheck := func(ctx context.Context) error {
		// First that the database is this service's, at this binary's version.
		if err := checkSchema(ctx, db, spec); err != nil {
			var refused *schemaRefusal
			if errors.As(err, &refused) {
				fatal <- fmt.Errorf("%s: %w", spec.Name, err)
			}
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, keyCheckTimeout)
		defer cancel()
		err := encrypted.CheckCurrentKey(cctx, db, protector, EncryptedColumns(spec))
		var wrong *encrypted.WrongKeyError
		switch {
		case errors.As(err, &wrong):
			fatal <- fmt.Errorf("%s: WIJKBRUG_BSN_ENCRYPTION_KEY (id %d): %w", spec.Name, protector.KeyID(), err)
			return err
		case err != nil && cctx.Err() != nil && ctx.Err() == nil:
			logger.Warn("could not confirm within the time allowed that the encryption key opens the stored values; serving (migrate checks it)", "timeout", keyCheckTimeout.String())
			return nil
		}
		return err
	}
	go watchHealth(workCtx, db, probe, nc, streamReady, relay, server, admin, logger, served, keyCheck, func() {
		if hooks.OnServingREST != nil && restEdge != nil {
			hooks.OnServingREST(restEdge.Addr())
		}
		if hooks.OnServing != nil {
			hooks.OnServing(lis.Addr().String(), admin.Addr())
		}
	})

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			logger.Error("server failed", "error", err.Error())
		}
	case runErr = <-fatal:
		logger.Error("refusing to serve", "error", runErr.Error())
	}
	logger.Info("shutting down")
	admin.SetReady(false)
	stopREST(restEdge, cfg.ShutdownGrace)
	server.Shutdown(cfg.ShutdownGrace)
	stopWork()
	work.Wait()
	stopRelay()
	relayDone.Wait()
	_ = nc.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = admin.Shutdown(shutdownCtx)
	logger.Info("stopped")
	return runErr
}

// schemaRefusal is a database that is not this service's, or not at its version: Run stops
// with it, naming the setting, instead of waiting not ready for good.
type schemaRefusal struct{ msg string }

func (e *schemaRefusal) Error() string { return e.msg }

// checkSchema refuses a database that does not hold this service's schema at this binary's
// version, before the service serves or starts any job on it. An operator probe gave a replica
// another service's database: it waited not ready for good without naming the setting, and
// meanwhile relayed, consumed and parked events in the other service's tables. A database
// that does not answer is no refusal (the check runs again until it does).
//
// Which schemas a database holds is read from the catalog (goose's version tables, by name),
// which needs no privilege; their versions only where the role may read the tables (the
// application role may since the thirty-fifth session's grants: a database whose grants an
// older migrate made is checked for its schema, not its version).
func checkSchema(ctx context.Context, db *pgxdb.DB, spec Spec) error {
	name := db.Pool.Config().ConnConfig.Database
	var sets []string
	readable := true
	rows, err := db.Pool.Query(ctx, `SELECT substr(tablename, length('goose_version_') + 1),
		has_table_privilege(format('%I', tablename), 'SELECT')
		FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'goose\_version\_%' ORDER BY 1`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var set string
		var canRead bool
		if err := rows.Scan(&set, &canRead); err != nil {
			rows.Close()
			return err
		}
		sets, readable = append(sets, set), readable && canRead
	}
	if err := rows.Err(); err != nil {
		return err
	}
	migrate := fmt.Sprintf("run `%s migrate` with this database (or start with WIJKBRUG_MIGRATE_ON_START=true)", spec.Name)
	if !slices.Contains(sets, spec.Migrations.Name) {
		if others := slices.DeleteFunc(slices.Clone(sets), func(s string) bool { return s == platformdb.Migrations().Name }); len(others) > 0 {
			return &schemaRefusal{fmt.Sprintf("WIJKBRUG_DATABASE_URL (-database-url) names database %q, which holds the schema of %s, not of %s: give each service its own database",
				name, strings.Join(others, ", "), spec.Name)}
		}
		return &schemaRefusal{fmt.Sprintf("WIJKBRUG_DATABASE_URL (-database-url) names database %q, which holds no %s schema: %s", name, spec.Name, migrate)}
	}
	if !readable {
		return nil
	}
	current, err := pgxdb.Current(ctx, db.Pool, platformdb.Migrations(), spec.Migrations)
	if err != nil || current {
		return err
	}
	return &schemaRefusal{fmt.Sprintf("WIJKBRUG_DATABASE_URL (-database-url) names database %q, whose %s schema is older than this binary's: %s",
		name, spec.Name, migrate)}
}

// keyCheckTimeout bounds the check of the encryption key before a service first serves.
const keyCheckTimeout = 3 * time.Second

// watchHealth keeps readiness and the health details current. It pings PostgreSQL over probe,
// a connection of its own: a pool busy with calls must not look like a database that does not
// answer, since that ends the calls in flight (grpcx.Server.SetDatabaseReachable). It closes
// serving when the service first reports SERVING (PostgreSQL answers); first runs once, when
// the service is fully up (database, NATS and its stream), which is what tests wait for.
func watchHealth(ctx context.Context, db, probe *pgxdb.DB, nc *nats.Conn, streamReady <-chan struct{}, relay *outbox.Relay, server *grpcx.Server, admin *observability.Admin, logger *slog.Logger, serving chan<- struct{}, keyCheck func(context.Context) error, first func()) {
	served, servingClosed := false, false
	keyChecked := false
	dbWasOK := true
	interval := 50 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		dbErr := probe.Ping(pctx)
		cancel()
		streamOK := false
		select {
		case <-streamReady:
			streamOK = true
		default:
		}
		natsOK := nc.IsConnected()
		if ctx.Err() != nil {
			return
		}
		detail := "postgresql: ok"
		if dbErr != nil {
			detail = "postgresql: unreachable"
		}
		if natsOK {
			detail += "\nnats: connected"
		} else {
			detail += "\nnats: disconnected (events wait in the outbox)"
		}
		if dbErr == nil {
			bctx, cancel := context.WithTimeout(ctx, time.Second)
			if b, err := relay.Backlog(bctx); err == nil {
				detail += fmt.Sprintf("\noutbox: %d unsent, oldest %s", b.Rows, b.Oldest.Round(time.Second))
			}
			cancel()
		}
		if (dbErr == nil) != dbWasOK {
			if dbErr != nil {
				logger.Warn("PostgreSQL unreachable; not ready, calls answer UNAVAILABLE", "error", dbErr.Error())
			} else {
				logger.Info("PostgreSQL reachable again; ready")
			}
			dbWasOK = dbErr == nil
		}
		ok := dbErr == nil
		if ok && !keyChecked {
			// Before the first SERVING: not serving until the key is known to open the data.
			if err := keyCheck(ctx); err != nil {
				var (
					wrong   *encrypted.WrongKeyError
					refused *schemaRefusal
				)
				if errors.As(err, &wrong) || errors.As(err, &refused) {
					return // Run stops, naming the setting
				}
				ok = false // the database did not answer the check: try again
			} else {
				keyChecked = true
			}
		}
		server.SetDatabaseReachable(ok)
		server.SetServing(ok)
		server.SetDependency("postgresql", dbErr == nil)
		server.SetDependency("nats", natsOK && streamOK)
		admin.SetReady(ok)
		admin.SetDetail(detail)
		if ok && !servingClosed {
			servingClosed = true
			close(serving)
		}
		if ok && natsOK && streamOK && !served {
			served = true
			interval = time.Second
			first()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// MetricNames lists every metric family a service process exports on /metrics (the
// collectors Run registers), for checks of dashboards and alert rules. Histogram families
// appear under their base name (name_bucket, name_sum and name_count are implied).
func MetricNames() ([]string, error) {
	d := &observability.Described{}
	observability.Standard(d)
	observability.MetricsHandler(prometheus.NewRegistry(), d)
	if err := registerCertificateExpiry(d, Config{}); err != nil {
		return nil, err
	}
	// A pool that never connects (pgxpool connects lazily): its collector describes by
	// collecting.
	pool, err := pgxpool.New(context.Background(), "postgres://describe@127.0.0.1:1/describe")
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := observability.RegisterPool(d, pool, "describe"); err != nil {
		return nil, err
	}
	if err := observability.RegisterNATS(d, nil); err != nil {
		return nil, err
	}
	d.MustRegister(grpcx.NewServerMetrics())
	if _, err := grpcx.ClientMetrics(d); err != nil {
		return nil, err
	}
	scheduler.NewMetrics(d)
	outbox.NewRelay(nil, nil, outbox.RelayConfig{Registry: d})
	consumer.NewMetrics(d, "describe")
	return d.Names(), nil
}

// registerCertificateExpiry exports wijkbrug_tls_certificate_expiry_timestamp_seconds for the
// service's own certificate and every CA certificate it trusts, read from the files at each
// scrape so that a rotated (re-mounted) certificate shows at once.
func registerCertificateExpiry(reg prometheus.Registerer, cfg Config) error {
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wijkbrug_tls_certificate_expiry_timestamp_seconds",
		Help: "Unix time at which a certificate the service uses expires (kind=service: its own; kind=ca: a trusted CA).",
	}, []string{"kind", "subject"})
	return reg.Register(&certCollector{vec: vec, cfg: cfg})
}

type certCollector struct {
	vec *prometheus.GaugeVec
	cfg Config
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { c.vec.Describe(ch) }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	c.vec.Reset()
	for kind, file := range map[string]string{"service": c.cfg.TLSCert, "ca": c.cfg.TLSCA} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil || blk.Type != "CERTIFICATE" {
				continue
			}
			c.vec.WithLabelValues(kind, cert.Subject.String()).Set(float64(cert.NotAfter.Unix()))
			if kind == "service" {
				break // the leaf; the rest of the chain is covered by kind=ca
			}
		}
	}
	c.vec.Collect(ch)
}

func loadProtector(cfg Config) (*bsn.Protector, error) {
	var keys bsn.Keys
	var err error
	if keys.Encryption, err = bsn.ParseKey(cfg.BSNEncryptionKey); err != nil {
		return nil, fmt.Errorf("WIJKBRUG_BSN_ENCRYPTION_KEY: %w", err)
	}
	if keys.Index, err = bsn.ParseKey(cfg.BSNIndexKey); err != nil {
		return nil, fmt.Errorf("WIJKBRUG_BSN_INDEX_KEY: %w", err)
	}
	if keys.Pseudonym, err = bsn.ParseKey(cfg.PseudonymKey); err != nil {
		return nil, fmt.Errorf("WIJKBRUG_PSEUDONYM_KEY: %w", err)
	}
	keys.Encryption = keys.Encryption[:32]
	if cfg.BSNEncryptionKeyID == 0 {
		cfg.BSNEncryptionKeyID = 1 // configs built in code (all-in-one, tests) may leave it out
	}
	if cfg.BSNEncryptionKeyID < 1 || cfg.BSNEncryptionKeyID > 255 {
		return nil, errors.New("WIJKBRUG_BSN_ENCRYPTION_KEY_ID must be 1-255")
	}
	keys.EncryptionKeyID = byte(cfg.BSNEncryptionKeyID)
	if cfg.BSNPreviousKeys != "" {
		keys.Previous = map[byte][]byte{}
		for _, item := range strings.Split(cfg.BSNPreviousKeys, ",") {
			idText, b64, ok := strings.Cut(strings.TrimSpace(item), ":")
			id, err := strconv.Atoi(idText)
			if !ok || err != nil || id < 1 || id > 255 {
				return nil, errors.New("WIJKBRUG_BSN_PREVIOUS_KEYS: want id:base64,id:base64")
			}
			k, err := bsn.ParseKey(b64)
			if err != nil {
				return nil, fmt.Errorf("WIJKBRUG_BSN_PREVIOUS_KEYS key %d: %w", id, err)
			}
			keys.Previous[byte(id)] = k[:32]
		}
	}
	return bsn.NewProtector(keys)
}

// parseLevel reads WIJKBRUG_LOG_LEVEL: debug, info, warn or error (empty: info).
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("WIJKBRUG_LOG_LEVEL (-log-level) is %q: debug, info, warn or error", s)
}

// Seed loads data into a service's database outside a running service (demo data, fixtures
// for tools): it migrates first unless the schema is already current (pgxdb.Current), so it
// works before or after the service starts, and runs fn in one transaction. fn must be
// idempotent.
func Seed(ctx context.Context, spec Spec, dsn string, fn func(ctx context.Context, db *pgxdb.DB) error) error {
	db, err := pgxdb.Open(ctx, dsn, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	current, err := pgxdb.Current(ctx, db.Pool, platformdb.Migrations(), spec.Migrations)
	if err != nil {
		return err
	}
	if !current {
		if err := Migrate(ctx, spec, dsn); err != nil {
			return err
		}
	}
	return db.Tx(ctx, func(ctx context.Context) error { return fn(ctx, db) })
}
