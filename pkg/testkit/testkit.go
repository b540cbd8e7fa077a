// Package testkit holds the test helpers shared by every service: a
// PostgreSQL cluster per test binary with cheap per-test databases cloned
// from migrated templates, embedded NATS servers and a development CA.
//
// Packages that use the database helpers must route TestMain through Main so
// the shared cluster is stopped when the tests finish:
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
package testkit

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddednats"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// EnvSkipDB, when "1", makes database tests skip instead of fail. Without it
// a machine lacking PostgreSQL fails loudly, so CI cannot go green by
// silently not running half the tests.
const EnvSkipDB = "WIJKBRUG_SKIP_DB"

// Migrator brings the database at dsn to the current schema. It must close
// every connection it opens before returning; leftovers are terminated.
type Migrator func(ctx context.Context, dsn string) error

var (
	mainCalled atomic.Bool

	pgOnce    sync.Once
	pgMu      sync.Mutex // guards pgCluster for Main's shutdown
	pgCluster *embeddedpg.Cluster
	pgErr     error

	templatesMu sync.Mutex
	templates   = map[string]*dbTemplate{}

	dbSeq atomic.Int64
)

// Main runs the tests and then stops the shared PostgreSQL cluster if a test
// started it. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	pgMu.Lock()
	c := pgCluster
	pgMu.Unlock()
	if c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testkit: stopping PostgreSQL: %v\n", err)
		}
	}
	os.Exit(code)
}

// Cluster returns the PostgreSQL cluster shared by all tests of this test
// binary, starting it on first use. One cluster per binary keeps the ~1 s
// initdb+startup cost off individual tests.
func Cluster(t testing.TB) *embeddedpg.Cluster {
	t.Helper()
	if os.Getenv(EnvSkipDB) == "1" {
		t.Skipf("%s=1: skipping test that needs PostgreSQL", EnvSkipDB)
	}
	if !mainCalled.Load() {
		// Without Main nobody stops the cluster and its data directory
		// leaks; better to say so than to leave that to be discovered.
		t.Fatal("testkit: database helpers need TestMain to call testkit.Main:\n\tfunc TestMain(m *testing.M) { testkit.Main(m) }")
	}
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := embeddedpg.Start(ctx, embeddedpg.Options{})
		pgMu.Lock()
		pgCluster, pgErr = c, err
		pgMu.Unlock()
	})
	if pgErr != nil {
		t.Fatalf("testkit: cannot start PostgreSQL for tests: %v\n"+
			"Install the PostgreSQL server binaries, point %s at their bin directory, or set %s=1 to skip database tests.",
			pgErr, embeddedpg.EnvBinDir, EnvSkipDB)
	}
	return pgCluster
}

// dbTemplate is a migrated database that per-test databases are cloned from.
type dbTemplate struct {
	once   sync.Once
	dbName string
	err    error
}

// NewDatabase returns the DSN of a fresh database for this test, cloned from
// a template named after name that is created and migrated once per test
// binary. Cloning a template is far cheaper than running migrations per test
// and gives every test full isolation. The first migrate passed for a name
// is the one used. The clone is dropped when the test ends. The migrator runs as the owner
// role (embeddedpg.OwnerRole); the DSN returned is the superuser's (AppDSN and OwnerDSN give
// the same database as the other roles).
func NewDatabase(t testing.TB, name string, migrate Migrator) string {
	t.Helper()
	c := Cluster(t)

	tmpl := template(name)
	tmpl.once.Do(func() { tmpl.err = createTemplate(c, tmpl.dbName, migrate) })
	if tmpl.err != nil {
		t.Fatalf("testkit: template database for %q: %v", name, tmpl.err)
	}

	// The sequence number makes the name unique; it goes before the test
	// name so that truncation to 63 bytes can never cut it off.
	dbName := identifier(fmt.Sprintf("%.24s_%d_%s", identifier(name), dbSeq.Add(1), t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.CreateDatabaseFromTemplate(ctx, dbName, tmpl.dbName); err != nil {
		t.Fatalf("testkit: clone %s: %v", tmpl.dbName, err)
	}
	t.Cleanup(func() {
		// The test's own context is already cancelled here.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDatabase(ctx, dbName); err != nil {
			t.Errorf("testkit: drop %s: %v", dbName, err)
		}
	})
	return c.DSN(dbName)
}

func template(name string) *dbTemplate {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	// Keyed by the database name so that names differing only in
	// characters identifier() replaces share one template instead of
	// migrating the same database twice.
	dbName := identifier("tmpl_" + name)
	tmpl, ok := templates[dbName]
	if !ok {
		tmpl = &dbTemplate{dbName: dbName}
		templates[dbName] = tmpl
	}
	return tmpl
}

func createTemplate(c *embeddedpg.Cluster, dbName string, migrate Migrator) (err error) {
	// Not tied to the first test's context: the template outlives it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.CreateDatabase(ctx, dbName); err != nil {
		return err
	}
	ownerDSN, err := ownedTemplate(ctx, c, dbName)
	if err != nil {
		return err
	}
	if migrate != nil {
		defer func() {
			// A panicking migrator must not leave a half-migrated
			// template that later tests would silently clone.
			if r := recover(); r != nil {
				err = fmt.Errorf("migrator panicked: %v", r)
			}
		}()
		if err := migrate(ctx, ownerDSN); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return sealTemplate(ctx, c, dbName)
}

// sealTemplate forbids new connections to the template and ends leftover
// ones (e.g. a migrator's pool that was not closed), because PostgreSQL
// refuses to clone a database that anyone is connected to.
func sealTemplate(ctx context.Context, c *embeddedpg.Cluster, dbName string) error {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", dbName)
	return err
}

// identifier turns s into a lower-case PostgreSQL identifier of at most 63
// bytes (longer names are silently truncated by the server, which would
// make two clones collide).
func identifier(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 63 {
			break
		}
	}
	return b.String()
}

// NewNATS starts a fresh embedded NATS server with JetStream in a temp dir for this test, with
// the production security model (TLS 1.3, client certificates, per-user permissions) and a new
// development CA, and shuts it down when the test ends.
func NewNATS(t testing.TB) *NATS {
	t.Helper()
	return NewNATSWithCA(t, NewCA(t))
}

// NewNATSWithCA is NewNATS with the CA that the test's services and partners use. The four
// Wijkbrug services (ServiceOrg) and an observer are known from the start; partners are added
// with AddPartner.
func NewNATSWithCA(t testing.TB, ca *devca.CA) *NATS {
	t.Helper()
	dir := t.TempDir()
	s, err := embeddednats.Start(embeddednats.Options{StoreDir: filepath.Join(dir, "store"), Security: natsSecurity(t, ca, dir)})
	if err != nil {
		t.Fatalf("testkit: start NATS: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return &NATS{Server: s, CA: ca}
}

// natsSecurity is the event plane's security for a test's server: a server certificate of ca
// (written to dir; it may also act as a client, for cluster routes) and the model with the four
// services and the observer.
func natsSecurity(t testing.TB, ca *devca.CA, dir string) *embeddednats.Security {
	t.Helper()
	_, certPEM, keyPEM, err := ca.IssueServer([]string{"nats"}, nil)
	if err != nil {
		t.Fatalf("testkit: NATS certificate: %v", err)
	}
	certFile, keyFile, err := devca.WriteFiles(dir, "nats", certPEM, keyPEM)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	dns := map[string]string{}
	for _, name := range natsauth.ServiceNames {
		dns[name] = OrgDN(ServiceOrg(name))
	}
	model := natsauth.Model{Services: natsauth.Services(dns), Observers: []string{OrgDN(ObserverOrg)}}
	return &embeddednats.Security{Model: model, TLS: natsauth.TLS{CertFile: certFile, KeyFile: keyFile, CAFile: caFile}}
}

// NATS is a test's NATS server with its CA.
type NATS struct {
	*embeddednats.Server
	CA *devca.CA
	mu sync.Mutex
}

// ObserverOrg is the operations identity of tests: it may read the service streams.
var ObserverOrg = devca.Org{OIN: "00000000000000000999", Name: "Wijkbrug test observer", Type: "OPERATIONS"}

// OrgDN is the certificate subject, as NATS maps it to a user, of a certificate the dev CA
// issues for org.
func OrgDN(org devca.Org) string {
	name := pkix.Name{SerialNumber: org.OIN, CommonName: org.Name, Organization: []string{org.Name}}
	if org.Type != "" {
		name.OrganizationalUnit = []string{org.Type}
	}
	return name.ToRDNSequence().String()
}

// AddPartner gives org access to its own feed on the event plane (a configuration reload).
func (n *NATS) AddPartner(t testing.TB, org devca.Org) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.Model()
	for _, p := range m.Partners {
		if p.OIN == org.OIN {
			return
		}
	}
	m.Partners = append(m.Partners, natsauth.Partner{OIN: org.OIN, DN: OrgDN(org)})
	if err := n.Reload(m); err != nil {
		t.Fatalf("testkit: add partner to NATS: %v", err)
	}
}

// AddService gives a service that is not one of the four (a test's own) its service
// permissions on the event plane.
func (n *NATS) AddService(t testing.TB, name string) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.Model()
	for _, s := range m.Services {
		if s.Name == name {
			return
		}
	}
	m.Services = append(m.Services, natsauth.Service{Name: name, DN: OrgDN(ServiceOrg(name)), Consumes: natsauth.ServiceConsumers[name]})
	if err := n.Reload(m); err != nil {
		t.Fatalf("testkit: add service to NATS: %v", err)
	}
}

// ClientTLS returns a client TLS configuration with a fresh certificate for org.
func (n *NATS) ClientTLS(t testing.TB, org devca.Org) *tls.Config {
	t.Helper()
	cert, _, _, err := n.CA.IssueClient(org, time.Hour)
	if err != nil {
		t.Fatalf("testkit: issue client certificate: %v", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: n.CA.Pool()}
}

// Connect connects as org (inbox is its inbox token: a service name, a partner's OIN or
// natsauth.ObserverInbox); the connection is closed when the test ends.
func (n *NATS) Connect(t testing.TB, org devca.Org, inbox string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.ClientURL(), append(natsx.Secure(n.ClientTLS(t, org), inbox), opts...)...)
	if err != nil {
		t.Fatalf("testkit: connect to NATS as %s: %v", org.Name, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// ConnectService connects as the Wijkbrug service name.
func (n *NATS) ConnectService(t testing.TB, name string) *nats.Conn {
	t.Helper()
	return n.Connect(t, ServiceOrg(name), name)
}

// ConnectObserver connects as the operations observer (read-only on the service streams).
func (n *NATS) ConnectObserver(t testing.TB) *nats.Conn {
	t.Helper()
	return n.Connect(t, ObserverOrg, natsauth.ObserverInbox)
}

// Org returns an organisation of the given type whose OIN is derived from its name, so the
// same name always gives the same organisation.
func Org(t identity.OrgType, name string) devca.Org {
	sum := sha256.Sum256([]byte(name))
	v := new(big.Int).SetBytes(sum[:12])
	oin := fmt.Sprintf("%020s", v.Mod(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(20), nil)).String())
	return devca.Org{OIN: oin, Name: name, Type: string(t)}
}

// ServiceOrg is the organisation of a Wijkbrug service in tests.
func ServiceOrg(service string) devca.Org {
	return Org(identity.OrgService, "wijkbrug-"+service)
}

// NewCA returns a fresh development CA for this test.
func NewCA(t testing.TB) *devca.CA {
	t.Helper()
	ca, err := devca.New("Wijkbrug test CA " + t.Name())
	if err != nil {
		t.Fatalf("testkit: new CA: %v", err)
	}
	return ca
}

// ScansDuring runs f and reports how many sequential and index scans of table PostgreSQL
// counted meanwhile. pool must hold one connection, the session f works on: that session is
// made to flush its statistics before and after, which PostgreSQL otherwise does up to ten
// seconds after a transaction.
func ScansDuring(t testing.TB, pool *pgxpool.Pool, table string, f func()) (seq, idx int64) {
	t.Helper()
	seq0, idx0 := tableScans(t, pool, table)
	f()
	seq1, idx1 := tableScans(t, pool, table)
	return seq1 - seq0, idx1 - idx0
}

// CountRows runs sql on pool and returns how many rows it answers; a query that fails fails
// the test.
func CountRows(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// RoutedByQuery runs the query of a feed router's answer on pool, as the outbox runs it in the
// statement that writes the copies, and returns the OINs it selects. The test fails when the
// router answered with OINs or without a query, or when the query fails.
func RoutedByQuery(t testing.TB, pool *pgxpool.Pool, r outbox.Recipients) []string {
	t.Helper()
	if r.Query == "" || len(r.OINs) != 0 {
		t.Fatalf("recipients %+v, want a query and no OINs", r)
	}
	rows, err := pool.Query(context.Background(), r.Query, r.Args...)
	if err != nil {
		t.Fatalf("%s: %v", r.Query, err)
	}
	oins, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", r.Query, err)
	}
	return oins
}

// RoundTripPool opens a pool of one connection to dsn that counts the writes pgx makes on
// it. pgx flushes once per request of the protocol and then waits for the answer, so the
// count is the number of round trips. The pool pings no connection it hands out, so what is
// counted is the caller's own traffic.
func RoundTripPool(t testing.TB, dsn string) (*pgxpool.Pool, *atomic.Int64) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	writes := &atomic.Int64{}
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, writes: writes}, nil
	}
	cfg.MaxConns = 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, writes
}

// NotifyDB opens a handle of one connection to dsn, closed when the test ends, for an outbox
// writer beside a RoundTripPool. With no relay in the process, the writer wakes one elsewhere
// with a NOTIFY after each commit, from a goroutine of its own and at most once per 20 ms: on
// the counted pool it would land in whichever call is being counted. The events themselves
// join the transaction of the call, whichever handle the writer holds.
func NotifyDB(t testing.TB, dsn string) *pgxdb.DB {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), dsn, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func tableScans(t testing.TB, pool *pgxpool.Pool, table string) (seq, idx int64) {
	t.Helper()
	if n := pool.Config().MaxConns; n != 1 {
		t.Fatalf("testkit: ScansDuring needs a pool of one connection, not %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatalf("testkit: flush statistics: %v", err)
	}
	if err := pool.QueryRow(ctx, `SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1`, table).
		Scan(&seq, &idx); err != nil {
		t.Fatalf("testkit: scans of %s: %v", table, err)
	}
	return seq, idx
}
