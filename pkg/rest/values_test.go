package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The decoders' messages quote what they could not read; the answer keeps the field and the
// kind of mistake, never the value (a BSN sent as a number, a name where an enum belongs).
func TestErrorMessagesLeaveOutTheValues(t *testing.T) {
	for msg, want := range map[string]string{
		`proto: (line 1:17): invalid value for string field residentBsn: 735190008`:        `proto: (line 1:17): invalid value for string field residentBsn`,
		`proto: (line 1:40): invalid value for enum field sourceType: "LEAK-735190008"`:    `proto: (line 1:40): invalid value for enum field sourceType`,
		`proto: syntax error (line 1:20): unexpected token "Zwaantje Leakcheck"`:           `proto: syntax error (line 1:20): unexpected token`,
		`proto: syntax error (line 1:9): unexpected token 735190008`:                       `proto: syntax error (line 1:9): unexpected token`,
		`parsing field "page_size": strconv.ParseInt: parsing "735190008": invalid syntax`: `parsing field "page_size"`,
		`proto: (line 1:2): unknown field "no_such_field"`:                                 `proto: (line 1:2): unknown field "no_such_field"`,
		`proto: (line 1:2): unknown field "Zwaantje 735190008"`:                            `proto: (line 1:2): unknown field "…"`,
		`unknown query parameter "735190008": not a field of this request`:                 `unknown query parameter "…": not a field of this request`,
		`unknown query parameter "page_sise": not a field of this request`:                 `unknown query parameter "page_sise": not a field of this request`,
		`proto: (line 1:30): invalid UTF-8 in string "Zw\xff"`:                             `proto: (line 1:30): invalid UTF-8 in string "…"`,
		`request body: unexpected data after the JSON object`:                              `request body: unexpected data after the JSON object`,
	} {
		got := withoutValues(msg)
		if got != want {
			t.Errorf("%q:\n got %q\nwant %q", msg, got, want)
		}
		for _, secret := range []string{"735190008", "Zwaantje", "LEAK"} {
			if strings.Contains(got, secret) {
				t.Errorf("%q keeps %q", got, secret)
			}
		}
	}
}

// What the answer says of a decoding error names fields by their proto names, as every other
// violation does, without the decoder's prefix; an unknown field is named as it was sent.
func TestDecoderMessagesNameProtoFields(t *testing.T) {
	for msg, want := range map[string]string{
		`proto: (line 1:17): invalid value for string field residentBsn: 735190008`:     `(line 1:17): invalid value for string field resident_bsn`,
		`proto: (line 1:40): invalid value for enum field sourceType: "LEAK-735190008"`: `(line 1:40): invalid value for enum field source_type`,
		`proto: (line 1:30): duplicate field "residentBsn"`:                             `(line 1:30): duplicate field "resident_bsn"`,
		"proto:\u00a0(line 1:2): unknown field \"x\"":                                   `(line 1:2): unknown field "x"`,
		`proto: (line 1:2): unknown field "noSuchField"`:                                `(line 1:2): unknown field "noSuchField"`,
		`proto: syntax error (line 1:9): unexpected token 735190008`:                    `syntax error (line 1:9): unexpected token`,
		`query parameter "lifeDomains": not a name of LifeDomain`:                       `query parameter "lifeDomains": not a name of LifeDomain`,
	} {
		if got := decoderMessage(msg); got != want {
			t.Errorf("%q:\n got %q\nwant %q", msg, got, want)
		}
	}
	for msg, want := range map[string]string{
		`query parameter "life_domains": not a name of LifeDomain`: "life_domains",
		`query parameter "pageSize": not a whole number`:           "page_size",
		`query parameter "labels[x]": not a valid value`:           "labels",
		`unknown query parameter "page_sise": not a field`:         "",
		`parsing field "page_size"`:                                "",
	} {
		if got := fieldOf(msg); got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", msg, got, want)
		}
	}
}

// A status with a RetryInfo (a rate limit's RESOURCE_EXHAUSTED, UNAVAILABLE) is answered with
// Retry-After too, in whole seconds rounded up; the JSON body keeps the detail.
func TestRetryInfoBecomesRetryAfter(t *testing.T) {
	for delay, want := range map[time.Duration]string{20 * time.Millisecond: "1", 1500 * time.Millisecond: "2", 3 * time.Second: "3"} {
		st, err := status.New(codes.ResourceExhausted, "rate limit").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		errorHandler(context.Background(), runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest("GET", "/v1/signals", nil), st.Err())
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != want || !strings.Contains(w.Body.String(), "RetryInfo") {
			t.Errorf("retry after %s: %d, Retry-After %q, body %s; want 429 with %s", delay, w.Code, w.Header().Get("Retry-After"), w.Body.String(), want)
		}
	}
	w := httptest.NewRecorder()
	errorHandler(context.Background(), runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest("GET", "/v1/signals", nil), status.Error(codes.NotFound, "no"))
	if w.Header().Get("Retry-After") != "" {
		t.Errorf("a 404 with Retry-After %q", w.Header().Get("Retry-After"))
	}
}

// A body that did not arrive within the read timeout is 408, closing the connection, without
// the server's socket addresses (it was 400 on "body" quoting the read error); a Grpc-Timeout
// header that does not read is 400 naming the header, not the query.
func TestBodyTimeoutAndGrpcTimeout(t *testing.T) {
	w := httptest.NewRecorder()
	errorHandler(context.Background(), runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest("POST", "/v1/signals", nil),
		status.Error(codes.InvalidArgument, "read tcp 127.0.0.1:23074->127.0.0.1:35338: i/o timeout"))
	if w.Code != http.StatusRequestTimeout || w.Header().Get("Connection") != "close" || strings.Contains(w.Body.String(), "127.0.0.1") ||
		!strings.Contains(w.Body.String(), "did not arrive within 30s") {
		t.Errorf("a body that timed out: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	w = httptest.NewRecorder()
	errorHandler(context.Background(), runtime.NewServeMux(), &runtime.JSONPb{}, w, httptest.NewRequest("GET", "/v1/signals", nil),
		status.Error(codes.InvalidArgument, "invalid grpc-timeout: garbage"))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"field":"header Grpc-Timeout"`) {
		t.Errorf("a bad Grpc-Timeout: %d %s", w.Code, w.Body.String())
	}
}
