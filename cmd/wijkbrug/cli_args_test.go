package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// A positional argument anywhere is refused before a command does anything: the flag package
// stops at the first non-flag word, so the flags after it would otherwise be ignored
// (probe D F7: `parked replay all -pg-port 24432` went to the default port).
func TestUnexpectedArguments(t *testing.T) {
	// One harmless flag per command, to put the stray word after a flag as well.
	flagOf := map[string][]string{
		"dev": {"-log-level", "warn"}, "events": {"-new"}, "access-history": {"-bsn", "111222333"},
		"verify-accesslog": {"-pg-port", "1"}, "parked list": {"-pg-port", "1"}, "parked replay": {"-pg-port", "1"},
		"faults": {"-keep"}, "outbox-status": {"-pg-port", "1"}, "outcomes-rebuild": {"-by", "x"},
		"consumer-status": {"-nats", "tls://127.0.0.1:1"}, "issue-cert": {"-days", "1"}, "seed-demo": {"-pg-port", "1"},
		"policies": {}, "events-catalog": {"-proto", "proto"},
	}
	var names []string
	for _, c := range commands() {
		if c.name == "parked" {
			names = append(names, "parked list", "parked replay")
			continue
		}
		names = append(names, c.name)
	}
	for _, name := range names {
		flags, ok := flagOf[name]
		if !ok {
			t.Errorf("%s: add the command to this test", name)
			continue
		}
		cmd := strings.Fields(name)
		for _, args := range [][]string{
			append(append(append([]string{}, cmd...), "stray"), flags...), // first: the flags after it were dropped
			append(append(append([]string{}, cmd...), flags...), "stray"), // last: it was ignored
			append(append([]string{}, cmd...), "stray", "-pg-port", "24432"),
		} {
			start := time.Now()
			var out bytes.Buffer
			err := run(args, &out)
			if err == nil || !strings.Contains(err.Error(), `unexpected argument "stray"`) {
				t.Errorf("wijkbrug %s: %v, want unexpected argument \"stray\"", strings.Join(args, " "), err)
			}
			if out.Len() > 0 || time.Since(start) > 2*time.Second {
				t.Errorf("wijkbrug %s did something before refusing (%s): %s", strings.Join(args, " "), time.Since(start), out.String())
			}
		}
	}
	// The README once suggested `parked replay … or all`: the error says what replays all.
	err := run([]string{"parked", "replay", "all", "-pg-port", "24432"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unexpected argument "all"`) || !strings.Contains(err.Error(), "without -event and -consumer") {
		t.Errorf("parked replay all: %v", err)
	}
	// -database-url "$WIJKBRUG_DATABASE_URL" with the variable unset had listed the development
	// suite's databases instead (README probe, thirty-fourth session).
	for _, sub := range []string{"list", "replay"} {
		var out bytes.Buffer
		err := run([]string{"parked", sub, "-database-url", "", "-pg-port", "1"}, &out)
		if err == nil || !strings.Contains(err.Error(), "-database-url is empty") || out.Len() > 0 {
			t.Errorf("parked %s -database-url '': %v (%s), want the empty URL refused", sub, err, out.String())
		}
	}
}

// A data directory or certificate that is not there is named with the flag that gives it (the
// recheck probe, thirty-fourth session: the error was only the missing file).
func TestMissingFilesNameTheirFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	for args, flag := range map[string]string{
		"access-history -bsn 111222333 -data-dir " + missing: "-data-dir",
		"verify-accesslog -data-dir " + missing:              "-data-dir",
		"outbox-status -data-dir " + missing:                 "-data-dir",
		"parked list -data-dir " + missing:                   "-data-dir",
		"events -cert " + missing + "/ops.pem":               "-cert",
		"consumer-status -cert " + missing + "/ops.pem":      "-cert",
	} {
		err := run(strings.Fields(args), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "no such file") || !strings.Contains(err.Error(), flag) {
			t.Errorf("wijkbrug %s: %v, want the missing file named with %s", args, err, flag)
		}
	}
}

// consumer-status with a certificate that is not the operations identity fails at once with
// a clear message (probe D F6: it took 11 timeouts of 10 s); an OU=OPERATIONS certificate that
// NATS does not treat as an observer stops at NATS's first refusal.
func TestConsumerStatusNeedsOperations(t *testing.T) {
	n := testkit.NewNATS(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, n.CA.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	issue := func(org devca.Org, file string) string {
		_, certPEM, keyPEM, err := n.CA.IssueClient(org, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		certFile, _, err := devca.WriteFiles(dir, file, certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return certFile
	}
	gp := testkit.Org("GP", "Huisartsen consumer-status")
	n.AddPartner(t, gp)
	unmappedOps := devca.Org{OIN: "00000000000000000998", Name: "ops, as a partner", Type: "OPERATIONS"}
	n.AddPartner(t, unmappedOps) // known to NATS, but with a partner's permissions
	for _, tc := range []struct {
		cert, want string
	}{
		{issue(gp, "gp"), "is not an operations identity (OU=OPERATIONS"},
		{issue(unmappedOps, "ops-partner"), "NATS refused"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		var out bytes.Buffer
		err := runConsumerStatus(ctx, []string{"-nats", n.ClientURL(), "-ca", caFile, "-cert", tc.cert}, &out)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", filepath.Base(tc.cert), err, tc.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: refused after %s", filepath.Base(tc.cert), d)
		}
	}
	// The operations identity itself gets through (no streams here: each consumer is an
	// error about its stream, not a refusal).
	_, certPEM, keyPEM, err := n.CA.IssueClient(testkit.ObserverOrg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	opsFile, _, err := devca.WriteFiles(dir, "ops", certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = runConsumerStatus(ctx, []string{"-nats", n.ClientURL(), "-ca", caFile, "-cert", opsFile}, io.Discard)
	if err != nil && (strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "operations identity") || errors.Is(err, context.DeadlineExceeded)) {
		t.Errorf("ops: %v", err)
	}
}

// issue-cert refuses an unknown type, a validity below a day or beyond the CA's, and a -file
// that is not a plain name; a CA file that is not a CA is named (probe D F9).
func TestIssueCertChecks(t *testing.T) {
	dir := t.TempDir()
	ca, err := devca.LoadOrCreate(filepath.Join(dir, "ca"), devca.DevCAName)
	if err != nil {
		t.Fatal(err)
	}
	_, leafPEM, leafKey, err := ca.IssueClient(devca.Org{OIN: "00000009000000000300", Name: "leaf", Type: "GP"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafCert, leafKeyFile, err := devca.WriteFiles(dir, "leaf", leafPEM, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "sub")
	caArgs := []string{"issue-cert", "-ca-cert", filepath.Join(dir, "ca", "ca.pem"), "-ca-key", filepath.Join(dir, "ca", "ca-key.pem"), "-out", out}
	partner := []string{"-oin", "00000009000000000301", "-name", "X"}
	caDays := int(time.Until(ca.Certificate().NotAfter) / (24 * time.Hour))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(partner, "-type", "BOGUS"), `-type "BOGUS": not an organisation type`},
		{append(partner, "-type", "GP", "-days", "-5"), "at least 1 day"},
		{append(partner, "-type", "GP", "-days", "0"), "at least 1 day"},
		{append(partner, "-type", "GP", "-days", "100000"), "beyond the CA certificate"},
		{append(partner, "-type", "GP", "-days", strconv.Itoa(caDays+2)), "beyond the CA certificate"},
		{append(partner, "-type", "GP", "-file", "../../escape"), "plain file name"},
		{append(partner, "-type", "GP", "-file", "a/b"), "plain file name"},
		{append(partner, "-type", "GP", "-file", `a\b`), "plain file name"},
		{append(partner, "-type", "GP", "-file", ".."), "plain file name"},
		{append(partner, "-type", "SERVICE", "-days", "30"), "-days applies to partner certificates"},
		{append(partner, "-type", "SERVICE"), "-type SERVICE needs -dns"},
		{append(partner, "-type", "SERVICE", "-dns", " , "), "-type SERVICE needs -dns"},
		{append(partner, "-type", "GP", "-dns", "gp.example"), "-dns applies to SERVICE certificates"},
	} {
		err := run(append(append([]string{}, caArgs...), tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("issue-cert %s: %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused issue wrote to -out: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape.pem")); err == nil {
		t.Error("-file ../../escape wrote outside -out")
	}
	// A leaf as the CA: the error names the file given.
	err = run([]string{"issue-cert", "-ca-cert", leafCert, "-ca-key", leafKeyFile, "-out", out, "-oin", "00000009000000000302", "-name", "X", "-type", "GP"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), leafCert+" is not a CA certificate") {
		t.Errorf("leaf as CA: %v", err)
	}
	// Accepted: the last possible day, a type in lower case, the operations identity.
	for _, args := range [][]string{
		append(partner, "-type", "gp", "-days", strconv.Itoa(caDays), "-file", "lastday"),
		{"-oin", "00000009000000000303", "-name", "ops", "-type", "OPERATIONS", "-file", "ops"},
	} {
		if err := run(append(append([]string{}, caArgs...), args...), io.Discard); err != nil {
			t.Errorf("issue-cert %s: %v", strings.Join(args, " "), err)
		}
	}
	cert := readCert(t, filepath.Join(out, "lastday.pem"))
	if cert.NotAfter.After(ca.Certificate().NotAfter) || cert.Subject.OrganizationalUnit[0] != "GP" {
		t.Errorf("lastday: until %s (CA %s), OU %v", cert.NotAfter, ca.Certificate().NotAfter, cert.Subject.OrganizationalUnit)
	}
}

// access-history checks the BSN before it asks the services (probe D F10).
func TestAccessHistoryChecksBSN(t *testing.T) {
	for _, v := range []string{"abc", "12345678", "123456789", "000000000"} {
		err := run([]string{"access-history", "-bsn", v, "-base-port", strconv.Itoa(freePort(t))}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), `-bsn "`+v+`" is not a valid BSN`) {
			t.Errorf("-bsn %s: %v", v, err)
		}
	}
}

// freePort returns a port nothing listens on (pkg/netport, as every test picks its ports).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := netport.One()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// readCert reads the certificate of a PEM file.
func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// issue-cert never replaces an existing certificate or key without -force (probe-a F6): the
// README's example writes into .wijkbrug/pki, where -file gp would replace the demo GP's key.
func TestIssueCertKeepsExistingFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := devca.LoadOrCreate(filepath.Join(dir, "ca"), devca.DevCAName); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"issue-cert", "-ca-cert", filepath.Join(dir, "ca", "ca.pem"), "-ca-key", filepath.Join(dir, "ca", "ca-key.pem"), "-out", out,
		"-oin", "00000009000000000401", "-name", "X", "-type", "GP", "-file", "gp"}
	if err := run(args, io.Discard); err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(out, "gp.pem"), filepath.Join(out, "gp-key.pem")
	read := func() (string, string) {
		c, err1 := os.ReadFile(certPath)
		k, err2 := os.ReadFile(keyPath)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		return string(c), string(k)
	}
	cert, key := read()
	err := run(args, io.Discard)
	if err == nil || !strings.Contains(err.Error(), certPath+" and "+keyPath+" already exist") || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("second issue: %v", err)
	}
	if c, k := read(); c != cert || k != key {
		t.Fatal("a refused issue replaced the files")
	}
	// Either file alone is enough to refuse: a key without its certificate is still in use.
	if err := os.Remove(certPath); err != nil {
		t.Fatal(err)
	}
	if err := run(args, io.Discard); err == nil || !strings.Contains(err.Error(), keyPath+" already exists") {
		t.Fatalf("key only: %v", err)
	}
	if _, err := os.Stat(certPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused issue wrote the certificate: %v", err)
	}
	if err := run(append(args, "-force"), io.Discard); err != nil {
		t.Fatalf("-force: %v", err)
	}
	if _, k := read(); k == key {
		t.Fatal("-force kept the old key")
	}
	// -h names the flag.
	var help bytes.Buffer
	usageOutput = &help
	defer func() { usageOutput = os.Stderr }()
	_ = run([]string{"issue-cert", "-h"}, io.Discard)
	if !strings.Contains(help.String(), "-force") {
		t.Errorf("issue-cert -h does not name -force:\n%s", help.String())
	}
}
