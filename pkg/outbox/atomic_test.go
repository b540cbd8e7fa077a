package outbox_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
)

// batchIDs returns, per stored message of the referral stream, its Nats-Batch-Id header
// ("" for a message published on its own).
func (f *fixture) batchIDs(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.js.Stream(ctx, natsx.StreamName("referral"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Header.Get("Nats-Batch-Id"))
	}
	return out
}

func signalIDs(from, to int) []string {
	var ids []string
	for i := from; i <= to; i++ {
		ids = append(ids, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	return ids
}

// A round with at least AtomicMin events for one stream publishes them as one atomic batch, in
// id order, and marks them all; a smaller round publishes each event on its own.
func TestRoundsOfManyEventsGoAsOneAtomicBatch(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	for i := 1; i <= 20; i++ {
		f.write(t, i)
	}
	n, err := f.relay.Flush(ctx)
	if err != nil || n != 20 {
		t.Fatalf("Flush = %d, %v; want 20 published", n, err)
	}
	waitPending(t, f.relay, 0)
	for i := 21; i <= 23; i++ {
		f.write(t, i)
	}
	if n, err := f.relay.Flush(ctx); err != nil || n != 3 {
		t.Fatalf("Flush = %d, %v; want 3 published", n, err)
	}
	if got, want := f.streamMessages(t), signalIDs(1, 23); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
	batches := f.batchIDs(t)
	first := batches[0]
	if first == "" {
		t.Fatal("the round of 20 events was not published as an atomic batch")
	}
	for i, b := range batches[:20] {
		if b != first {
			t.Fatalf("message %d of the round of 20 has batch id %q, want %q", i+1, b, first)
		}
	}
	for i, b := range batches[20:] {
		if b != "" {
			t.Fatalf("message %d of the round of 3 has batch id %q, want none (published on its own)", 21+i, b)
		}
	}
}

// When the marks of a published round are lost (a crash of PostgreSQL before the relay's
// unsynchronised mark reached disk), the next round is the same batch again: JetStream refuses
// the atomic batch for its duplicates, the relay publishes the events one by one, JetStream
// drops each as a duplicate, and the rows are marked. Nothing is stored twice.
func TestRepublishedAtomicBatchIsDeduplicated(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	for i := 1; i <= 20; i++ {
		f.write(t, i)
	}
	if n, err := f.relay.Flush(ctx); err != nil || n != 20 {
		t.Fatalf("Flush = %d, %v; want 20", n, err)
	}
	if _, err := f.db.Pool.Exec(ctx, `UPDATE outbox SET published_at = NULL`); err != nil {
		t.Fatal(err)
	}
	f.write(t, 21) // a new event in the same round: it must be stored, once
	if n, err := f.relay.Flush(ctx); err != nil || n != 21 {
		t.Fatalf("second Flush = %d, %v; want 21 (20 duplicates and 1 new)", n, err)
	}
	waitPending(t, f.relay, 0)
	if got, want := f.streamMessages(t), signalIDs(1, 21); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

// A stream that does not allow atomic batches (not updated yet, or a server before 2.12) still
// gets every event: the relay falls back to one message per event, and keeps doing so.
func TestStreamWithoutAtomicPublishStillGetsEveryEvent(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	s, err := f.js.Stream(ctx, natsx.StreamName("referral"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.AllowAtomicPublish = false
	if _, err := f.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("turn atomic publish off: %v", err)
	}
	var logs bytes.Buffer
	relay := outbox.NewRelay(f.db, f.js, outbox.RelayConfig{Service: "referral", AckTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	for round := 0; round < 2; round++ {
		for i := 1; i <= 20; i++ {
			f.write(t, round*20+i)
		}
		if n, err := relay.Flush(ctx); err != nil || n != 20 {
			t.Fatalf("round %d: Flush = %d, %v; want 20", round, n, err)
		}
	}
	if got, want := f.streamMessages(t), signalIDs(1, 40); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
	for i, b := range f.batchIDs(t) {
		if b != "" {
			t.Fatalf("message %d has batch id %q on a stream without atomic publish", i+1, b)
		}
	}
	// The first refusal turns atomic batches off for this relay: one warning, not one a round.
	if n := strings.Count(logs.String(), "JetStream refuses atomic batches"); n != 1 {
		t.Fatalf("the refusal was logged %d times over two rounds, want once:\n%s", n, logs.String())
	}
}
