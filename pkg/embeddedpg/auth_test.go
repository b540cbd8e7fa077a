package embeddedpg

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
)

// TestConnectionsNeedTLSAndPassword: over TCP the cluster takes only TLS connections with the
// role's password, as production does; the Unix socket is its OS user's; a kept data
// directory from before (pg_hba.conf trusting 127.0.0.1, no passwords) gets the same at its
// next start.
func TestConnectionsNeedTLSAndPassword(t *testing.T) {
	skipWithoutPostgres(t)
	ctx := t.Context()
	tmp := t.TempDir()
	for _, d := range []string{filepath.Dir(tmp), tmp} { // the server's user must reach dir
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(tmp, "pg")
	c, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	// The cluster's CA has a name of its own: beside the suite's dev CA (.wijkbrug/pki), both
	// are shown and may be bundled.
	if caPEM, err := os.ReadFile(c.CAFile()); err != nil {
		t.Fatal(err)
	} else if block, _ := pem.Decode(caPEM); block == nil {
		t.Fatalf("%s holds no PEM block", c.CAFile())
	} else if ca, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	} else if ca.Subject.CommonName != devca.PostgresCAName {
		t.Errorf("the cluster's CA is named %q, want %q", ca.Subject.CommonName, devca.PostgresCAName)
	}
	if err := c.CreateRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.PrepareDatabases(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	base := "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres"

	// The way in: TLS 1.3 checked against the cluster's CA, and the password from the pgpass file.
	for _, role := range []string{SuperUser, OwnerRole, AppRole} {
		conn, err := pgx.Connect(ctx, c.DSNAs(role, "postgres"))
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		var ssl bool
		var version string
		if err := conn.QueryRow(ctx, `SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version); err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
		if !ssl || version != "TLSv1.3" {
			t.Errorf("%s: ssl=%v version=%q, want TLS 1.3", role, ssl, version)
		}
	}

	// Refused: no TLS (even with the right password), a wrong password, no password, a server
	// certificate from another CA.
	password := c.passwords[SuperUser]
	plain := "postgres://postgres:" + password + "@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres?sslmode=disable"
	expectRefused(t, plain, "28000", "no encryption")
	expectRefused(t, "postgres://postgres:wrong@127.0.0.1:"+strconv.Itoa(c.Port())+"/postgres?sslmode=verify-full&sslrootcert="+c.CAFile(), "28P01", "password authentication failed")
	noPass := filepath.Join(t.TempDir(), "empty-pgpass")
	if err := os.WriteFile(noPass, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, base+"?sslmode=verify-full&sslrootcert="+c.CAFile()+"&passfile="+noPass); err == nil {
		t.Error("a connection without a password was let in")
	}
	other, err := devca.New("another CA")
	if err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(otherCA, other.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, base+"?sslmode=verify-full&sslrootcert="+otherCA+"&passfile="+c.PassFile()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a server certificate from another CA: err = %v, want a certificate error", err)
	}

	// The stored passwords are SCRAM verifiers; scramMatches agrees with PostgreSQL's own.
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET password_encryption = 'scram-sha-256'; CREATE ROLE probe LOGIN PASSWORD 'sesame'`); err != nil {
		t.Fatal(err)
	}
	verifiers := map[string]string{}
	rows, _ := conn.Query(ctx, `SELECT rolname, coalesce(rolpassword, '') FROM pg_authid WHERE rolname = ANY($1)`, append(clusterRoles, "probe"))
	var name, v string
	if _, err := pgx.ForEachRow(rows, []any{&name, &v}, func() error { verifiers[name] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	if !scramMatches(verifiers["probe"], "sesame") || scramMatches(verifiers["probe"], "sesam") {
		t.Errorf("scramMatches disagrees with PostgreSQL's verifier %q", verifiers["probe"])
	}
	for _, role := range []string{SuperUser, OwnerRole, AppRole} {
		if !strings.HasPrefix(verifiers[role], "SCRAM-SHA-256$4096:") || strings.Contains(verifiers[role], c.passwords[role]) {
			t.Errorf("%s: stored password %q, want a SCRAM verifier", role, verifiers[role])
		}
	}
	sock := filepath.Join(c.SocketDir(), ".s.PGSQL."+strconv.Itoa(c.Port()))
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket %s: mode %v (%v), want 0700", sock, fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(c.PassFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("pgpass: %v %v, want 0600", fi.Mode().Perm(), err)
	}

	// A data directory as an older release left it: trust for 127.0.0.1, no passwords, no
	// certificate, no pgpass file.
	if _, err := conn.Exec(ctx, `ALTER ROLE postgres PASSWORD NULL; ALTER ROLE wijkbrug_app PASSWORD NULL`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	port := c.Port()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{c.PassFile(), c.CAFile(), filepath.Join(dir, "ca-key.pem"), filepath.Join(dir, "data", "server.crt"), filepath.Join(dir, "data", "server.key")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "pg_hba.conf"), []byte("local all all trust\nhost all all 127.0.0.1/32 trust\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Start(ctx, Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	if c.passwords[SuperUser] == password {
		t.Fatal("a new pgpass file kept the old password")
	}
	// A database's roles get the new pgpass file's passwords when it is prepared again.
	if err := c.PrepareDatabases(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	for _, login := range []struct{ role, db string }{{SuperUser, "postgres"}, {AppRole, "postgres"}, {"svc_owner", "svc"}, {"svc_app", "svc"}} {
		conn, err := pgx.Connect(ctx, c.DSNAs(login.role, login.db))
		if err != nil {
			t.Fatalf("%s after the restart: %v", login.role, err)
		}
		conn.Close(ctx)
	}
	expectRefused(t, "postgres://postgres@127.0.0.1:"+strconv.Itoa(port)+"/postgres?sslmode=disable", "28000", "no encryption")
	expectRefused(t, "postgres://postgres:"+password+"@127.0.0.1:"+strconv.Itoa(port)+"/postgres?sslmode=verify-full&sslrootcert="+c.CAFile(), "28P01", "password authentication failed")
}

func expectRefused(t *testing.T, dsn, code, words string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err == nil {
		conn.Close(t.Context())
		t.Errorf("%s: let in, want SQLSTATE %s", dsn, code)
		return
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code || !strings.Contains(err.Error(), words) {
		t.Errorf("%s: %v, want SQLSTATE %s (%s)", dsn, err, code, words)
	}
}
