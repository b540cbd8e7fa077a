// Package rest is the REST/JSON edge of a Wijkbrug service, for partners that cannot speak
// gRPC. It is grpc-gateway: the HTTP routes come from the google.api.http annotations in the
// protos, and every request becomes a call on the service's own gRPC server over an in-memory
// connection (grpcx.EdgeListener). Identity, rate limits, authorisation, validation,
// idempotency, the access log and error mapping therefore run on the one gRPC code path; this
// package only translates.
//
// The edge has its own port with the same mutual TLS as gRPC (same CA, same deny list): the
// partner's organisation comes from its client certificate, the acting user from the
// X-Wijkbrug-User, X-Wijkbrug-Role and X-Wijkbrug-Purpose headers, an idempotency key from the
// Idempotency-Key header or the body's idempotency_key. Errors are the google.rpc.Status as
// JSON (with its BadRequest and ResourceInfo details) under the HTTP status of the gRPC code.
package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"go.yaml.in/yaml/v3"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Registrar registers a service's generated gateway handlers on mux, calling the service
// through cc: the generated RegisterXxxServiceHandler functions have this type.
type Registrar func(ctx context.Context, mux *runtime.ServeMux, cc *grpc.ClientConn) error

// HeaderIdempotencyKey is the HTTP header that may carry a mutating call's idempotency key.
const HeaderIdempotencyKey = "Idempotency-Key"

// APIVersion is sent in the API-Version header of every answer (Dutch API design rule
// API-57); it is the version of the OpenAPI documents.
const APIVersion = "1.0.0"

// forwarded are the only request headers that reach the service (as gRPC metadata): the
// acting user, the idempotency key and the trace context. Anything else, in particular
// Grpc-Metadata-* headers, x-wijkbrug-on-behalf-of and the edge's own certificate header, is
// dropped.
var forwarded = map[string]bool{
	identity.HeaderUser: true, identity.HeaderRole: true, identity.HeaderPurpose: true,
	"idempotency-key": true, "traceparent": true, "tracestate": true,
}

// Config configures an edge.
type Config struct {
	// TLS is the service's server TLS configuration (client certificates required).
	TLS *tls.Config
	// Edge is the in-memory listener the service's gRPC server also serves.
	Edge *grpcx.EdgeListener
	// Register are the gateway registrations of the service.
	Register []Registrar
	// OpenAPI is the service's OpenAPI 3 document (YAML), served at /openapi.yaml and, as
	// JSON, at /openapi.json.
	OpenAPI []byte
	Logger  *slog.Logger
}

// Server is a running REST edge.
type Server struct {
	http *http.Server
	lis  net.Listener
	cc   *grpc.ClientConn
}

// New builds the edge on lis, which the caller opened; Serve serves it. lis is closed when
// New fails.
func New(ctx context.Context, lis net.Listener, cfg Config) (*Server, error) {
	if cfg.TLS == nil || cfg.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
		_ = lis.Close()
		return nil, errors.New("rest: TLS with required client certificates is mandatory")
	}
	cc, err := grpcx.DialEdge(cfg.Edge, grpc.WithChainUnaryInterceptor(idempotencyKeyUnary(cfg.Logger), bodyAgreesUnary(cfg.Logger), queryAgreesUnary(cfg.Logger)))
	if err != nil {
		_ = lis.Close()
		return nil, err
	}
	h, err := Handler(ctx, cc, cfg.Register, cfg.OpenAPI)
	if err != nil {
		_ = cc.Close()
		_ = lis.Close()
		return nil, err
	}
	tlsConf := cfg.TLS.Clone()
	tlsConf.NextProtos = []string{"h2", "http/1.1"}
	// A certificate that is given must verify (untrusted, expired: the handshake fails), but
	// a client without one is let in and every request answered 401 with what is missing (the
	// handler), as the gRPC port does: a TLS alert told curl users nothing they could act on.
	tlsConf.ClientAuth = tls.VerifyClientCertIfGiven
	hs := &http.Server{
		Handler: h, TLSConfig: tlsConf,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: ReadTimeout, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return &Server{http: hs, lis: tls.NewListener(lis, tlsConf), cc: cc}, nil
}

// NoCertificateMessage is what a request without a client certificate is told (the gRPC
// port's grpcx.NoCertificateMessage, in curl's words).
const NoCertificateMessage = "no client certificate: every Wijkbrug port requires mutual TLS; present a certificate issued by the partner CA this port trusts (curl --cert/--key)"

// Addr is the address the edge listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	if err := s.http.Serve(s.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting, waits for in-flight requests (until ctx ends) and closes the
// connection to the gRPC server.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	_ = s.cc.Close()
	return err
}

// Handler is the edge's HTTP handler: the gateway routes, the OpenAPI document, and the
// API-Version header on every answer.
func Handler(ctx context.Context, cc *grpc.ClientConn, regs []Registrar, openapiYAML []byte) (http.Handler, error) {
	// The gateway keeps its query parser in a package variable, which the option sets when
	// a mux is built: set it once, not per edge (the suite builds four at the same time).
	setQueryParser.Do(func() { runtime.NewServeMux(runtime.SetQueryParameterParser(strictQuery{})) })
	jsonpb := &runtime.JSONPb{
		// JSON field names as in the protos (snake_case).
		// Zero values too (an empty list is [], not left out; a count of 0 is 0), so that a
		// partner can tell "none" from "not sent"; a message field that is not set is left out.
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true},
		UnmarshalOptions: protojson.UnmarshalOptions{},
	}
	d, err := document(openapiYAML)
	if err != nil {
		return nil, err
	}
	openapiJSON, rts := d.json, d.routes
	mux := runtime.NewServeMux(
		// A google.api.HttpBody answer (the outcome CSV export) is written as is, with its
		// content type; every other message as JSON, a suppressed figure without a number
		// (numberlessMarshaler).
		runtime.WithMarshalerOption(runtime.MIMEWildcard, numberlessMarshaler{&runtime.HTTPBodyMarshaler{Marshaler: jsonpb}}),
		runtime.WithIncomingHeaderMatcher(func(h string) (string, bool) {
			k := strings.ToLower(h)
			return k, forwarded[k]
		}),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithOutgoingTrailerMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMetadata(clientCertificate),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(rts.routingErrorHandler),
		runtime.WithDisableHTTPMethodOverride(),
		// A form-encoded POST is not served as the GET of the same path (the gateway's "path
		// length fallback"): curl -d sends that content type, and the verb decides the route.
		runtime.WithDisablePathLengthFallback(),
	)
	for _, r := range regs {
		if err := r(ctx, mux, cc); err != nil {
			return nil, err
		}
	}
	doc := func(contentType string, body []byte) runtime.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
			w.Header().Set("Content-Type", contentType)
			_, _ = w.Write(body)
		}
	}
	if err := mux.HandlePath(http.MethodGet, "/openapi.yaml", doc("application/yaml", openapiYAML)); err != nil {
		return nil, err
	}
	if err := mux.HandlePath(http.MethodGet, "/openapi.json", doc("application/json", openapiJSON)); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &challenging{ResponseWriter: w, challenge: Challenge}
		w = cw
		w.Header().Set("API-Version", APIVersion)
		// The handshake lets a client without a certificate in (New), so that it is told
		// what is missing, as on the gRPC port, instead of a TLS alert. Before anything else:
		// OPTIONS and the documents too are for partners only.
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			cw.challenge = CertificateChallenge
			runtime.DefaultHTTPErrorHandler(r.Context(), mux, jsonpb, w, r, status.Error(codes.Unauthenticated, NoCertificateMessage))
			return
		}
		// OPTIONS says which methods a path answers (no acting user needed: the OpenAPI
		// document says as much); HEAD is a GET whose body the server does not send.
		if r.Method == http.MethodOptions {
			if allow := rts.allowed(r.URL.Path); allow != nil {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if r.Method == http.MethodHead && slices.Contains(rts.allowed(r.URL.Path), http.MethodGet) {
			// net/http leaves out the body of an answer to the request it received, a HEAD.
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		if r.ContentLength > grpcx.MaxMessageBytes {
			tooLarge(w, jsonpb)
			return
		}
		r.Body = &cappedBody{ReadCloser: r.Body, left: grpcx.MaxMessageBytes}
		refuse := func(err error) {
			runtime.DefaultHTTPErrorHandler(r.Context(), mux, jsonpb, w, r, headerNames(grpcx.ToStatus(r.Context(), nil, err)))
		}
		if err := grpcx.RepeatedActingUserError(func(k string) int { return len(r.Header.Values(k)) }); err != nil {
			refuse(err)
			return
		}
		if err := actingUserHeaders(r.Header, func() bool { return served(rts, r) }); err != nil {
			refuse(err)
			return
		}
		// Path and query parameters become proto strings, which must be UTF-8: refuse them
		// here (the gRPC client would fail to marshal them, an INTERNAL). After the acting
		// user, as every other judgement of the request.
		if field := notUTF8(r); field != "" {
			refuse(apperr.Invalid(field, "not valid UTF-8"))
			return
		}
		if err := idempotencyKeyHeader(r.Header); err != nil {
			refuse(err)
			return
		}
		// The gateway does not pass it on (forwarded); refused as the gRPC edge refuses it
		// from a partner, rather than dropped without a word.
		if r.Header.Get(identity.HeaderOnBehalfOf) != "" {
			refuse(apperr.PermissionDenied("only Wijkbrug services may act on behalf of another organisation"))
			return
		}
		if hasBody(r.Method) {
			// Every route with a body takes all its fields from it (body "*"): a query string
			// would be ignored, so it is refused rather than silently dropped.
			if r.URL.RawQuery != "" {
				refuse(apperr.Invalid("query", "this request takes its fields from the JSON body; the query string is not read"))
				return
			}
			body, err := io.ReadAll(r.Body)
			if errors.Is(err, errBodyTooLarge) {
				tooLarge(w, jsonpb) // sent without its length, stopped at the limit
				return
			}
			if err != nil {
				refuse(apperr.Invalid("body", err.Error()))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			ctx := context.WithValue(r.Context(), rawBodyKey{}, body)
			if r.Method == http.MethodPatch {
				ctx = context.WithValue(ctx, patchKey{}, true)
			}
			r = r.WithContext(ctx)
		} else {
			// A GET or DELETE takes its fields from the path and the query string (the gateway
			// discards a body): refused rather than silently dropped.
			if n, _ := r.Body.Read(make([]byte, 1)); n > 0 {
				refuse(apperr.Invalid("body", "this request takes its fields from the path and the query string; a body is not read"))
				return
			}
			if r.URL.RawQuery != "" {
				r = r.WithContext(context.WithValue(r.Context(), rawQueryKey{}, r.URL.Query()))
			}
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// Challenge is the WWW-Authenticate header of a 401 (RFC 9110 §11.6.1: a challenge, an
// auth-scheme with parameters). The gateway puts the error's message there, which no client
// can parse; the message stays in the JSON body. The organisation authenticates with its
// client certificate; what a 401 asks for is the acting user's headers.
const Challenge = `Wijkbrug-Acting-User realm="wijkbrug", headers="X-Wijkbrug-User X-Wijkbrug-Role X-Wijkbrug-Purpose"`

// CertificateChallenge is the challenge of a 401 to a request without a client certificate:
// what is missing is the certificate, not the acting-user headers.
const CertificateChallenge = `Mutual-TLS realm="wijkbrug"`

// challenging sets its challenge (Challenge, or CertificateChallenge where the certificate is
// missing) on a 401 as its header is written, over the gateway's (which puts the message there).
type challenging struct {
	http.ResponseWriter
	challenge string
}

func (c *challenging) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		c.Header().Set("WWW-Authenticate", c.challenge)
	}
	c.ResponseWriter.WriteHeader(code)
}

// Flush passes on a flush (a streamed answer), which the embedded interface hides.
func (c *challenging) Flush() { http.NewResponseController(c.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the server's writer.
func (c *challenging) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// actingUserHeaders refuses an acting-user header whose value the gateway would drop (it
// passes only printable US-ASCII on as gRPC metadata), so that the answer names what is wrong
// with it instead of the service reporting the header missing. On a route that calls a
// service (route, asked only when a header is missing) it refuses missing ones too, before
// anything else about the request is judged: a request without them is 401 whatever else is
// wrong with it (a stray query parameter, an Idempotency-Key on a read), as on the gRPC edge,
// where the interceptor asks for the acting user before the request is read. It answers as
// the gRPC edge does: UNAUTHENTICATED, naming every acting-user header that is not acceptable.
func actingUserHeaders(h http.Header, route func() bool) error {
	get := func(k string) string { return strings.TrimSpace(h.Get(k)) }
	err := grpcx.ActingUserError(get)
	if err == nil {
		return nil
	}
	for _, k := range []string{identity.HeaderUser, identity.HeaderRole, identity.HeaderPurpose} {
		if v := get(k); v != "" && len(v) <= identity.MaxHeaderLen && identity.HeaderValueProblem(v) != "" {
			return err // a value the gateway would drop, wherever it is sent
		}
	}
	if route() {
		return err
	}
	return nil
}

// served reports whether r's method and path are a route of a service (not the OpenAPI
// documents, which need no acting user, nor a path or method the edge does not serve, which is
// 404 or 405 whoever asks).
func served(rts routes, r *http.Request) bool {
	if r.URL.Path == "/openapi.yaml" || r.URL.Path == "/openapi.json" {
		return false
	}
	return slices.Contains(rts.allowed(r.URL.Path), r.Method)
}

// idempotencyKeyHeader refuses an Idempotency-Key header the gateway would not pass on (sent
// twice, or not printable US-ASCII: it drops such a value with an error log), so that the
// answer names what is wrong with it instead of the service reporting the key missing.
func idempotencyKeyHeader(h http.Header) error {
	keys := h.Values(HeaderIdempotencyKey)
	if len(keys) > 1 {
		return apperr.Invalid("idempotency_key", "the Idempotency-Key header is sent more than once: send it once")
	}
	if len(keys) == 1 && strings.IndexFunc(keys[0], func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return apperr.Invalid("idempotency_key", "the Idempotency-Key header must be printable US-ASCII; a key with other characters goes in the body's idempotency_key")
	}
	return nil
}

// rawBodyKey keys the request body, as received, in the context of the gateway's call.
type rawBodyKey struct{}

// rawQueryKey keys the query parameters of a request without a body (GET, DELETE).
type rawQueryKey struct{}

// queryAgreesUnary holds the request the gateway built to the query string the partner sent.
// On a route whose fields all come from the path the gateway does not read the query string,
// and on every route it skips a parameter that names a path field: both would silently drop
// what was sent. A parameter that names no field, or whose value the request does not carry,
// is refused: INVALID_ARGUMENT on query.
func queryAgreesUnary(log *slog.Logger) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		values, _ := ctx.Value(rawQueryKey{}).(url.Values)
		m, ok := req.(proto.Message)
		if !ok || len(values) == 0 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		asked := m.ProtoReflect().New()
		if err := (strictQuery{}).Parse(asked.Interface(), values, &utilities.DoubleArray{}); err != nil {
			field := "query"
			if f := fieldOf(err.Error()); f != "" {
				field = f
			}
			return grpcx.ToStatus(ctx, log, apperr.Invalid(field, decoderMessage(err.Error())))
		}
		built := m.ProtoReflect()
		var ignored string
		asked.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if !built.Has(fd) || !built.Get(fd).Equal(v) {
				ignored = string(fd.Name())
				return false
			}
			return true
		})
		if ignored != "" {
			return grpcx.ToStatus(ctx, log, apperr.Invalid("query", fmt.Sprintf("parameter %s is not read by this route (it takes the field from the path, or not at all)", ignored)))
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// bodyAgreesUnary holds the request the gateway built to the body the partner sent. The
// gateway decodes only the first JSON value of a body and then fills in the path's
// parameters over whatever the body said; both would silently drop part of what was sent. A
// body that is not exactly one JSON object of the method's request, or that names another
// value for a field than the path does, is refused: INVALID_ARGUMENT on body or on the field.
func bodyAgreesUnary(log *slog.Logger) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		raw, _ := ctx.Value(rawBodyKey{}).([]byte)
		m, ok := req.(proto.Message)
		if ok && ctx.Value(patchKey{}) != nil {
			if err := patchNamesEveryField(m.ProtoReflect(), raw); err != nil {
				return grpcx.ToStatus(ctx, log, err)
			}
		}
		if !ok || len(bytes.TrimSpace(raw)) == 0 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		sent := m.ProtoReflect().New()
		if err := protojson.Unmarshal(raw, sent.Interface()); err != nil {
			return grpcx.ToStatus(ctx, log, apperr.Invalid("body", "not one JSON object of this request: "+decoderMessage(err.Error())))
		}
		var v apperr.Validation
		got := m.ProtoReflect()
		sent.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
			if !got.Has(fd) || !got.Get(fd).Equal(val) {
				v.Add(string(fd.Name()), "the body's value differs from the one in the path")
			}
			return true
		})
		if err := v.Err(); err != nil {
			return grpcx.ToStatus(ctx, log, err)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// patchKey marks the context of a PATCH.
type patchKey struct{}

// patchNamesEveryField refuses a PATCH whose body leaves out a field the change sets. A
// PATCH's fields are set, not merged: PATCH /v1/subscriptions/{id} with {} would take the
// absent paused as false and resume a paused subscription, where a partner reading it as a
// merge patch expects nothing to change. So every field of the request but the idempotency
// key and those the path gave must be in the body (by its proto or JSON name).
func patchNamesEveryField(m protoreflect.Message, raw []byte) error {
	var members map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &members) != nil {
		return nil // not an object: bodyAgreesUnary names what is wrong with it
	}
	var v apperr.Validation
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Name() == "idempotency_key" || m.Has(fd) {
			continue // the key is optional; a field with a value came from the body or the path
		}
		// null sets nothing either: protojson reads it as the zero value.
		given := func(key string) bool {
			v, ok := members[key]
			return ok && string(bytes.TrimSpace(v)) != "null"
		}
		if !given(string(fd.Name())) && !given(fd.JSONName()) {
			v.Add(string(fd.Name()), "required in the body of a PATCH: a member left out would be taken as "+zeroText(fd)+", not as unchanged")
		}
	}
	return v.Err()
}

// zeroText is how a field's zero value reads in JSON.
func zeroText(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsList() || fd.IsMap():
		return "empty"
	case fd.Kind() == protoreflect.BoolKind:
		return "false"
	case fd.Kind() == protoreflect.StringKind || fd.Kind() == protoreflect.BytesKind:
		return `""`
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return "absent"
	case fd.Kind() == protoreflect.EnumKind:
		return "unspecified"
	}
	return "0"
}

var setQueryParser sync.Once

// strictQuery is the gateway's query parser, except that a parameter that names no field of
// the request is refused (400 on query) instead of ignored: a misspelt filter would otherwise
// answer the unfiltered list.
type strictQuery struct{}

func (strictQuery) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	md := msg.ProtoReflect().Descriptor()
	for key := range values {
		if !namesField(md, key) {
			return fmt.Errorf("unknown query parameter %q: not a field of this request", key)
		}
	}
	err := (&runtime.DefaultQueryParser{}).Parse(msg, values, filter)
	if err == nil {
		return nil
	}
	// The gateway's message quotes the value and, for a list, names the parameter only in a
	// form that withoutValues cannot tell from a value: find the parameter by parsing each
	// alone, and say what kind of value it takes (queryParameterMessage).
	keys := slices.Sorted(maps.Keys(values))
	for _, key := range keys {
		if (&runtime.DefaultQueryParser{}).Parse(msg.ProtoReflect().New().Interface(), url.Values{key: values[key]}, filter) != nil {
			return fmt.Errorf("query parameter %q: %s", key, valueKind(md, key))
		}
	}
	return err
}

// valueKind says what a query parameter's field takes, for the error about a value it could
// not read.
func valueKind(md protoreflect.MessageDescriptor, key string) string {
	fd := fieldAt(md, key)
	if fd == nil {
		return "not a valid value"
	}
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return "not a name of " + string(fd.Enum().Name()) + " (the OpenAPI document lists them)"
	case protoreflect.BoolKind:
		return "not true or false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Int64Kind,
		protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "not a whole number in this field's range"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "not a number"
	}
	return "not a valid value"
}

// queryParameter is the parameter an error from strictQuery names.
var queryParameter = regexp.MustCompile(`^query parameter "([A-Za-z_][A-Za-z0-9_.]*)(?:\[[^"]*\])?": `)

// fieldOf returns the request field a decoding error names as a query parameter, in proto
// names ("page_size" for pageSize), or "".
func fieldOf(msg string) string {
	m := queryParameter.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return snake(m[1])
}

// namesField reports whether key ("page_size", "pageSize", "filter.status", "labels[k]")
// is a path of fields of md, by proto or JSON names.
func namesField(md protoreflect.MessageDescriptor, key string) bool { return fieldAt(md, key) != nil }

// fieldAt is the field key names in md (see namesField), or nil.
func fieldAt(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	parts := strings.Split(key, ".")
	var fd protoreflect.FieldDescriptor
	for i, part := range parts {
		fd = md.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil {
			return nil
		}
		if i < len(parts)-1 {
			if fd.Message() == nil || fd.IsMap() {
				return nil
			}
			md = fd.Message()
		}
	}
	return fd
}

// clientCertificate passes the partner's verified client certificate to the gRPC server,
// which takes the organisation from it as it does from a gRPC client's certificate.
func clientCertificate(_ context.Context, r *http.Request) metadata.MD {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return metadata.Pairs(grpcx.EdgeClientCertHeader, string(r.TLS.VerifiedChains[0][0].Raw))
}

// idempotencyKeyUnary moves the Idempotency-Key header into the request's idempotency_key
// field (when the method has one), so the service sees one key whichever way it came. A
// header and a body key that differ are refused.
func idempotencyKeyUnary(log *slog.Logger) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		md, _ := metadata.FromOutgoingContext(ctx)
		if keys := md.Get("idempotency-key"); len(keys) > 0 {
			if m, ok := req.(proto.Message); ok {
				if err := idempotency.SetKey(m.ProtoReflect(), strings.TrimSpace(keys[0]), "the Idempotency-Key header", " (body or query string)"); err != nil {
					return grpcx.ToStatus(ctx, log, err)
				}
			}
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// errorHandler writes the gRPC status as JSON under the matching HTTP status (the gateway's
// default). A request the gateway itself could not read (malformed JSON, a bad path or query
// parameter) gets a BadRequest detail too, like every other INVALID_ARGUMENT.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument && len(st.Details()) == 0 {
		if strings.Contains(st.Message(), "i/o timeout") {
			// The body did not arrive within the server's ReadTimeout: not a mistake in it, and
			// the read error named the server's socket addresses (an outside probe, thirty-fourth
			// session).
			bodyTimeout(w, m)
			return
		}
		field := "body"
		if r.Method == http.MethodGet || r.Method == http.MethodDelete {
			field = "query"
		}
		if strings.HasPrefix(st.Message(), "invalid grpc-timeout") {
			field = "header Grpc-Timeout"
		}
		if f := fieldOf(st.Message()); f != "" {
			field = f
		}
		msg := decoderMessage(st.Message())
		if withBR, derr := status.New(codes.InvalidArgument, msg).WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: field, Description: msg},
		}}); derr == nil {
			err = withBR.Err()
		}
	}
	// A RetryInfo (RESOURCE_EXHAUSTED of a rate limit, UNAVAILABLE) is also the HTTP way of
	// saying it: Retry-After, in whole seconds, rounded up (RFC 9110 §10.2.3).
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
				secs := int64(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
				w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			}
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, headerNames(err))
}

// ReadTimeout is how long the REST edge waits for a whole request, its body included.
const ReadTimeout = 30 * time.Second

// bodyTimeout answers a request whose body did not arrive in time: 408, with the status of a
// deadline, and the connection closed (what is left of the body would be read as a request).
func bodyTimeout(w http.ResponseWriter, m runtime.Marshaler) {
	st := status.New(codes.DeadlineExceeded, fmt.Sprintf("the request body did not arrive within %s: send it at once", ReadTimeout))
	body, err := m.Marshal(st.Proto())
	if err != nil {
		body = []byte(`{"code":4}`)
	}
	w.Header().Set("Content-Type", m.ContentType(nil))
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestTimeout)
	_, _ = w.Write(body)
}

// headerNames words an answer in HTTP's terms where the service speaks of the gRPC metadata
// a header became: a violation of "metadata x-wijkbrug-user" is one of "header
// X-Wijkbrug-User", and "acting user metadata" are "acting-user headers".
func headerNames(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	p := st.Proto()
	changed := false
	if msg := strings.Replace(p.GetMessage(), "acting user metadata", "acting-user headers", 1); msg != p.GetMessage() {
		p.Message, changed = msg, true
	}
	for i, d := range p.GetDetails() {
		var br errdetails.BadRequest
		if d.MessageIs(&br) && d.UnmarshalTo(&br) == nil {
			renamed := false
			for _, v := range br.GetFieldViolations() {
				if k, ok := strings.CutPrefix(v.GetField(), "metadata "); ok {
					v.Field, renamed = "header "+http.CanonicalHeaderKey(k), true
				}
			}
			if a, aerr := anypb.New(&br); renamed && aerr == nil {
				p.Details[i], changed = a, true
			}
		}
	}
	if !changed {
		return err
	}
	return status.FromProto(p).Err()
}

// errBodyTooLarge is a body read past the message limit.
var errBodyTooLarge = errors.New("request body too large")

// cappedBody ends a body at n bytes with errBodyTooLarge. http.MaxBytesReader does the same
// but also has the server end the connection, which over HTTP/2 reset the stream before the
// 413 reached a client that sent its body chunked.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.ReadCloser.Read(p)
	if int64(n) > c.left {
		n, c.left = int(c.left), -1
		return n, errBodyTooLarge
	}
	c.left -= int64(n)
	return n, err
}

// tooLarge answers a body over the message limit: 413, with INVALID_ARGUMENT on body as JSON,
// the shape of every other error (a 10 MB body had been a 400 about unexpected JSON).
func tooLarge(w http.ResponseWriter, m runtime.Marshaler) {
	msg := fmt.Sprintf("request body larger than %d MiB", grpcx.MaxMessageBytes>>20)
	st, err := status.New(codes.InvalidArgument, msg).WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "body", Description: msg}}})
	if err != nil {
		st = status.New(codes.InvalidArgument, msg)
	}
	body, err := m.Marshal(st.Proto())
	if err != nil {
		http.Error(w, msg, http.StatusRequestEntityTooLarge)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	_, _ = w.Write(body)
}

var (
	// valueAfterField is the value the JSON and query decoders quote after the field they
	// could not fill ("invalid value for string field residentBsn: 735190008").
	valueAfterField = regexp.MustCompile(`^(.*\bfield "?[A-Za-z0-9_.\[\]]+"?): .*$`)
	// unexpectedToken is the token a syntax error quotes, or not (a number).
	unexpectedToken = regexp.MustCompile(`^(.*\bunexpected token)\b.*$`)
	fieldName       = regexp.MustCompile(`^"[A-Za-z_][A-Za-z0-9_.]*"$`)
	quotedValue     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// withoutValues is a decoding error's message without the values the request held: the
// decoders quote what they could not read (a BSN sent as a number, a name where an enum
// belongs), and an error message travels further than the request (client logs, proxies).
// Field names stay, so the message still says where the request is wrong.
func withoutValues(msg string) string {
	for _, re := range []*regexp.Regexp{valueAfterField, unexpectedToken} {
		if m := re.FindStringSubmatch(msg); m != nil {
			msg = m[1]
		}
	}
	var b strings.Builder
	last := 0
	for _, loc := range quotedValue.FindAllStringIndex(msg, -1) {
		b.WriteString(msg[last:loc[0]])
		named := strings.HasSuffix(msg[:loc[0]], "field ") || strings.HasSuffix(msg[:loc[0]], "parameter ")
		if named && fieldName.MatchString(msg[loc[0]:loc[1]]) {
			b.WriteString(msg[loc[0]:loc[1]]) // a field's name (a key the client made up is a value)
		} else {
			b.WriteString(`"…"`)
		}
		last = loc[1]
	}
	b.WriteString(msg[last:])
	return b.String()
}

// fieldNamed is a field named in a decoder's message ("field residentBsn").
var fieldNamed = regexp.MustCompile(`\bfield "?([a-z][A-Za-z0-9]*)"?`)

// decoderMessage is what the answer says of a decoding error: its message without the values
// (withoutValues), without the decoder's "proto: " prefix, and with the fields it names in
// their proto names, as every other violation names them (protojson names a field by its
// JSON name: "invalid value for string field residentBsn" becomes "… field resident_bsn").
func decoderMessage(msg string) string {
	// protobuf-go writes its prefix with a normal or a non-breaking space, varying by build on
	// purpose.
	msg = strings.TrimPrefix(strings.TrimPrefix(withoutValues(msg), "proto: "), "proto:\u00a0")
	var b strings.Builder
	last := 0
	for _, loc := range fieldNamed.FindAllStringSubmatchIndex(msg, -1) {
		b.WriteString(msg[last:loc[2]])
		name := msg[loc[2]:loc[3]]
		if !strings.HasSuffix(msg[:loc[0]], "unknown ") { // an unknown field is named as sent
			name = snake(name)
		}
		b.WriteString(name)
		last = loc[3]
	}
	b.WriteString(msg[last:])
	return b.String()
}

// snake turns a JSON name (residentBsn) into the proto name it was made from (resident_bsn);
// a proto name stays as it is.
func snake(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// notUTF8 names the part of r's URL (path or query) that is not valid UTF-8, or "".
func notUTF8(r *http.Request) string {
	if !utf8.ValidString(r.URL.Path) {
		return "path"
	}
	for k, vs := range r.URL.Query() {
		if !utf8.ValidString(k) {
			return "query"
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return "query"
			}
		}
	}
	return ""
}

// routingErrorHandler answers an unknown path 404 and a known path with another verb 405 (the
// gateway's default maps the latter to UNIMPLEMENTED, 501) with the Allow header, as
// google.rpc.Status JSON.
func (rts routes) routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus != http.StatusMethodNotAllowed {
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		return
	}
	if allow := rts.allowed(r.URL.Path); allow != nil {
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	body, err := m.Marshal(status.New(codes.Unimplemented, "method not allowed on this path").Proto())
	if err != nil {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", m.ContentType(nil))
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write(body)
}

// preparedDocument is what the edge serves and routes by from its OpenAPI document: the
// document as JSON and the routes it declares.
type preparedDocument struct {
	json   []byte
	routes routes
}

// documents holds each OpenAPI document's preparedDocument, made once in the process: turning
// a service's YAML into JSON takes 10–25 ms of CPU here, and the all-in-one suite's start made
// all four while its four services migrated.
var documents sync.Map // string(YAML) → func() (preparedDocument, error)

// Prepare makes what an edge serving openapiYAML needs from it (Handler does otherwise, on its
// first call): svc.Warm calls it while a service's start waits for its database.
func Prepare(openapiYAML []byte) error {
	_, err := document(openapiYAML)
	return err
}

func document(openapiYAML []byte) (preparedDocument, error) {
	prepare, _ := documents.LoadOrStore(string(openapiYAML), sync.OnceValues(func() (preparedDocument, error) {
		j, err := yamlToJSON(openapiYAML)
		if err != nil {
			return preparedDocument{}, fmt.Errorf("rest: OpenAPI document: %w", err)
		}
		rts, err := newRoutes(j)
		if err != nil {
			return preparedDocument{}, fmt.Errorf("rest: OpenAPI document's paths: %w", err)
		}
		return preparedDocument{json: j, routes: rts}, nil
	}))
	return prepare.(func() (preparedDocument, error))()
}

func yamlToJSON(b []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
