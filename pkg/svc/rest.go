package svc

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
)

// startREST opens the service's REST edge, when it has one: the gRPC server also serves an
// in-memory listener, and the edge calls it there (one code path for both protocols).
func startREST(ctx context.Context, spec Spec, cfg Config, serverTLS *tls.Config, server *grpcx.Server, logger *slog.Logger, listen func(string) (net.Listener, error)) (*rest.Server, error) {
	if len(spec.REST) == 0 || cfg.RESTAddr == "off" {
		return nil, nil
	}
	lis, err := listen(cfg.RESTAddr)
	if err != nil {
		return nil, fmt.Errorf("WIJKBRUG_REST_ADDR (-rest-addr): listen %s: %w", cfg.RESTAddr, err)
	}
	edge := grpcx.NewEdgeListener()
	go func() { _ = server.Serve(edge) }()
	return rest.New(ctx, lis, rest.Config{TLS: serverTLS, Edge: edge, Register: spec.REST, OpenAPI: spec.OpenAPI, Logger: logger})
}

// stopREST stops accepting REST requests and drains those in flight, before the gRPC server
// that serves them stops.
func stopREST(s *rest.Server, grace time.Duration) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = s.Shutdown(ctx)
}
