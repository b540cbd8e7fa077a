package natsx_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitFor(t *testing.T, buf *syncBuf, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(buf.String(), want) {
			return
		}
	}
	t.Fatalf("log lacks %q:\n%s", want, buf.String())
}

// A broker outage is logged as one (WARN), the way back too; our own Close at shutdown is not
// an outage and logs only that the connection closed.
func TestConnectionEventsTellAnOutageFromAShutdown(t *testing.T) {
	n := testkit.NewNATS(t)
	buf := &syncBuf{}
	nc := n.ConnectService(t, "referral")
	natsx.LogConnectionEvents(nc, slog.New(slog.NewJSONHandler(buf, nil)))

	// An asynchronous error (here the server's refusal of a subject this identity may not
	// publish on) is a line of the service's log.
	if err := nc.Publish("wijkbrug.intake.forged", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, buf, `"msg":"NATS reported an error","error":"nats: permissions violation`)

	n.Stop()
	waitFor(t, buf, "NATS disconnected")
	if err := n.StartAgain(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, buf, "NATS reconnected")

	before := strings.Count(buf.String(), "NATS disconnected")
	nc.Close()
	waitFor(t, buf, "NATS connection closed")
	if after := strings.Count(buf.String(), "NATS disconnected"); after != before {
		t.Fatalf("closing the connection ourselves was logged as a disconnect:\n%s", buf.String())
	}
}
