package embeddednats

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestMessageSurvivesRestart(t *testing.T) {
	for _, syncAlways := range []bool{false, true} {
		name := "default"
		if syncAlways {
			name = "sync-always"
		}
		t.Run(name, func(t *testing.T) {
			testMessageSurvivesRestart(t, syncAlways)
		})
	}
}

func testMessageSurvivesRestart(t *testing.T, syncAlways bool) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	s, err := Start(Options{SyncAlways: syncAlways})
	if err != nil {
		t.Fatal(err)
	}
	store := s.StoreDir()
	defer func() {
		s.Shutdown()
		if _, err := os.Stat(store); !os.IsNotExist(err) {
			t.Errorf("temp store %s not removed: %v", store, err)
		}
	}()
	if got := s.NATSServer().JetStreamConfig().SyncAlways; got != syncAlways {
		t.Fatalf("server SyncAlways = %v, want %v", got, syncAlways)
	}
	url, port := s.ClientURL(), s.Port()

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "events.created", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()

	s.Stop()
	if err := s.StartAgain(); err != nil {
		t.Fatal(err)
	}
	if s.Port() != port || s.ClientURL() != url {
		t.Fatalf("restart moved the server: %s -> %s", url, s.ClientURL())
	}

	nc, err = nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data) != "hello" || msg.Subject != "events.created" {
		t.Fatalf("got %s %q", msg.Subject, msg.Data)
	}
}

func TestStartAgainAfterShutdownFails(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartAgain(); err == nil {
		t.Fatal("StartAgain on a running server must fail")
	}
	s.Shutdown()
	s.Shutdown() // idempotent
	if err := s.StartAgain(); err == nil {
		t.Fatal("StartAgain after Shutdown must fail")
	}
}
