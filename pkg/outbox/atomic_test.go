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

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/protobuf/proto"
)

// batchIDs returns, per stored message of the referral stream, its Nats-Batch-Id header
// ("" for a message published on its own).
func (f *fixture) batchIDs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range f.stored(t) {
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
	f, _, _ := setupStream(t, func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: natsx.StreamName("referral"),
			Subjects: []string{natsx.SubjectPrefix("referral") + ".>"}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
		return err
	})
	ctx := context.Background()
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

// Partners read their feed from their own stream, which sources WIJKBRUG_FEED. Feed copies that
// reach WIJKBRUG_FEED in an atomic batch must all arrive in the partner's stream, in order, and
// without the batch headers (sourcing strips them).
func TestFeedCopiesInAtomicBatchesReachThePartnerStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgxdb.Open(ctx, testkit.NewDatabase(t, "platform", migrate), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ns := testkit.NewNATS(t)
	gp := testkit.Org(identity.OrgGP, "Practice Atomic")
	ns.AddPartner(t, gp)
	js, err := jetstream.New(ns.ConnectService(t, "referral"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.EnsureStream(ctx, js, "referral", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.EnsureFeedStream(ctx, js, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.EnsurePartnerStream(ctx, js, gp.OIN, 1, nil); err != nil {
		t.Fatal(err)
	}
	w := outbox.NewWriter(db, "referral")
	w.SetFeedRouter(func(context.Context, string, string, proto.Message) (outbox.Recipients, error) {
		return outbox.Recipients{OINs: []string{gp.OIN}}, nil
	})
	// A refused batch is logged at debug level before its events go one by one; the service can
	// not read WIJKBRUG_FEED itself, so the log is how the test knows both batches were taken.
	var logs bytes.Buffer
	relay := outbox.NewRelay(db, js, outbox.RelayConfig{Service: "referral", AckTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	want := signalIDs(1, 20)
	for _, id := range want {
		err := db.Tx(ctx, func(ctx context.Context) error {
			return w.Add(ctx, "wijkbrug.referral.feedback."+gp.OIN+".signal.fed_back", id, &referralv1.SignalFedBack{SignalId: id})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := relay.Flush(ctx); err != nil || n != 40 {
		t.Fatalf("Flush = %d, %v; want 40 (20 events and 20 feed copies)", n, err)
	}
	if strings.Contains(logs.String(), "refuse") {
		t.Fatalf("JetStream refused an atomic batch:\n%s", logs.String())
	}

	// What the partner reads, with its own certificate, from its own stream, through a
	// subscription's consumer (made by the feed manager: partners create no consumers).
	const sub = "sub-00000000000a7091"
	if _, err := js.CreateConsumer(ctx, natsx.PartnerStream(gp.OIN), jetstream.ConsumerConfig{Durable: sub,
		AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverAllPolicy}); err != nil {
		t.Fatal(err)
	}
	pjs, err := jetstream.New(ns.Connect(t, gp, gp.OIN))
	if err != nil {
		t.Fatal(err)
	}
	cons, err := pjs.Consumer(ctx, natsx.PartnerStream(gp.OIN), sub)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range want {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(got), len(want), err)
		}
		for k := range m.Headers() {
			if strings.HasPrefix(k, "Nats-Batch-") {
				t.Fatalf("event %d of the partner's feed carries %s", len(got)+1, k)
			}
		}
		env, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			t.Fatalf("event %d is no CloudEvent: %v", len(got)+1, err)
		}
		got = append(got, env.Subject)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the partner's feed holds %v, want %v", got, want)
	}
}
