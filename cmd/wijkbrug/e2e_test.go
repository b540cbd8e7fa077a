package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const residentBSN = "111222333"

// recorder collects every event of every Wijkbrug stream, as an integrator would see them.
type recorder struct {
	mu     sync.Mutex
	events []recorded
}

type recorded struct {
	subject string
	env     cloudevents.Envelope
	msg     proto.Message
}

// gpSignalRequest is the walking skeleton's signal: the demo GP about a resident with problems
// in three life domains, which triage opens case direction for.
func gpSignalRequest(key string) *referralv1.SubmitSignalRequest {
	return &referralv1.SubmitSignalRequest{
		IdempotencyKey: key, SourceType: referralv1.SourceType_SOURCE_TYPE_GP, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO,
		ResidentBsn: residentBSN, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_MENTAL_HEALTH, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
		Category:    "multiple problems", Description: "Patient has debts and is isolated",
	}
}

// housingSignalRequest is the demo housing corporation's signal of rent arrears (Wgs).
func housingSignalRequest(key string) *referralv1.SubmitSignalRequest {
	return &referralv1.SubmitSignalRequest{
		IdempotencyKey: key, SourceType: referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WGS,
		ResidentBsn: residentBSN, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING},
		Category:    "rent arrears", Arrears: &referralv1.Arrears{AmountCents: 245000, Months: 3},
	}
}

func record(t *testing.T, s *suite.Suite) *recorder {
	t.Helper()
	js := jetStreamAs(t, s, s.Observer)
	r := &recorder{}
	for _, svc := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		stream, err := natsx.WaitForStream(ctx, js, natsx.StreamName(svc))
		cancel()
		if err != nil {
			t.Fatalf("stream %s: %v", svc, err)
		}
		cons, err := stream.OrderedConsumer(context.Background(), jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			env, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
			if err != nil {
				t.Errorf("not a CloudEvent on %s: %v", m.Subject(), err)
				return
			}
			msg, err := env.Decode()
			if err != nil {
				t.Errorf("undecodable event %s: %v", env.Type, err)
				return
			}
			r.mu.Lock()
			r.events = append(r.events, recorded{m.Subject(), env, msg})
			r.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cc.Stop)
	}
	return r
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.events...)
}

func (r *recorder) wait(t *testing.T, what string, match func(recorded) bool) recorded {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range r.all() {
			if match(e) {
				return e
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	var seen []string
	for _, e := range r.all() {
		seen = append(seen, e.subject)
	}
	t.Fatalf("no %s within 20 s; saw: %s", what, strings.Join(seen, ", "))
	return recorded{}
}

// startSuite starts an ephemeral suite, as make run EPHEMERAL=1 does, with opts' other
// settings, and stops it when the test ends. ctx ends then too, or after limit: it bounds
// everything the test does with the suite.
func startSuite(t *testing.T, limit time.Duration, opts suite.Options) (context.Context, *suite.Suite) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	opts.Ephemeral = true
	s, err := suite.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start suite: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		// An ephemeral suite leaves nothing behind: its directory goes once PostgreSQL and
		// NATS have stopped writing into it.
		if _, err := os.Stat(s.DataDir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the ephemeral suite's data directory %s is still there after Stop (%v)", s.DataDir, err)
		}
	})
	return ctx, s
}

// jetStreamAs connects to the suite's NATS as p (a partner, or s.Observer) until the test ends.
func jetStreamAs(t *testing.T, s *suite.Suite, p suite.Partner) jetstream.JetStream {
	t.Helper()
	nc, err := s.ConnectNATS(p)
	if err != nil {
		t.Fatalf("%s connects to NATS: %v", p.Key, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func dialAs(t *testing.T, s *suite.Suite, partner, addr string) *grpc.ClientConn {
	t.Helper()
	p := s.Partners[partner]
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return dialWithCert(t, s, cert, addr)
}

// dialWithCert connects to addr with a client certificate, trusting the suite's CA.
func dialWithCert(t *testing.T, s *suite.Suite, cert tls.Certificate, addr string) *grpc.ClientConn {
	t.Helper()
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cc, err := grpcx.Dial(addr, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func acting(t *testing.T, user, role, purpose string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return grpcx.ActingUser(ctx, user, role, purpose)
}

func queryOne[T any](t *testing.T, dsn, sql string, args ...any) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// TestWalkingSkeleton follows a GP's signal through all four services: referral → intake
// (triage) → case-direction → provider-monitoring → feedback to the GP only.
func TestWalkingSkeleton(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	ctx, s := startSuite(t, 2*time.Minute, suite.Options{LogLevel: "debug", LogOutput: logs})
	t.Logf("suite serving %s after start", s.StartedIn)
	events := record(t, s)

	// Health, reflection and mTLS on every service.
	for _, e := range s.Services {
		cc := dialAs(t, s, "gp", e.Addr)
		h, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: e.Service})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%s health: %v %v", e.Name, h, err)
		}
		stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, svc := range resp.GetListServicesResponse().GetService() {
			names = append(names, svc.GetName())
		}
		if !strings.Contains(strings.Join(names, ","), e.Service) {
			t.Fatalf("%s reflection lists %v", e.Name, names)
		}
		_ = stream.CloseSend()
		noCert, err := grpc.NewClient(e.Addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})))
		if err != nil {
			t.Fatal(err)
		}
		// Refused at once, with a message that says what is missing (not a retried handshake
		// ending in "context deadline exceeded").
		began := time.Now()
		if _, err := healthpb.NewHealthClient(noCert).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "no client certificate") {
			t.Fatalf("%s: a call without a client certificate must be refused, got %v", e.Name, err)
		}
		if d := time.Since(began); d > 3*time.Second {
			t.Fatalf("%s: refusing a call without a client certificate took %s", e.Name, d)
		}
		for _, name := range []string{e.Service, e.Name} {
			r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: name})
			if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("%s: health of %q: %v %v", e.Name, name, r, err)
			}
		}
		_ = noCert.Close()
	}

	// 1. The GP submits a signal about a resident with problems in three life domains.
	gp := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", s.Endpoint("referral").Addr))
	gpCtx := acting(t, "dr-jansen", "gp", "signal")
	submitted, err := gp.SubmitSignal(gpCtx, gpSignalRequest("e2e-1"))
	if err != nil {
		t.Fatalf("submit signal: %v", err)
	}
	signalID := submitted.GetSignalId()

	// 2-3. Intake registers an intake, triage sends it to case direction, a case is opened.
	intakeEv := events.wait(t, "intake.case_opened", func(r recorded) bool {
		m, ok := r.msg.(*intakev1.IntakeCaseOpened)
		return ok && len(m.GetSignalIds()) == 1 && m.GetSignalIds()[0] == signalID
	})
	caseID := intakeEv.msg.(*intakev1.IntakeCaseOpened).GetCaseId()
	intakeID := intakeEv.msg.(*intakev1.IntakeCaseOpened).GetIntakeId()
	events.wait(t, "case.opened", func(r recorded) bool {
		m, ok := r.msg.(*casedirectionv1.CaseOpened)
		return ok && m.GetCaseId() == caseID && m.GetIntakeId() == intakeID && m.GetTeamOin() == suite.DemoTeam.OIN
	})
	events.wait(t, "intake.triaged naming its rule", func(r recorded) bool {
		m, ok := r.msg.(*intakev1.IntakeTriaged)
		return ok && m.GetIntakeId() == intakeID && m.GetOutcome() == intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION && m.GetRule() != ""
	})

	// 4. The team's director takes the case and allocates custom care.
	team := casedirectionv1.NewCaseDirectionServiceClient(dialAs(t, s, "team", s.Endpoint("casedirection").Addr))
	teamCtx := acting(t, "regisseur-anna", "case_director", "case-direction")
	got, err := team.GetCase(teamCtx, &casedirectionv1.GetCaseRequest{CaseId: caseID})
	if err != nil || got.GetCase().GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_REGISTERED {
		t.Fatalf("get case: %v %v", got, err)
	}
	if _, err := team.AssignDirector(teamCtx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "e2e-dir", CaseId: caseID, ProfessionalId: "regisseur-anna"}); err != nil {
		t.Fatalf("assign director: %v", err)
	}
	today := nowNL().Format(time.DateOnly)
	alloc, err := team.RequestAllocation(teamCtx, &casedirectionv1.RequestAllocationRequest{
		IdempotencyKey: "e2e-alloc", CaseId: caseID, ProviderAgb: suite.DemoProviderAGB,
		ProductCategory: suite.DemoProductCategory, ProductCode: suite.DemoProductCode,
		StartDate: today, EndDate: nowNL().AddDate(0, 3, 0).Format(time.DateOnly),
		Volume: hoursPerWeek(4),
	})
	if err != nil {
		t.Fatalf("request allocation: %v", err)
	}
	number := alloc.GetAllocationNumber()

	// 5. The provider reports the start of care.
	provider := providermonitoringv1.NewProviderMonitoringServiceClient(dialAs(t, s, "provider", s.Endpoint("providermonitoring").Addr))
	started, err := provider.ReportDeliveryStarted(acting(t, "zorg-piet", "care_coordinator", "care-delivery"),
		&providermonitoringv1.ReportDeliveryStartedRequest{IdempotencyKey: "e2e-start", AllocationNumber: number, StartedOn: today})
	if err != nil {
		t.Fatalf("report start: %v", err)
	}
	if started.GetAllocation().GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_STARTED || !started.GetAllocation().GetStartReportedOnTime() {
		t.Fatalf("allocation after start: %v", started.GetAllocation())
	}
	events.wait(t, "allocation.delivery_started", func(r recorded) bool {
		m, ok := r.msg.(*providermonitoringv1.AllocationDeliveryStarted)
		return ok && m.GetAllocationNumber() == number && m.GetCaseId() == caseID
	})

	// 6. The GP hears back, on its own subject only.
	fb := events.wait(t, "feedback to the GP", func(r recorded) bool {
		m, ok := r.msg.(*referralv1.SignalFedBack)
		return ok && m.GetSignalId() == signalID && m.GetFeedback() == referralv1.Feedback_FEEDBACK_TAKEN_INTO_CASE_DIRECTION
	})
	if want := "wijkbrug.referral.feedback." + suite.DemoGP.OIN + ".signal.fed_back"; fb.subject != want {
		t.Fatalf("feedback on %s, want %s", fb.subject, want)
	}
	for _, e := range events.all() {
		if strings.Contains(e.subject, ".feedback.") && !strings.Contains(e.subject, suite.DemoGP.OIN) {
			t.Fatalf("feedback went to another organisation: %s", e.subject)
		}
	}
	sig, err := gp.GetSignal(gpCtx, &referralv1.GetSignalRequest{SignalId: signalID})
	if err != nil || sig.GetSignal().GetStatus() != referralv1.SignalStatus_SIGNAL_STATUS_FED_BACK {
		t.Fatalf("signal after feedback: %v %v", sig, err)
	}
	housing := referralv1.NewReferralServiceClient(dialAs(t, s, "housing", s.Endpoint("referral").Addr))
	if _, err := housing.GetSignal(acting(t, "medewerker", "housing_officer", "signal"), &referralv1.GetSignalRequest{SignalId: signalID}); status.Code(err) != codes.NotFound {
		t.Fatalf("another partner must not see the GP's signal: %v", err)
	}

	// Case direction learns that care started (consumer of provider-monitoring's events).
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := team.GetCase(teamCtx, &casedirectionv1.GetCaseRequest{CaseId: caseID})
		if err == nil && c.GetCase().GetStatus() == casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE &&
			len(c.GetCase().GetAllocations()) == 1 && c.GetCase().GetAllocations()[0].GetStatus() == commonv1.AllocationStatus_ALLOCATION_STATUS_STARTED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("case never showed the started allocation: %v %v", c, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The rows agree, in each service's own database.
	if st := queryOne[string](t, s.Postgres.DSN("intake"), `SELECT status FROM intakes WHERE id = $1`, intakeID); st != "CASE_OPENED" {
		t.Fatalf("intake row status %s", st)
	}
	if st := queryOne[string](t, s.Postgres.DSN("referral"), `SELECT status FROM signals WHERE id = $1`, signalID); st != "FED_BACK" {
		t.Fatalf("signal row status %s", st)
	}
	if st := queryOne[string](t, s.Postgres.DSN("providermonitoring"), `SELECT status FROM allocations WHERE number = $1`, number); st != "STARTED" {
		t.Fatalf("allocation row status %s", st)
	}
	if n := queryOne[int64](t, s.Postgres.DSN("casedirection"), `SELECT count(*) FROM cases WHERE id = $1`, caseID); n != 1 {
		t.Fatalf("case rows %d", n)
	}
	for _, db := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		if n := queryOne[int64](t, s.Postgres.DSN(db), `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 0 {
			t.Errorf("%s has %d unpublished events", db, n)
		}
		if n := queryOne[int64](t, s.Postgres.DSN(db), `SELECT count(*) FROM access_log_entries`); n == 0 {
			t.Errorf("%s wrote no access-log entries", db)
		}
	}
	// Each service works as its own database's application role, which has nothing in another
	// service's database (as in production: deploy/postgres/cluster.yaml).
	for _, db := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		_, app := embeddedpg.DatabaseRoles(db)
		users := queryOne[[]string](t, s.Postgres.DSN(db), `SELECT array_agg(DISTINCT usename) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2`, db, db+"%")
		if len(users) != 1 || users[0] != app {
			t.Errorf("%s's sessions are %v, want only %s", db, users, app)
		}
	}
	for _, probe := range []struct{ role, db, sql string }{
		{"intake_app", "referral", `SELECT count(*) FROM signals`},
		{"referral_app", "intake", `SELECT count(*) FROM intakes`},
		{"referral_owner", "casedirection", `SELECT count(*) FROM cases`},
	} {
		conn, err := pgx.Connect(t.Context(), s.Postgres.DSNAs(probe.role, probe.db))
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(t.Context(), probe.sql)
		_ = conn.Close(t.Context())
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s on %s: %s: %v, want SQLSTATE 42501", probe.role, probe.db, probe.sql, err)
		}
	}
	// Every service's access log is sealed into an intact hash chain.
	for _, db := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		deadline := time.Now().Add(10 * time.Second)
		for queryOne[int64](t, s.Postgres.DSN(db), `SELECT count(*) FROM access_log_entries WHERE seal_seq IS NULL`) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: access log not sealed within 10 s", db)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var out strings.Builder
		key, err := suite.ReadAccessLogKey(s.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		cfg := svc.Config{DatabaseURL: s.Postgres.DSN(db), AccessLogKey: key, AccessLogKeyID: 1}
		err = svc.VerifyAccessLog(ctx, db, cfg, jetStreamAs(t, s, s.Observer), &out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", db, err, out.String())
		}
	}
	// The resident's right of access: who looked, and why in the register's words.
	var history strings.Builder
	conf, err := privacyOfficerTLS(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, name := range historyServices {
		addrs = append(addrs, s.Endpoint(name).Addr)
	}
	if err := printAccessHistory(ctx, conf, addrs, residentBSN, &history); err != nil {
		t.Fatalf("access-history: %v", err)
	}
	for _, want := range []string{"referral.signal.create", "dr-jansen (gp)", " NEW_RECORD ", "purposes (register of processing activities):",
		"signal               signalling: a partner reports concerns", "signal-intake        a signal becomes an intake"} {
		if !strings.Contains(history.String(), want) {
			t.Errorf("access-history lacks %q:\n%s", want, history.String())
		}
	}
	checkOperations(t, s, logs.Bytes())
	checkOutcomeWalkthrough(t, s)
	// No plaintext BSN in any database dump, log line or stream message.
	scanForBSNs(t, s, logs.Bytes(), []string{residentBSN})
	// Events are information-poor: no BSN, no free text anywhere on the streams.
	for _, e := range events.all() {
		raw := string(e.env.Data)
		if strings.Contains(raw, residentBSN) || strings.Contains(raw, "debts") {
			t.Fatalf("event %s on %s carries personal data", e.env.Type, e.subject)
		}
	}
}

// purposeFor is a processing activity of the register (authz.Activities) that fits what the
// probes' callers of organisation type typ do: the register refuses any other purpose.
func purposeFor(typ string) string {
	switch identity.OrgType(typ) {
	case identity.OrgTeam, identity.OrgMunicipality, identity.OrgService:
		return "case-direction"
	case identity.OrgProvider:
		return "care-delivery"
	case identity.OrgIntegrator:
		return "event-delivery"
	}
	return "case-consultation"
}
