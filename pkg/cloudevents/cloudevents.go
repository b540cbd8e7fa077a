// Package cloudevents encodes Wijkbrug events as CloudEvents 1.0 in binary mode on NATS: the
// attributes travel as ce-* headers, the payload is the protobuf event message, and ce-id is
// repeated as Nats-Msg-Id so JetStream drops duplicates inside its window.
package cloudevents

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Header names.
const (
	HeaderSpecVersion = "ce-specversion"
	HeaderID          = "ce-id"
	HeaderSource      = "ce-source"
	HeaderType        = "ce-type"
	HeaderTime        = "ce-time"
	HeaderSubject     = "ce-subject"
	HeaderContentType = "content-type"
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
	ContentType       = "application/protobuf"
)

// Envelope is one event.
type Envelope struct {
	ID string
	// Source is urn:wijkbrug:<service>.
	Source string
	// Type is the protobuf full name of the payload message.
	Type string
	Time time.Time
	// Subject is the aggregate id.
	Subject string
	// Traceparent and Tracestate are the W3C trace context of the writing request (the
	// CloudEvents distributed-tracing extension), so a consumer's span joins its trace.
	Traceparent string
	Tracestate  string
	// NATSSubject is where the event is published.
	NATSSubject string
	Data        []byte
	// DedupID, when set, is sent as Nats-Msg-Id instead of ID (copies of one event in one
	// stream, e.g. a partner feed).
	DedupID string
}

// TraceContext returns ctx carrying the event's trace context, read with the global (standard
// W3C) propagator, so the consumer's span continues the writer's trace.
func (e Envelope) TraceContext(ctx context.Context) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{HeaderTraceparent: e.Traceparent, HeaderTracestate: e.Tracestate})
}

// TypeOf returns the CloudEvents type of a payload message.
func TypeOf(m proto.Message) string { return string(m.ProtoReflect().Descriptor().FullName()) }

// ToMsg builds the NATS message.
func (e Envelope) ToMsg() *nats.Msg {
	m := nats.NewMsg(e.NATSSubject)
	m.Header.Set(HeaderSpecVersion, "1.0")
	m.Header.Set(HeaderID, e.ID)
	m.Header.Set(HeaderSource, e.Source)
	m.Header.Set(HeaderType, e.Type)
	m.Header.Set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	m.Header.Set(HeaderSubject, e.Subject)
	m.Header.Set(HeaderContentType, ContentType)
	if e.Traceparent != "" {
		m.Header.Set(HeaderTraceparent, e.Traceparent)
		if e.Tracestate != "" {
			m.Header.Set(HeaderTracestate, e.Tracestate)
		}
	}
	if e.DedupID != "" {
		m.Header.Set(nats.MsgIdHdr, e.DedupID)
	} else {
		m.Header.Set(nats.MsgIdHdr, e.ID)
	}
	m.Data = e.Data
	return m
}

// FromMsg reads an envelope, checking the required attributes.
func FromMsg(subject string, h nats.Header, data []byte) (Envelope, error) {
	e := Envelope{
		ID: h.Get(HeaderID), Source: h.Get(HeaderSource), Type: h.Get(HeaderType),
		Subject: h.Get(HeaderSubject), Traceparent: h.Get(HeaderTraceparent), Tracestate: h.Get(HeaderTracestate), NATSSubject: subject, Data: data,
	}
	if h.Get(HeaderSpecVersion) != "1.0" {
		return e, fmt.Errorf("unsupported ce-specversion %q", h.Get(HeaderSpecVersion))
	}
	if e.ID == "" || e.Source == "" || e.Type == "" {
		return e, fmt.Errorf("missing ce-id, ce-source or ce-type")
	}
	if ct := h.Get(HeaderContentType); ct != ContentType {
		return e, fmt.Errorf("unsupported content-type %q", ct)
	}
	t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime))
	if err != nil {
		return e, fmt.Errorf("bad ce-time: %w", err)
	}
	e.Time = t
	return e, nil
}

// Decode unmarshals the payload into the message type named by ce-type, which must be linked
// into the binary (generated packages register themselves).
func (e Envelope) Decode() (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(e.Type))
	if err != nil {
		return nil, fmt.Errorf("unknown event type %q: %w", e.Type, err)
	}
	m := mt.New().Interface()
	if err := proto.Unmarshal(e.Data, m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.Type, err)
	}
	return m, nil
}

// HTTPHeader is the envelope in the CloudEvents HTTP binding, binary mode: the same ce-*
// attributes as headers, Content-Type for the payload, and the W3C traceparent and tracestate.
// The body is Data.
func (e Envelope) HTTPHeader() http.Header {
	h := http.Header{}
	h.Set(HeaderSpecVersion, "1.0")
	h.Set(HeaderID, e.ID)
	h.Set(HeaderSource, e.Source)
	h.Set(HeaderType, e.Type)
	h.Set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	if e.Subject != "" {
		h.Set(HeaderSubject, e.Subject)
	}
	h.Set("Content-Type", ContentType)
	if e.Traceparent != "" {
		h.Set(HeaderTraceparent, e.Traceparent)
		if e.Tracestate != "" {
			h.Set(HeaderTracestate, e.Tracestate)
		}
	}
	return h
}

// FromHTTP reads an envelope from a CloudEvents HTTP request in binary mode (what a webhook
// endpoint receives), checking the required attributes as FromMsg does.
func FromHTTP(h http.Header, body []byte) (Envelope, error) {
	n := nats.Header{}
	for _, k := range []string{HeaderSpecVersion, HeaderID, HeaderSource, HeaderType, HeaderTime, HeaderSubject, HeaderTraceparent, HeaderTracestate} {
		if v := h.Get(k); v != "" {
			n.Set(k, v)
		}
	}
	n.Set(HeaderContentType, h.Get("Content-Type"))
	return FromMsg("", n, body)
}
