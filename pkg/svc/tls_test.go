package svc

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
)

// tlsFiles writes a CA and certificates of it into a directory and returns a Config
// pointing at them.
type tlsFiles struct {
	t   *testing.T
	dir string
	ca  *devca.CA
}

func newTLSFiles(t *testing.T) tlsFiles {
	ca, err := devca.New("test CA")
	if err != nil {
		t.Fatal(err)
	}
	f := tlsFiles{t: t, dir: t.TempDir(), ca: ca}
	if err := os.WriteFile(filepath.Join(f.dir, "ca.pem"), ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// service issues a SERVICE certificate with the given OIN and DNS names (as issue-cert and
// the development suite do) and returns the configuration that uses it.
func (f tlsFiles) service(oin string, dns ...string) Config {
	f.t.Helper()
	_, certPEM, keyPEM, err := f.ca.IssueService(devca.Org{OIN: oin, Name: "wijkbrug", Type: "SERVICE"}, dns, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.config(certPEM, keyPEM)
}

func (f tlsFiles) config(certPEM, keyPEM []byte) Config {
	f.t.Helper()
	cert, key, err := devca.WriteFiles(f.dir, "c"+time.Now().Format("150405.000000000"), certPEM, keyPEM)
	if err != nil {
		f.t.Fatal(err)
	}
	return Config{TLSCert: cert, TLSKey: key, TLSCA: filepath.Join(f.dir, "ca.pem")}
}

// F15 of the operator test: a service refuses to start with another service's certificate
// (it would present itself to its peers as that service, and NATS would refuse its events).
func TestOwnCertificateMustBeTheServices(t *testing.T) {
	f := newTLSFiles(t)
	for _, c := range []struct {
		service string
		dns     []string
	}{
		{"intake", []string{"intake", "intake.wijkbrug.svc"}}, // docs/operations.md
		{"casedirection", []string{"case-direction", "case-direction.wijkbrug.svc.cluster.local"}},
		{"casedirection", []string{"casedirection"}}, // the development suite and pkg/svctest
		{"referral", []string{"Referral.wijkbrug.svc"}},
	} {
		if _, _, self, _, err := loadTLS(c.service, f.service("00000099000000000001", c.dns...), nil); err != nil || self.OIN != "00000099000000000001" {
			t.Errorf("%s with DNS names %v: %v", c.service, c.dns, err)
		}
	}
	referral := f.service("00000099000000000004", "referral", "referral.wijkbrug.svc")
	_, _, _, _, err := loadTLS("intake", referral, nil)
	if err == nil || !strings.Contains(err.Error(), "WIJKBRUG_TLS_CERT ("+referral.TLSCert+")") || !strings.Contains(err.Error(), "not a certificate of intake") ||
		!strings.Contains(err.Error(), "referral, referral.wijkbrug.svc") || !strings.Contains(err.Error(), "00000099000000000004") {
		t.Fatalf("intake with referral's certificate: %v", err)
	}
	for _, dns := range [][]string{nil, {"intakes"}, {"wijkbrug.intake"}, {"referral-intake"}} {
		if _, _, _, _, err := loadTLS("intake", f.service("00000099000000000001", dns...), nil); err == nil {
			t.Errorf("intake with DNS names %v (and localhost) was accepted", dns)
		}
	}
	// A partner certificate is refused as before.
	_, certPEM, keyPEM, err := f.ca.IssueClient(devca.Org{OIN: "00000001000000000001", Name: "Praktijk", Type: "GP"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, err := loadTLS("intake", f.config(certPEM, keyPEM), nil); err == nil || !strings.Contains(err.Error(), "OU=SERVICE") {
		t.Fatalf("a GP certificate: %v", err)
	}
}

// F15 of the operator test: a leaf given as the CA bundle is refused at start, naming the
// setting (the service retried its NATS connection forever instead).
func TestCABundleMustHoldACA(t *testing.T) {
	f := newTLSFiles(t)
	cfg := f.service("00000099000000000001", "intake")
	_, _, _, _, err := loadTLS("intake", cfg, nil)
	if err != nil {
		t.Fatalf("the CA as bundle: %v", err)
	}
	leafOnly := cfg
	leafOnly.TLSCA = cfg.TLSCert
	_, _, _, _, err = loadTLS("intake", leafOnly, nil)
	if err == nil || !strings.Contains(err.Error(), "WIJKBRUG_TLS_CA ("+cfg.TLSCert+") holds no CA certificate") {
		t.Fatalf("a leaf as CA bundle: %v", err)
	}
	empty := cfg
	empty.TLSCA = filepath.Join(f.dir, "empty.pem")
	if err := os.WriteFile(empty.TLSCA, []byte("not PEM\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, err := loadTLS("intake", empty, nil); err == nil || !strings.Contains(err.Error(), "WIJKBRUG_TLS_CA") || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("a bundle without certificates: %v", err)
	}
	// A bundle of the CA and a leaf works, and the leaf (trusted on its own) is named.
	mixed := cfg
	mixed.TLSCA = filepath.Join(f.dir, "mixed.pem")
	leafPEM, _ := os.ReadFile(cfg.TLSCert)
	if err := os.WriteFile(mixed.TLSCA, append(f.ca.CertPEM(), leafPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if _, _, _, _, err := loadTLS("intake", mixed, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("CA and leaf: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "not CAs") {
		t.Fatalf("a leaf in the bundle is named in a warning:\n%s", logs.String())
	}
}
