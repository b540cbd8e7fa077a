package svc_test

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// emptySpec is a service with no RPCs of its own: enough to test the runtime.
func emptySpec() svc.Spec {
	return svc.Spec{
		Name:       "emptytest",
		Migrations: pgxdb.MigrationSet{Name: "emptytest", FS: fstest.MapFS{"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n")}}},
		Policy:     authz.Policy{},
		// The runtime's emergency-access tests grant on cases.
		EmergencyTypes: []string{"case"},
		Setup: func(context.Context, *svc.Platform) (*svc.Wiring, error) {
			return &svc.Wiring{Register: func(grpc.ServiceRegistrar) {}}, nil
		},
	}
}

func TestMigrateCommandThenServeWithoutNATS(t *testing.T) {
	env := svctest.New(t)
	spec := emptySpec()
	dsn := testkit.NewDatabase(t, "emptytest-bare", func(context.Context, string) error { return nil })

	// The migrate subcommand, as Kubernetes runs it (configuration from the environment).
	t.Setenv("WIJKBRUG_DATABASE_URL", dsn)
	var out strings.Builder
	if err := svc.RunCommand(spec, []string{"migrate"}, &out); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out.String(), "emptytest migrate emptytest: applied 00001_t.sql; now at version 1") ||
		!strings.Contains(out.String(), "emptytest migrate platform: applied 00001_") {
		t.Fatalf("migrate must report what it applied, said:\n%s", out.String())
	}
	out.Reset()
	if err := svc.RunCommand(spec, []string{"migrate", "extra"}, &out); err == nil || !strings.Contains(err.Error(), `takes flags only, not "extra"`) {
		t.Fatalf("a stray word after migrate: %v", err)
	}
	if err := svc.RunCommand(spec, []string{"migrate"}, &out); err != nil {
		t.Fatalf("migrating twice must be a no-op: %v", err)
	}
	if !strings.Contains(out.String(), "emptytest migrate emptytest: up to date at version 1") {
		t.Fatalf("a second migrate must say the database is up to date, said:\n%s", out.String())
	}
	// With the encryption keys, migrate seals what an earlier release stored in clear (an
	// emergency grant's reason) and then finds everything under the current key.
	owner, err := pgxdb.Open(context.Background(), dsn, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Pool.Exec(context.Background(), `INSERT INTO emergency_grants (id, object_type, object_id, org_oin, user_id, role, reason, granted_at, expires_at)
		VALUES (gen_random_uuid(), 'case', 'c-1', '00000001000000000100', 'anna', 'r', 'stored in clear by an earlier release', now(), now())`); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"WIJKBRUG_BSN_ENCRYPTION_KEY", "WIJKBRUG_BSN_INDEX_KEY", "WIJKBRUG_PSEUDONYM_KEY"} {
		t.Setenv(k, base64.StdEncoding.EncodeToString([]byte(strings.Repeat(k[len(k)-3:], 11))))
	}
	for _, want := range []string{
		"emptytest migrate: emergency_grants.reason_enc: 0 re-encrypted under the current key, 1 sealed that were stored in clear",
		"emptytest migrate: every encrypted value is under the current key (id 1)",
	} {
		out.Reset()
		if err := svc.RunCommand(spec, []string{"migrate"}, &out); err != nil || !strings.Contains(out.String(), want) {
			t.Fatalf("migrate with the keys: %v, want %q, said:\n%s", err, want, out.String())
		}
	}
	var clear string
	if err := owner.Pool.QueryRow(context.Background(), `SELECT reason FROM emergency_grants WHERE reason_enc IS NOT NULL`).Scan(&clear); err != nil || clear != "" {
		t.Fatalf("the reason after migrate: %q %v", clear, err)
	}
	// Another key under the same id (a typing error in a rotation) stops migrate, naming it.
	t.Setenv("WIJKBRUG_BSN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("xyz", 11))))
	if err := svc.RunCommand(spec, []string{"migrate"}, &out); err == nil || !strings.Contains(err.Error(), "WIJKBRUG_BSN_ENCRYPTION_KEY") ||
		!strings.Contains(err.Error(), "not the key that sealed them") {
		t.Fatalf("migrate with another key under id 1: %v", err)
	}

	// Nor does the service serve with it: it stops before it first answers, naming the
	// setting (it served, and every read of sealed data was INTERNAL). The test's own keys
	// sealed the reason; the environment's are another key under the same id.
	wrongKey := env.Config(t, spec, dsn)
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	servedWithWrongKey := false
	err = svc.Run(rctx, spec, wrongKey, svc.Hooks{LogOutput: io.Discard, OnServing: func(string, string) { servedWithWrongKey = true }})
	if err == nil || !strings.Contains(err.Error(), "WIJKBRUG_BSN_ENCRYPTION_KEY") || !strings.Contains(err.Error(), "not the key that sealed them") || rctx.Err() != nil {
		t.Fatalf("serving with another key under id 1: %v (deadline passed: %v)", err, rctx.Err() != nil)
	}
	if servedWithWrongKey {
		t.Fatal("the service served with a key that does not open its data")
	}

	// A service that migrates on start re-encrypts too, once it serves, NATS or not: a reason
	// in clear (the suite's own keys seal nothing else here) is sealed while NATS is down.
	if _, err := owner.Pool.Exec(context.Background(), `DELETE FROM emergency_grants`); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Pool.Exec(context.Background(), `INSERT INTO emergency_grants (id, object_type, object_id, org_oin, user_id, role, reason, granted_at, expires_at)
		VALUES (gen_random_uuid(), 'case', 'c-2', '00000001000000000100', 'anna', 'r', 'left in clear again', now(), now())`); err != nil {
		t.Fatal(err)
	}

	// NATS is down when the service starts: it serves (writes go to the outbox) and reports
	// NATS as a dependency detail until the broker is there and its stream is declared.
	env.NATS.Stop()
	cfg := env.Config(t, spec, dsn)
	cfg.MigrateOnStart = true
	// The address is known before the start (the client below dials it while the service
	// comes up), and bound now: a port only named could be taken before the service binds it.
	gl, err := netport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	lis := gl.Addr().String()
	cfg.GRPCAddr = lis
	hooks := svc.Hooks{Listen: func(addr string) (net.Listener, error) {
		if addr == lis {
			return gl, nil
		}
		return net.Listen("tcp", addr)
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, spec, cfg, hooks) }()
	health := healthpb.NewHealthClient(env.Client(t, lis, svctest.Org(identity.OrgTeam, "Team")))
	status := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := health.Check(c, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return r.GetStatus()
	}
	waitFor := func(service string, want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for status(service) != want {
			if time.Now().After(deadline) {
				t.Fatalf("health of %q never became %v", service, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	natsDetail := grpcx.DependencyHealthPrefix + "nats"
	waitFor("", healthpb.HealthCheckResponse_SERVING)
	if s := status(natsDetail); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("without NATS the nats detail must be NOT_SERVING, is %v", s)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		var sealed bool
		if err := owner.Pool.QueryRow(context.Background(), `SELECT reason_enc IS NOT NULL AND reason = '' FROM emergency_grants WHERE object_id = 'c-2'`).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if sealed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a service that migrates on start never sealed the reason left in clear")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := env.NATS.StartAgain(); err != nil {
		t.Fatal(err)
	}
	waitFor(natsDetail, healthpb.HealthCheckResponse_SERVING)
	waitFor("", healthpb.HealthCheckResponse_SERVING)

	// Shutdown ends Run without error.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("service did not stop")
	}
}

func TestResidentAccessHistory(t *testing.T) {
	env := svctest.New(t)
	s := env.Start(t, emptySpec(), nil)
	prot, err := bsn.NewProtector(bsn.Keys{Encryption: mustKey(t, s.Config.BSNEncryptionKey), Index: mustKey(t, s.Config.BSNIndexKey), Pseudonym: mustKey(t, s.Config.PseudonymKey)})
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgxdb.Open(context.Background(), s.DSN, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logger := logstore.New(db, "emptytest")
	gp := identity.WithCaller(context.Background(), identity.Caller{Org: identity.Organisation{OIN: "00000001000000000200", Type: identity.OrgGP}, User: "dr", Role: "gp", Purpose: "care"})
	for i := 0; i < 5; i++ {
		if err := logger.Record(gp, accesslog.Entry{Action: "x.read", ObjectType: "x", ObjectID: strconv.Itoa(i), ResidentPseudonym: prot.Pseudonym("111222333"), Route: accesslog.RouteOwnRecord}); err != nil {
			t.Fatal(err)
		}
	}
	if err := logger.Record(gp, accesslog.Entry{Action: "x.read", ObjectType: "x", ObjectID: "other", ResidentPseudonym: prot.Pseudonym("123456782"), Route: accesslog.RouteOwnRecord}); err != nil {
		t.Fatal(err)
	}
	officer := accesslogv1.NewAccessLogServiceClient(env.Client(t, s.Addr, svctest.Org(identity.OrgMunicipality, "Gemeente Demo")))
	ctx := grpcx.ActingUser(context.Background(), "fg-1", "privacy_officer", "right-of-access")
	page1, err := officer.ListResidentAccess(ctx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: "111222333", PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1.GetEntries()) != 3 || page1.GetNextPageToken() == "" || page1.GetEntries()[0].GetObjectId() != "4" || page1.GetEntries()[0].GetOrganisationOin() != "00000001000000000200" {
		t.Fatalf("page 1: %v", page1)
	}
	page2, err := officer.ListResidentAccess(ctx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: "111222333", PageSize: 3, PageToken: page1.GetNextPageToken()})
	if err != nil || len(page2.GetEntries()) != 2 || page2.GetNextPageToken() != "" || page2.GetEntries()[1].GetObjectId() != "0" {
		t.Fatalf("page 2: %v %v", page2, err)
	}
	// The read itself is now in the log, for the same resident.
	again, err := officer.ListResidentAccess(ctx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: "111222333"})
	if err != nil || again.GetEntries()[0].GetAction() != "accesslog.resident_access.read" || again.GetEntries()[0].GetUser() != "fg-1" {
		t.Fatalf("the right-of-access read must be logged: %v %v", again, err)
	}
	clerk := grpcx.ActingUser(context.Background(), "clerk", "front_office", "right-of-access")
	if _, err := officer.ListResidentAccess(clerk, &accesslogv1.ListResidentAccessRequest{ResidentBsn: "111222333"}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("wrong role: %v", err)
	}
	team := accesslogv1.NewAccessLogServiceClient(env.Client(t, s.Addr, svctest.Org(identity.OrgTeam, "Team")))
	if _, err := team.ListResidentAccess(ctx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: "111222333"}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("a team may not read the access log: %v", err)
	}
	if _, err := officer.ListResidentAccess(ctx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: "123456789"}); grpcstatus.Code(err) != codes.InvalidArgument {
		t.Fatalf("invalid BSN: %v", err)
	}
	otherMunicipality := accesslogv1.NewAccessLogServiceClient(env.Client(t, s.Addr, svctest.Org(identity.OrgMunicipality, "Gemeente Elders")))
	if _, err := otherMunicipality.ListResidentAccess(ctx, &accesslogv1.ListResidentAccessRequest{ResidentBsn: "111222333"}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("a privacy officer of an organisation not configured for this deployment: %v", err)
	}
	if _, err := otherMunicipality.ListEmergencyAccess(ctx, &accesslogv1.ListEmergencyAccessRequest{}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("emergency grants to another municipality: %v", err)
	}
}

func mustKey(t *testing.T, b64 string) []byte {
	t.Helper()
	k, err := bsn.ParseKey(b64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEmergencyAccess(t *testing.T) {
	env := svctest.New(t)
	s := env.Start(t, emptySpec(), nil)
	db, err := pgxdb.Open(context.Background(), s.DSN, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	teamOrg := svctest.Org(identity.OrgTeam, "Team Noord")
	team := accesslogv1.NewAccessLogServiceClient(env.Client(t, s.Addr, teamOrg))
	ctx := grpcx.ActingUser(context.Background(), "anna", "case_director", "case-direction")
	if _, err := team.StartEmergencyAccess(ctx, &accesslogv1.StartEmergencyAccessRequest{IdempotencyKey: "e1", ObjectType: "case", ObjectId: "c-1", Reason: "urgent"}); grpcstatus.Code(err) != codes.InvalidArgument {
		t.Fatalf("a short reason must be refused: %v", err)
	}
	resp, err := team.StartEmergencyAccess(ctx, &accesslogv1.StartEmergencyAccessRequest{IdempotencyKey: "e2", ObjectType: "case", ObjectId: "c-1",
		Reason: "resident in acute danger, own team unreachable at night", DurationMinutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.GetGrant().GetExpiresAt().AsTime().Sub(resp.GetGrant().GetGrantedAt().AsTime()); d != 30*time.Minute {
		t.Fatalf("grant lasts %s", d)
	}
	logger := logstore.New(db, "emptytest")
	as := func(user string) context.Context {
		return identity.WithCaller(context.Background(), identity.Caller{Org: identity.Organisation{OIN: teamOrg.OIN, Type: identity.OrgTeam}, User: user, Role: "r", Purpose: "p"})
	}
	if ok, err := logger.EmergencyGrant(as("anna"), "case", "c-1"); err != nil || !ok {
		t.Fatalf("the grant must hold for its user and record: %v %v", ok, err)
	}
	for _, probe := range []struct{ user, object string }{{"bert", "c-1"}, {"anna", "c-2"}} {
		if ok, _ := logger.EmergencyGrant(as(probe.user), "case", probe.object); ok {
			t.Fatalf("grant leaked to %v", probe)
		}
	}
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO emergency_grants VALUES (gen_random_uuid(), 'case', 'c-9', $1, 'anna', 'r', 'expired one, long enough reason', now() - interval '2 hours', now() - interval '1 hour')`, teamOrg.OIN); err != nil {
		t.Fatal(err)
	}
	if ok, _ := logger.EmergencyGrant(as("anna"), "case", "c-9"); ok {
		t.Fatal("an expired grant must not hold")
	}
	var flagged int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM access_log WHERE route = 'EMERGENCY' AND object_id = 'c-1'`).Scan(&flagged); err != nil || flagged != 1 {
		t.Fatalf("the grant must be flagged in the access log: %d %v", flagged, err)
	}
	officer := accesslogv1.NewAccessLogServiceClient(env.Client(t, s.Addr, svctest.Org(identity.OrgMunicipality, "Gemeente Demo")))
	list, err := officer.ListEmergencyAccess(grpcx.ActingUser(context.Background(), "fg", "privacy_officer", "access-supervision"), &accesslogv1.ListEmergencyAccessRequest{})
	if err != nil || len(list.GetGrants()) != 2 || list.GetGrants()[0].GetReason() == "" {
		t.Fatalf("review list: %v %v", list, err)
	}
	if _, err := team.ListEmergencyAccess(ctx, &accesslogv1.ListEmergencyAccessRequest{}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("a team may not review grants: %v", err)
	}
	// Grants name residents' records and say why: not reviewed, nor started, under a purpose
	// that processes no residents' data (a probe reviewed them under mandates).
	if _, err := officer.ListEmergencyAccess(grpcx.ActingUser(context.Background(), "fg", "privacy_officer", "mandates"), &accesslogv1.ListEmergencyAccessRequest{}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("reviewing grants under mandates: %v", err)
	}
	if _, err := team.StartEmergencyAccess(grpcx.ActingUser(context.Background(), "anna", "case_director", "collective-work"), &accesslogv1.StartEmergencyAccessRequest{
		IdempotencyKey: "e3", ObjectType: "case", ObjectId: "c-3", Reason: "resident in acute danger, own team unreachable at night"}); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("a grant under collective-work: %v", err)
	}
}

// Values that do not parse are named together with those out of range (they had stopped the
// start first, alone: a recheck probe, thirty-fourth session), each with its variable, flag and
// value.
func TestBadAndOutOfRangeSettingsAreNamedTogether(t *testing.T) {
	for k, v := range map[string]string{"WIJKBRUG_LOG_LEVEL": "verbose", "WIJKBRUG_MAX_CALL_DURATION": "5m", "WIJKBRUG_ACCESSLOG_KEY_ID": "300",
		"WIJKBRUG_RATE_LIMIT": "abc", "WIJKBRUG_RATE_BURST": "xyz", "WIJKBRUG_SHUTDOWN_GRACE": "soon"} {
		t.Setenv(k, v)
	}
	err := svc.RunCommand(emptySpec(), nil, io.Discard)
	for _, want := range []string{`WIJKBRUG_RATE_LIMIT (-rate-limit) is "abc": not a whole number`, `WIJKBRUG_RATE_BURST (-rate-burst) is "xyz"`,
		`WIJKBRUG_SHUTDOWN_GRACE (-shutdown-grace) is "soon": not a duration`, "WIJKBRUG_LOG_LEVEL", "WIJKBRUG_MAX_CALL_DURATION (-max-call-duration)", "WIJKBRUG_ACCESSLOG_KEY_ID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s: %v", want, err)
		}
	}
}

// Every command refuses a setting out of range, not only serve: an init container running
// migrate passed with a log level its service then refused.
func TestEveryCommandRefusesSettingsOutOfRange(t *testing.T) {
	t.Setenv("WIJKBRUG_LOG_LEVEL", "verbose")
	t.Setenv("WIJKBRUG_MAX_CALL_DURATION", "5m")
	for _, cmd := range []string{"migrate", "verify-accesslog"} {
		err := svc.RunCommand(emptySpec(), []string{cmd}, io.Discard)
		for _, want := range []string{"WIJKBRUG_LOG_LEVEL", "WIJKBRUG_MAX_CALL_DURATION (-max-call-duration)"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: the error does not name %s: %v", cmd, want, err)
			}
		}
	}
}

// A setting out of range stops the service before it starts, every one named at once (they
// had been accepted without a word: a negative retention kept rows for ever, seven replicas
// retried the stream for ever while the service reported ready).
func TestSettingsOutOfRangeAreRefused(t *testing.T) {
	// The log level, the call cap, the idempotency retention, the access-log key id and the
	// consumer workers were checked one after the other, each stopping the start on its own
	// (README probe, thirty-fourth session); the access-log key id only when the key was read.
	cfg := svc.Config{LogLevel: "verbose", StreamReplicas: 7, ConsumerBatch: -1, OutboxRetention: -time.Hour,
		RateLimit: -1, ShutdownGrace: -time.Second, BSNEncryptionKeyID: 256, DatabaseConns: -2,
		MaxCallDuration: 5 * time.Minute, IdempotencyRetention: time.Hour, AccessLogKeyID: 300, ConsumerWorkers: -1,
		ConsumerLinger: 2 * time.Second}
	err := svc.Run(context.Background(), emptySpec(), cfg, svc.Hooks{LogOutput: io.Discard})
	if err == nil {
		t.Fatal("settings out of range were accepted")
	}
	for _, name := range []string{"WIJKBRUG_STREAM_REPLICAS", "WIJKBRUG_CONSUMER_BATCH", "WIJKBRUG_OUTBOX_RETENTION", "WIJKBRUG_RATE_LIMIT",
		"WIJKBRUG_SHUTDOWN_GRACE", "WIJKBRUG_BSN_ENCRYPTION_KEY_ID", "WIJKBRUG_DATABASE_MAX_CONNS", "WIJKBRUG_LOG_LEVEL",
		"WIJKBRUG_MAX_CALL_DURATION", "WIJKBRUG_IDEMPOTENCY_RETENTION", "WIJKBRUG_ACCESSLOG_KEY_ID", "WIJKBRUG_CONSUMER_WORKERS",
		"WIJKBRUG_CONSUMER_LINGER"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
}

// Run starts making its service's database-free parts (svc.Warm: the validator, the REST
// edge's document, the Spec's own Warm) as it begins, so that they are ready by the time the
// service's migrations are done; even a start that fails at once has begun them.
func TestRunWarmsItsServiceAsItBegins(t *testing.T) {
	spec := emptySpec()
	warmed := make(chan struct{})
	var once sync.Once
	spec.Warm = func() { once.Do(func() { close(warmed) }) }
	if err := svc.Run(context.Background(), spec, svc.Config{LogLevel: "verbose"}, svc.Hooks{LogOutput: io.Discard}); err == nil {
		t.Fatal("a log level out of range was accepted")
	}
	select {
	case <-warmed:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not warm its service")
	}
}

// A service stops before it serves or starts any job, naming WIJKBRUG_DATABASE_URL, when the
// database is not its own at its version: another service's (an operator probe gave a replica
// the intake database: it waited not ready for good without a word on the setting, and relayed,
// consumed and parked events in intake's tables meanwhile), one never migrated, or one whose
// schema is older than the binary. Its relay did not publish the other service's outbox.
func TestAnotherServicesDatabaseIsRefused(t *testing.T) {
	env := svctest.New(t)
	spec := emptySpec()
	other := emptySpec()
	other.Name, other.Migrations.Name = "othertest", "othertest"
	ctx := context.Background()
	otherDSN := testkit.NewDatabase(t, "othertest", func(ctx context.Context, dsn string) error { return svc.Migrate(ctx, other, dsn) })
	owner, err := pgxdb.Open(ctx, otherDSN, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Pool.Exec(ctx, `INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload)
		VALUES (gen_random_uuid(), 'wijkbrug.emptytest.x', 'x', 'urn:wijkbrug:othertest', 'a', '\x00')`); err != nil {
		t.Fatal(err)
	}
	older := emptySpec()
	older.Migrations.FS = fstest.MapFS{"00001_t.sql": older.Migrations.FS.(fstest.MapFS)["00001_t.sql"],
		"00002_u.sql": {Data: []byte("-- +goose Up\nCREATE TABLE u (id int);\n-- +goose Down\nDROP TABLE u;\n")}}
	for name, c := range map[string]struct {
		spec svc.Spec
		dsn  string
		want string
	}{
		"another service's": {spec, otherDSN, "which holds the schema of othertest, not of emptytest: give each service its own database"},
		"never migrated":    {spec, testkit.NewDatabase(t, "emptytest-none", func(context.Context, string) error { return nil }), "which holds no emptytest schema: run `emptytest migrate`"},
		"older":             {older, testkit.NewDatabase(t, "emptytest-v1", func(ctx context.Context, dsn string) error { return svc.Migrate(ctx, spec, dsn) }), "whose emptytest schema is older than this binary's"},
	} {
		t.Run(name, func(t *testing.T) {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			served := false
			err := svc.Run(rctx, c.spec, env.Config(t, c.spec, c.dsn), svc.Hooks{LogOutput: io.Discard, OnServing: func(string, string) { served = true }})
			if err == nil || !strings.Contains(err.Error(), "WIJKBRUG_DATABASE_URL (-database-url)") || !strings.Contains(err.Error(), c.want) || rctx.Err() != nil {
				t.Fatalf("want a refusal naming the setting and %q, got %v (deadline passed: %v)", c.want, err, rctx.Err() != nil)
			}
			if served {
				t.Fatal("it served first")
			}
			t.Log(err)
		})
	}
	var unsent int
	if err := owner.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&unsent); err != nil || unsent != 1 {
		t.Fatalf("the other service's outbox row: %d unsent (%v), want it left alone", unsent, err)
	}
}

// The linger's default in the Config tag (what a service binary reads) and the constant the
// all-in-one suite uses are the same.
func TestConsumerLingerDefault(t *testing.T) {
	f, ok := reflect.TypeOf(svc.Config{}).FieldByName("ConsumerLinger")
	if !ok {
		t.Fatal("no ConsumerLinger field")
	}
	d, err := time.ParseDuration(f.Tag.Get("default"))
	if err != nil || d != svc.DefaultConsumerLinger {
		t.Errorf("WIJKBRUG_CONSUMER_LINGER's default tag %q (%v); want %s", f.Tag.Get("default"), err, svc.DefaultConsumerLinger)
	}
}
