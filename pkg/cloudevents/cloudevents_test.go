package cloudevents

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/protobuf/proto"
)

func TestRoundTrip(t *testing.T) {
	data, _ := proto.Marshal(&referralv1.SignalReceived{SignalId: "s1"})
	env := Envelope{ID: "e1", Source: "urn:wijkbrug:referral", Type: TypeOf(&referralv1.SignalReceived{}), Time: time.Unix(1700000000, 5).UTC(),
		Subject: "s1", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NATSSubject: "wijkbrug.referral.GM0363.signal.received", Data: data}
	m := env.ToMsg()
	if m.Header.Get(nats.MsgIdHdr) != "e1" || m.Header.Get(HeaderSpecVersion) != "1.0" || m.Header.Get(HeaderContentType) != ContentType {
		t.Fatalf("headers %v", m.Header)
	}
	got, err := FromMsg(m.Subject, m.Header, m.Data)
	if err != nil || got.ID != "e1" || !got.Time.Equal(env.Time) || got.Traceparent != env.Traceparent {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	msg, err := got.Decode()
	if err != nil || msg.(*referralv1.SignalReceived).GetSignalId() != "s1" {
		t.Fatalf("decode: %v %v", msg, err)
	}
	bad := nats.Header{}
	for k, v := range m.Header {
		bad[k] = append([]string(nil), v...)
	}
	bad.Set(HeaderType, "wijkbrug.nope.v1.Unknown")
	if e, _ := FromMsg(m.Subject, bad, m.Data); func() error { _, err := e.Decode(); return err }() == nil {
		t.Fatal("an unknown type must not decode")
	}
	bad.Del(HeaderID)
	if _, err := FromMsg(m.Subject, bad, m.Data); err == nil {
		t.Fatal("a missing ce-id must be refused")
	}
}

// FuzzFromMsg: any headers and payload from the wire are refused or decoded, never a panic.
func FuzzFromMsg(f *testing.F) {
	data, _ := proto.Marshal(&referralv1.SignalReceived{SignalId: "s1"})
	f.Add("1.0", "id", "urn:wijkbrug:referral", "wijkbrug.referral.v1.SignalReceived", "2026-01-01T00:00:00Z", ContentType, data)
	f.Add("1.0", "id", "src", "google.protobuf.Timestamp", "bad", "x", []byte{0xff, 0x01})
	f.Fuzz(func(t *testing.T, spec, id, source, typ, at, ct string, payload []byte) {
		h := nats.Header{}
		h.Set(HeaderSpecVersion, spec)
		h.Set(HeaderID, id)
		h.Set(HeaderSource, source)
		h.Set(HeaderType, typ)
		h.Set(HeaderTime, at)
		h.Set(HeaderContentType, ct)
		env, err := FromMsg("s", h, payload)
		if err != nil {
			return
		}
		if env.ID == "" || env.Type == "" {
			t.Fatal("accepted an envelope without id or type")
		}
		_, _ = env.Decode()
	})
}
