package main

import (
	"context"
	"strings"
	"testing"
	"time"

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
