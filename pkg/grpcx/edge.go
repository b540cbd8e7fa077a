package grpcx

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/test/bufconn"
)

// The REST edge (package rest) reaches its service's gRPC server through an in-memory
// connection, so a REST call runs the very same interceptors (identity, rate limit, policy,
// validation, error mapping) and handlers as a gRPC call. The partner's client certificate was
// verified by the edge's own mutual-TLS handshake (same CA, same deny list); the edge passes
// it on in EdgeClientCertHeader. The server believes that header only on a connection that
// came through the in-memory listener, which nothing outside the process can reach; on a
// network connection it is ignored and the organisation comes from the TLS handshake as
// always.

// EdgeClientCertHeader carries the DER client certificate of the partner that called the REST
// edge (binary metadata).
const EdgeClientCertHeader = "x-wijkbrug-edge-client-cert-bin"

// EdgeListener is the in-memory listener of the REST edge.
type EdgeListener struct{ *bufconn.Listener }

// NewEdgeListener returns an in-memory listener; serve the gRPC server on it and dial it with
// DialEdge.
func NewEdgeListener() *EdgeListener { return &EdgeListener{bufconn.Listen(1 << 20)} }

// Accept marks every connection as coming from the edge.
func (l *EdgeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return edgeConn{c}, nil
}

// DialEdge connects to the server behind l. The connection is in memory (no network), so it
// needs no TLS of its own: the partner's TLS ended at the edge.
func DialEdge(l *EdgeListener, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///wijkbrug-rest-edge", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
	}, opts...)...)
}

type edgeConn struct{ net.Conn }

// edgeAuthInfo marks a connection from the in-memory listener.
type edgeAuthInfo struct{ credentials.CommonAuthInfo }

func (edgeAuthInfo) AuthType() string { return "wijkbrug-rest-edge" }

// edgeAwareCreds is the server's TLS, except for connections from the in-memory listener.
type edgeAwareCreds struct {
	credentials.TransportCredentials
}

func (c edgeAwareCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if ec, ok := conn.(edgeConn); ok {
		return ec, edgeAuthInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c.TransportCredentials.ServerHandshake(conn)
}

func (c edgeAwareCreds) Clone() credentials.TransportCredentials {
	return edgeAwareCreds{c.TransportCredentials.Clone()}
}

// edgeOrg returns the organisation of a call that came through the REST edge; ok is false for
// any other call.
func edgeOrg(ctx context.Context) (org identity.Organisation, ok bool, err error) {
	p, found := peer.FromContext(ctx)
	if !found {
		return org, false, nil
	}
	if _, edge := p.AuthInfo.(edgeAuthInfo); !edge {
		return org, false, nil
	}
	cert, err := edgeCertificate(ctx)
	if err != nil {
		return org, true, err
	}
	org, err = identity.FromCertificate(cert)
	return org, true, err
}

// edgeCertificate is the partner's certificate the REST edge passed on with a call.
func edgeCertificate(ctx context.Context) (*x509.Certificate, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	der := md.Get(EdgeClientCertHeader)
	if len(der) != 1 {
		return nil, errors.New("no client certificate from the REST edge")
	}
	cert, err := x509.ParseCertificate([]byte(der[0]))
	if err != nil {
		return nil, fmt.Errorf("client certificate from the REST edge: %w", err)
	}
	return cert, nil
}
