package observability_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/observability"
)

// The admin port (plain HTTP, no authentication) serves profiles but not the process's
// command line: a secret given as a flag was readable at /debug/pprof/cmdline.
func TestAdminDoesNotServeTheCommandLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := observability.NewAdmin(ln, prometheus.NewRegistry())
	go func() { _ = a.Serve() }()
	defer a.Shutdown(t.Context())
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := get("/debug/pprof/cmdline")
	if code != http.StatusNotFound || strings.Contains(body, os.Args[0]) {
		t.Errorf("/debug/pprof/cmdline: %d %q", code, body)
	}
	if code, _ := get("/debug/pprof/goroutine?debug=1"); code != http.StatusOK {
		t.Errorf("profiles are still served: goroutine answered %d", code)
	}
}
