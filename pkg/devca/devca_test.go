package devca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testOrg = Org{OIN: "00000001234567890000", Name: "Huisartsenpraktijk De Linde", Type: "GP"}

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestClientCertificateCarriesOrg(t *testing.T) {
	ca := newCA(t)
	cert, certPEM, keyPEM, err := ca.IssueClient(testOrg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("PEM output is not a usable key pair: %v", err)
	}
	leaf := cert.Leaf
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client cert does not verify for ClientAuth: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("client cert must not be usable as a server cert")
	}
	s := leaf.Subject
	if s.SerialNumber != testOrg.OIN || s.CommonName != testOrg.Name ||
		len(s.Organization) != 1 || s.Organization[0] != testOrg.Name ||
		len(s.OrganizationalUnit) != 1 || s.OrganizationalUnit[0] != "GP" {
		t.Fatalf("unexpected subject %+v", s)
	}
}

func TestIssueClientRejectsBadOIN(t *testing.T) {
	ca := newCA(t)
	for _, oin := range []string{"", "123", "0000000123456789000X", "000000012345678900001"} {
		if _, _, _, err := ca.IssueClient(Org{OIN: oin, Name: "x"}, time.Hour); err == nil {
			t.Errorf("OIN %q accepted", oin)
		}
	}
}

func TestServerCertificate(t *testing.T) {
	ca := newCA(t)
	cert, _, _, err := ca.IssueServer([]string{"intake"}, []net.IP{net.ParseIP("10.0.0.7")})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"intake", "localhost", "127.0.0.1", "::1", "10.0.0.7"} {
		if err := cert.Leaf.VerifyHostname(host); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %v: %v", usage, err)
		}
	}
	if d := time.Until(cert.Leaf.NotAfter); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("validity ends in %s, want about a year", d)
	}
}

// handshake runs an mTLS handshake over loopback and returns the server-side
// and client-side errors. In TLS 1.3 the client may finish its handshake
// before the server rejects its certificate, so the client error is taken
// from the first read.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, serverCfg)
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = tc.Write([]byte("ok"))
		done <- err
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", l.Addr().String(), clientCfg)
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		if err == nil && string(buf) != "ok" {
			err = errors.New("unexpected payload")
		}
		c.Close()
	}
	return <-done, err
}

func TestMutualTLS(t *testing.T) {
	ca := newCA(t)
	serverCert, _, _, err := ca.IssueServer([]string{"intake"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	serverCfg := ServerTLSConfig(serverCert, ca.Pool())

	t.Run("ca-issued client", func(t *testing.T) {
		client, _, _, err := ca.IssueClient(testOrg, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var seen string
		cfg := serverCfg.Clone()
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			seen = cs.PeerCertificates[0].Subject.SerialNumber
			return nil
		}
		sErr, cErr := handshake(t, cfg, ClientTLSConfig(client, ca.Pool(), "intake"))
		if sErr != nil || cErr != nil {
			t.Fatalf("server: %v, client: %v", sErr, cErr)
		}
		if seen != testOrg.OIN {
			t.Fatalf("server saw OIN %q", seen)
		}
	})

	t.Run("service cert as client", func(t *testing.T) {
		client, _, _, err := ca.IssueServer([]string{"referral"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sErr, cErr := handshake(t, serverCfg, ClientTLSConfig(client, ca.Pool(), "intake")); sErr != nil || cErr != nil {
			t.Fatalf("server: %v, client: %v", sErr, cErr)
		}
	})

	t.Run("other CA", func(t *testing.T) {
		client, _, _, err := newCA(t).IssueClient(testOrg, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		sErr, cErr := handshake(t, serverCfg, ClientTLSConfig(client, ca.Pool(), "intake"))
		if sErr == nil || cErr == nil {
			t.Fatalf("handshake with foreign client cert succeeded (server: %v, client: %v)", sErr, cErr)
		}
		if !strings.Contains(sErr.Error(), "unknown authority") {
			t.Errorf("server error %q, want unknown authority", sErr)
		}
	})

	t.Run("expired", func(t *testing.T) {
		past := time.Now().Add(-48 * time.Hour)
		client, _, _, err := ca.IssueClientWithTimes(testOrg, past, past.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		sErr, _ := handshake(t, serverCfg, ClientTLSConfig(client, ca.Pool(), "intake"))
		var invalid x509.CertificateInvalidError
		if !errors.As(sErr, &invalid) || invalid.Reason != x509.Expired {
			t.Fatalf("server error %v, want expired", sErr)
		}
	})

	t.Run("client refuses unknown server", func(t *testing.T) {
		client, _, _, err := ca.IssueClient(testOrg, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, cErr := handshake(t, serverCfg, ClientTLSConfig(client, newCA(t).Pool(), "intake"))
		if cErr == nil {
			t.Fatal("client accepted a server from a CA it does not trust")
		}
	})
}

func TestLoadOrCreateReusesCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	ca1, err := LoadOrCreate(dir, "Wijkbrug test CA")
	if err != nil {
		t.Fatal(err)
	}
	if cn := ca1.cert.Subject.CommonName; cn != "Wijkbrug test CA" {
		t.Errorf("the new CA is named %q, want the name given", cn)
	}
	for name, want := range map[string]os.FileMode{"ca-key.pem": 0o600, "ca.pem": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	client, _, _, err := ca1.IssueClient(testOrg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	ca2, err := LoadOrCreate(dir, "Wijkbrug test CA")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca1.CertPEM(), ca2.CertPEM()) {
		t.Fatal("LoadOrCreate created a new CA instead of reusing the stored one")
	}
	if _, err := client.Leaf.Verify(x509.VerifyOptions{Roots: ca2.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("cert from first run does not verify after reload: %v", err)
	}
	// The reloaded CA must be able to sign, i.e. the key was loaded too.
	if _, _, _, err := ca2.IssueServer(nil, nil); err != nil {
		t.Fatal(err)
	}

	if err := os.Remove(filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir, "Wijkbrug test CA"); err == nil {
		t.Fatal("LoadOrCreate with only the key present must fail, not replace the CA")
	}
}

func TestWriteFiles(t *testing.T) {
	ca := newCA(t)
	_, certPEM, keyPEM, err := ca.IssueClient(testOrg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath, err := WriteFiles(dir, "gp", certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if certPath != filepath.Join(dir, "gp.pem") || keyPath != filepath.Join(dir, "gp-key.pem") {
		t.Fatalf("paths %s %s", certPath, keyPath)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
}
