package main

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		since   string
		onlyNew bool
		want    startPoint
		bad     bool
	}{
		{"", false, startPoint{policy: jetstream.DeliverAllPolicy}, false},
		{"", true, startPoint{policy: jetstream.DeliverNewPolicy}, false},
		{"42", false, startPoint{policy: jetstream.DeliverByStartSequencePolicy, seq: 42}, false},
		{"2026-12-01T09:00:00Z", false, startPoint{policy: jetstream.DeliverByStartTimePolicy, time: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}, false},
		{"15m", false, startPoint{policy: jetstream.DeliverByStartTimePolicy, time: now.Add(-15 * time.Minute)}, false},
		{"0", false, startPoint{}, true},
		{"yesterday", false, startPoint{}, true},
		{"5", true, startPoint{}, true},
	} {
		got, err := parseSince(tc.since, tc.onlyNew, now)
		if (err != nil) != tc.bad {
			t.Errorf("parseSince(%q, %v): error %v", tc.since, tc.onlyNew, err)
			continue
		}
		if !tc.bad && (got.policy != tc.want.policy || got.seq != tc.want.seq || !got.time.Equal(tc.want.time)) {
			t.Errorf("parseSince(%q) = %+v, want %+v", tc.since, got, tc.want)
		}
	}
}
