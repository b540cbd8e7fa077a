// Package svctest runs a Wijkbrug service inside a test the way it runs in production: the
// shared runtime (svc.Run) on a real TCP port with mutual TLS, a fresh PostgreSQL database
// cloned from a migrated template, and a real NATS server with JetStream. It also gives tests
// partner clients, fake peer services, and a recorder of the events on a stream.
package svctest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
)

// Env is the shared environment of one test: NATS (with its production security), a CA and
// the secrets.
type Env struct {
	CA   *devca.CA
	NATS *testkit.NATS
	dir  string
	keys [4]string           // BSN encryption, blind index, pseudonym, access log
	js   jetstream.JetStream // as the observer: reads the service streams

	mu       sync.Mutex
	asSvc    map[string]jetstream.JetStream
	reserved map[string]net.Listener // by address, until a service started here takes it
}

// New starts NATS and a CA for t.
func New(t testing.TB) *Env {
	t.Helper()
	ca := testkit.NewCA(t)
	e := &Env{CA: ca, NATS: testkit.NewNATSWithCA(t, ca), dir: t.TempDir(), asSvc: map[string]jetstream.JetStream{},
		reserved: map[string]net.Listener{}}
	for i := range e.keys {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		e.keys[i] = base64.StdEncoding.EncodeToString(k)
	}
	var err error
	e.js, err = jetstream.New(e.NATS.ConnectObserver(t))
	if err != nil {
		t.Fatalf("svctest: jetstream: %v", err)
	}
	return e
}

// JetStream returns a JetStream handle on the test's NATS server as the operations observer,
// which may read the service streams and nothing more.
func (e *Env) JetStream() jetstream.JetStream { return e.js }

// ServiceJetStream returns a JetStream handle connected as the Wijkbrug service name, with that
// service's permissions (to publish its events in a test of another service).
func (e *Env) ServiceJetStream(t testing.TB, name string) jetstream.JetStream {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if js, ok := e.asSvc[name]; ok {
		return js
	}
	js, err := jetstream.New(e.NATS.ConnectService(t, name))
	if err != nil {
		t.Fatalf("svctest: jetstream: %v", err)
	}
	e.asSvc[name] = js
	return js
}

// Org returns an organisation of the given type whose OIN is derived from its name, so the
// same name always gives the same organisation.
func Org(t identity.OrgType, name string) devca.Org { return testkit.Org(t, name) }

// ServiceOrg is the organisation of a Wijkbrug service.
func ServiceOrg(service string) devca.Org { return testkit.ServiceOrg(service) }

// Service is a running service.
type Service struct {
	Addr string
	// RESTAddr is the REST edge's address (empty when the service has none).
	RESTAddr  string
	AdminAddr string
	DSN       string
	Pool      *pgxpool.Pool
	// Config is the configuration the service runs with.
	Config svc.Config
}

// Config returns a complete configuration for spec with this environment's NATS, certificates
// and keys, and the given database; ports are picked freely.
func (e *Env) Config(t testing.TB, spec svc.Spec, dsn string) svc.Config {
	t.Helper()
	e.NATS.AddService(t, spec.Name)
	certFile, keyFile := e.issueServiceFiles(t, spec.Name)
	caFile := filepath.Join(e.dir, "ca.pem")
	if err := os.WriteFile(caFile, e.CA.CertPEM(), 0o644); err != nil {
		t.Fatalf("svctest: write CA: %v", err)
	}
	return svc.Config{
		GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", RESTAddr: "127.0.0.1:0",
		DatabaseURL: dsn, DatabaseConns: 8, NATSURL: e.NATS.ClientURL(), StreamReplicas: 1,
		TLSCert: certFile, TLSKey: keyFile, TLSCA: caFile,
		BSNEncryptionKey: e.keys[0], BSNIndexKey: e.keys[1], PseudonymKey: e.keys[2],
		// intake's own setting: the team that owns intakes from signals.
		Settings:           map[string]string{"WIJKBRUG_DEFAULT_TEAM_OIN": Org(identity.OrgTeam, "Wijkteam Noord").OIN},
		PrivacyOfficerOINs: Org(identity.OrgMunicipality, "Gemeente Demo").OIN,
		LogLevel:           "warn", ShutdownGrace: 5 * time.Second,
		BSNEncryptionKeyID: 1, MaxCallDuration: 30 * time.Second,
		AccessLogKey: e.keys[3], AccessLogKeyID: 1, CheckpointInterval: time.Second,
	}
}

func (e *Env) issueServiceFiles(t testing.TB, name string) (string, string) {
	_, certPEM, keyPEM, err := e.CA.IssueService(ServiceOrg(name), []string{name}, nil) // the service name: svc checks it
	if err != nil {
		t.Fatalf("svctest: issue service certificate: %v", err)
	}
	certFile, keyFile, err := devca.WriteFiles(e.dir, "svc-"+name+"-"+uuid.NewString()[:8], certPEM, keyPEM)
	if err != nil {
		t.Fatalf("svctest: write certificate: %v", err)
	}
	return certFile, keyFile
}

// Reserve binds a free loopback port now and returns its address, for services that must know
// each other's addresses before they start: a service started here with that address takes
// the bound listener. A port only named now and bound later could be taken in between.
func (e *Env) Reserve(t testing.TB) string {
	t.Helper()
	l, err := netport.Listen()
	if err != nil {
		t.Fatalf("svctest: reserve a port: %v", err)
	}
	addr := l.Addr().String()
	e.mu.Lock()
	e.reserved[addr] = l
	e.mu.Unlock()
	t.Cleanup(func() { // a reserved port no service took
		e.mu.Lock()
		defer e.mu.Unlock()
		if l, ok := e.reserved[addr]; ok {
			l.Close()
			delete(e.reserved, addr)
		}
	})
	return addr
}

// listen hands a service a reserved listener for addr, or binds addr.
func (e *Env) listen(addr string) (net.Listener, error) {
	e.mu.Lock()
	l, ok := e.reserved[addr]
	delete(e.reserved, addr)
	e.mu.Unlock()
	if ok {
		return l, nil
	}
	return net.Listen("tcp", addr)
}

// Start runs spec on a fresh database until the test ends. mod may change the configuration
// (peer addresses, typically). It returns once the service reports SERVING.
func (e *Env) Start(t testing.TB, spec svc.Spec, mod func(*svc.Config)) *Service {
	t.Helper()
	// Migrated as the owner role; the service runs as the application role, as in production.
	dsn := testkit.NewDatabase(t, spec.Name, func(ctx context.Context, dsn string) error {
		return svc.MigrateAndGrant(ctx, spec, svc.Config{DatabaseURL: dsn, DatabaseAppRole: embeddedpg.AppRole})
	})
	cfg := e.Config(t, spec, testkit.AppDSN(dsn))
	if mod != nil {
		mod(&cfg)
	}
	return e.Run(t, spec, cfg)
}

// Run runs spec with cfg until the test ends and waits for SERVING.
func (e *Env) Run(t testing.TB, spec svc.Spec, cfg svc.Config) *Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ grpc, admin string }
	restAddr := make(chan string, 1)
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- svc.Run(ctx, spec, cfg, svc.Hooks{OnServing: func(g, a string) { ready <- addrs{g, a} },
			OnServingREST: func(r string) { restAddr <- r }, Listen: e.listen})
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("svctest: %s stopped before serving: %v", spec.Name, err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("svctest: %s not serving within 30 s", spec.Name)
	}
	// The test's own pool plays the database administrator (to inspect and to tamper).
	pool, err := pgxpool.New(context.Background(), testkit.AdminDSN(cfg.DatabaseURL))
	if err != nil {
		cancel()
		t.Fatalf("svctest: pool: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("svctest: %s: %v", spec.Name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("svctest: %s did not stop within 30 s", spec.Name)
		}
	})
	var rest string
	select {
	case rest = <-restAddr:
	default:
	}
	return &Service{Addr: a.grpc, RESTAddr: rest, AdminAddr: a.admin, DSN: testkit.AdminDSN(cfg.DatabaseURL), Pool: pool, Config: cfg}
}

// ClientTLS returns a client TLS configuration for org.
func (e *Env) ClientTLS(t testing.TB, org devca.Org) *tls.Config {
	t.Helper()
	cert, _, _, err := e.CA.IssueClient(org, time.Hour)
	if err != nil {
		t.Fatalf("svctest: issue client certificate: %v", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: e.CA.Pool()}
}

// Client connects to addr as org with mutual TLS.
func (e *Env) Client(t testing.TB, addr string, org devca.Org) *grpc.ClientConn {
	t.Helper()
	cc, err := grpcx.Dial(addr, e.ClientTLS(t, org), 10*time.Second)
	if err != nil {
		t.Fatalf("svctest: dial: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// Ctx returns a context with acting-user metadata and a deadline.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	// case-consultation is in the register of processing activities for every partner type but
	// integrators (authz.Activities), so one context serves whichever certificate a test dials with.
	return grpcx.ActingUser(ctx, "professional-1", "professional", "case-consultation")
}

// ServeFake serves fake peer services with mutual TLS and no policy, for a service's own
// tests (the all-in-one end-to-end test runs the real peers). It returns the address.
func (e *Env) ServeFake(t testing.TB, register func(grpc.ServiceRegistrar)) string {
	t.Helper()
	cert, _, _, err := e.CA.IssueService(ServiceOrg("fake"), nil, nil)
	if err != nil {
		t.Fatalf("svctest: issue fake certificate: %v", err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13,
		Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: e.CA.Pool()})))
	register(s)
	lis, err := grpcx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("svctest: listen: %v", err)
	}
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// Publish publishes msg as a CloudEvent from service on subject (creating the service's
// stream if needed) and returns the event id.
func (e *Env) Publish(t testing.TB, service, subject, aggregateID string, msg proto.Message) string {
	t.Helper()
	id := uuid.NewString()
	e.PublishWithID(t, service, subject, aggregateID, id, msg)
	return id
}

// PublishWithID publishes with a given event id (to test redelivery). The Nats-Msg-Id is
// made unique so JetStream does not drop the repeat: the consumer must.
func (e *Env) PublishWithID(t testing.TB, service, subject, aggregateID, id string, msg proto.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := e.ServiceJetStream(t, service)
	if _, err := natsx.EnsureStream(ctx, js, service, 1, nil); err != nil {
		t.Fatalf("svctest: stream: %v", err)
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		t.Fatalf("svctest: marshal: %v", err)
	}
	m := cloudevents.Envelope{ID: id, Source: "urn:wijkbrug:" + service, Type: cloudevents.TypeOf(msg), Time: time.Now(),
		Subject: aggregateID, NATSSubject: subject, Data: data}.ToMsg()
	m.Header.Set(nats.MsgIdHdr, uuid.NewString())
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatalf("svctest: publish: %v", err)
	}
}

// Received is one recorded event.
type Received struct {
	Envelope cloudevents.Envelope
	Message  proto.Message
	Headers  nats.Header
}

// Recorder collects the events on a stream that match a subject filter.
type Recorder struct {
	mu     sync.Mutex
	events []Received
	wake   chan struct{}
}

// Events records, from the start of service's stream, the events matching filter.
func (e *Env) Events(t testing.TB, service, filter string) *Recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recorder{wake: make(chan struct{}, 1)}
	// The stream is declared as its service (which may do so), then read as the observer.
	if _, err := natsx.EnsureStream(ctx, e.ServiceJetStream(t, service), service, 1, nil); err != nil {
		cancel()
		t.Fatalf("svctest: stream: %v", err)
	}
	stream, err := e.js.Stream(ctx, natsx.StreamName(service))
	if err != nil {
		cancel()
		t.Fatalf("svctest: stream: %v", err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		cancel()
		t.Fatalf("svctest: consumer: %v", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		env, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
		rec := Received{Envelope: env, Headers: m.Headers()}
		if err == nil {
			rec.Message, _ = env.Decode()
		}
		r.mu.Lock()
		r.events = append(r.events, rec)
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		cancel()
		t.Fatalf("svctest: consume: %v", err)
	}
	t.Cleanup(func() { cc.Stop(); cancel() })
	return r
}

// All returns what was recorded so far.
func (r *Recorder) All() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.events...)
}

// WaitFor waits (up to 15 s) for a recorded event that matches, failing the test otherwise.
func (r *Recorder) WaitFor(t testing.TB, match func(cloudevents.Envelope, proto.Message) bool) (cloudevents.Envelope, proto.Message) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		for _, ev := range r.All() {
			if ev.Message != nil && match(ev.Envelope, ev.Message) {
				return ev.Envelope, ev.Message
			}
		}
		select {
		case <-r.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			var types []string
			for _, ev := range r.All() {
				types = append(types, ev.Envelope.Type)
			}
			t.Fatalf("svctest: no matching event within 15 s; saw %s", strings.Join(types, ", "))
			return cloudevents.Envelope{}, nil
		}
	}
}
