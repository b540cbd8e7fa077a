package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1" // the request types, by name
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

var (
	// as <who> <user> <role> <purpose> -d '<json>' \ <addr> <service>/<method>
	walkthroughCall = regexp.MustCompile(`(?s)(# [^\n]*\n)?as (\w+) (\S+) (\S+) (\S+) -d '([^']*)'\s*(?:\\\s*)?(localhost:\d+) ([\w.]+)/(\w+)`)
	// curl -s … --cert $P/<who>.pem … '<url>'
	walkthroughCurl = regexp.MustCompile(`(?s)curl -s --cacert \$P/ca.pem --cert \$P/(\w+)\.pem --key \$P/\w+-key\.pem\s*\\\s*-H 'X-Wijkbrug-User: (\S+)' -H 'X-Wijkbrug-Role: (\S+)' -H 'X-Wijkbrug-Purpose: (\S+)'\s*\\\s*(?:-o \S+ )?'https://localhost:(\d+)([^']*)'`)
)

// checkOutcomeWalkthrough runs the grpcurl and curl calls of docs/services/outcomes.md against
// the suite `make run` starts: each as the organisation, user, role and purpose it names, with
// its JSON; a call the document marks PERMISSION_DENIED must get that, every other one must
// succeed.
func checkOutcomeWalkthrough(t *testing.T, s *suite.Suite) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/services/outcomes.md")
	if err != nil {
		t.Fatal(err)
	}
	var casedirection suite.Endpoint
	for _, e := range s.Services {
		if e.Name == "casedirection" {
			casedirection = e
		}
	}
	calls := walkthroughCall.FindAllStringSubmatch(string(doc), -1)
	if len(calls) < 4 {
		t.Fatalf("docs/services/outcomes.md: %d grpcurl calls found", len(calls))
	}
	for _, c := range calls {
		comment, who, user, role, purpose, body, addr, service, method := c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
		if addr != "localhost:50052" {
			t.Fatalf("the walkthrough calls %s, not case-direction's port", addr)
		}
		sd, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
		if err != nil {
			t.Fatalf("%s: %v", service, err)
		}
		md := sd.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(method))
		req, resp := dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output())
		if err := protojson.Unmarshal([]byte(body), req); err != nil {
			t.Fatalf("%s: the document's JSON does not decode: %v", method, err)
		}
		err = dialAs(t, s, who, casedirection.Addr).Invoke(acting(t, user, role, purpose), "/"+service+"/"+method, req, resp)
		want := codes.OK
		if strings.Contains(comment, "PERMISSION_DENIED") {
			want = codes.PermissionDenied
		}
		if status.Code(err) != want {
			t.Errorf("walkthrough %s as %s: %v, the document says %s", method, who, err, want)
		}
	}
	curls := walkthroughCurl.FindAllStringSubmatch(string(doc), -1)
	if len(curls) != 2 {
		t.Fatalf("docs/services/outcomes.md: %d curl calls found, want the export and the report", len(curls))
	}
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, c := range curls {
		who, user, role, purpose, port, path := c[1], c[2], c[3], c[4], c[5], c[6]
		if port != "50072" {
			t.Fatalf("the walkthrough's curl goes to port %s, not case-direction's REST edge", port)
		}
		p := s.Partners[who]
		cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13,
			Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
		req, err := http.NewRequest(http.MethodGet, "https://"+casedirection.RESTAddr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Wijkbrug-User", user)
		req.Header.Set("X-Wijkbrug-Role", role)
		req.Header.Set("X-Wijkbrug-Purpose", purpose)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		ctype := res.Header.Get("Content-Type")
		if res.StatusCode != http.StatusOK || !(strings.HasPrefix(ctype, "text/csv") || strings.HasPrefix(ctype, "text/html")) {
			t.Errorf("walkthrough GET %s: %d %s %.300s", path, res.StatusCode, ctype, b)
		}
	}
}
