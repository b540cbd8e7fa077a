// Package faults is the fault harness behind `make faults`: it runs the suite the way it runs
// in production — the separate service binaries, PostgreSQL from the local binaries, nats-server
// processes — on loopback, puts a steady, bounded load of mutating calls on it (clients that
// retry with the same idempotency key), injects one fault at a time with recovery in between,
// and then checks every acknowledged request against the rows in every service's database and
// the events on the streams.
package faults

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	intake "github.com/wijkbrug/wijkbrug/services/intake/service"
	referral "github.com/wijkbrug/wijkbrug/services/referral/service"
)

// service is one Wijkbrug service: its binary, database and ports.
type service struct {
	name, binary, db, oin string
	grpc, admin, rest     int
	certFile, keyFile     string
}

var services = []*service{
	{name: "intake", binary: "intake", db: "intake", oin: "00000099000000000001"},
	{name: "casedirection", binary: "case-direction", db: "casedirection", oin: "00000099000000000002"},
	{name: "providermonitoring", binary: "provider-monitoring", db: "providermonitoring", oin: "00000099000000000003"},
	{name: "referral", binary: "referral", db: "referral", oin: "00000099000000000004"},
}

var (
	teamOrg         = devca.Org{OIN: "00000001000000000100", Name: "Sociaal Wijkteam Centrum", Type: string(identity.OrgTeam)}
	gpOrg           = devca.Org{OIN: "00000001000000000200", Name: "Huisartsenpraktijk De Linde", Type: string(identity.OrgGP)}
	municipalityOrg = devca.Org{OIN: "00000001000000000600", Name: "Gemeente Demo", Type: string(identity.OrgMunicipality)}
	providerOrg     = devca.Org{OIN: "00000001000000000500", Name: "Zorggroep De Brug", Type: string(identity.OrgProvider)}
	// opsOrg is the operations identity the checker reads the streams as (a NATS observer).
	opsOrg  = devca.Org{OIN: "00000001000000000900", Name: "Wijkbrug fault harness", Type: "OPERATIONS"}
	natsOrg = devca.Org{OIN: "00000099000000000009", Name: "wijkbrug-nats", Type: string(identity.OrgService)}
)

const (
	municipality = "GM0363"
	district     = "WK036300"
)

// proc is a child process the harness started and may kill -9 and start again.
type proc struct {
	name string
	args []string
	env  []string
	log  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

// kill9 sends SIGKILL and waits until the process is gone.
func (p *proc) kill9() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop ends the process gracefully (SIGTERM), killing it after 15 s.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.kill9()
	}
}

// natsNode is one nats-server process.
type natsNode struct {
	*proc
	serverName string
	port       int
}

// env is one running topology.
type env struct {
	dir       string
	binDir    string
	caFile    string
	ca        *devca.CA
	keys      [4]string
	pg        *embeddedpg.Cluster
	pgOpts    embeddedpg.Options
	standby   *embeddedpg.Cluster
	nats      []*natsNode
	replicas  int
	svcProcs  map[string]*proc
	out       io.Writer
	pgStopped bool
	// observer is the checker's TLS identity on NATS.
	observer *tls.Config
}

// connectNATS connects as the operations observer (TLS 1.3, client certificate), to every node.
func (e *env) connectNATS() (*nats.Conn, error) {
	nc, err := natsx.Connect(e.natsURL(), "wijkbrug-faults", e.observer, natsauth.ObserverInbox)
	if err == nil {
		// An observer may not delete consumers: the ordered consumer's clean-up is refused and
		// the server lets it expire instead. Not worth a line on the console.
		nc.SetErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	}
	return nc, err
}

// natsURL lists every node, so the clients fail over between them.
func (e *env) natsURL() string {
	var urls []string
	for _, n := range e.nats {
		urls = append(urls, fmt.Sprintf("tls://127.0.0.1:%d", n.port))
	}
	return strings.Join(urls, ",")
}

// dsn is the database URL of the harness's own checks, as the superuser; dsnAs the one of a
// role (each service runs as its database's application role and migrates as its owner, as in
// production). With a standby, both hosts and target_session_attrs=read-write, so after a
// failover new connections find the new primary.
func (e *env) dsn(db string) string { return e.dsnAs(embeddedpg.SuperUser, db) }

// ownerDSN is db as its owner role (embeddedpg.DatabaseRoles).
func (e *env) ownerDSN(db string) string {
	owner, _ := embeddedpg.DatabaseRoles(db)
	return e.dsnAs(owner, db)
}

func (e *env) dsnAs(role, db string) string {
	if e.standby == nil {
		return e.pg.DSNAs(role, db)
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d,127.0.0.1:%d/%s?%s&target_session_attrs=read-write&connect_timeout=2",
		role, e.pg.Port(), e.standby.Port(), db, e.pg.ClientParams())
}

// startEnv brings up a topology: PostgreSQL (with a synchronous standby when withStandby),
// natsNodes nats-server processes (a JetStream cluster when 3, streams with that many
// replicas), and the four service binaries.
func startEnv(ctx context.Context, binDir string, withStandby bool, natsNodes int, out io.Writer) (_ *env, err error) {
	dir, err := os.MkdirTemp("", "wjfaults-")
	if err != nil {
		return nil, err
	}
	_ = os.Chmod(dir, 0o755)
	e := &env{dir: dir, binDir: binDir, svcProcs: map[string]*proc{}, replicas: natsNodes, out: out}
	defer func() {
		if err != nil {
			e.close(false)
		}
	}()
	if e.ca, err = devca.New("Wijkbrug fault harness CA"); err != nil {
		return nil, err
	}
	e.caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(e.caFile, e.ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	for i := range e.keys {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		e.keys[i] = base64.StdEncoding.EncodeToString(k)
	}

	// PostgreSQL with fsync: a crash must not lose a commit.
	e.pgOpts = embeddedpg.Options{Dir: filepath.Join(dir, "pg-a"), Fsync: true}
	if e.pg, err = embeddedpg.Start(ctx, e.pgOpts); err != nil {
		return nil, err
	}
	e.pgOpts.Port = e.pg.Port()
	var dbs []string
	for _, s := range services {
		dbs = append(dbs, s.db)
	}
	if err := e.pg.PrepareDatabases(ctx, dbs...); err != nil { // the roles, each database the owner's
		return nil, err
	}
	if withStandby {
		if e.standby, err = embeddedpg.StartStandby(ctx, e.pg, embeddedpg.Options{Dir: filepath.Join(dir, "pg-b"), Fsync: true}); err != nil {
			return nil, err
		}
		if err := e.pg.RequireSynchronousStandby(ctx); err != nil {
			return nil, err
		}
		if err := waitFor(ctx, 30*time.Second, "standby synchronous", func() bool {
			n, _ := e.pg.SynchronousStandbys(ctx)
			return n == 1
		}); err != nil {
			return nil, err
		}
	}
	if err := e.issueCerts(); err != nil {
		return nil, err
	}
	if err := e.startNATS(natsNodes); err != nil {
		return nil, err
	}
	// Demo data the load needs: the municipality intake serves.
	if err := intake.SeedDemo(ctx, e.ownerDSN("intake"), intake.DemoMunicipality{OIN: municipalityOrg.OIN, Municipality: municipality}); err != nil {
		return nil, fmt.Errorf("seed intake: %w", err)
	}
	if err := referral.SeedDemo(ctx, e.ownerDSN("referral"), referral.DemoSocialMap{MaintainerOIN: teamOrg.OIN, ProviderOIN: providerOrg.OIN,
		ProviderName: providerOrg.Name, Municipality: municipality, District: district}); err != nil {
		return nil, fmt.Errorf("seed referral: %w", err)
	}
	if err := e.startServices(); err != nil {
		return nil, err
	}
	return e, nil
}

// issueCerts issues the certificates of the services, the NATS nodes and the checker.
func (e *env) issueCerts() error {
	for _, s := range services {
		_, certPEM, keyPEM, err := e.ca.IssueService(devca.Org{OIN: s.oin, Name: "wijkbrug-" + s.name, Type: string(identity.OrgService)}, []string{s.name}, nil)
		if err != nil {
			return err
		}
		if s.certFile, s.keyFile, err = devca.WriteFiles(e.dir, "service-"+s.name, certPEM, keyPEM); err != nil {
			return err
		}
	}
	cert, _, _, err := e.ca.IssueClient(opsOrg, 24*time.Hour)
	if err != nil {
		return err
	}
	e.observer = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: e.ca.Pool()}
	return nil
}

// natsSecurity is the event plane's security model (pkg/natsauth, as in production): TLS 1.3,
// client certificates mapped to users with per-service permissions, the checker as observer.
func (e *env) natsSecurity() (natsauth.Model, natsauth.TLS, error) {
	dns := map[string]string{}
	for _, s := range services {
		dn, err := natsauth.DNFromFile(s.certFile)
		if err != nil {
			return natsauth.Model{}, natsauth.TLS{}, err
		}
		dns[s.name] = dn
	}
	leaf, err := x509.ParseCertificate(e.observer.Certificates[0].Certificate[0])
	if err != nil {
		return natsauth.Model{}, natsauth.TLS{}, err
	}
	model := natsauth.Model{Services: natsauth.Services(dns), Observers: []string{natsauth.DN(leaf)}}
	// Every node serves (and, in a cluster, routes) with a certificate for the loopback address.
	_, certPEM, keyPEM, err := e.ca.IssueService(natsOrg, []string{"localhost"}, nil)
	if err != nil {
		return model, natsauth.TLS{}, err
	}
	certFile, keyFile, err := devca.WriteFiles(e.dir, "nats", certPEM, keyPEM)
	return model, natsauth.TLS{CertFile: certFile, KeyFile: keyFile, CAFile: e.caFile}, err
}

func (e *env) startNATS(n int) error {
	ports, err := netport.Free(2 * n)
	if err != nil {
		return err
	}
	model, tlsFiles, err := e.natsSecurity()
	if err != nil {
		return err
	}
	if err := model.Validate(); err != nil {
		return err
	}
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		store := filepath.Join(e.dir, "nats-"+name)
		// sync_interval: always — a publish is acknowledged only after it is fsynced.
		cfg := map[string]any{
			"server_name": name, "listen": fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"jetstream": map[string]any{"store_dir": store, "sync_interval": "always"},
			"tls":       natsauth.TLSBlock(tlsFiles), "accounts": model.Accounts(),
		}
		if n > 1 {
			cfg["cluster"] = map[string]any{"name": "wjfaults", "listen": fmt.Sprintf("127.0.0.1:%d", ports[n+i]), "routes": routes,
				"tls": map[string]any{"cert_file": tlsFiles.CertFile, "key_file": tlsFiles.KeyFile, "ca_file": tlsFiles.CAFile, "verify": true, "timeout": 2}}
		}
		conf, err := natsauth.Render(cfg)
		if err != nil {
			return err
		}
		confFile := filepath.Join(e.dir, name+".conf")
		if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
			return err
		}
		node := &natsNode{proc: &proc{name: "nats-" + name, args: []string{filepath.Join(e.binDir, "nats-server"), "-c", confFile},
			log: filepath.Join(e.dir, name+".log")}, serverName: name, port: ports[i]}
		if err := node.start(); err != nil {
			return err
		}
		e.nats = append(e.nats, node)
	}
	for _, node := range e.nats {
		if err := waitFor(context.Background(), 20*time.Second, "nats "+node.serverName, func() bool {
			return httpOK(fmt.Sprintf("127.0.0.1:%d", node.port)) // the client port answers INFO; a dial is enough
		}); err != nil {
			return err
		}
	}
	return nil
}

// httpOK for NATS: the client port accepts a TCP connection.
func httpOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (e *env) startServices() error {
	// Every listener on a port of its own: a default port (the REST edge's :5007x) may be
	// taken by a `make run` on the same machine.
	ports, err := netport.Free(3 * len(services))
	if err != nil {
		return err
	}
	for i, s := range services {
		s.grpc, s.admin, s.rest = ports[3*i], ports[3*i+1], ports[3*i+2]
	}
	addr := func(name string) string {
		for _, s := range services {
			if s.name == name {
				return fmt.Sprintf("127.0.0.1:%d", s.grpc)
			}
		}
		return ""
	}
	for _, s := range services {
		certFile, keyFile := s.certFile, s.keyFile
		_, appRole := embeddedpg.DatabaseRoles(s.db)
		p := &proc{name: s.name, args: []string{filepath.Join(e.binDir, s.binary)}, log: filepath.Join(e.dir, s.name+".log"), env: []string{
			fmt.Sprintf("WIJKBRUG_GRPC_ADDR=127.0.0.1:%d", s.grpc), fmt.Sprintf("WIJKBRUG_ADMIN_ADDR=127.0.0.1:%d", s.admin),
			fmt.Sprintf("WIJKBRUG_REST_ADDR=127.0.0.1:%d", s.rest),
			"WIJKBRUG_DATABASE_URL=" + e.dsnAs(appRole, s.db), "WIJKBRUG_MIGRATE_ON_START=true",
			"WIJKBRUG_MIGRATION_DATABASE_URL=" + e.ownerDSN(s.db), "WIJKBRUG_DATABASE_APP_ROLE=" + appRole,
			"WIJKBRUG_NATS_URL=" + e.natsURL(), fmt.Sprintf("WIJKBRUG_STREAM_REPLICAS=%d", e.replicas),
			"WIJKBRUG_TLS_CERT=" + certFile, "WIJKBRUG_TLS_KEY=" + keyFile, "WIJKBRUG_TLS_CA=" + e.caFile,
			"WIJKBRUG_BSN_ENCRYPTION_KEY=" + e.keys[0], "WIJKBRUG_BSN_INDEX_KEY=" + e.keys[1], "WIJKBRUG_PSEUDONYM_KEY=" + e.keys[2],
			"WIJKBRUG_ACCESSLOG_KEY=" + e.keys[3],
			"WIJKBRUG_INTAKE_ADDR=" + addr("intake"), "WIJKBRUG_CASEDIRECTION_ADDR=" + addr("casedirection"),
			"WIJKBRUG_PROVIDERMONITORING_ADDR=" + addr("providermonitoring"), "WIJKBRUG_REFERRAL_ADDR=" + addr("referral"),
			"WIJKBRUG_DEFAULT_TEAM_OIN=" + teamOrg.OIN, "WIJKBRUG_PRIVACY_OFFICER_OINS=" + municipalityOrg.OIN,
			"WIJKBRUG_RATE_LIMIT=0", "WIJKBRUG_LOG_LEVEL=warn", "WIJKBRUG_SHUTDOWN_GRACE=5s",
		}}
		if err := p.start(); err != nil {
			return err
		}
		e.svcProcs[s.name] = p
	}
	for _, s := range services {
		if err := e.waitServing(s, 90*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// waitServing waits until the service is ready and connected to NATS with its stream.
func (e *env) waitServing(s *service, timeout time.Duration) error {
	return waitFor(context.Background(), timeout, s.name+" serving", func() bool {
		code, body := get(fmt.Sprintf("http://127.0.0.1:%d/readyz", s.admin))
		return code == http.StatusOK && strings.Contains(body, "nats: connected")
	})
}

func get(url string) (int, string) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// close stops everything; the directory (logs, data) is kept when keep is set.
func (e *env) close(keep bool) {
	for _, p := range e.svcProcs {
		p.stop()
	}
	for _, n := range e.nats {
		n.stop()
	}
	var errs []error
	if e.standby != nil {
		errs = append(errs, e.standby.Stop())
	}
	if e.pg != nil && !e.pgStopped {
		errs = append(errs, e.pg.Stop())
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(e.out, "  (stopping PostgreSQL: %v)\n", err)
	}
	if keep {
		fmt.Fprintf(e.out, "  logs and data kept in %s\n", e.dir)
		return
	}
	_ = os.RemoveAll(e.dir)
}
