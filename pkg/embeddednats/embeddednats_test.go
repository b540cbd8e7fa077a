package embeddednats

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

// testSecurity is the production model with one known identity, the referral service, and
// that service's client TLS configuration.
func testSecurity(t *testing.T) (*Security, *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	ca, err := devca.New("embeddednats test CA")
	if err != nil {
		t.Fatal(err)
	}
	_, certPEM, keyPEM, err := ca.IssueServer([]string{"nats"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := devca.WriteFiles(dir, "nats", certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	client, _, _, err := ca.IssueService(devca.Org{OIN: "00000099000000000004", Name: "wijkbrug-referral", Type: "SERVICE"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	model := natsauth.Model{Services: natsauth.Services(map[string]string{
		"intake": "CN=intake", "casedirection": "CN=casedirection", "providermonitoring": "CN=providermonitoring",
		"referral": natsauth.DN(client.Leaf)})}
	return &Security{Model: model, TLS: natsauth.TLS{CertFile: certFile, KeyFile: keyFile, CAFile: caFile}},
		&tls.Config{Certificates: []tls.Certificate{client}, RootCAs: ca.Pool()}
}

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

	sec, clientTLS := testSecurity(t)
	s, err := Start(Options{SyncAlways: syncAlways, Security: sec})
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

	nc, err := nats.Connect(url, natsx.Secure(clientTLS, "referral")...)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WIJKBRUG_REFERRAL", Subjects: []string{"wijkbrug.referral.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "wijkbrug.referral.created", []byte("hello"))
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

	nc, err = nats.Connect(url, natsx.Secure(clientTLS, "referral")...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "WIJKBRUG_REFERRAL")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data) != "hello" || msg.Subject != "wijkbrug.referral.created" {
		t.Fatalf("got %s %q", msg.Subject, msg.Data)
	}
}

func TestStartAgainAfterShutdownFails(t *testing.T) {
	if _, err := Start(Options{StoreDir: t.TempDir()}); err == nil {
		t.Fatal("a server without security must not start")
	}
	sec, _ := testSecurity(t)
	s, err := Start(Options{StoreDir: t.TempDir(), Security: sec})
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
