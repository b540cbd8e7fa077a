package devca_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
)

// A CA that is not the development CA (here RSA with a PKCS#1 key, as many PKIs hand out)
// issues partner certificates that chain to it.
func TestLoadForeignCAAndIssue(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Regio PKI"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	ca, err := devca.Load(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, _, err := ca.IssueClient(devca.Org{OIN: "00000009000000000042", Name: "Praktijk Zuid", Type: "GP"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("issued certificate does not chain to the loaded CA: %v", err)
	}
	if cert.Leaf.Subject.SerialNumber != "00000009000000000042" || cert.Leaf.Subject.OrganizationalUnit[0] != "GP" {
		t.Fatalf("subject: %v", cert.Leaf.Subject)
	}
	other, _ := devca.New("other")
	if _, err := devca.Load(certPEM, mustKeyPEM(t, other)); err == nil {
		t.Fatal("a key that does not belong to the certificate must be refused")
	}
}

func mustKeyPEM(t *testing.T, _ *devca.CA) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}
