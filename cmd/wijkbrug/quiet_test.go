package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
)

// waitQuiet waits (up to a minute) until the suite's background work is done: every outbox
// published, every access-log entry sealed, every service consumer with nothing pending or
// unacknowledged (suite.QuietCheck, as the bench waits before a measurement). A test calls it
// before checking that the handling of its events did nothing it should not.
func waitQuiet(t *testing.T, s *suite.Suite) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nc, err := s.ConnectNATS(s.Observer)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	q, err := s.NewQuietCheck(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	took, pending, err := q.Wait(ctx, time.Minute)
	if err != nil {
		t.Fatalf("waiting for a quiet suite: %v", err)
	}
	if len(pending) > 0 {
		t.Fatalf("the suite is not quiet after %s: %s", took.Round(time.Millisecond), strings.Join(pending, ", "))
	}
	t.Logf("the suite was quiet after %s", took.Round(time.Millisecond))
}

// waitFeedsSourced waits (up to 30 s) until each partner feed stream has sourced everything
// the shared feed stream holds for it (every source's lag 0), read as the referral service,
// which manages the partner feeds: the quiet check sees the outboxes publish into the shared
// feed, not the partner streams copy from it.
func waitFeedsSourced(t *testing.T, s *suite.Suite, streams ...string) {
	t.Helper()
	nc, err := s.ConnectNATSAsService("referral")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range streams {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := js.Stream(ctx, name)
			var info *jetstream.StreamInfo
			if err == nil {
				info, err = st.Info(ctx)
			}
			cancel()
			if err != nil {
				t.Fatalf("feed stream %s: %v", name, err)
			}
			var lag uint64
			for _, src := range info.Sources {
				lag += src.Lag
			}
			if len(info.Sources) > 0 && lag == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("feed stream %s has not sourced the shared feed within 30 s: %d sources, lag %d", name, len(info.Sources), lag)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
