// Package embeddednats runs an in-process nats-server with JetStream, used by
// tests and by the all-in-one development command so neither needs an
// external broker. It always runs with the production security model of
// pkg/natsauth (TLS 1.3, client certificates mapped to users, per-user
// permissions): there is no anonymous or plaintext mode to forget to turn off.
package embeddednats

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
)

// Security is the event plane's security: who may connect (certificates mapped to the users
// of Model) and the server's own TLS files (certificate, key, and the CA that client
// certificates must chain to).
type Security struct {
	Model natsauth.Model
	TLS   natsauth.TLS
}

// EnvDebug enables server logging (to stderr) when set to "1", which is the
// quickest way to see what the broker does in a failing test.
const EnvDebug = "WIJKBRUG_NATS_DEBUG"

const readyTimeout = 10 * time.Second

// Options configures Start. The zero value gives a JetStream server on a
// random 127.0.0.1 port with a temporary store.
type Options struct {
	// StoreDir holds JetStream data. Empty means a temporary directory that
	// Shutdown removes.
	StoreDir string
	// Port for clients; 0 picks a free port outside the kernel's ephemeral range (pkg/netport).
	Port int
	// Host to listen on; default 127.0.0.1.
	Host string
	// SyncAlways fsyncs every JetStream write before it is acknowledged
	// (server option sync_interval: always). By default nats-server
	// acknowledges a publish once it is written to the OS page cache and
	// fsyncs only every 2 minutes, so acked messages can be lost on power
	// loss or a kernel crash (shown by the Jepsen NATS analysis, 2025).
	// Turn it on where an acked outbox publish must really be durable.
	SyncAlways bool
	// Debug enables server logging to stderr (also via WIJKBRUG_NATS_DEBUG=1).
	Debug bool
	// Security is required.
	Security *Security
	// Configure, when set, may change the server options after the security configuration
	// is applied (a cluster harness adds its cluster block here).
	Configure func(*server.Options)
}

// Server is an embedded nats-server that can be stopped and started again on
// the same port and store, which outbox tests use to simulate broker outages.
type Server struct {
	mu       sync.Mutex
	opts     Options
	storeDir string
	tempDir  bool
	port     int // actual port, fixed after the first start
	ns       *server.Server
	closed   bool
}

// Start creates and starts the server and waits until it accepts clients.
func Start(opts Options) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Security == nil {
		return nil, errors.New("embeddednats: Security is required (no anonymous or plaintext NATS)")
	}
	s := &Server{opts: opts, storeDir: opts.StoreDir, port: opts.Port}
	if s.storeDir == "" {
		dir, err := os.MkdirTemp("", "wjnats-")
		if err != nil {
			return nil, fmt.Errorf("embeddednats: create store dir: %w", err)
		}
		s.storeDir, s.tempDir = dir, true
	}
	if s.port == 0 {
		// A port outside the kernel's ephemeral range: StartAgain binds the same port again,
		// and one from the ephemeral range (nats-server's own random port) could meanwhile be
		// the local port of an outgoing connection.
		p, err := netport.One()
		if err != nil {
			return nil, fmt.Errorf("embeddednats: %w", err)
		}
		s.port = p
	}
	if err := s.start(); err != nil {
		if s.tempDir {
			_ = os.RemoveAll(s.storeDir)
		}
		return nil, err
	}
	return s, nil
}

// options renders the security model into server options (through the server's own
// configuration parser, so the embedded server reads exactly what a production server would)
// and adds the listen address and JetStream storage.
func (s *Server) options() (*server.Options, error) {
	conf, err := s.opts.Security.Model.ServerConfig(s.opts.Security.TLS)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.storeDir, 0o755); err != nil {
		return nil, fmt.Errorf("embeddednats: %w", err)
	}
	path := filepath.Join(s.storeDir, "wijkbrug-nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("embeddednats: %w", err)
	}
	sopts, err := server.ProcessConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("embeddednats: configuration: %w", err)
	}
	debug := s.opts.Debug || os.Getenv(EnvDebug) == "1"
	sopts.ServerName = "wijkbrug-embedded"
	sopts.Host = s.opts.Host
	sopts.Port = s.port
	sopts.JetStream = true
	sopts.StoreDir = s.storeDir
	sopts.SyncAlways = s.opts.SyncAlways
	// We own the process' signal handling; the embedded server must not install its own
	// handlers.
	sopts.NoSigs = true
	sopts.NoLog = !debug
	sopts.Debug = debug
	if s.opts.Configure != nil {
		s.opts.Configure(sopts)
	}
	return sopts, nil
}

func (s *Server) start() error {
	sopts, err := s.options()
	if err != nil {
		return err
	}
	debug := !sopts.NoLog
	ns, err := server.NewServer(sopts)
	if err != nil {
		return fmt.Errorf("embeddednats: %w", err)
	}
	if debug {
		ns.ConfigureLogger()
	}
	go ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return fmt.Errorf("embeddednats: server on %s:%d not ready within %s", s.opts.Host, s.port, readyTimeout)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return errors.New("embeddednats: JetStream failed to start")
	}
	// Remember the port actually bound so StartAgain reuses it and
	// clients configured with ClientURL reconnect to the same address.
	if addr, ok := ns.Addr().(*net.TCPAddr); ok {
		s.port = addr.Port
	}
	s.ns = ns
	return nil
}

// Reload applies a changed security model (a partner added, a certificate replaced) to the
// running server without a restart, as a configuration reload does in production.
//
// A reload that adds an account (a partner's, natsauth.PartnerAccount) is applied twice:
// nats-server (2.15.3, and its main branch) sets up the service imports of an account that a
// reload introduces only at the next reload (configureAccounts skips them while reloading, and
// only accounts that existed before are revisited), so until then the partner's requests for
// its feed have no responders. docs/operations.md has operators reload twice as well.
func (s *Server) Reload(model natsauth.Model) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	reloads := 1
	if len(NewAccounts(s.opts.Security.Model, model)) > 0 {
		reloads = 2
	}
	s.opts.Security = &Security{Model: model, TLS: s.opts.Security.TLS}
	if s.ns == nil {
		return nil // applied at the next start
	}
	for range reloads {
		sopts, err := s.options()
		if err != nil {
			return err
		}
		if err := s.ns.ReloadOptions(sopts); err != nil {
			return err
		}
	}
	return nil
}

// NewAccounts are the NATS accounts of model next that model prev does not have.
func NewAccounts(prev, next natsauth.Model) []string {
	had := prev.Accounts()
	var out []string
	for name := range next.Accounts() {
		if _, ok := had[name]; !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Model returns the security model in force.
func (s *Server) Model() natsauth.Model {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Security.Model
}

// ClientURL returns the tls:// URL clients connect to. It stays valid across
// Stop/StartAgain.
func (s *Server) ClientURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("tls://%s", net.JoinHostPort(s.opts.Host, fmt.Sprint(s.port)))
}

// Port returns the client port.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// StoreDir returns the JetStream store directory.
func (s *Server) StoreDir() string { return s.storeDir }

// NATSServer exposes the underlying server, e.g. for monitoring in tests. It
// is nil while stopped.
func (s *Server) NATSServer() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns
}

// Stop shuts the server down but keeps its store and port, so StartAgain can
// bring the same broker back. Stopping a stopped server is a no-op.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.ns == nil {
		return
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.ns = nil
}

// StartAgain starts a stopped server with the same options, port and store,
// so streams and unconsumed messages are recovered from disk.
func (s *Server) StartAgain() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("embeddednats: server was shut down")
	}
	if s.ns != nil {
		return errors.New("embeddednats: server is running")
	}
	return s.start()
}

// Shutdown stops the server for good and removes a temporary store.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	if !s.closed && s.tempDir {
		_ = os.RemoveAll(s.storeDir)
	}
	s.closed = true
}

// WaitForShutdown blocks until the server has stopped. Shutdown and Stop
// already wait; this exists for callers that stop the server through
// NATSServer().
func (s *Server) WaitForShutdown() {
	s.mu.Lock()
	ns := s.ns
	s.mu.Unlock()
	if ns != nil {
		ns.WaitForShutdown()
	}
}
