package svc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// loadTLS reads the service's certificate, key and CA bundle (and the deny list, if one is
// configured) and returns the server and client TLS configurations and the service's own
// organisation.
func loadTLS(service string, cfg Config, logger *slog.Logger) (server, client *tls.Config, self identity.Organisation, deny *grpcx.DenyList, err error) {
	if cfg.TLSCert == "" || cfg.TLSKey == "" || cfg.TLSCA == "" {
		return nil, nil, self, nil, errors.New("WIJKBRUG_TLS_CERT, WIJKBRUG_TLS_KEY and WIJKBRUG_TLS_CA are required: plaintext is not offered")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, nil, self, nil, fmt.Errorf("load certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.TLSCA)
	if err != nil {
		return nil, nil, self, nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, self, nil, errors.New("CA file holds no PEM certificate")
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
