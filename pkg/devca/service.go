package devca

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"time"
)

// IssueService issues the certificate of a Wijkbrug service: it serves (server auth, with the
// given names plus localhost and the loopback addresses) and calls its peers with the same
// certificate (client auth), identified like any organisation by OIN (serialNumber) and type
// (OU, normally SERVICE).
func (ca *CA) IssueService(org Org, dnsNames []string, ips []net.IP) (tls.Certificate, []byte, []byte, error) {
	if err := ValidateOIN(org.OIN); err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	if org.Name == "" || org.Type == "" {
		return tls.Certificate{}, nil, nil, errors.New("devca: service name and type are required")
	}
	names, addrs := withLoopback(dnsNames, ips)
	now := time.Now()
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{SerialNumber: org.OIN, CommonName: org.Name, Organization: []string{org.Name}, OrganizationalUnit: []string{org.Type}},
		DNSNames:    names,
		IPAddresses: addrs,
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(serverValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
}
