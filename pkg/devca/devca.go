// Package devca is a small certificate authority for development and tests.
// Services authenticate each other and partner organisations with mutual TLS;
// in production the certificates come from PKIoverheid, locally they come
// from here. Client certificates carry the organisation identity the way
// PKIoverheid does: the OIN in Subject.SerialNumber.
//
// Only crypto/x509 is used; keys are ECDSA P-256.
package devca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so a certificate issued on one machine
	// (or container) is accepted at once by another whose clock is behind.
	clockSkew = 5 * time.Minute

	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

// CA is a certificate authority able to issue server and client certificates.
type CA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// Org identifies an organisation in a client certificate.
type Org struct {
	// OIN is the 20-digit Dutch organisation identification number
	// (Organisatie-identificatienummer).
	OIN string
	// Name is the organisation's display name.
	Name string
	// Type is the organisation category, e.g. GP, VEILIG_THUIS,
	// HOUSING_CORPORATION, PROVIDER, TEAM, MUNICIPALITY, INTEGRATOR, SERVICE.
	Type string
}

// New creates a fresh self-signed CA.
func New(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Wijkbrug development"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// Leaf-only CA: nobody should be able to mint intermediates
		// from a dev key that lies around in data directories.
		MaxPathLen:     0,
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("devca: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	return &CA{cert: cert, key: key, certPEM: pemBlock("CERTIFICATE", der)}, nil
}

// The common names of the development suite's CAs: the one that issues the services', partners'
// and NATS's certificates (.wijkbrug/pki), and the embedded PostgreSQL's own
// (.wijkbrug/postgres). Distinct names tell them apart where both are shown or bundled.
const (
	DevCAName      = "Wijkbrug Dev CA"
	PostgresCAName = "Wijkbrug PostgreSQL CA"
)

// LoadOrCreate loads dir/ca.pem and dir/ca-key.pem, or creates and stores a
// new CA named commonName when neither exists. Reusing the CA keeps certificates
// previously issued into a persistent dev data directory valid across restarts.
func LoadOrCreate(dir, commonName string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		return parseCA(certPEM, keyPEM, certPath, keyPath)
	case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
		// fall through to create
	case certErr != nil && !errors.Is(certErr, os.ErrNotExist):
		return nil, fmt.Errorf("devca: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, os.ErrNotExist):
		return nil, fmt.Errorf("devca: %w", keyErr)
	default:
		// Only one half present: regenerating would silently invalidate
		// everything issued so far, so let a human look.
		return nil, fmt.Errorf("devca: only one of %s and %s exists in %s", caCertFile, caKeyFile, dir)
	}

	ca, err := New(commonName)
	if err != nil {
		return nil, err
	}
	keyPEM, err = marshalKey(ca.key.(*ecdsa.PrivateKey))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	// Key first: a crash in between leaves "key only", which is reported
	// above instead of a CA certificate without its key.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, ca.certPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// Load reads a CA from its PEM certificate and private key (PKCS#8, PKCS#1 RSA or SEC 1 EC;
// ECDSA, RSA or Ed25519) — the development CA or a production one — so that certificates for
// partners and services can be issued from it (wijkbrug issue-cert).
func Load(certPEM, keyPEM []byte) (*CA, error) {
	return parseCA(certPEM, keyPEM, caCertFile, caKeyFile)
}

// LoadFiles reads a CA from the files certFile and keyFile, as Load; its errors name those
// files (wijkbrug issue-cert -ca-cert … -ca-key …).
func LoadFiles(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	return parseCA(certPEM, keyPEM, certFile, keyFile)
}

func parseCA(certPEM, keyPEM []byte, certName, keyName string) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("devca: %s does not contain a certificate", certName)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devca: %s: %w", certName, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("devca: %s is not a CA certificate", certName)
	}
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("devca: CA certificate %s expired on %s; remove %s and %s to start over", certName, cert.NotAfter.Format(time.DateOnly), certName, keyName)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("devca: %s does not contain a key", keyName)
	}
	var anyKey any
	switch kb.Type {
	case "RSA PRIVATE KEY":
		anyKey, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		anyKey, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		anyKey, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("devca: %s: %w", keyName, err)
	}
	key, ok := anyKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("devca: %s holds a %T, not a signing key", keyName, anyKey)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("devca: %s does not belong to %s", keyName, certName)
	}
	return &CA{cert: cert, key: key, certPEM: pemBlock("CERTIFICATE", cb.Bytes)}, nil
}

// CertPEM returns the CA certificate in PEM form.
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// Certificate returns the parsed CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Pool returns a new pool containing only this CA, for RootCAs/ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// IssueServer issues a certificate for a service. It carries both ServerAuth
// and ClientAuth because services also call each other with the same
// certificate. localhost, 127.0.0.1 and ::1 are always included so local
// dialing works without extra configuration.
func (ca *CA) IssueServer(dnsNames []string, ips []net.IP) (tls.Certificate, []byte, []byte, error) {
	names, addrs := withLoopback(dnsNames, ips)
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    names,
		IPAddresses: addrs,
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(serverValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl)
}

// IssueClient issues a client certificate for org, valid from now (minus a
// little clock skew) for validity.
func (ca *CA) IssueClient(org Org, validity time.Duration) (tls.Certificate, []byte, []byte, error) {
	now := time.Now()
	return ca.IssueClientWithTimes(org, now.Add(-clockSkew), now.Add(validity))
}

// IssueClientWithTimes issues a client certificate with an explicit validity
// window, so tests can produce expired or not-yet-valid certificates.
func (ca *CA) IssueClientWithTimes(org Org, notBefore, notAfter time.Time) (tls.Certificate, []byte, []byte, error) {
	if err := ValidateOIN(org.OIN); err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	if org.Name == "" {
		return tls.Certificate{}, nil, nil, errors.New("devca: organisation name is required")
	}
	subject := pkix.Name{
		SerialNumber: org.OIN,
		CommonName:   org.Name,
		Organization: []string{org.Name},
	}
	if org.Type != "" {
		subject.OrganizationalUnit = []string{org.Type}
	}
	tmpl := &x509.Certificate{
		Subject:     subject,
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl)
}

// ValidateOIN checks that oin has the 20-digit OIN shape. The identity of a
// caller is derived from it, so a malformed value is refused at issue time
// rather than producing certificates that fail later.
func ValidateOIN(oin string) error {
	if len(oin) != 20 {
		return fmt.Errorf("devca: OIN %q must be 20 digits", oin)
	}
	for _, r := range oin {
		if r < '0' || r > '9' {
			return fmt.Errorf("devca: OIN %q must be 20 digits", oin)
		}
	}
	return nil
}

func (ca *CA) issue(tmpl *x509.Certificate) (tls.Certificate, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("devca: generate key: %w", err)
	}
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("devca: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("devca: %w", err)
	}
	keyPEM, err := marshalKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	tc := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return tc, pemBlock("CERTIFICATE", der), keyPEM, nil
}

// WriteFiles writes dir/<base>.pem and dir/<base>-key.pem; the key is only
// readable by the owner.
func WriteFiles(dir, base string, certPEM, keyPEM []byte) (certPath, keyPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("devca: %w", err)
	}
	certPath = filepath.Join(dir, base+".pem")
	keyPath = filepath.Join(dir, base+"-key.pem")
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// ServerTLSConfig requires TLS 1.3 and a client certificate issued by
// clientCAs: every caller must be an identified organisation or service.
func ServerTLSConfig(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
	}
}

// ClientTLSConfig presents cert and trusts only roots (TLS 1.3).
func ClientTLSConfig(cert tls.Certificate, roots *x509.CertPool, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		ServerName:   serverName,
	}
}

func randomSerial() (*big.Int, error) {
	// 128 random bits: unique without bookkeeping, as RFC 5280 asks.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("devca: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

func marshalKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devca: marshal key: %w", err)
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeFileAtomic writes via a temp file and rename so a crash never leaves
// a truncated key or certificate behind, and the key never exists with
// looser permissions than perm.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("devca: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("devca: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devca: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	return nil
}

// withLoopback adds localhost and the loopback addresses, so a certificate works for local
// connections whatever names it was issued for.
func withLoopback(dnsNames []string, ips []net.IP) ([]string, []net.IP) {
	names := slices.Clone(dnsNames)
	if !slices.Contains(names, "localhost") {
		names = append(names, "localhost")
	}
	addrs := slices.Clone(ips)
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		if !slices.ContainsFunc(addrs, ip.Equal) {
			addrs = append(addrs, ip)
		}
	}
	return names, addrs
}
