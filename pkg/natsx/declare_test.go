package natsx_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// Declaring a stream creates it, declaring it again with the same configuration finds it (a
// restart, a second replica), and one with another configuration uses the stream as it is
// and logs what differs: a service never updates a stream (it has no permission to).
func TestDeclareStreamCreatesButNeverChanges(t *testing.T) {
	n := testkit.NewNATS(t)
	js, err := jetstream.New(n.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		if _, err := natsx.EnsureStream(ctx, js, "referral", 1, nil); err != nil {
			t.Fatalf("declaration %d: %v", i+1, err)
		}
		if _, err := natsx.EnsureFeedStream(ctx, js, 1, nil); err != nil {
			t.Fatalf("feed stream, declaration %d: %v", i+1, err)
		}
	}
	// The differences go to the service's own logger (JSON with its name, like its other lines).
	var logs syncBuf
	log := slog.New(slog.NewJSONHandler(&logs, nil)).With("service", "referral")
	want := jetstream.StreamConfig{Name: natsx.StreamName("referral"), Subjects: []string{"wijkbrug.referral.>", "wijkbrug.extra.>"},
		Storage: jetstream.FileStorage, MaxAge: time.Hour, Duplicates: 2 * time.Minute, AllowAtomicPublish: true}
	s, err := natsx.DeclareStream(ctx, js, want, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Subjects; len(got) != 1 || got[0] != "wijkbrug.referral.>" {
		t.Fatalf("the existing stream was changed: subjects %v", got)
	}
	for _, w := range []string{`"service":"referral"`, `"level":"WARN"`, "subjects is [wijkbrug.referral.>]", "max_age is 8760h0m0s, this version sets 1h0m0s"} {
		if !strings.Contains(logs.String(), w) {
			t.Fatalf("the warning lacks %q:\n%s", w, logs.String())
		}
	}
	if strings.Contains(logs.String(), "allow_atomic") || strings.Contains(logs.String(), "duplicate_window") {
		t.Fatalf("a setting that did not change is reported:\n%s", logs.String())
	}
}
