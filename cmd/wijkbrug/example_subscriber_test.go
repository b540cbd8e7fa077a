package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/netport"
)

// TestExampleSubscriber: examples/subscriber builds, and against the all-in-one suite receives
// the GP's events over NATS with the GP's certificate, resumes after a restart without
// repeating what it handled, and receives a housing corporation's events as verified webhook
// deliveries (with Wijkbrug's client certificate required by the receiver).
func TestExampleSubscriber(t *testing.T) {
	t.Parallel()
	ctx, s := startSuite(t, 3*time.Minute, suite.Options{})
	dir := t.TempDir()
	bin, err := buildSubscriber(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	refAddr := s.Endpoint("referral").Addr
	gpCtx := acting(t, "dr-jansen", "gp", "signal")
	housingCtx := acting(t, "medewerker", "housing_officer", "signal")
	gpSub, err := subscriptionsv1.NewSubscriptionServiceClient(dialAs(t, s, "gp", refAddr)).CreateSubscription(gpCtx,
		&subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "example-nats", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL})
	if err != nil {
		t.Fatalf("GP subscribes: %v", err)
	}
	// The webhook receiver, a process of its own, binds it: a port outside the ephemeral range,
	// where no outgoing connection takes it first.
	port, err := netport.One()
	if err != nil {
		t.Fatal(err)
	}
	hookSub, err := subscriptionsv1.NewSubscriptionServiceClient(dialAs(t, s, "housing", refAddr)).CreateSubscription(housingCtx,
		&subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "example-hook", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL,
			Webhook: &subscriptionsv1.Webhook{Url: fmt.Sprintf("https://localhost:%d/wijkbrug/events", port)}})
	if err != nil {
		t.Fatalf("housing corporation subscribes with a webhook: %v", err)
	}

	gp := s.Partners["gp"]
	seen := filepath.Join(dir, "gp-seen")
	run := func(args ...string) (*exec.Cmd, *syncBuffer) {
		out := &syncBuffer{}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out
	}
	natsArgs := []string{"nats", "-url", s.NATSURL, "-ca", s.CAFile, "-cert", gp.CertFile, "-key", gp.KeyFile,
		"-consumer", gpSub.GetConnection().GetConsumer(), "-seen", seen}
	natsCmd, natsOut := run(append(natsArgs, "-max", "2")...)
	hookCmd, hookOut := run("webhook", "-listen", fmt.Sprintf("127.0.0.1:%d", port), "-path", "/wijkbrug/events",
		"-tls-cert", s.WebhookReceiverCert, "-tls-key", s.WebhookReceiverKey, "-client-ca", s.CAFile,
		"-secret", hookSub.GetWebhookSecret(), "-max", "1")

	gpSignal, err := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", refAddr)).SubmitSignal(gpCtx, gpSignalRequest("example-gp"))
	if err != nil {
		t.Fatalf("GP submits a signal: %v", err)
	}
	housingSignal, err := referralv1.NewReferralServiceClient(dialAs(t, s, "housing", refAddr)).SubmitSignal(housingCtx, housingSignalRequest("example-housing"))
	if err != nil {
		t.Fatalf("housing corporation submits a signal: %v", err)
	}

	wait := func(name string, cmd *exec.Cmd, out *syncBuffer, within time.Duration) string {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out.Bytes())
			}
		case <-time.After(within):
			_ = cmd.Process.Kill()
			t.Fatalf("%s did not receive what it waits for within %s:\n%s", name, within, out.Bytes())
		}
		return string(out.Bytes())
	}
	got := wait("subscriber nats", natsCmd, natsOut, time.Minute)
	if !strings.Contains(got, "wijkbrug.referral.v1.SignalReceived subject="+gpSignal.GetSignalId()) || strings.Contains(got, housingSignal.GetSignalId()) {
		t.Fatalf("subscriber nats printed:\n%s\nwant the GP's signal %s and nothing of the housing corporation's", got, gpSignal.GetSignalId())
	}
	first := idsPrinted(got)
	if len(first) != 2 {
		t.Fatalf("subscriber nats printed %d events, want 2:\n%s", len(first), got)
	}
	hook := wait("subscriber webhook", hookCmd, hookOut, time.Minute)
	if !strings.Contains(hook, "wijkbrug.referral.v1.SignalReceived subject="+housingSignal.GetSignalId()) || strings.Contains(hook, gpSignal.GetSignalId()) {
		t.Fatalf("subscriber webhook printed:\n%s\nwant the housing corporation's signal %s only", hook, housingSignal.GetSignalId())
	}

	// Restarted, it carries on with the next event of the subscription, at once: with -max the
	// first run fetched no more than it handled, so nothing waits for the 30 s ack deadline.
	again, againOut := run(append(natsArgs, "-max", "1")...)
	next := wait("subscriber nats (restarted)", again, againOut, 20*time.Second)
	ids := idsPrinted(next)
	repeated := false
	for id := range ids {
		repeated = repeated || first[id]
	}
	if len(ids) != 1 || repeated {
		t.Fatalf("after a restart the subscriber printed:\n%s\nwant one event it had not handled (handled before: %v)", next, first)
	}

	// A name that is no subscription: partners read through subscriptions only (the broker
	// does not let them create consumers), so the program says so and creates nothing.
	own, ownOut := run("nats", "-url", s.NATSURL, "-ca", s.CAFile, "-cert", gp.CertFile, "-key", gp.KeyFile,
		"-consumer", "own-reader", "-seen", filepath.Join(dir, "own-seen"), "-max", "1")
	done := make(chan error, 1)
	go func() { done <- own.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(string(ownOut.Bytes()), "no subscription own-reader") || !strings.Contains(string(ownOut.Bytes()), "CreateSubscription") {
			t.Fatalf("subscriber nats with a name that is no subscription: %v\n%s", err, ownOut.Bytes())
		}
	case <-time.After(20 * time.Second):
		_ = own.Process.Kill()
		t.Fatalf("subscriber nats with a name that is no subscription did not stop:\n%s", ownOut.Bytes())
	}
	js := jetStreamAs(t, s, gp)
	if _, err := js.Consumer(ctx, gpSub.GetConnection().GetStream(), "own-reader"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Fatalf("a consumer the GP named: want none, got %v", err)
	}
}

// idsPrinted are the ce-ids of the events a subscriber printed (its lines "… id=<ce-id> …").
func idsPrinted(out string) map[string]bool {
	ids := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok && strings.Contains(line, " subject=") {
				ids[id] = true
			}
		}
	}
	return ids
}

// buildSubscriber builds examples/subscriber into dir and returns the program's path.
func buildSubscriber(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "subscriber")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..", "examples", "subscriber")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("examples/subscriber does not build: %v\n%s", err, out)
	}
	return bin, nil
}
