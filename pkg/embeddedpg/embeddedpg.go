// Package embeddedpg runs a throw-away or persistent PostgreSQL cluster from
// the locally installed server binaries. It backs both the shared test kit
// (one cluster per test binary) and the all-in-one development command.
//
// The postmaster is started directly as our child process instead of through
// pg_ctl so that we own its lifetime: it is bound to our process with a
// parent-death signal, its log goes to <Dir>/postgres.log, and Stop shuts it
// down deterministically.
//
// initdb and postgres refuse to run as root. When the current process is
// root, both are executed as the "postgres" system user and the base
// directory is handed over to that user.
package embeddedpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Options configures Start. The zero value gives a fresh temporary cluster on
// a free port with fsync off, which is what tests want.
type Options struct {
	// Dir is the base directory: the data directory lives in Dir/data and
	// the server log in Dir/postgres.log. Empty means a fresh temporary
	// directory that Stop removes.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Fsync enables fsync, synchronous_commit and full_page_writes. Tests
	// leave it off: durability against OS crashes is irrelevant there and
	// costs a lot of time.
	Fsync bool
	// Logger receives lifecycle events; nil discards them.
	Logger *slog.Logger
	// ExtraSettings are passed as -c key=value and override the defaults.
	ExtraSettings map[string]string
	// InitCache is the folder where a copy of a data directory fresh from initdb is kept, so
	// that the next new cluster copies it (0.2–0.5 s) instead of running initdb (1.0–1.2 s here);
	// "off" keeps none. Empty: the WIJKBRUG_PG_INIT_CACHE environment variable, else
	// <user cache dir>/wijkbrug/initdb (docs/decisions.md).
	InitCache string
	// DeferInitCache: when this start runs initdb, its result is held in memory and written
	// into the cache only when KeepInitResult is called, not before postgres starts (0.3–0.7
	// s with its sync to disk, on the start's path). Stop drops a result not yet kept. Off:
	// it is written before postgres starts, so every later new cluster may copy it.
	DeferInitCache bool
}

// Cluster is a running postmaster. Its methods are safe for concurrent use.
type Cluster struct {
	dir        string
	dataDir    string
	sockDir    string
	port       int
	ownDir     bool // dir was created by Start and is removed by Stop
	ownSockDir bool // sockDir is a separate temp dir removed by Stop
	log        *slog.Logger
	logFile    *os.File
	proc       *process
	pwMu       sync.Mutex
	passwords  map[string]string // role → password, from PassFile (pwMu)
	copiedFrom string            // the initdb cache's entry this start's data directory is a copy of

	keepMu   sync.Mutex    // held while the deferred initdb result is written
	deferred *deferredInit // initdb's result not yet in the cache (Options.DeferInitCache; keepMu)

	stopOnce sync.Once
	stopErr  error
}

const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	// maxSocketPath keeps <sockdir>/.s.PGSQL.<port>.lock below the 107-byte
	// sun_path limit with some margin.
	maxSocketPath = 100
	// startAttempts bounds retries of transient start failures: a picked
	// port taken by someone else in the meantime, or shared memory still
	// held by backends of a postmaster that was just killed.
	startAttempts = 5
)

// Start initialises the cluster if needed, starts postgres and waits until it
// accepts connections (bounded by ctx and 30 s).
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	binDir, err := BinDir()
	if err != nil {
		return nil, err
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}

	c := &Cluster{log: log}
	defer func() {
		if err != nil {
			c.cleanupFiles()
		}
	}()

	if opts.Dir == "" {
		sweepStaleTempDirs(log, time.Minute)
		c.dir, err = newTempDir("wjpg-")
		if err != nil {
			return nil, err
		}
		c.ownDir = true
	} else {
		c.dir, err = filepath.Abs(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("embeddedpg: %w", err)
		}
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("embeddedpg: create dir: %w", err)
		}
	}
	// MkdirTemp creates 0700; the postgres user must be able to enter it.
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("embeddedpg: %w", err)
	}
	if err := owner.handOver(c.dir); err != nil {
		return nil, err
	}
	c.dataDir = filepath.Join(c.dir, "data")

	cache := initCacheDir(opts.InitCache)
	initialised, err := c.initIfNeeded(ctx, binDir, owner, cache, opts.DeferInitCache)
	if err != nil {
		return nil, err
	}
	err = c.start(ctx, binDir, owner, opts, initialised)
	var portInUse *portInUseError
	if err != nil && c.copiedFrom != "" && ctx.Err() == nil && !errors.As(err, &portInUse) {
		// postgres does not start from a copy of the cache's entry: the entry is damaged (a
		// file of it removed or cut short). It goes, and initdb makes the cluster (and a new
		// entry); the data directory was made by this call a moment ago. (A port another
		// program holds is no fault of the copy.)
		log.Warn("embeddedpg: the initdb cache's copy did not start; removing the entry and running initdb", "entry", c.copiedFrom, "err", err)
		_ = os.RemoveAll(c.copiedFrom)
		if err = os.RemoveAll(c.dataDir); err == nil {
			c.copiedFrom = ""
			if _, err = c.initIfNeeded(ctx, binDir, owner, cache, opts.DeferInitCache); err == nil {
				err = c.start(ctx, binDir, owner, opts, true)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// start starts postgres in the initialised data directory; a new one (initialised) is
// synced to disk before start returns, when opts.Fsync is on.
func (c *Cluster) start(ctx context.Context, binDir string, owner *serverOwner, opts Options, initialised bool) (err error) {
	// initdb writes the new cluster without syncing it (--no-sync); with fsync on, the data
	// directory is synced (initdb --sync-only, what initdb does last) while postgres starts,
	// and Start returns only once it is on disk, before anything is written into the cluster.
	// (Should this process die after that start, postgres dies with it and syncs the whole
	// data directory itself when it next starts, as after any crash.)
	var synced chan error
	if initialised && opts.Fsync {
		synced = make(chan error, 1)
		syncCtx := context.WithoutCancel(ctx)
		go func() { synced <- c.syncDataDir(syncCtx, binDir, owner) }()
	}
	defer func() {
		if synced == nil {
			return
		}
		syncErr := <-synced
		if err == nil && syncErr != nil {
			_ = c.Stop()
			err = syncErr
		}
	}()
	if err := c.clearStaleLock(ctx); err != nil {
		return err
	}
	// TLS, passwords and pg_hba.conf before every start: a data directory kept from a release
	// that trusted every local connection gets them too (auth.go).
	if err := c.prepareTLS(owner); err != nil {
		return err
	}
	if err := c.loadPasswords(); err != nil {
		return err
	}
	if err := c.writeHBA(); err != nil {
		return err
	}
	if c.sockDir == "" {
		if err := c.prepareSocketDir(owner); err != nil {
			return err
		}
	}
	if c.logFile == nil {
		c.logFile, err = os.OpenFile(filepath.Join(c.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("embeddedpg: open log: %w", err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = netport.One(); err != nil {
				return err
			}
		}
		err = c.startPostgres(ctx, binDir, owner, port, opts)
		if err == nil {
			c.log.Info("embeddedpg: postgres ready", "dir", c.dir, "port", port, "pid", c.proc.pid())
			return nil
		}
		var te *transientError
		if !errors.As(err, &te) || attempt >= startAttempts || ctx.Err() != nil {
			return err
		}
		c.log.Warn("embeddedpg: retrying start", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
		}
	}
}

// transientError marks a start failure worth retrying.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// portInUseError is a start that failed because another program holds the port.
type portInUseError struct{ err error }

func (e *portInUseError) Error() string { return e.err.Error() }
func (e *portInUseError) Unwrap() error { return e.err }

// initIfNeeded initialises the data directory unless it is: a copy of the cache's entry for
// these binaries and arguments when there is one, else initdb (whose result the cache keeps
// for the next new cluster: now, or when KeepInitResult is called if deferCache). cache "" is
// no cache.
func (c *Cluster) initIfNeeded(ctx context.Context, binDir string, owner *serverOwner, cache string, deferCache bool) (initialised bool, err error) {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return false, nil
	}
	// A data dir without PG_VERSION is either an interrupted initdb or
	// something that is not ours; deleting it could destroy user data, so
	// make a human decide.
	if entries, err := os.ReadDir(c.dataDir); err == nil && len(entries) > 0 {
		return false, fmt.Errorf("embeddedpg: %s exists but is not an initialised data directory; remove it to re-initialise", c.dataDir)
	}
	args := []string{
		"-U", "postgres",
		// pg_hba.conf is rewritten before every start (auth.go): TLS and a password over TCP.
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"-E", "UTF8",
		"--locale=C",
		"--no-instructions",
		"--no-sync", // Start syncs the data directory while postgres starts (fsync on)
	}
	start := time.Now()
	var key string
	if cache != "" {
		if key, err = initCacheKey(binDir, args); err != nil {
			c.log.Warn("embeddedpg: initdb cache not used", "err", err)
			cache = ""
		}
	}
	if cache != "" {
		copied, err := fromInitCache(filepath.Join(cache, key), c.dataDir, owner)
		if err != nil {
			c.log.Warn("embeddedpg: running initdb", "err", err)
		}
		if copied {
			c.copiedFrom = filepath.Join(cache, key)
			c.log.Info("embeddedpg: data directory copied from the initdb cache", "dir", c.dataDir, "cache", cache, "took", time.Since(start).Round(time.Millisecond))
			return true, nil
		}
	}
	if err := c.runAsOwner(ctx, binDir, owner, "initdb", append([]string{"-D", c.dataDir}, args...)...); err != nil {
		return false, fmt.Errorf("embeddedpg: initdb failed: %w", err)
	}
	c.log.Info("embeddedpg: initdb done", "dir", c.dataDir, "took", time.Since(start).Round(time.Millisecond))
	if cache != "" {
		// Read before postgres runs in it: the entry is what initdb wrote, nothing else.
		result, err := readInitResult(c.dataDir)
		if err != nil {
			c.log.Warn("embeddedpg: initdb cache not written", "cache", cache, "err", err)
			return true, nil
		}
		d := &deferredInit{cache: cache, key: key, result: result}
		if deferCache {
			c.keepMu.Lock()
			c.deferred = d
			c.keepMu.Unlock()
		} else {
			c.keep(d)
		}
	}
	return true, nil
}

// deferredInit is initdb's result on its way into the cache (cache, key: the entry).
type deferredInit struct {
	cache, key string
	result     *initResult
}

func (c *Cluster) keep(d *deferredInit) {
	kept := time.Now()
	if err := toInitCache(d.cache, d.key, d.result); err != nil {
		c.log.Warn("embeddedpg: initdb cache not written", "cache", d.cache, "err", err)
		return
	}
	c.log.Info("embeddedpg: initdb's result kept for new clusters", "cache", d.cache, "took", time.Since(kept).Round(time.Millisecond))
}

// KeepInitResult writes the result of this start's initdb, held since Start with
// Options.DeferInitCache, into the initdb cache, and returns once it is on disk (a failure to
// write it is logged: the next new cluster runs initdb again). It does nothing when Start ran
// no initdb, kept its result already, or Stop came first; Stop waits for a write under way.
func (c *Cluster) KeepInitResult() {
	c.keepMu.Lock()
	defer c.keepMu.Unlock()
	if d := c.deferred; d != nil {
		c.deferred = nil
		c.keep(d)
	}
}

// syncDataDir flushes the data directory to disk, as initdb does at its end.
func (c *Cluster) syncDataDir(ctx context.Context, binDir string, owner *serverOwner) error {
	if err := c.runAsOwner(ctx, binDir, owner, "initdb", "--sync-only", "-D", c.dataDir); err != nil {
		return fmt.Errorf("embeddedpg: sync the new data directory: %w", err)
	}
	return nil
}

func (c *Cluster) runAsOwner(ctx context.Context, binDir string, owner *serverOwner, program string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, program), args...)
	cmd.Dir = c.dir // initdb complains if it cannot stat its cwd (e.g. /root as postgres)
	cmd.Env = childEnv()
	cmd.SysProcAttr = sysProcAttr(owner.credential())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// clearStaleLock deals with a postmaster.pid left behind by a previous run.
// postgres itself handles a dead pid (it removes the file and does crash
// recovery), and refuses when the pid is alive. Two cases need help:
//   - the previous postmaster is still shutting down because our previous
//     incarnation was just killed and the parent-death SIGQUIT is being
//     processed: wait a little for it;
//   - the pid has been reused by an unrelated process of the same user
//     (likely in containers with small pid spaces): postgres would refuse
//     forever, so remove the lock file.
func (c *Cluster) clearStaleLock(ctx context.Context) error {
	lockPath := filepath.Join(c.dataDir, "postmaster.pid")
	data, err := os.ReadFile(lockPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("embeddedpg: read lock file: %w", err)
	}
	firstLine, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(firstLine))
	if err != nil || pid <= 0 {
		c.log.Warn("embeddedpg: removing unparsable postmaster.pid", "path", lockPath)
		return os.Remove(lockPath)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if !processAlive(pid) {
			return nil // postgres recovers on its own
		}
		if !isPostgresProcess(pid) {
			c.log.Warn("embeddedpg: postmaster.pid points at a reused pid; removing it", "pid", pid)
			if err := os.Remove(lockPath); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("embeddedpg: %w", err)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("embeddedpg: a postgres server (pid %d) is already running on %s", pid, c.dataDir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// prepareSocketDir picks where the Unix socket goes. The base dir is used
// when short enough; a persistent Dir deep inside a project folder would
// exceed the sun_path limit, so then a short temp dir is used instead.
func (c *Cluster) prepareSocketDir(owner *serverOwner) error {
	if len(c.dir)+len("/.s.PGSQL.65535.lock") <= maxSocketPath {
		c.sockDir = c.dir
		return nil
	}
	sweepStaleTempDirs(c.log, time.Minute)
	dir, err := newTempDir("wjpgs-")
	if err != nil {
		return err
	}
	c.sockDir, c.ownSockDir = dir, true
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	return owner.handOver(dir)
}

func (c *Cluster) startPostgres(ctx context.Context, binDir string, owner *serverOwner, port int, opts Options) error {
	settings := map[string]string{
		"listen_addresses":  "127.0.0.1",
		"max_connections":   "200",
		"shared_buffers":    "128MB",
		"logging_collector": "off",
		// The data is on a local disk (SSD, or the page cache), where a random page costs
		// little more than a sequential one; PostgreSQL's default of 4 is for spinning
		// disks. At 4 a caseload page read each case's one or two residents as a bitmap heap
		// scan and a sort, at 1.1 as an index scan in order: the page query took half the time
		// (docs/decisions.md, issue 12, item 29). deploy/postgres/cluster.yaml sets the same.
		"random_page_cost": "1.1",
		"fsync":            onOff(opts.Fsync),
		// Without fsync these only cost time; with fsync they are what
		// makes it meaningful.
		"synchronous_commit": onOff(opts.Fsync),
		"full_page_writes":   onOff(opts.Fsync),
	}
	maps.Copy(settings, opts.ExtraSettings)
	maps.Copy(settings, securitySettings()) // not to be relaxed by ExtraSettings
	args := []string{"-D", c.dataDir, "-p", strconv.Itoa(port), "-k", c.sockDir}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}

	logStart, _ := c.logFile.Seek(0, io.SeekEnd)
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Dir = c.dataDir
	cmd.Env = childEnv()
	cmd.Stdout = c.logFile
	cmd.Stderr = c.logFile
	cmd.SysProcAttr = sysProcAttr(owner.credential())
	proc, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("embeddedpg: start postgres: %w", err)
	}
	c.port = port
	c.proc = proc

	if err := c.waitReady(ctx); err != nil {
		// Don't leave a half-started server behind.
		proc.kill()
		tail := c.logSince(logStart)
		err = fmt.Errorf("embeddedpg: postgres did not become ready: %w\n--- %s (tail) ---\n%s", err, filepath.Join(c.dir, "postgres.log"), tail)
		if strings.Contains(tail, "could not bind") {
			err = &portInUseError{err}
		}
		var portInUse *portInUseError
		if (opts.Port == 0 && errors.As(err, &portInUse)) || strings.Contains(tail, "is still in use") {
			return &transientError{err}
		}
		return err
	}
	return nil
}

// waitReady polls with real connections because only a completed startup
// packet proves the server accepts queries (the socket opens earlier, and
// during crash recovery the server answers "starting up"). It connects over the
// Unix socket, the administrator's way in without a password, and gives the roles
// the passwords of the pgpass file (syncPasswords) on that connection.
func (c *Cluster) waitReady(ctx context.Context) error {
	cfg, err := c.adminConfig("postgres")
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = 2 * time.Second
	var lastErr error
	for {
		select {
		case <-c.proc.done:
			return fmt.Errorf("postgres exited during startup: %v", c.proc.waitErr)
		default:
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			// Only this cluster counts: another server on the port (a second suite given the
			// same port) answers too, and was taken for this one.
			var dir string
			err = conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir)
			if err == nil && filepath.Clean(dir) == filepath.Clean(c.dataDir) {
				err = c.syncPasswords(ctx, conn)
				_ = conn.Close(ctx)
				if err != nil {
					return fmt.Errorf("set the roles' passwords: %w", err)
				}
				return nil
			}
			_ = conn.Close(ctx)
			if err == nil {
				err = fmt.Errorf("port %d is answered by another PostgreSQL (data directory %s)", c.port, dir)
			}
		}
		lastErr = err
		select {
		case <-c.proc.done:
			if lastErr != nil && strings.Contains(lastErr.Error(), "another PostgreSQL") {
				return fmt.Errorf("postgres exited during startup: %v; %w", c.proc.waitErr, lastErr)
			}
			return fmt.Errorf("postgres exited during startup: %v", c.proc.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last connect error: %v)", ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LogTail returns the end of the server's log (at most 8 KiB): what explains a server that
// stopped, for a caller that removes the directory with the log.
func (c *Cluster) LogTail() string {
	if c.logFile == nil {
		return ""
	}
	return c.logSince(0)
}

// logSince returns the last lines written to the log after offset, which is
// what explains a failed start.
func (c *Cluster) logSince(offset int64) string {
	f, err := os.Open(c.logFile.Name())
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxTail = 8 << 10
	if fi, err := f.Stat(); err == nil && fi.Size()-offset > maxTail {
		offset = fi.Size() - maxTail
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// Exited is closed when the postgres server process has exited, by Stop or otherwise;
// ExitError then says how.
func (c *Cluster) Exited() <-chan struct{} {
	if c.proc == nil {
		return nil
	}
	return c.proc.done
}

// ExitError is how the server process exited, once Exited is closed.
func (c *Cluster) ExitError() error {
	select {
	case <-c.Exited():
		return c.proc.waitErr
	default:
		return nil
	}
}

// Port returns the TCP port postgres listens on.
func (c *Cluster) Port() int { return c.port }

// Dir returns the base directory (data directory is Dir()/data).
func (c *Cluster) Dir() string { return c.dir }

// SocketDir returns the directory holding the Unix socket, e.g. for
// psql -h <SocketDir> -p <Port>.
func (c *Cluster) SocketDir() string { return c.sockDir }

// LogPath returns the file that receives the server log.
func (c *Cluster) LogPath() string { return filepath.Join(c.dir, "postgres.log") }

// CreateDatabase creates name; an existing database is not an error, so
// callers can use it idempotently at startup.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	_, err := c.createDatabase(ctx, name, false, "")
	return err
}

// createDatabase is CreateDatabase, copying the template's files (STRATEGY = FILE_COPY,
// PostgreSQL 15 and later) instead of writing all of them into the WAL when fileCopy is set:
// four new databases side by side took 0.41 s instead of 0.54 s here. It checkpoints before
// and after the copy, which only a quiet cluster (a first start) takes lightly. A database it
// creates belongs to owner when that is set. created reports whether this call created it.
func (c *Cluster) createDatabase(ctx context.Context, name string, fileCopy bool, owner string) (created bool, err error) {
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if owner != "" {
		stmt += " OWNER " + pgx.Identifier{owner}.Sanitize()
	}
	if fileCopy {
		stmt += " STRATEGY = FILE_COPY"
	}
	err = c.withAdmin(ctx, func(conn *pgx.Conn) error {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		_, err := conn.Exec(ctx, stmt)
		if pgCode(err) == "42P04" { // duplicate_database: lost a race, fine
			return nil
		}
		created = err == nil
		return err
	})
	return created, err
}

// CreateDatabaseFromTemplate creates name as a copy of template. PostgreSQL
// refuses while anyone is connected to the template; such connections are
// usually a just-closed pool still disconnecting, so it retries for a while.
func (c *Cluster) CreateDatabaseFromTemplate(ctx context.Context, name, template string) error {
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	return c.withAdmin(ctx, func(conn *pgx.Conn) error {
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, err := conn.Exec(ctx, stmt)
			if pgCode(err) != "55006" || time.Now().After(deadline) { // object_in_use
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// DropDatabase drops name if it exists, disconnecting any sessions first.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	return c.withAdmin(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		return err
	})
}

func (c *Cluster) withAdmin(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := c.adminConnect(ctx, "postgres")
	if err != nil {
		return fmt.Errorf("embeddedpg: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := fn(conn); err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	return nil
}

// adminConfig connects to db as the superuser over the Unix socket, the administrator's way in
// without a password (auth.go): what embeddedpg itself does to the cluster (create databases and
// roles, hand them over, promote) needs no TLS handshake or SCRAM exchange, as CloudNativePG's
// instance manager uses the local socket. Everything else connects over TCP (DSN, DSNAs).
func (c *Cluster) adminConfig(db string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.Password = c.sockDir, uint16(c.port), SuperUser, db, ""
	cfg.Fallbacks = nil
	return cfg, nil
}

func (c *Cluster) adminConnect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := c.adminConfig(db)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg)
}

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// Stop shuts postgres down: SIGINT (fast shutdown: disconnect clients,
// checkpoint), escalating to SIGQUIT and SIGKILL if it does not finish in
// time. A temporary Dir is removed afterwards. Stop is idempotent.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.stopErr = c.stop()
	})
	return c.stopErr
}

func (c *Cluster) stop() error {
	c.keepMu.Lock()
	if c.deferred != nil {
		c.log.Info("embeddedpg: initdb's result not kept: stopped before KeepInitResult")
		c.deferred = nil
	}
	c.keepMu.Unlock()
	var errs []error
	if c.proc != nil {
		if err := c.proc.shutdown(stopTimeout); err != nil {
			errs = append(errs, err)
		}
		c.log.Info("embeddedpg: postgres stopped", "dir", c.dir)
	}
	errs = append(errs, c.cleanupFiles())
	return errors.Join(errs...)
}

func (c *Cluster) cleanupFiles() error {
	var errs []error
	if c.logFile != nil {
		errs = append(errs, c.logFile.Close())
		c.logFile = nil
	}
	if c.ownSockDir {
		errs = append(errs, os.RemoveAll(c.sockDir))
	}
	if c.ownDir {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// childEnv pins the C locale so server messages (which we surface in errors)
// are stable and initdb does not fail on a locale missing from the box.
func childEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=")
	})
	return append(env, "LC_ALL=C", "LANG=C")
}

// shortTempDir returns a temp root that keeps socket paths short; a long
// $TMPDIR (macOS, some CI runners) would overflow sun_path.
func shortTempDir() string {
	if d := os.TempDir(); len(d) <= 40 {
		return d
	}
	return "/tmp"
}

// serverOwner is the account postgres runs as; nil means the current user.
type serverOwner struct {
	name     string
	uid, gid int
	groups   []int
}

// serverUser returns nil when not root. As root it returns the postgres
// system user, because initdb and postgres refuse to run as root.
func serverUser() (*serverOwner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("embeddedpg: running as root needs a 'postgres' system user to run the server as: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("embeddedpg: postgres user: %w", err)
	}
	o := &serverOwner{name: u.Username, uid: uid, gid: gid}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil {
				o.groups = append(o.groups, n)
			}
		}
	}
	return o, nil
}

func (o *serverOwner) credential() *syscall.Credential {
	if o == nil {
		return nil
	}
	return &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid)}
}

// handOver gives dir to the server user and checks that user can reach it:
// a Dir inside e.g. /root/project would otherwise fail later with an obscure
// "permission denied" from initdb.
func (o *serverOwner) handOver(dir string) error {
	if o == nil {
		return nil
	}
	if err := os.Chown(dir, o.uid, o.gid); err != nil {
		return fmt.Errorf("embeddedpg: chown %s to %s: %w", dir, o.name, err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if !o.canTraverse(p) {
			return fmt.Errorf("embeddedpg: user %s cannot enter %s (needed to reach %s); use a directory elsewhere or chmod o+x %s", o.name, p, dir, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (o *serverOwner) canTraverse(dir string) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	mode := fi.Mode().Perm()
	switch {
	case int(st.Uid) == o.uid:
		return mode&0o100 != 0
	case int(st.Gid) == o.gid || slices.Contains(o.groups, int(st.Gid)):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

// process is a started child whose exit is observed by one goroutine.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has been reaped
	waitErr error         // valid after done is closed
}

// startProcess starts cmd from a goroutine locked to its OS thread that then
// waits for the child. Linux delivers Pdeathsig when the *thread* that forked
// the child exits, not the process. Go destroys a thread when a goroutine
// exits while locked to it, so if any other code (a library using
// LockOSThread) later ran on the forking thread, postgres could get SIGQUIT
// at a random moment. Owning the forking thread until the child is reaped
// ties the signal to the lifetime of our process.
func startProcess(cmd *exec.Cmd) (*process, error) {
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) signalGroup(sig syscall.Signal) {
	// Negative pid: the whole process group (postmaster and backends),
	// which Setpgid made equal to the postmaster pid.
	_ = syscall.Kill(-p.pid(), sig)
}

func (p *process) exited(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// shutdown asks for a fast shutdown and escalates if needed.
func (p *process) shutdown(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil // already gone (crashed or killed)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if p.exited(timeout) {
		return nil
	}
	p.signalGroup(syscall.SIGQUIT)
	if p.exited(5 * time.Second) {
		return fmt.Errorf("embeddedpg: postgres ignored fast shutdown for %s; used immediate shutdown", timeout)
	}
	p.kill()
	return fmt.Errorf("embeddedpg: postgres did not stop; killed")
}

// kill terminates the whole group and waits until the postmaster is reaped.
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.signalGroup(syscall.SIGKILL)
	<-p.done
}
