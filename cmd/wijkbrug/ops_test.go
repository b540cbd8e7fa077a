package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
)

// checkOperations runs against the walking skeleton's suite after its flow: what an operator
// sees on /metrics, in the access lines and from the status commands.
func checkOperations(t *testing.T, s *suite.Suite, logs []byte) {
	t.Helper()
	for _, e := range s.Services {
		resp, err := http.Get("http://" + e.AdminAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := []string{"grpc_server_handled_total{grpc_code=\"OK\"", "grpc_server_handling_seconds_bucket", "pgxpool_acquired_conns",
			"wijkbrug_nats_connected 1", "wijkbrug_outbox_published_total", "wijkbrug_tls_certificate_expiry_timestamp_seconds"}
		want = append(want, "wijkbrug_scheduler_runs_total{outcome=\"ok\"")
		if e.Name == "intake" { // intake calls referral and case-direction in the flow
			want = append(want, "grpc_client_handled_total{grpc_code=\"OK\",grpc_method=\"OpenCase\"")
		}
		for _, w := range want {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("%s /metrics lacks %s", e.Name, w)
			}
		}
	}
	// The access line of an RPC names the acting user, role and purpose.
	if !bytes.Contains(logs, []byte(`"msg":"rpc"`)) || !regexpContains(logs, `"msg":"rpc".*"user":"dr-jansen","role":"gp","purpose":"signal"`) {
		t.Error("no access line with the GP's user, role and purpose")
	}
	var out bytes.Buffer
	if err := run([]string{"outbox-status", "-pg-port", strconv.Itoa(s.Postgres.Port()), "-data-dir", s.DataDir}, &out); err != nil {
		t.Fatalf("outbox-status: %v\n%s", err, out.String())
	}
	for _, db := range serviceDatabases {
		if !regexpContains(out.Bytes(), `(?m)^`+db+` +0 +- +-$`) {
			t.Errorf("outbox-status: want %s with an empty outbox, got:\n%s", db, out.String())
		}
	}
	out.Reset()
	pki := filepath.Dir(s.CAFile)
	if err := run([]string{"consumer-status", "-nats", s.NATSURL, "-ca", s.CAFile, "-cert", filepath.Join(pki, "ops.pem")}, &out); err != nil {
		t.Fatalf("consumer-status: %v\n%s", err, out.String())
	}
	for _, c := range []string{"intake-signals", "casedirection-allocations", "referral-intake-events", "casedirection-outcomes-casedirection"} {
		if !regexpContains(out.Bytes(), `(?m)^WIJKBRUG_\S+ +`+c+` +\S+ +0 +0 `) {
			t.Errorf("consumer-status: want %s with nothing pending, got:\n%s", c, out.String())
		}
	}
	// events stopped (Ctrl-C) before it has opened the streams ends quietly: no "no stream is
	// readable" for streams it never asked for.
	out.Reset()
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runEvents(stopped, []string{"-nats", s.NATSURL, "-ca", s.CAFile, "-cert", filepath.Join(pki, "ops.pem")}, &out); err != nil {
		t.Errorf("events stopped at once: %v\n%s", err, out.String())
	}
	// outcomes-rebuild records a request in case-direction's database (carried out at its next
	// start; services/case-direction TestOutcomeRebuildByReplay covers that).
	out.Reset()
	if err := run([]string{"outcomes-rebuild", "-pg-port", strconv.Itoa(s.Postgres.Port()), "-data-dir", s.DataDir, "-by", "ops-test"}, &out); err != nil ||
		!strings.Contains(out.String(), "rebuild request") {
		t.Fatalf("outcomes-rebuild: %v\n%s", err, out.String())
	}
}

// Every command answers -h with what it does, and succeeds.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-h"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), "  "+c.name+" ") {
			t.Errorf("wijkbrug -h does not list %s", c.name)
		}
		var help bytes.Buffer
		usageOutput = &help
		err := run([]string{c.name, "-h"}, io.Discard)
		usageOutput = os.Stderr
		if err != nil {
			t.Errorf("wijkbrug %s -h: %v", c.name, err)
		}
		if !strings.Contains(help.String(), c.what) {
			t.Errorf("wijkbrug %s -h does not say what it does:\n%s", c.name, help.String())
		}
	}
	if err := run([]string{"no-such-command"}, io.Discard); err == nil {
		t.Error("an unknown command must fail")
	}
}

// issue-cert issues from any CA given as files: a partner's client certificate and a
// service certificate that chain to it.
func TestIssueCert(t *testing.T) {
	dir := t.TempDir()
	ca, err := devca.LoadOrCreate(filepath.Join(dir, "ca"), devca.DevCAName)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"issue-cert", "-ca-cert", filepath.Join(dir, "ca", "ca.pem"), "-ca-key", filepath.Join(dir, "ca", "ca-key.pem"), "-out", dir}
	if err := run(append(args, "-oin", "00000009000000000077", "-name", "Huisartsen Oost", "-type", "gp", "-days", "30"), &out); err != nil {
		t.Fatal(err)
	}
	if err := run(append(args, "-oin", "00000009000000000001", "-name", "wijkbrug-intake", "-type", "SERVICE", "-dns", "intake,intake.wijkbrug.svc", "-file", "intake"), &out); err != nil {
		t.Fatal(err)
	}
	for file, check := range map[string]func(*x509.Certificate) bool{
		"00000009000000000077.pem": func(c *x509.Certificate) bool {
			return c.Subject.SerialNumber == "00000009000000000077" && c.Subject.OrganizationalUnit[0] == "GP"
		},
		"intake.pem": func(c *x509.Certificate) bool {
			return c.Subject.OrganizationalUnit[0] == "SERVICE" && c.VerifyHostname("intake.wijkbrug.svc") == nil
		},
	} {
		cert := readCert(t, filepath.Join(dir, file))
		if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil || !check(cert) {
			t.Fatalf("%s: %v %v", file, cert.Subject, err)
		}
		if st, err := os.Stat(filepath.Join(dir, strings.TrimSuffix(file, ".pem")+"-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s key: %v %v", file, st, err)
		}
	}
	if err := run(append(args, "-oin", "123", "-name", "x", "-type", "GP"), io.Discard); err == nil {
		t.Fatal("a malformed OIN must be refused")
	}
}

func regexpContains(b []byte, re string) bool { return regexp.MustCompile(re).Match(b) }
