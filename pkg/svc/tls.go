package svc

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// loadTLS reads the service's certificate, key and CA bundle (and the deny list, if one is
// configured) and returns the server and client TLS configurations and the service's own
// organisation. It refuses, naming the setting, what would let the service start and report
// ready while its peers and NATS refuse it: a CA bundle without a CA certificate, and a
// certificate that is not a SERVICE certificate of this service (another service's
// certificate would present this service to its peers as that one).
func loadTLS(service string, cfg Config, logger *slog.Logger) (server, client *tls.Config, self identity.Organisation, deny *grpcx.DenyList, err error) {
	if cfg.TLSCert == "" || cfg.TLSKey == "" || cfg.TLSCA == "" {
		return nil, nil, self, nil, errors.New("WIJKBRUG_TLS_CERT, WIJKBRUG_TLS_KEY and WIJKBRUG_TLS_CA are required: plaintext is not offered")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, nil, self, nil, fmt.Errorf("WIJKBRUG_TLS_CERT (-tls-cert) and WIJKBRUG_TLS_KEY (-tls-key): load certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.TLSCA)
	if err != nil {
		return nil, nil, self, nil, fmt.Errorf("WIJKBRUG_TLS_CA (-tls-ca): read CA: %w", err)
	}
	pool, err := caPool(cfg.TLSCA, caPEM, logger)
	if err != nil {
		return nil, nil, self, nil, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, nil, self, nil, err
	}
	self, err = identity.FromCertificate(leaf)
	if err != nil {
		return nil, nil, self, nil, fmt.Errorf("own certificate: %w", err)
	}
	if self.Type != identity.OrgService {
		return nil, nil, self, nil, fmt.Errorf("own certificate must have OU=SERVICE, has %s", self.Type)
	}
	if err := certificateOf(service, leaf); err != nil {
		return nil, nil, self, nil, fmt.Errorf("WIJKBRUG_TLS_CERT (%s): %w", cfg.TLSCert, err)
	}
	server = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	if cfg.TLSDenyList != "" {
		deny, err = grpcx.NewDenyList(cfg.TLSDenyList, logger)
		if err != nil {
			return nil, nil, self, nil, fmt.Errorf("WIJKBRUG_TLS_DENYLIST: %w", err)
		}
		server.VerifyConnection = deny.VerifyConnection
	}
	client = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool}
	return server, client, self, deny, nil
}

// caPool makes the trust pool of the CA bundle in file. A bundle without a CA certificate (a
// leaf given by mistake) is refused: with it no peer, partner or NATS server would verify,
// and the service would only retry its connections forever. A leaf beside the CAs is trusted
// as it stands (crypto/x509 takes any certificate of the pool as an anchor), so it is named
// in a warning.
func caPool(file string, pemBytes []byte, logger *slog.Logger) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	var cas int
	var leaves []string
	for rest := pemBytes; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("WIJKBRUG_TLS_CA (%s): %w", file, err)
		}
		pool.AddCert(c)
		if c.BasicConstraintsValid && c.IsCA {
			cas++
		} else {
			leaves = append(leaves, c.Subject.String())
		}
	}
	switch {
	case cas == 0 && len(leaves) == 0:
		return nil, fmt.Errorf("WIJKBRUG_TLS_CA (%s) holds no PEM certificate: it must be the bundle of the CA certificates that issue the services' and partners' certificates", file)
	case cas == 0:
		return nil, fmt.Errorf("WIJKBRUG_TLS_CA (%s) holds no CA certificate, only %s (not a CA): it must be the bundle of the CA certificates that issue the services' and partners' certificates (ca.crt / ca.pem), not a service or partner certificate", file, strings.Join(leaves, "; "))
	case len(leaves) > 0 && logger != nil:
		logger.Warn("the CA bundle holds certificates that are not CAs; each is trusted as it stands: remove them", "file", file, "certificates", leaves)
	}
	return pool, nil
}

// certificateOf checks that leaf is the certificate of service: one of its DNS names is the
// service's name, with or without the dashes of its Kubernetes Service (case-direction for
// casedirection), alone or as the first label (intake.wijkbrug.svc). Service certificates are
// issued that way (`wijkbrug issue-cert -type SERVICE -dns intake,intake.wijkbrug.svc`, and
// pkg/devca for development and tests); NATS grants a certificate one service's subjects, so
// another service's certificate would start, report ready, and then be refused every event.
func certificateOf(service string, leaf *x509.Certificate) error {
	for _, name := range leaf.DNSNames {
		first, _, _ := strings.Cut(name, ".")
		if strings.EqualFold(strings.ReplaceAll(first, "-", ""), service) {
			return nil
		}
	}
	names := strings.Join(leaf.DNSNames, ", ")
	if names == "" {
		names = "none"
	}
	return fmt.Errorf("not a certificate of %s: one of a service certificate's DNS names is the service's name (%s, dashes aside) or starts with it (%s.<namespace>.svc), as `wijkbrug issue-cert -type SERVICE -dns` issues it; this one has DNS names %s (OIN %s, CN %q) — another service's certificate?",
		service, service, service, names, leaf.Subject.SerialNumber, leaf.Subject.CommonName)
}
