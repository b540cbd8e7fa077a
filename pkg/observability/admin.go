package observability

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a Prometheus registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	Standard(reg)
	return reg
}

// MetricsHandler serves reg's metrics; the handler's own error counter
// (promhttp_metric_handler_errors_total) is registered on self.
func MetricsHandler(reg prometheus.Gatherer, self prometheus.Registerer) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: self})
}

// Admin is the admin HTTP server: /metrics, /debug/pprof/, /livez and /readyz. It is a
// separate port so that it is never exposed to partners; Kubernetes probes use /readyz and
// /livez because the kubelet cannot present a client certificate to the gRPC port.
type Admin struct {
	srv    *http.Server
	ln     net.Listener
	ready  atomic.Bool
	detail atomic.Pointer[string]
}

// NewAdmin serves on ln, which the caller opened.
func NewAdmin(ln net.Listener, reg *prometheus.Registry) *Admin {
	a := &Admin{ln: ln}
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(reg, reg))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	// Not the command line: settings given as flags (a key passed as -pseudonym-key) would be
	// served in clear on this unauthenticated port, where the start-up log masks them.
	mux.HandleFunc("/debug/pprof/cmdline", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not served: the command line may hold secrets", http.StatusNotFound)
	})
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		detail := ""
		if d := a.detail.Load(); d != nil && *d != "" {
			detail = *d + "\n"
		}
		if !a.ready.Load() {
			http.Error(w, "not ready\n"+detail, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n" + detail))
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return a
}

// Addr is the address the admin server listens on.
func (a *Admin) Addr() string { return a.ln.Addr().String() }

// SetReady flips /readyz.
func (a *Admin) SetReady(ready bool) { a.ready.Store(ready) }

// SetDetail sets the lines /readyz shows after its verdict: the state of dependencies that do
// not decide readiness (e.g. NATS while the outbox takes writes).
func (a *Admin) SetDetail(detail string) { a.detail.Store(&detail) }

// Serve serves until Shutdown.
func (a *Admin) Serve() error {
	if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server.
func (a *Admin) Shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }
