package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// The Dockerfile is read by BuildKit's parser and passes every policy; each deliberate break
// of a copy of it is reported.
func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range CheckDockerfile(b, root) {
		t.Error(p)
	}
	cases := []struct{ name, old, new, want string }{
		{"single stage", "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /out/service /usr/local/bin/service\n", "", "1 stage(s)"},
		{"cgo on", "ENV CGO_ENABLED=0 ", "ENV CGO_ENABLED=1 ", "does not set CGO_ENABLED=0"},
		{"root user", "USER 65532:65532", "USER 0:0", `USER "0:0"`},
		{"named user", "USER 65532:65532", "USER nonroot", `USER "nonroot"`},
		{"no user", "USER 65532:65532\n", "", `USER ""`},
		{"full OS base", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:bookworm", `"debian:bookworm" is neither distroless static nor scratch`},
		{"latest base", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM gcr.io/distroless/static-debian12:latest", "uses latest"},
		{"missing context file", "COPY go.work go.work.sum ./", "COPY go.work go.work.sum go.work.lock ./", "COPY go.work.lock: not in the build context"},
		{"shell entrypoint", `ENTRYPOINT ["/usr/local/bin/service"]`, "ENTRYPOINT /usr/local/bin/service", "shell form"},
		{"entrypoint not the binary", `ENTRYPOINT ["/usr/local/bin/service"]`, `ENTRYPOINT ["/usr/local/bin/other"]`, "is not the binary copied"},
		{"download", "COPY pkg pkg\n", "COPY pkg pkg\nADD https://example.org/tool.tgz /tmp/\n", "downloads at build time"},
		{"unparsable", "FROM golang:${GO_VERSION}-bookworm AS build", "FROM", "does not parse"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(string(b), c.old) {
				t.Fatalf("the Dockerfile no longer contains %q: update the test", c.old)
			}
			report := strings.Join(CheckDockerfile([]byte(strings.Replace(string(b), c.old, c.new, 1)), root), "\n")
			if !strings.Contains(report, c.want) {
				t.Fatalf("want a report containing %q, got:\n%s", c.want, report)
			}
		})
	}
}

// The service binaries `make build` writes are built as the Dockerfile builds them (CGO off)
// and are static, so they run on distroless static, which has no libc. WIJKBRUG_BIN names the
// folder (make test sets it after make build); a C-linked binary is refused.
func TestServiceBinariesAreStatic(t *testing.T) {
	bin := os.Getenv("WIJKBRUG_BIN")
	if bin == "" {
		t.Skip("WIJKBRUG_BIN is not set: run through make test (after make build), or WIJKBRUG_BIN=$PWD/../../bin")
	}
	for svc := range Services {
		if p := CheckStatic(filepath.Join(bin, svc)); len(p) > 0 {
			t.Error(strings.Join(p, "\n"))
		}
	}
	// The check itself fails on a dynamically linked executable.
	for _, dyn := range []string{"/bin/sh", "/usr/bin/env"} {
		if _, err := os.Stat(dyn); err == nil {
			if len(CheckStatic(dyn)) == 0 {
				t.Fatalf("%s reported static", dyn)
			}
			return
		}
	}
}
