package embeddedpg

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgpassfile"
	"github.com/jackc/pgx/v5"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
)

// A cluster takes connections as production does (docs/security.md, "Database roles"):
// over TCP only with TLS and a password. pg_hba.conf, rewritten before every start, has
// hostssl lines with scram-sha-256 and no host line, so a connection without TLS is refused
// ("no pg_hba.conf entry … no encryption"). The server's certificate is issued by a CA of the
// cluster's own (CAFile, in the base directory, as CloudNativePG makes one per cluster) for
// 127.0.0.1, ::1 and localhost; clients check it with sslmode=verify-full. The passwords of
// the superuser and the roles are random, kept in a pgpass file in the base directory
// (PassFile, 0600) and handed to PostgreSQL as SCRAM verifiers, never in plain text (a
// plain-text ALTER ROLE … PASSWORD would land in pg_stat_statements).
//
// The only way in without a password is the Unix socket, which only the server's operating
// system user and root may open (unix_socket_permissions 0700): the administrator's door, as
// Debian's "local all postgres peer". embeddedpg's own administration goes through it
// (adminConfig): bringing the passwords in line at start, creating roles and databases,
// promoting a standby.

const (
	// ReplicationRole streams WAL to a standby (StartStandby); it may do nothing else.
	ReplicationRole = "wijkbrug_replication"

	// SuperUser is the cluster's superuser (initdb -U).
	SuperUser = "postgres"

	passFileName = "pgpass"
	// renewBefore is how long before its end the server certificate is replaced at start.
	renewBefore = 30 * 24 * time.Hour
	// scramIterations is PostgreSQL's default (scram_iterations in PostgreSQL 16).
	scramIterations = 4096
)

// clusterRoles are the roles with a password in the pgpass file, in its order.
var clusterRoles = []string{SuperUser, OwnerRole, AppRole, ReplicationRole}

// hbaConf admits TCP connections from 127.0.0.1 only with TLS and a SCRAM password, and the
// Unix socket (0700) without one.
const hbaConf = `# Written by Wijkbrug's embeddedpg before every start; changes are overwritten.
# TCP: TLS and a SCRAM password, as in production; nothing in plain text.
# The Unix socket (unix_socket_permissions 0700) is the server's OS user's and root's.
# TYPE   DATABASE     USER  ADDRESS       METHOD
local    all          all                 trust
hostssl  all          all   127.0.0.1/32  scram-sha-256
hostssl  replication  all   127.0.0.1/32  scram-sha-256
`

// securitySettings are the server settings that go with hbaConf.
func securitySettings() map[string]string {
	return map[string]string{
		"ssl":                      "on",
		"ssl_cert_file":            "server.crt",
		"ssl_key_file":             "server.key",
		"ssl_min_protocol_version": "TLSv1.3",
		"password_encryption":      "scram-sha-256",
		"unix_socket_permissions":  "0700",
	}
}

// CAFile is the CA certificate (PEM) that issued the server's certificate: sslrootcert.
func (c *Cluster) CAFile() string { return filepath.Join(c.dir, "ca.pem") }

// PassFile is the pgpass file with the passwords of SuperUser, OwnerRole, AppRole,
// ReplicationRole and the roles of the databases PrepareDatabases made: passfile.
func (c *Cluster) PassFile() string { return filepath.Join(c.dir, passFileName) }

// DSN returns a connection string for dbname as the superuser, over TCP with TLS (verify-full)
// and the password from PassFile.
func (c *Cluster) DSN(dbname string) string { return c.DSNAs(SuperUser, dbname) }

// DSNAs returns a connection string for dbname as role, over TCP with TLS (verify-full) and
// the password from PassFile.
func (c *Cluster) DSNAs(role, dbname string) string { return DSNFor(c.dir, c.port, role, dbname) }

// DSNFor is DSNAs for the cluster whose base directory (Options.Dir) is dir and whose port is
// port: for a tool that finds a running cluster by its directory (a relative dir is read from
// the working directory).
func DSNFor(dir string, port int, role, dbname string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?%s", role, port, dbname, ClientParams(dir))
}

// ClientParams are the query parameters every connection to the cluster needs
// (sslmode=verify-full, sslrootcert, passfile), for a connection string built elsewhere
// (several hosts: a primary and its standby).
func (c *Cluster) ClientParams() string { return ClientParams(c.dir) }

// ClientParams are the connection parameters for the cluster whose base directory (Options.Dir)
// is dir, as Cluster.ClientParams (a relative dir is read from the working directory). libpq
// (psql) reads them as pgx does.
func ClientParams(dir string) string {
	return "sslmode=verify-full&sslrootcert=" + queryPath(filepath.Join(dir, "ca.pem")) +
		"&passfile=" + queryPath(filepath.Join(dir, passFileName))
}

// CheckClientFiles says whether dir holds a cluster's CA certificate and pgpass file; its
// error names the file that is not there.
func CheckClientFiles(dir string) error {
	for _, f := range []string{"ca.pem", passFileName} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("the embedded PostgreSQL's %s: %w", f, err)
		}
	}
	return nil
}

// queryPath escapes a path for a URL query, leaving its slashes readable.
func queryPath(p string) string { return strings.ReplaceAll(url.QueryEscape(p), "%2F", "/") }

// prepareTLS makes sure the data directory has a server certificate from the cluster's CA that
// is valid for at least renewBefore, issuing a new one otherwise (a kept data directory from
// before TLS, or one whose certificate runs out).
func (c *Cluster) prepareTLS(owner *serverOwner) error {
	ca, err := devca.LoadOrCreate(c.dir, devca.PostgresCAName)
	if err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	certPath := filepath.Join(c.dataDir, "server.crt")
	if certValid(certPath, ca.Pool()) {
		return nil
	}
	_, certPEM, keyPEM, err := ca.IssueServer(nil, nil)
	if err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	keyPath := filepath.Join(c.dataDir, "server.key")
	for _, f := range []struct {
		path string
		data []byte
	}{{keyPath, keyPEM}, {certPath, certPEM}} {
		// PostgreSQL refuses a key that others can read, and needs to own it.
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return fmt.Errorf("embeddedpg: %w", err)
		}
		if err := os.Chmod(f.path, 0o600); err != nil {
			return fmt.Errorf("embeddedpg: %w", err)
		}
		if owner != nil {
			if err := os.Chown(f.path, owner.uid, owner.gid); err != nil {
				return fmt.Errorf("embeddedpg: %w", err)
			}
		}
	}
	c.log.Info("embeddedpg: issued the server certificate", "path", certPath)
	return nil
}

func certValid(path string, roots *x509.CertPool) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1", CurrentTime: time.Now().Add(renewBefore)})
	return err == nil
}

// writeHBA replaces the data directory's pg_hba.conf with hbaConf (the file initdb wrote
// keeps its owner and mode).
func (c *Cluster) writeHBA() error {
	if err := os.WriteFile(filepath.Join(c.dataDir, "pg_hba.conf"), []byte(hbaConf), 0o600); err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	return nil
}

// loadPasswords reads PassFile, adding a random password for every role of clusterRoles it
// lacks (all of them when there is none yet) and writing it back. Roles a database was given
// (DatabaseRoles) are in it too, from the call that created them.
func (c *Cluster) loadPasswords() error {
	pf, err := pgpassfile.ReadPassfile(c.PassFile())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	c.pwMu.Lock()
	defer c.pwMu.Unlock()
	c.passwords = map[string]string{}
	if pf != nil {
		for _, e := range pf.Entries {
			if e.Hostname == "127.0.0.1" && e.Password != "" {
				c.passwords[e.Username] = e.Password
			}
		}
	}
	changed := pf == nil
	for _, role := range clusterRoles {
		if c.passwords[role] == "" {
			c.passwords[role], changed = newPassword(), true
		}
	}
	if !changed {
		return nil
	}
	return c.writePassFile()
}

// password is role's password from PassFile; a role without one gets a new one, written to
// PassFile before it is returned (made reports that).
func (c *Cluster) password(role string) (pw string, made bool, err error) {
	c.pwMu.Lock()
	defer c.pwMu.Unlock()
	if pw := c.passwords[role]; pw != "" {
		return pw, false, nil
	}
	c.passwords[role] = newPassword()
	if err := c.writePassFile(); err != nil {
		delete(c.passwords, role)
		return "", false, err
	}
	return c.passwords[role], true, nil
}

// rolesWithPasswords are the roles in PassFile.
func (c *Cluster) rolesWithPasswords() []string {
	c.pwMu.Lock()
	defer c.pwMu.Unlock()
	return slices.Sorted(maps.Keys(c.passwords))
}

func newPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writePassFile writes c.passwords (c.pwMu held): the cluster's own roles first, then the
// databases' in name order.
func (c *Cluster) writePassFile() error {
	var sb strings.Builder
	sb.WriteString("# Passwords of the embedded PostgreSQL's roles (pgpass format); made by embeddedpg.\n")
	roles := slices.Clone(clusterRoles)
	for _, r := range slices.Sorted(maps.Keys(c.passwords)) {
		if !slices.Contains(clusterRoles, r) {
			roles = append(roles, r)
		}
	}
	for _, role := range roles {
		for _, host := range []string{"127.0.0.1", "localhost"} {
			fmt.Fprintf(&sb, "%s:*:*:%s:%s\n", host, role, c.passwords[role])
		}
	}
	return writeFile(c.PassFile(), []byte(sb.String()), 0o600)
}

// copyClientFiles gives a standby the primary's CA (certificate and key, so that it can renew
// its server certificate once promoted) and passwords: its own DSN works, and the passwords
// that arrive by replication are the ones in its pgpass file.
func (c *Cluster) copyClientFiles(primary *Cluster) error {
	for _, f := range []struct {
		name string
		perm os.FileMode
	}{{"ca.pem", 0o644}, {"ca-key.pem", 0o600}, {passFileName, 0o600}} {
		b, err := os.ReadFile(filepath.Join(primary.dir, f.name))
		if err != nil {
			return fmt.Errorf("embeddedpg: %w", err)
		}
		if err := writeFile(filepath.Join(c.dir, f.name), b, f.perm); err != nil {
			return err
		}
	}
	return c.loadPasswords()
}

// writeFile writes a file with mode perm (0600: only this process's user may read it), via a
// rename so a reader never sees half of it.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	if err := os.Chmod(tmp, perm); err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("embeddedpg: %w", err)
	}
	return nil
}

// syncPasswords gives every role of PassFile that exists the password PassFile has for it, where
// its stored verifier does not already match it (a new pgpass file, a role created before
// passwords; a database's roles missing from a new pgpass file get theirs when
// PrepareDatabases creates them). On a standby it does nothing: the primary's passwords arrive by replication.
func (c *Cluster) syncPasswords(ctx context.Context, conn *pgx.Conn) error {
	var inRecovery bool
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil {
		return err
	}
	if inRecovery {
		return nil
	}
	roles := c.rolesWithPasswords()
	rows, err := conn.Query(ctx, `SELECT rolname, coalesce(rolpassword, '') FROM pg_authid WHERE rolname = ANY($1)`, roles)
	if err != nil {
		return err
	}
	stored := map[string]string{}
	var name, verifier string
	if _, err := pgx.ForEachRow(rows, []any{&name, &verifier}, func() error { stored[name] = verifier; return nil }); err != nil {
		return err
	}
	for _, role := range slices.Sorted(maps.Keys(stored)) {
		pw, _, err := c.password(role)
		if err != nil {
			return err
		}
		if scramMatches(stored[role], pw) {
			continue
		}
		if err := alterPassword(ctx, conn, role, pw); err != nil {
			return err
		}
		c.log.Info("embeddedpg: set the role's password from the pgpass file", "role", role)
	}
	return nil
}

// ensureRole creates role with attrs and its PassFile password when it does not exist. An
// existing role keeps its password unless PassFile had none for it: the start aligned every
// password PassFile had (syncPasswords), so only a role the file lost (a kept data directory's
// pgpass file made anew) needs the new one.
func (c *Cluster) ensureRole(ctx context.Context, conn *pgx.Conn, role, attrs string) error {
	pw, made, err := c.password(role)
	if err != nil {
		return err
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return err
	}
	if exists {
		if !made {
			return nil
		}
		return alterPassword(ctx, conn, role, pw)
	}
	clause, err := passwordClause(pw)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" "+attrs+" "+clause)
	if pgCode(err) == "42710" { // duplicate_object: lost a race, fine
		return nil
	}
	return err
}

func alterPassword(ctx context.Context, conn *pgx.Conn, role, pw string) error {
	clause, err := passwordClause(pw)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" "+clause)
	return err
}

// passwordClause is "PASSWORD '<SCRAM verifier>'" for pw, for CREATE ROLE and ALTER ROLE.
func passwordClause(pw string) (string, error) {
	v, err := scramVerifier(pw)
	if err != nil {
		return "", err
	}
	return "PASSWORD '" + v + "'", nil // base64, '$' and ':': nothing to quote
}

// scramVerifier is what PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802, RFC 7677),
// as libpq's PQencryptPasswordConn makes it: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return scramWithSalt(password, salt, scramIterations)
}

func scramWithSalt(password string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

// scramMatches says whether verifier (pg_authid.rolpassword) is password's.
func scramMatches(verifier, password string) bool {
	rest, ok := strings.CutPrefix(verifier, "SCRAM-SHA-256$")
	if !ok || password == "" {
		return false
	}
	iterSalt, _, ok := strings.Cut(rest, "$")
	iterText, saltText, ok2 := strings.Cut(iterSalt, ":")
	if !ok || !ok2 {
		return false
	}
	iterations, err := strconv.Atoi(iterText)
	if err != nil || iterations <= 0 || iterations > 1<<20 {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(saltText)
	if err != nil {
		return false
	}
	want, err := scramWithSalt(password, salt, iterations)
	return err == nil && hmac.Equal([]byte(want), []byte(verifier))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
