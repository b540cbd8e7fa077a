package embeddedpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Crash stops postgres the hard way: an immediate shutdown (SIGQUIT to the postmaster and its
// backends: no checkpoint, clients cut off mid-transaction; the next start runs crash
// recovery), as in a node failure. Like Stop it is final for this Cluster value; start the same
// Dir and Port again with Start to bring the data back.
func (c *Cluster) Crash() error {
	if c.proc == nil {
		return errors.New("embeddedpg: not running")
	}
	c.proc.signalGroup(syscall.SIGQUIT)
	if !c.proc.exited(10 * time.Second) {
		c.proc.kill()
	}
	return c.Stop()
}

// StartStandby makes a streaming-replication standby of primary and starts it: a base backup
// with the local pg_basebackup (run as the server user, like initdb) into opts.Dir, with
// standby.signal and primary_conninfo written by pg_basebackup -R. An existing standby data
// directory in opts.Dir is started as it is. The standby streams over TLS (verify-full) as
// ReplicationRole, with its password; it takes the primary's CA, server certificate and
// passwords, so one connection string with both hosts reaches either.
//
// Make it synchronous with primary.RequireSynchronousStandby, and turn it into the primary
// with Promote.
func StartStandby(ctx context.Context, primary *Cluster, opts Options) (_ *Cluster, err error) {
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
		if c.dir, err = newTempDir("wjpgsb-"); err != nil {
			return nil, err
		}
		c.ownDir = true
	} else {
		if c.dir, err = filepath.Abs(opts.Dir); err != nil {
			return nil, fmt.Errorf("embeddedpg: %w", err)
		}
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return nil, fmt.Errorf("embeddedpg: create dir: %w", err)
		}
	}
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("embeddedpg: %w", err)
	}
	if err := owner.handOver(c.dir); err != nil {
		return nil, err
	}
	c.dataDir = filepath.Join(c.dir, "data")
	if err := c.copyClientFiles(primary); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err != nil {
		if err := primary.createReplicationRole(ctx); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "pg_basebackup"),
			"-D", c.dataDir, "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", ReplicationRole,
			"-X", "stream", "-R", "-c", "fast", "-w")
		cmd.Dir = c.dir
		// -R writes these into primary_conninfo: the standby streams as it was copied. No client
		// certificate: libpq would look in $HOME/.postgresql, which may be root's.
		noCert := filepath.Join(c.dir, "no-client-certificate")
		password, _, err := c.password(ReplicationRole)
		if err != nil {
			return nil, err
		}
		cmd.Env = append(childEnv(), "PGPASSWORD="+password, "PGSSLMODE=verify-full",
			"PGSSLROOTCERT="+c.CAFile(), "PGSSLCERT="+noCert, "PGSSLKEY="+noCert)
		cmd.SysProcAttr = sysProcAttr(owner.credential())
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("embeddedpg: pg_basebackup: %w\n%s", err, bytes.TrimSpace(out))
		}
	}
	if err := c.clearStaleLock(ctx); err != nil {
		return nil, err
	}
	if err := c.prepareTLS(owner); err != nil { // the primary's certificate came with the copy
		return nil, err
	}
	if err := c.writeHBA(); err != nil {
		return nil, err
	}
	if err := c.prepareSocketDir(owner); err != nil {
		return nil, err
	}
	if c.logFile, err = os.OpenFile(filepath.Join(c.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, fmt.Errorf("embeddedpg: open log: %w", err)
	}
	port := opts.Port
	if port == 0 {
		if port, err = netport.One(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// A hot standby accepts read-only connections, which is what waitReady checks.
	if err := c.startPostgres(ctx, binDir, owner, port, opts); err != nil {
		return nil, err
	}
	log.Info("embeddedpg: standby ready", "dir", c.dir, "port", port, "primary_port", primary.port)
	return c, nil
}

// createReplicationRole creates ReplicationRole (idempotent): it may log in and stream WAL,
// nothing else.
func (c *Cluster) createReplicationRole(ctx context.Context) error {
	return c.withAdmin(ctx, func(conn *pgx.Conn) error {
		return c.ensureRole(ctx, conn, ReplicationRole, "LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
	})
}

// RequireSynchronousStandby makes every commit on this primary wait until a standby has
// flushed it (synchronous_standby_names = '*', synchronous_commit on), so a failover to that
// standby loses nothing that was acknowledged. Commits block while no standby is connected.
func (c *Cluster) RequireSynchronousStandby(ctx context.Context) error {
	return c.withAdmin(ctx, func(conn *pgx.Conn) error {
		for _, q := range []string{`ALTER SYSTEM SET synchronous_standby_names = '*'`, `ALTER SYSTEM SET synchronous_commit = 'on'`, `SELECT pg_reload_conf()`} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// SynchronousStandbys counts the standbys that currently replicate synchronously.
func (c *Cluster) SynchronousStandbys(ctx context.Context) (int, error) {
	var n int
	err := c.withAdmin(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')`).Scan(&n)
	})
	return n, err
}

// Promote turns a standby into a primary and waits (up to 30 s) until it accepts writes.
func (c *Cluster) Promote(ctx context.Context) error {
	return c.withAdmin(ctx, func(conn *pgx.Conn) error {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_promote(true, 30)`).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return errors.New("embeddedpg: promotion did not finish within 30 s")
		}
		return nil
	})
}
