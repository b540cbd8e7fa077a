package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/rest"
	"github.com/wijkbrug/wijkbrug/pkg/svctest/rawcall"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestPartnerEdges runs the checks of what partners send at the edges of all four services, on
// one suite: bytes that do not decode, the REST edge against gRPC, and the field rules.
func TestPartnerEdges(t *testing.T) {
	t.Parallel()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	t.Run("undecodable", func(t *testing.T) { testUndecodable(t, s) })
	t.Run("rest", func(t *testing.T) { testREST(t, s) })
	t.Run("field rules", func(t *testing.T) { testFieldRules(t, s) })
	t.Run("answers fit the documents", func(t *testing.T) { testAnswersFitTheDocuments(t, s) })
}

// answered keeps every REST answer call received, for testAnswersFitTheDocuments.
var answered struct {
	sync.Mutex
	list []recordedAnswer
}

type recordedAnswer struct {
	req    *http.Request
	answer restAnswer
}

// Every REST answer the edge tests received, errors of every kind included, fits the OpenAPI
// document of its service (kin-openapi's response validation): its status is one the operation
// declares or falls under default, the headers declared required are there (API-Version on
// each, WWW-Authenticate on a 401) and the body fits the status's schema. A client generated
// from the documents meets no answer they do not describe.
func testAnswersFitTheDocuments(t *testing.T, s *suite.Suite) {
	ctx := context.Background()
	routerOf := map[string]routers.Router{}
	for _, e := range s.Services {
		doc, err := openapi3.NewLoader().LoadFromData(apidoc.Document(strings.ReplaceAll(e.Name, "-", "")))
		if err != nil {
			t.Fatal(err)
		}
		r, err := legacyrouter.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		routerOf[e.RESTAddr] = r
	}
	answered.Lock()
	list := slices.Clone(answered.list)
	answered.Unlock()
	byStatus := map[int]int{}
	for _, ra := range list {
		r := routerOf[ra.req.URL.Host]
		if r == nil {
			continue // another test's suite
		}
		route, params, err := r.FindRoute(ra.req)
		if err != nil {
			continue // an unknown path or method: 404 and 405 come before any operation
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: ra.req, PathParams: params, Route: route},
			Status:                 ra.answer.status,
			Header:                 ra.answer.header,
			Body:                   io.NopCloser(bytes.NewReader(ra.answer.body)),
			Options:                &openapi3filter.Options{MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
			t.Errorf("%s %s: answer %d does not fit the document: %v\n%s", ra.req.Method, ra.req.URL.RequestURI(), ra.answer.status, err, ra.answer.body)
			continue
		}
		byStatus[ra.answer.status]++
	}
	t.Logf("answers checked, by status: %v", byStatus)
	for _, want := range []int{200, 400, 401, 403, 404} {
		if byStatus[want] == 0 {
			t.Errorf("no %d answer was checked; the edge tests make several", want)
		}
	}
}

// badRequestFields returns the fields a status's BadRequest names.
func badRequestFields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// Every RPC of every service answers bytes that do not decode (malformed wire format, invalid
// UTF-8 in a string field) with INVALID_ARGUMENT naming the request or the field, never
// INTERNAL.
func testUndecodable(t *testing.T, s *suite.Suite) {
	for _, e := range s.Services {
		t.Run(e.Name, func(t *testing.T) {
			d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(e.Service))
			if err != nil {
				t.Fatal(err)
			}
			cc := dialAs(t, s, "team", e.Addr)
			methods := d.(protoreflect.ServiceDescriptor).Methods()
			utf8Checked := 0
			for i := range methods.Len() {
				m := methods.Get(i)
				full := "/" + string(d.FullName()) + "/" + string(m.Name())
				err := rawcall.Invoke(acting(t, "anna", "case_director", "case-direction"), cc, full, rawcall.Malformed)
				if status.Code(err) != codes.InvalidArgument || len(badRequestFields(err)) != 1 {
					t.Errorf("%s, malformed bytes: want INVALID_ARGUMENT with a BadRequest, got %v", m.Name(), err)
				}
				if data := rawcall.InvalidUTF8(m.Input()); data != nil {
					utf8Checked++
					err := rawcall.Invoke(acting(t, "anna", "case_director", "case-direction"), cc, full, data)
					if f := badRequestFields(err); status.Code(err) != codes.InvalidArgument || len(f) != 1 || f[0] == "request" {
						t.Errorf("%s, invalid UTF-8: want INVALID_ARGUMENT naming the field, got %v %v", m.Name(), err, f)
					}
				}
			}
			t.Logf("%d methods: malformed bytes refused by all, invalid UTF-8 by %d", methods.Len(), utf8Checked)
		})
	}
}

// restClient is an HTTP client with partner's certificate.
func restClient(t *testing.T, s *suite.Suite, partner string) *http.Client {
	t.Helper()
	p := s.Partners[partner]
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

type restAnswer struct {
	status int
	body   []byte
	header http.Header
}

// call makes one REST call; headers are name, value pairs (acting user first).
func call(t *testing.T, c *http.Client, method, url, body string, headers ...string) restAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := restAnswer{status: res.StatusCode, body: b, header: res.Header}
	answered.Lock()
	answered.list = append(answered.list, recordedAnswer{req: req, answer: a})
	answered.Unlock()
	return a
}

// restError decodes a REST error body (a google.rpc.Status as JSON).
func restError(t *testing.T, a restAnswer) (codes.Code, []string) {
	t.Helper()
	var st spb.Status
	if err := protojson.Unmarshal(a.body, &st); err != nil {
		t.Fatalf("error body is not a google.rpc.Status: %v: %s", err, a.body)
	}
	return codes.Code(st.GetCode()), badRequestFields(status.FromProto(&st).Err())
}

var gpHeaders = []string{"X-Wijkbrug-User", "dr-jansen", "X-Wijkbrug-Role", "gp", "X-Wijkbrug-Purpose", "signal"}

// The REST edge is the gRPC service: the same call gives the same answer both ways (mutual TLS
// on both, against the running suite); an idempotent replay returns the first answer; another
// organisation's record is NOT_FOUND; what the edge cannot read is 400 with the field named.
func testREST(t *testing.T, s *suite.Suite) {
	ref := s.Endpoint("referral")
	base := "https://" + ref.RESTAddr
	gp := restClient(t, s, "gp")
	signal := `{"source_type":"SOURCE_TYPE_GP","legal_basis":"LEGAL_BASIS_WMO","resident_bsn":"123456782",` +
		`"municipality_code":"GM0363","district_code":"WK036300","life_domains":["LIFE_DOMAIN_FINANCES"],"category":"payment arrears"}`

	first := call(t, gp, "POST", base+"/v1/signals", signal, append(gpHeaders, "Idempotency-Key", "rest-1")...)
	if first.status != http.StatusOK || first.header.Get("API-Version") == "" {
		t.Fatalf("submit over REST: %d %s (API-Version %q)", first.status, first.body, first.header.Get("API-Version"))
	}
	var submitted referralv1.SubmitSignalResponse
	if err := protojson.Unmarshal(first.body, &submitted); err != nil || submitted.GetSignalId() == "" {
		t.Fatalf("submit answer %s: %v", first.body, err)
	}
	t.Run("idempotent replay returns the first answer", func(t *testing.T) {
		again := call(t, gp, "POST", base+"/v1/signals", signal, append(gpHeaders, "Idempotency-Key", "rest-1")...)
		if again.status != http.StatusOK || string(again.body) != string(first.body) {
			t.Fatalf("replay: %d %s, first %s", again.status, again.body, first.body)
		}
		other := call(t, gp, "POST", base+"/v1/signals", strings.Replace(signal, "payment arrears", "loneliness", 1), append(gpHeaders, "Idempotency-Key", "rest-1")...)
		if code, fields := restError(t, other); other.status != http.StatusBadRequest || code != codes.InvalidArgument || !slices.Contains(fields, "idempotency_key") {
			t.Fatalf("same key, other request: %d %s", other.status, other.body)
		}
		body := strings.Replace(signal, "{", `{"idempotency_key":"rest-2",`, 1)
		both := call(t, gp, "POST", base+"/v1/signals", body, append(gpHeaders, "Idempotency-Key", "rest-3")...)
		if _, fields := restError(t, both); both.status != http.StatusBadRequest || !slices.Contains(fields, "idempotency_key") {
			t.Fatalf("header and body keys differ: %d %s", both.status, both.body)
		}
	})
	t.Run("same answer over gRPC and REST", func(t *testing.T) {
		// The signal's chain (intake registering it, the feedback) may change its status between
		// two reads: a comparison counts only when a gRPC read before and one after the REST read
		// agree, so the signal did not change in between (at most 10 s of tries).
		client := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", ref.Addr))
		getGRPC := func() *referralv1.GetSignalResponse {
			t.Helper()
			r, err := client.GetSignal(acting(t, "dr-jansen", "gp", "signal"), &referralv1.GetSignalRequest{SignalId: submitted.GetSignalId()})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		var a restAnswer
		var viaGRPC *referralv1.GetSignalResponse
		var viaREST referralv1.GetSignalResponse
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			before := getGRPC()
			a = call(t, gp, "GET", base+"/v1/signals/"+submitted.GetSignalId(), "", gpHeaders...)
			viaREST.Reset()
			if err := protojson.Unmarshal(a.body, &viaREST); a.status != http.StatusOK || err != nil {
				t.Fatalf("get over REST: %d %s %v", a.status, a.body, err)
			}
			viaGRPC = getGRPC()
			if proto.Equal(before, viaGRPC) || time.Now().After(deadline) {
				break
			}
		}
		if !proto.Equal(viaGRPC, &viaREST) || viaREST.GetSignal().GetResidentBsn() != "123456782" || viaREST.GetSignal().GetReporter() != "dr-jansen" {
			t.Fatalf("gRPC and REST differ:\n%v\n%v", viaGRPC, &viaREST)
		}
		// The wire names are the proto field names.
		if !strings.Contains(string(a.body), `"resident_bsn":"123456782"`) {
			t.Fatalf("JSON names: %s", a.body)
		}
	})
	t.Run("another organisation's signal is NOT_FOUND", func(t *testing.T) {
		a := call(t, restClient(t, s, "housing"), "GET", base+"/v1/signals/"+submitted.GetSignalId(), "",
			"X-Wijkbrug-User", "h1", "X-Wijkbrug-Role", "housing_officer", "X-Wijkbrug-Purpose", "signal")
		if code, _ := restError(t, a); a.status != http.StatusNotFound || code != codes.NotFound {
			t.Fatalf("want 404, got %d %s", a.status, a.body)
		}
	})
	t.Run("acting user required", func(t *testing.T) {
		a := call(t, gp, "GET", base+"/v1/signals/"+submitted.GetSignalId(), "",
			"X-Wijkbrug-User", "dr-jansen", "Grpc-Metadata-X-Wijkbrug-Role", "gp", "X-Wijkbrug-Purpose", "signal")
		if code, fields := restError(t, a); a.status != http.StatusUnauthorized || code != codes.Unauthenticated || !slices.Contains(fields, "header X-Wijkbrug-Role") ||
			!strings.Contains(string(a.body), "acting-user headers") {
			t.Fatalf("want 401 naming the role header, got %d %s", a.status, a.body)
		}
	})
	t.Run("without the acting user a request is 401 before anything else is judged", func(t *testing.T) {
		// The recheck probe of the thirty-sixth session: a stray Idempotency-Key on a read, or an
		// unknown query parameter, was 400 before the missing headers were 401.
		signalPath := base + "/v1/signals/" + submitted.GetSignalId()
		for name, a := range map[string]restAnswer{
			"an unknown query parameter":   call(t, gp, "GET", signalPath+"?colour=red", ""),
			"an Idempotency-Key on a read": call(t, gp, "GET", signalPath, "", "Idempotency-Key", "k-1"),
			"a query string on a POST":     call(t, gp, "POST", base+"/v1/signals?x=1", "{}"),
			"a body that is not JSON":      call(t, gp, "POST", base+"/v1/signals", "{"),
			"a query that is not UTF-8":    call(t, gp, "GET", base+"/v1/signals?category=%ff", ""),
		} {
			if code, fields := restError(t, a); a.status != http.StatusUnauthorized || code != codes.Unauthenticated ||
				!slices.Contains(fields, "header X-Wijkbrug-User") || a.header.Get("WWW-Authenticate") != rest.Challenge {
				t.Errorf("%s without acting-user headers: want 401 naming them, got %d %s", name, a.status, a.body)
			}
		}
		// What needs no acting user still answers without one.
		if a := call(t, gp, "GET", base+"/openapi.json", ""); a.status != http.StatusOK {
			t.Errorf("the OpenAPI document without acting-user headers: want 200, got %d %s", a.status, a.body)
		}
		if a := call(t, gp, "GET", base+"/v1/no-such-path", ""); a.status != http.StatusNotFound {
			t.Errorf("an unknown path without acting-user headers: want 404, got %d %s", a.status, a.body)
		}
		if a := call(t, gp, "DELETE", signalPath, ""); a.status != http.StatusMethodNotAllowed {
			t.Errorf("a method the path does not answer, without acting-user headers: want 405, got %d %s", a.status, a.body)
		}
	})
	t.Run("a purpose outside the register of processing activities is refused", func(t *testing.T) {
		for purpose, want := range map[string]string{
			"curiosity": `purpose "curiosity" is not in the register of processing activities; its activities: signal, case-consultation, referral, social-map, event-delivery`,
			"decisions": `purpose "decisions" is not a processing activity of organisation type GP`,
		} {
			_, err := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", ref.Addr)).GetSignal(
				acting(t, "dr-jansen", "gp", purpose), &referralv1.GetSignalRequest{SignalId: submitted.GetSignalId()})
			if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), want) {
				t.Errorf("gRPC with purpose %q: %v, want PERMISSION_DENIED saying %q", purpose, err, want)
			}
			a := call(t, gp, "GET", base+"/v1/signals/"+submitted.GetSignalId(), "",
				"X-Wijkbrug-User", "dr-jansen", "X-Wijkbrug-Role", "gp", "X-Wijkbrug-Purpose", purpose)
			if code, _ := restError(t, a); a.status != http.StatusForbidden || code != codes.PermissionDenied || !strings.Contains(string(a.body), strings.ReplaceAll(want, `"`, `\"`)) {
				t.Errorf("REST with purpose %q: %d %s, want 403 saying %q", purpose, a.status, a.body, want)
			}
		}
	})
	t.Run("a purpose that processes no residents' data shows none", func(t *testing.T) {
		// The register says social-map and event-delivery process no personal data of
		// residents: the signal (a BSN, the GP's text) is refused under them, on both edges,
		// naming the purposes that would fit; the social map itself is still searched.
		want := `purpose "social-map" processes no personal data of residents, and this call reads or changes a resident's data; name the activity it serves: signal, case-consultation, referral`
		for _, purpose := range []string{"social-map", "event-delivery"} {
			w := strings.ReplaceAll(want, "social-map", purpose)
			_, err := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", ref.Addr)).GetSignal(
				acting(t, "dr-jansen", "gp", purpose), &referralv1.GetSignalRequest{SignalId: submitted.GetSignalId()})
			if status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != w {
				t.Errorf("gRPC with purpose %q: %v, want PERMISSION_DENIED saying %q", purpose, err, w)
			}
			a := call(t, gp, "GET", base+"/v1/signals/"+submitted.GetSignalId(), "",
				"X-Wijkbrug-User", "dr-jansen", "X-Wijkbrug-Role", "gp", "X-Wijkbrug-Purpose", purpose)
			if code, _ := restError(t, a); a.status != http.StatusForbidden || code != codes.PermissionDenied || strings.Contains(string(a.body), "123456782") {
				t.Errorf("REST with purpose %q: %d %s, want 403 without the signal", purpose, a.status, a.body)
			}
		}
		// A new signal under it is refused too.
		a := call(t, gp, "POST", base+"/v1/signals", signal, "X-Wijkbrug-User", "dr-jansen", "X-Wijkbrug-Role", "gp",
			"X-Wijkbrug-Purpose", "social-map", "Idempotency-Key", "under-social-map")
		if code, _ := restError(t, a); a.status != http.StatusForbidden || code != codes.PermissionDenied {
			t.Errorf("a signal submitted under social-map: %d %s, want 403", a.status, a.body)
		}
		if _, err := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", ref.Addr)).SearchProvisions(
			acting(t, "dr-jansen", "gp", "social-map"), &referralv1.SearchProvisionsRequest{MunicipalityCode: "GM0363"}); err != nil {
			t.Errorf("the social map under social-map: %v", err)
		}
	})
	t.Run("without a client certificate every request is 401 saying so, another CA's included", func(t *testing.T) {
		// It was a TLS alert ("certificate required"), which told a curl user nothing (README
		// probe, thirty-fourth session); the gRPC port answers UNAUTHENTICATED with the same words.
		caPEM, err := os.ReadFile(s.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		for _, h2 := range []bool{false, true} {
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: h2,
				TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}}}
			for _, target := range []struct{ method, path string }{{"GET", "/openapi.json"}, {"POST", "/v1/signals"}, {"OPTIONS", "/v1/signals"}} {
				a := call(t, c, target.method, base+target.path, signal, gpHeaders...)
				if code, _ := restError(t, a); a.status != http.StatusUnauthorized || code != codes.Unauthenticated ||
					!strings.Contains(string(a.body), "no client certificate") || a.header.Get("API-Version") == "" ||
					a.header.Get("WWW-Authenticate") != rest.CertificateChallenge {
					t.Errorf("%s %s without a certificate (h2 %v): %d %s, want 401 saying no client certificate", target.method, target.path, h2, a.status, a.body)
				}
			}
		}
		other, err := devca.New("Another CA")
		if err != nil {
			t.Fatal(err)
		}
		cert, _, _, err := other.IssueClient(devca.Org{OIN: "00000004000000000999", Name: "Elders", Type: "GP"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13,
			RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
		// A TLS client offers only a certificate of a CA the server names, so it sends none.
		if a := call(t, c, "GET", base+"/openapi.json", "", gpHeaders...); a.status != http.StatusUnauthorized || !strings.Contains(string(a.body), "no client certificate") {
			t.Fatalf("a certificate of another CA: %d %s, want 401 saying no client certificate", a.status, a.body)
		}
	})
	t.Run("bad bytes are 400", func(t *testing.T) {
		for name, body := range map[string]string{
			"malformed JSON":      `{"source_type":`,
			"invalid UTF-8":       strings.Replace(signal, "payment arrears", "pay\xff\xfe", 1),
			"unknown enum name":   strings.Replace(signal, "SOURCE_TYPE_GP", "SOURCE_TYPE_NONSENSE", 1),
			"unknown field":       strings.Replace(signal, "{", `{"no_such_field":1,`, 1),
			"number for a string": strings.Replace(signal, `"GM0363"`, `363`, 1),
			"a BSN as a number":   strings.Replace(signal, `"123456782"`, `123456782`, 1),
			"a name as an enum":   strings.Replace(signal, "SOURCE_TYPE_GP", "Zwaantje 123456782", 1),
			"a name as a token":   strings.Replace(signal, `"payment arrears"`, `Zwaantje`, 1),
		} {
			a := call(t, gp, "POST", base+"/v1/signals", body, append(gpHeaders, "Idempotency-Key", "bad-"+name)...)
			if code, fields := restError(t, a); a.status != http.StatusBadRequest || code != codes.InvalidArgument || len(fields) == 0 {
				t.Errorf("%s: want 400 with a BadRequest, got %d %s", name, a.status, a.body)
			}
			// The answer names the field, never the value: a BSN or a name sent in the wrong
			// form is still the resident's.
			for _, value := range []string{"123456782", "Zwaantje"} {
				if strings.Contains(string(a.body), value) {
					t.Errorf("%s: the answer repeats %q: %s", name, value, a.body)
				}
			}
			// The decoder's message names the field as the proto does, not by its JSON name.
			if name == "a BSN as a number" && (!strings.Contains(string(a.body), "field resident_bsn") || strings.Contains(string(a.body), "proto:")) {
				t.Errorf("%s: want the message to name resident_bsn without the decoder's prefix: %s", name, a.body)
			}
		}
	})
	t.Run("a body over the message limit is 413", func(t *testing.T) {
		big := `{"category":"` + strings.Repeat("x", 5<<20) + `"}`
		for name, chunked := range map[string]bool{"with its length": false, "chunked": true} {
			var body io.Reader = strings.NewReader(big)
			if chunked {
				body = io.MultiReader(body) // no length known: sent chunked, stopped while read
			}
			req, err := http.NewRequest("POST", base+"/v1/signals", body)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(gpHeaders); i += 2 {
				req.Header.Set(gpHeaders[i], gpHeaders[i+1])
			}
			req.Header.Set("Idempotency-Key", "too-large-"+name)
			res, err := gp.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			a := restAnswer{status: res.StatusCode, body: b, header: res.Header}
			if code, fields := restError(t, a); a.status != http.StatusRequestEntityTooLarge || code != codes.InvalidArgument || !slices.Contains(fields, "body") {
				t.Errorf("%s: want 413 with a BadRequest on body, got %d %s", name, a.status, a.body)
			}
		}
	})
	t.Run("bad path and query are 400, a wrong verb 405", func(t *testing.T) {
		for name, url := range map[string]string{
			"path not UTF-8":     base + "/v1/signals/%ff",
			"query not UTF-8":    base + "/v1/signals?page_token=%ff",
			"query not a number": base + "/v1/signals?page_size=abc",
		} {
			a := call(t, gp, "GET", url, "", gpHeaders...)
			if code, fields := restError(t, a); a.status != http.StatusBadRequest || code != codes.InvalidArgument || len(fields) == 0 {
				t.Errorf("%s: want 400 with a BadRequest, got %d %s", name, a.status, a.body)
			}
		}
		// A value the query parser cannot read is named by its parameter, with what it takes.
		for url, field := range map[string]string{
			base + "/v1/signals?page_size=abc":                                              "page_size",
			base + "/v1/signals?pageSize=abc":                                               "page_size",
			base + "/v1/provisions?municipality_code=GM0363&life_domains=FOO":               "life_domains",
			base + "/v1/provisions?municipality_code=GM0363&life_domains=FOO,LIFE_DOMAIN_X": "life_domains",
			base + "/v1/provisions?municipality_code=GM0363&digital_referrals_only=maybe":   "digital_referrals_only",
		} {
			a := call(t, gp, "GET", url, "", "X-Wijkbrug-User", "anna", "X-Wijkbrug-Role", "gp", "X-Wijkbrug-Purpose", "signal")
			if code, fields := restError(t, a); a.status != http.StatusBadRequest || code != codes.InvalidArgument ||
				!slices.Equal(fields, []string{field}) || strings.Contains(string(a.body), "FOO") || strings.Contains(string(a.body), "maybe") {
				t.Errorf("%s: want 400 naming %s without the value, got %d %s", url, field, a.status, a.body)
			}
		}
		a := call(t, gp, "PUT", base+"/v1/signals", "{}", gpHeaders...)
		if code, _ := restError(t, a); a.status != http.StatusMethodNotAllowed || code != codes.Unimplemented {
			t.Errorf("PUT on a collection: want 405, got %d %s", a.status, a.body)
		}
		// A 405 and an OPTIONS say which methods the path answers (RFC 9110 §15.5.6, §9.3.7).
		const collection = "GET, HEAD, POST, OPTIONS"
		if got := a.header.Get("Allow"); got != collection {
			t.Errorf("PUT on a collection: Allow %q, want %q", got, collection)
		}
		signalPath := base + "/v1/signals/" + submitted.GetSignalId()
		for url, want := range map[string]string{base + "/v1/signals": collection, signalPath: "GET, HEAD, OPTIONS",
			base + "/openapi.json": "GET, HEAD, OPTIONS"} {
			a := call(t, gp, "OPTIONS", url, "")
			if a.status != http.StatusNoContent || a.header.Get("Allow") != want {
				t.Errorf("OPTIONS %s: want 204 with Allow %q, got %d, Allow %q %s", url, want, a.status, a.header.Get("Allow"), a.body)
			}
		}
		if a := call(t, gp, "OPTIONS", base+"/v1/no-such-path", ""); a.status != http.StatusNotFound {
			t.Errorf("OPTIONS on an unknown path: want 404, got %d %s", a.status, a.body)
		}
		// HEAD is served wherever GET is: the GET's status and headers, no body.
		get, head := call(t, gp, "GET", signalPath, "", gpHeaders...), call(t, gp, "HEAD", signalPath, "", gpHeaders...)
		// The time the answer to the POST gave is the one read back (it had nanoseconds, the
		// stored one microseconds).
		var read referralv1.GetSignalResponse
		if err := protojson.Unmarshal(get.body, &read); err != nil || !read.GetSignal().GetReceivedAt().AsTime().Equal(submitted.GetReceivedAt().AsTime()) {
			t.Errorf("received_at: answered %v, read back %v (%v)", submitted.GetReceivedAt().AsTime(), read.GetSignal().GetReceivedAt().AsTime(), err)
		}
		if get.status != http.StatusOK || head.status != http.StatusOK || len(head.body) != 0 ||
			head.header.Get("Content-Type") != get.header.Get("Content-Type") {
			t.Errorf("HEAD of a signal: want the GET's 200 and content type without a body, got %d %q %q (GET %d %q)",
				head.status, head.header.Get("Content-Type"), head.body, get.status, get.header.Get("Content-Type"))
		}
		if head := call(t, gp, "HEAD", signalPath, ""); head.status != http.StatusUnauthorized {
			t.Errorf("HEAD without the acting user: want 401 as the GET, got %d", head.status)
		}
		// A 401 carries a challenge (RFC 9110 §11.6.1), not the error's message.
		if a := call(t, gp, "GET", signalPath, ""); a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") != rest.Challenge {
			t.Errorf("GET without the acting user: want 401 with WWW-Authenticate %q, got %d %q", rest.Challenge, a.status, a.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("nothing sent is silently dropped or turned into another request", func(t *testing.T) {
		for name, tc := range map[string]struct {
			method, url, body, contentType string
			status                         int
			field                          string
		}{
			"data after the JSON object": {"POST", base + "/v1/signals", signal + ` xyz {{{`, "", 400, "body"},
			"a second JSON object":       {"POST", base + "/v1/signals", signal + `{"category":"other"}`, "", 400, "body"},
			"a NUL in a text":            {"POST", base + "/v1/signals", strings.Replace(signal, "payment arrears", `a\u0000b`, 1), "", 400, "category"},
			"a NUL in a search":          {"GET", base + "/v1/provisions?municipality_code=GM0363&text=a%00b", "", "", 400, "text"},
			"an unknown query parameter": {"GET", base + "/v1/signals?page_sise=5", "", "", 400, "query"},
			"a query string on a POST":   {"POST", base + "/v1/signals?resident_bsn=123456782", signal, "", 400, "query"},
			"a path and body that differ": {"PATCH", base + "/v1/subscriptions/0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01",
				`{"subscription_id":"1c9a4c2e-8f43-4c39-9d55-4f7a2b8e1c02","paused":true}`, "", 400, "subscription_id"},
			"a form POST on a GET path":                   {"POST", base + "/v1/signals/" + submitted.GetSignalId(), "page_size=1", "application/x-www-form-urlencoded", 405, ""},
			"a query parameter on a route of path fields": {"GET", base + "/v1/signals/" + submitted.GetSignalId() + "?page_size=5", "", "", 400, "query"},
			"a path field again in the query, other":      {"GET", base + "/v1/signals/" + submitted.GetSignalId() + "?signal_id=0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01", "", "", 400, "query"},
			"a body on a GET":                             {"GET", base + "/v1/signals", `{"page_size":1}`, "", 400, "body"},
			"a body on a DELETE":                          {"DELETE", base + "/v1/subscriptions/0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01", `{"bogus":1}`, "", 400, "body"},
		} {
			h := append([]string(nil), gpHeaders...)
			if tc.method != "GET" {
				h = append(h, "Idempotency-Key", "drop-"+strings.ReplaceAll(name, " ", "-"))
			}
			if tc.contentType != "" {
				h = append(h, "Content-Type", tc.contentType)
			}
			a := call(t, gp, tc.method, tc.url, tc.body, h...)
			code, fields := restError(t, a)
			if a.status != tc.status || (tc.field != "" && !slices.Contains(fields, tc.field)) {
				t.Errorf("%s: want %d naming %q, got %d %s", name, tc.status, tc.field, a.status, a.body)
			}
			if a.status == 400 && code != codes.InvalidArgument {
				t.Errorf("%s: code %s", name, code)
			}
		}
		// An Idempotency-Key on a request that takes none (a read) is refused, not dropped.
		if a := call(t, gp, "GET", base+"/v1/signals", "", append(append([]string(nil), gpHeaders...), "Idempotency-Key", "read-1")...); a.status != http.StatusBadRequest {
			t.Errorf("an Idempotency-Key on a GET: want 400, got %d %s", a.status, a.body)
		} else if _, fields := restError(t, a); !slices.Equal(fields, []string{"idempotency_key"}) {
			t.Errorf("an Idempotency-Key on a GET: want idempotency_key named, got %s", a.body)
		}
		// A query parameter that names no field is refused without repeating it: a BSN typed
		// into a URL is still the resident's.
		for _, url := range []string{base + "/v1/signals/" + submitted.GetSignalId() + "?123456782", base + "/v1/signals?123456782=1"} {
			a := call(t, gp, "GET", url, "", gpHeaders...)
			if a.status != http.StatusBadRequest || strings.Contains(string(a.body), "123456782") {
				t.Errorf("%s: want 400 without the parameter's name, got %d %s", url, a.status, a.body)
			}
		}
	})
	t.Run("acting on behalf of another organisation is refused, as on gRPC", func(t *testing.T) {
		a := call(t, gp, "GET", base+"/v1/signals", "", append(append([]string(nil), gpHeaders...), "X-Wijkbrug-On-Behalf-Of", "00000001000000000100")...)
		if code, _ := restError(t, a); a.status != http.StatusForbidden || code != codes.PermissionDenied {
			t.Fatalf("want 403, got %d %s", a.status, a.body)
		}
	})
	t.Run("an acting user that is not printable ASCII is named, on both edges", func(t *testing.T) {
		a := call(t, gp, "GET", base+"/v1/signals", "", "X-Wijkbrug-User", "dr-jänsen", "X-Wijkbrug-Role", "gp", "X-Wijkbrug-Purpose", "signal")
		if code, fields := restError(t, a); a.status != http.StatusUnauthorized || code != codes.Unauthenticated ||
			!slices.Equal(fields, []string{"header X-Wijkbrug-User"}) || !strings.Contains(string(a.body), "printable") {
			t.Fatalf("REST: want 401 naming the user header as not printable ASCII, got %d %s", a.status, a.body)
		}
		// grpc-go's client refuses to send such a value, other clients do: a raw gRPC call over
		// HTTP/2 (an empty ListMySignalsRequest frame).
		req, err := http.NewRequest("POST", "https://"+ref.Addr+referralv1.ReferralService_ListMySignals_FullMethodName, bytes.NewReader(make([]byte, 5)))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"content-type": "application/grpc", "te": "trailers",
			"x-wijkbrug-user": "dr-jänsen", "x-wijkbrug-role": "gp", "x-wijkbrug-purpose": "signal"} {
			req.Header.Set(k, v)
		}
		res, err := gp.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		trailer := res.Trailer
		if res.Header.Get("grpc-status") != "" {
			trailer = res.Header // a trailers-only answer: the status comes with the headers
		}
		details, derr := base64.RawStdEncoding.DecodeString(strings.TrimRight(trailer.Get("grpc-status-details-bin"), "="))
		var st spb.Status
		if derr != nil || proto.Unmarshal(details, &st) != nil || codes.Code(st.GetCode()) != codes.Unauthenticated ||
			!slices.Equal(badRequestFields(status.FromProto(&st).Err()), []string{"metadata x-wijkbrug-user"}) {
			t.Fatalf("gRPC: want UNAUTHENTICATED naming the user metadata, got %s status %q %q (%v)", res.Proto, trailer.Get("grpc-status"), trailer.Get("grpc-message"), &st)
		}
	})
	t.Run("a header sent twice, or one the gateway would drop, is refused, on both edges", func(t *testing.T) {
		send := func(header http.Header) restAnswer {
			t.Helper()
			req, err := http.NewRequest("POST", base+"/v1/signals", strings.NewReader(signal))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = header
			req.Header.Set("Content-Type", "application/json")
			res, err := gp.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return restAnswer{status: res.StatusCode, body: b, header: res.Header}
		}
		actingHeaders := func() http.Header {
			return http.Header{"X-Wijkbrug-User": {"dr-jansen"}, "X-Wijkbrug-Role": {"gp"}, "X-Wijkbrug-Purpose": {"signal"}}
		}
		twoUsers := actingHeaders()
		twoUsers.Add("X-Wijkbrug-User", "dr-other")
		twoUsers.Set("Idempotency-Key", "two-users")
		if a := send(twoUsers); a.status != http.StatusUnauthorized || !slices.Contains(func() []string { _, f := restError(t, a); return f }(), "header X-Wijkbrug-User") {
			t.Errorf("two users: want 401 naming the user header, got %d %s", a.status, a.body)
		}
		twoKeys := actingHeaders()
		twoKeys["Idempotency-Key"] = []string{"k-1", "k-2"}
		if a := send(twoKeys); a.status != http.StatusBadRequest || !slices.Contains(func() []string { _, f := restError(t, a); return f }(), "idempotency_key") {
			t.Errorf("two keys: want 400 naming idempotency_key, got %d %s", a.status, a.body)
		}
		nonASCII := actingHeaders()
		nonASCII.Set("Idempotency-Key", "clé-1")
		if a := send(nonASCII); a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "US-ASCII") {
			t.Errorf("a key that is not ASCII: want 400 saying so, got %d %s", a.status, a.body)
		}
		// gRPC: the same, as metadata sent twice.
		client := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", ref.Addr))
		ctx := metadata.AppendToOutgoingContext(acting(t, "dr-jansen", "gp", "signal"), "x-wijkbrug-purpose", "referral")
		_, err := client.GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: submitted.GetSignalId()})
		if status.Code(err) != codes.Unauthenticated || !slices.Equal(badRequestFields(err), []string{"metadata x-wijkbrug-purpose"}) {
			t.Errorf("gRPC with the purpose sent twice: want UNAUTHENTICATED naming it, got %v", err)
		}
	})
	t.Run("subscriptions", func(t *testing.T) { testRESTSubscriptions(t, s, base, gp) })
	t.Run("consents search: BSN in the body, 403 for a housing corporation", func(t *testing.T) { testRESTConsentSearch(t, s, base) })
	t.Run("re-routing twice is 409 naming the referral", func(t *testing.T) { testRESTConflict(t, s, base) })
	t.Run("OpenAPI document served", func(t *testing.T) {
		a := call(t, gp, "GET", base+"/openapi.json", "")
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(a.body, &doc); err != nil || a.status != http.StatusOK || !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Paths["/v1/signals"]["post"] == nil || doc.Paths["/v1/subscriptions"]["post"] == nil {
			t.Fatalf("openapi.json: %d %v %.200s", a.status, err, a.body)
		}
	})
}

// restStatus decodes a REST error body into the gRPC status it carries.
func restStatus(t *testing.T, a restAnswer) *status.Status {
	t.Helper()
	var st spb.Status
	if err := protojson.Unmarshal(a.body, &st); err != nil {
		t.Fatalf("error body is not a google.rpc.Status: %v: %s", err, a.body)
	}
	return status.FromProto(&st)
}

// sameStatus fails unless the REST error and the gRPC error have the same code, message and
// details.
func sameStatus(t *testing.T, viaREST *status.Status, viaGRPC error) {
	t.Helper()
	g := status.Convert(viaGRPC)
	if viaREST.Code() != g.Code() || viaREST.Message() != g.Message() || len(viaREST.Details()) != len(g.Details()) {
		t.Fatalf("REST and gRPC errors differ:\n%v %q %v\n%v %q %v", viaREST.Code(), viaREST.Message(), viaREST.Details(), g.Code(), g.Message(), g.Details())
	}
	for i, d := range g.Details() {
		if !proto.Equal(d.(proto.Message), viaREST.Details()[i].(proto.Message)) {
			t.Fatalf("detail %d differs: REST %v, gRPC %v", i, viaREST.Details()[i], d)
		}
	}
}

// ListConsents over REST is a POST with the BSN in the body (GET /v1/consents with the BSN
// in the query string is gone); a housing corporation, whose organisation type may not list
// consents, gets 403 with the same error as over gRPC.
func testRESTConsentSearch(t *testing.T, s *suite.Suite, base string) {
	team := restClient(t, s, "team")
	teamHeaders := []string{"X-Wijkbrug-User", "anna", "X-Wijkbrug-Role", "case_director", "X-Wijkbrug-Purpose", "referral"}
	search := `{"resident_bsn":"123456782","status":"CONSENT_STATUS_VALID"}`
	a := call(t, team, "POST", base+"/v1/consents:search", search, teamHeaders...)
	var listed referralv1.ListConsentsResponse
	if err := protojson.Unmarshal(a.body, &listed); a.status != http.StatusOK || err != nil {
		t.Fatalf("search: %d %s %v", a.status, a.body, err)
	}
	if a := call(t, team, "GET", base+"/v1/consents?resident_bsn=123456782", "", teamHeaders...); a.status == http.StatusOK {
		t.Fatalf("GET /v1/consents with a BSN in the query string still answers: %s", a.body)
	}
	housing := restClient(t, s, "housing")
	a = call(t, housing, "POST", base+"/v1/consents:search", search, "X-Wijkbrug-User", "h1", "X-Wijkbrug-Role", "housing_officer", "X-Wijkbrug-Purpose", "signal")
	st := restStatus(t, a)
	if a.status != http.StatusForbidden || st.Code() != codes.PermissionDenied {
		t.Fatalf("housing corporation: want 403 PERMISSION_DENIED, got %d %s", a.status, a.body)
	}
	_, err := referralv1.NewReferralServiceClient(dialAs(t, s, "housing", s.Endpoint("referral").Addr)).ListConsents(
		acting(t, "h1", "housing_officer", "signal"), &referralv1.ListConsentsRequest{ResidentBsn: "123456782", Status: referralv1.ConsentStatus_CONSENT_STATUS_VALID})
	sameStatus(t, st, err)
}

// Re-routing a cancelled referral twice over REST: the second is 409 ALREADY_EXISTS with a
// ResourceInfo naming the existing replacement (the referral that blocks the call; it named
// the re-routed one, which the caller sent), the same error as over gRPC.
func testRESTConflict(t *testing.T, s *suite.Suite, base string) {
	team := restClient(t, s, "team")
	h := []string{"X-Wijkbrug-User", "anna", "X-Wijkbrug-Role", "case_director", "X-Wijkbrug-Purpose", "referral"}
	// A referral needs a case or an intake of the team: an intake, over REST too.
	in := call(t, team, "POST", "https://"+s.Endpoint("intake").RESTAddr+"/v1/intakes", `{"channel":"CHANNEL_DESK","resident_bsn":"123456782",`+
		`"municipality_code":"`+suite.DemoMunicipality+`","district_code":"`+suite.DemoDistrict+`","question":"help with forms",`+
		`"life_domains":["LIFE_DOMAIN_SOCIAL_NETWORK"],"urgency":"URGENCY_NORMAL"}`,
		"X-Wijkbrug-User", "anna", "X-Wijkbrug-Role", "intake_worker", "X-Wijkbrug-Purpose", "intake", "Idempotency-Key", "rest-409-0")
	var intake intakev1.RegisterIntakeResponse
	if err := protojson.Unmarshal(in.body, &intake); in.status != http.StatusOK || err != nil {
		t.Fatalf("register intake: %d %s %v", in.status, in.body, err)
	}
	referral := func(provision, replaces string) string {
		r := `{"provision_id":"` + provision + `","intake_id":"` + intake.GetIntake().GetId() + `","resident_bsn":"123456782","municipality_code":"` + suite.DemoMunicipality +
			`","district_code":"` + suite.DemoDistrict + `","question":"looking for a buddy","legal_basis":"LEGAL_BASIS_WMO",` +
			`"shared_data_categories":["DATA_CATEGORY_IDENTITY","DATA_CATEGORY_QUESTION"],"send":true`
		if replaces != "" {
			r += `,"replaces_referral_id":"` + replaces + `"`
		}
		return r + "}"
	}
	created := func(a restAnswer) string {
		t.Helper()
		var r referralv1.CreateReferralResponse
		if err := protojson.Unmarshal(a.body, &r); a.status != http.StatusOK || err != nil || r.GetReferral().GetId() == "" {
			t.Fatalf("create referral: %d %s %v", a.status, a.body, err)
		}
		return r.GetReferral().GetId()
	}
	first := created(call(t, team, "POST", base+"/v1/referrals", referral(demoBuddyProvision, ""), append(h, "Idempotency-Key", "rest-409-1")...))
	if a := call(t, team, "POST", base+"/v1/referrals/"+first+"/cancel", `{"reason":"CANCEL_REASON_OTHER_PROVISION"}`, append(h, "Idempotency-Key", "rest-409-2")...); a.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", a.status, a.body)
	}
	replacement := created(call(t, team, "POST", base+"/v1/referrals", referral(demoDebtProvision, first), append(h, "Idempotency-Key", "rest-409-3")...))
	a := call(t, team, "POST", base+"/v1/referrals", referral(demoDebtProvision, first), append(h, "Idempotency-Key", "rest-409-4")...)
	st := restStatus(t, a)
	if a.status != http.StatusConflict || st.Code() != codes.AlreadyExists {
		t.Fatalf("re-routing twice: want 409 ALREADY_EXISTS, got %d %s", a.status, a.body)
	}
	var named bool
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok && ri.GetResourceType() == "referral" && ri.GetResourceName() == replacement {
			named = true
		}
	}
	if !named {
		t.Fatalf("409 without a ResourceInfo naming the replacement %s: %s", replacement, a.body)
	}
	again := &referralv1.CreateReferralRequest{}
	if err := protojson.Unmarshal([]byte(referral(demoDebtProvision, first)), again); err != nil {
		t.Fatal(err)
	}
	again.IdempotencyKey = "grpc-409-5"
	_, err := referralv1.NewReferralServiceClient(dialAs(t, s, "team", s.Endpoint("referral").Addr)).CreateReferral(acting(t, "anna", "case_director", "referral"), again)
	sameStatus(t, st, err)
}

// The Subscriptions API over REST: create, list, pause (PATCH), delete, each on the caller's
// own feed only; its field rules refuse a wildcard filter and too many event types.
func testRESTSubscriptions(t *testing.T, s *suite.Suite, base string, gp *http.Client) {
	created := call(t, gp, "POST", base+"/v1/subscriptions", `{"start_point":"START_POINT_NEW","event_types":["wijkbrug.referral.v1.SignalFedBack"]}`,
		append(gpHeaders, "Idempotency-Key", "rest-sub-1")...)
	var sub subscriptionsv1.CreateSubscriptionResponse
	if err := protojson.Unmarshal(created.body, &sub); created.status != http.StatusOK || err != nil || sub.GetSubscription().GetSubscriptionId() == "" || sub.GetConnection().GetConsumer() != sub.GetSubscription().GetSubscriptionId() {
		t.Fatalf("create: %d %s %v", created.status, created.body, err)
	}
	id := sub.GetSubscription().GetSubscriptionId()
	if again := call(t, gp, "POST", base+"/v1/subscriptions", `{"start_point":"START_POINT_NEW","event_types":["wijkbrug.referral.v1.SignalFedBack"]}`,
		append(gpHeaders, "Idempotency-Key", "rest-sub-1")...); again.status != http.StatusOK || string(again.body) != string(created.body) {
		t.Fatalf("replay: %d %s, first %s", again.status, again.body, created.body)
	}
	many := `["wijkbrug.referral.v1.A"` + strings.Repeat(`,"wijkbrug.referral.v1.A"`, 16) + `]`
	for name, body := range map[string]string{
		"wildcard filter":          `{"event_types":["wijkbrug.feed.>"]}`,
		"too many event types":     `{"event_types":` + many + `}`,
		"start point out of range": `{"start_point":99}`,
	} {
		a := call(t, gp, "POST", base+"/v1/subscriptions", body, append(gpHeaders, "Idempotency-Key", "rest-sub-bad-"+name)...)
		field := map[string]string{"wildcard filter": "event_types[0]", "too many event types": "event_types",
			"start point out of range": "start_point"}[name]
		if code, fields := restError(t, a); a.status != http.StatusBadRequest || code != codes.InvalidArgument || !slices.Contains(fields, field) {
			t.Errorf("%s: want 400 naming %s, got %d %s", name, field, a.status, a.body)
		}
	}
	listed := func(c *http.Client, headers []string) []*subscriptionsv1.Subscription {
		t.Helper()
		a := call(t, c, "GET", base+"/v1/subscriptions", "", headers...)
		var l subscriptionsv1.ListSubscriptionsResponse
		if err := protojson.Unmarshal(a.body, &l); a.status != http.StatusOK || err != nil {
			t.Fatalf("list: %d %s %v", a.status, a.body, err)
		}
		return l.GetSubscriptions()
	}
	has := func(subs []*subscriptionsv1.Subscription) bool {
		return slices.ContainsFunc(subs, func(x *subscriptionsv1.Subscription) bool { return x.GetSubscriptionId() == id })
	}
	if !has(listed(gp, gpHeaders)) {
		t.Fatal("the new subscription is not listed")
	}
	housing := restClient(t, s, "housing")
	housingHeaders := []string{"X-Wijkbrug-User", "h1", "X-Wijkbrug-Role", "housing_officer", "X-Wijkbrug-Purpose", "signal"}
	if has(listed(housing, housingHeaders)) {
		t.Fatal("another organisation sees the subscription")
	}
	if a := call(t, housing, "DELETE", base+"/v1/subscriptions/"+id, "", append(housingHeaders, "Idempotency-Key", "rest-sub-steal")...); a.status != http.StatusNotFound {
		t.Fatalf("another organisation deletes it: want 404, got %d %s", a.status, a.body)
	}
	paused := call(t, gp, "PATCH", base+"/v1/subscriptions/"+id, `{"paused":true}`, append(gpHeaders, "Idempotency-Key", "rest-sub-pause")...)
	var p subscriptionsv1.PauseSubscriptionResponse
	if err := protojson.Unmarshal(paused.body, &p); paused.status != http.StatusOK || err != nil || !p.GetSubscription().GetPaused() {
		t.Fatalf("pause: %d %s %v", paused.status, paused.body, err)
	}
	// A PATCH that leaves paused out does not resume it (it was taken as false).
	for name, body := range map[string]string{"empty object": `{}`, "no body": "", "null": `{"paused":null}`} {
		a := call(t, gp, "PATCH", base+"/v1/subscriptions/"+id, body, append(gpHeaders, "Idempotency-Key", "rest-sub-patch-"+strings.ReplaceAll(name, " ", "-"))...)
		if code, fields := restError(t, a); a.status != http.StatusBadRequest || code != codes.InvalidArgument || !slices.Equal(fields, []string{"paused"}) {
			t.Errorf("PATCH with %s: want 400 naming paused, got %d %s", name, a.status, a.body)
		}
	}
	for _, sub := range listed(gp, gpHeaders) {
		if sub.GetSubscriptionId() == id && !sub.GetPaused() {
			t.Error("a PATCH without paused resumed the subscription")
		}
	}
	if a := call(t, gp, "DELETE", base+"/v1/subscriptions/not-an-id", "", append(gpHeaders, "Idempotency-Key", "rest-sub-del-bad")...); a.status != http.StatusBadRequest {
		t.Fatalf("delete with a bad id: want 400, got %d %s", a.status, a.body)
	}
	if a := call(t, gp, "DELETE", base+"/v1/subscriptions/"+id, "", append(gpHeaders, "Idempotency-Key", "rest-sub-del")...); a.status != http.StatusOK {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if has(listed(gp, gpHeaders)) {
		t.Fatal("the deleted subscription is still listed")
	}
}

// Per service, the field rules of the schema refuse out-of-range numbers, unknown enum values,
// absurd dates and oversized repeated fields, each field named in one INVALID_ARGUMENT (the
// probes of issue 15 that were answered OK).
func testFieldRules(t *testing.T, s *suite.Suite) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "00000000-0000-4000-8000-000000000000"
		}
		return out
	}
	domains := make([]commonv1.LifeDomain, 10000)
	for i := range domains {
		domains[i] = commonv1.LifeDomain_LIFE_DOMAIN_FINANCES
	}
	statuses := make([]casedirectionv1.CaseStatus, 10000)
	for i := range statuses {
		statuses[i] = casedirectionv1.CaseStatus(1)
	}
	huge := &commonv1.Volume{Amount: math.MaxInt32, Unit: commonv1.VolumeUnit(999), Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}
	type probe struct {
		name                string
		partner, user, role string
		call                func(ctx context.Context) error
		want                map[string]string // field → class: number, enum, date or repeated
	}
	probes := map[string][]probe{
		"referral": {{
			name: "SubmitSignal", partner: "gp", user: "dr-jansen", role: "gp",
			call: func(ctx context.Context) error {
				_, err := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", s.Endpoint("referral").Addr)).SubmitSignal(ctx, &referralv1.SubmitSignalRequest{
					IdempotencyKey: "rules-1", SourceType: 999, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO, ResidentBsn: "123456782",
					MunicipalityCode: "GM0363", LifeDomains: domains, Arrears: &referralv1.Arrears{AmountCents: math.MaxInt64, Months: math.MaxInt32},
				})
				return err
			},
			want: map[string]string{"source_type": "enum", "life_domains": "repeated", "arrears.amount_cents": "number", "arrears.months": "number"},
		}, {
			name: "CreateReferral", partner: "team", user: "anna", role: "case_director",
			call: func(ctx context.Context) error {
				_, err := referralv1.NewReferralServiceClient(dialAs(t, s, "team", s.Endpoint("referral").Addr)).CreateReferral(ctx, &referralv1.CreateReferralRequest{
					IdempotencyKey: "rules-2", ProvisionId: "00000000-0000-4000-8000-000000000000", GoalIds: many(10000),
					SharedDataCategories: []referralv1.DataCategory{999}, AcceptBy: timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)),
				})
				return err
			},
			want: map[string]string{"goal_ids": "repeated", "shared_data_categories[0]": "enum", "accept_by": "date"},
		}, {
			name: "CreateReferral in year 1", partner: "team", user: "anna", role: "case_director",
			call: func(ctx context.Context) error {
				_, err := referralv1.NewReferralServiceClient(dialAs(t, s, "team", s.Endpoint("referral").Addr)).CreateReferral(ctx, &referralv1.CreateReferralRequest{
					IdempotencyKey: "rules-2b", ProvisionId: "00000000-0000-4000-8000-000000000000", AcceptBy: timestamppb.New(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)),
				})
				return err
			},
			want: map[string]string{"accept_by": "date"},
		}},
		"providermonitoring": {{
			name: "SubmitAllocationRequest", partner: "provider", user: "piet", role: "care_coordinator",
			call: func(ctx context.Context) error {
				_, err := pmv1.NewProviderMonitoringServiceClient(dialAs(t, s, "provider", s.Endpoint("providermonitoring").Addr)).SubmitAllocationRequest(ctx, &pmv1.SubmitAllocationRequestRequest{
					IdempotencyKey: "rules-3", Kind: 999, ProviderAgb: suite.DemoProviderAGB, MunicipalityCode: suite.DemoMunicipality,
					ProductCategory: "45", ProductCode: "45A01", StartDate: "0001-01-01", EndDate: "9999-12-31", Volume: huge,
				})
				return err
			},
			want: map[string]string{"kind": "enum", "start_date": "date", "end_date": "date", "volume.amount": "number", "volume.unit": "enum"},
		}, {
			name: "ReportProgress", partner: "provider", user: "piet", role: "care_coordinator",
			call: func(ctx context.Context) error {
				_, err := pmv1.NewProviderMonitoringServiceClient(dialAs(t, s, "provider", s.Endpoint("providermonitoring").Addr)).ReportProgress(ctx, &pmv1.ReportProgressRequest{
					IdempotencyKey: "rules-4", AllocationNumber: "A1", GoalIds: many(10000), Judgement: 999,
				})
				return err
			},
			want: map[string]string{"goal_ids": "repeated", "judgement": "enum"},
		}},
		"casedirection": {{
			name: "ListCases", partner: "team", user: "anna", role: "case_director",
			call: func(ctx context.Context) error {
				_, err := casedirectionv1.NewCaseDirectionServiceClient(dialAs(t, s, "team", s.Endpoint("casedirection").Addr)).ListCases(ctx, &casedirectionv1.ListCasesRequest{
					Statuses: statuses, PageSize: math.MaxInt32,
				})
				return err
			},
			want: map[string]string{"statuses": "repeated", "page_size": "number"},
		}, {
			name: "RequestAllocation", partner: "team", user: "anna", role: "case_director",
			call: func(ctx context.Context) error {
				_, err := casedirectionv1.NewCaseDirectionServiceClient(dialAs(t, s, "team", s.Endpoint("casedirection").Addr)).RequestAllocation(ctx, &casedirectionv1.RequestAllocationRequest{
					IdempotencyKey: "rules-5", CaseId: "00000000-0000-4000-8000-000000000000", ProviderAgb: suite.DemoProviderAGB,
					ProductCategory: "45", ProductCode: "45A01", StartDate: "0001-01-01", EndDate: "9999-12-31", Volume: huge,
				})
				return err
			},
			want: map[string]string{"start_date": "date", "end_date": "date", "volume.amount": "number", "volume.unit": "enum"},
		}},
		"intake": {{
			name: "RegisterIntake", partner: "team", user: "anna", role: "intake_worker",
			call: func(ctx context.Context) error {
				_, err := intakev1.NewIntakeServiceClient(dialAs(t, s, "team", s.Endpoint("intake").Addr)).RegisterIntake(ctx, &intakev1.RegisterIntakeRequest{
					IdempotencyKey: "rules-6", Channel: 999, ResidentBsn: "123456782", MunicipalityCode: suite.DemoMunicipality,
					Question: "help with forms", LifeDomains: domains, Urgency: 999,
				})
				return err
			},
			want: map[string]string{"channel": "enum", "life_domains": "repeated", "urgency": "enum"},
		}, {
			name: "ListTeamQueue", partner: "team", user: "anna", role: "intake_worker",
			call: func(ctx context.Context) error {
				_, err := intakev1.NewIntakeServiceClient(dialAs(t, s, "team", s.Endpoint("intake").Addr)).ListTeamQueue(ctx, &intakev1.ListTeamQueueRequest{PageSize: math.MaxInt32})
				return err
			},
			want: map[string]string{"page_size": "number"},
		}, {
			name: "RegisterResident", partner: "team", user: "anna", role: "intake_worker",
			call: func(ctx context.Context) error {
				_, err := intakev1.NewIntakeServiceClient(dialAs(t, s, "team", s.Endpoint("intake").Addr)).RegisterResident(ctx, &intakev1.RegisterResidentRequest{
					IdempotencyKey: "rules-7", Bsn: "123456782", MunicipalityCode: suite.DemoMunicipality, BirthDate: "9999-12-31",
				})
				return err
			},
			want: map[string]string{"birth_date": "date"},
		}},
	}
	for _, e := range s.Services {
		t.Run(e.Name, func(t *testing.T) {
			if len(probes[e.Name]) == 0 {
				t.Fatalf("no probes for %s", e.Name)
			}
			classes := map[string]bool{}
			for _, p := range probes[e.Name] {
				purpose := map[string]string{"gp": "signal", "team": "case-direction", "provider": "care-delivery"}[p.partner]
				err := p.call(acting(t, p.user, p.role, purpose))
				got := badRequestFields(err)
				if status.Code(err) != codes.InvalidArgument {
					t.Errorf("%s: want INVALID_ARGUMENT, got %v", p.name, err)
					continue
				}
				for f, class := range p.want {
					if !slices.Contains(got, f) {
						t.Errorf("%s: %s not named; got %v", p.name, f, got)
					}
					classes[class] = true
				}
			}
			// Each service shows all four classes of the issue.
			for _, class := range []string{"number", "enum", "date", "repeated"} {
				if !classes[class] {
					t.Errorf("no probe of %s refuses a bad %s", e.Name, class)
				}
			}
		})
	}
}
