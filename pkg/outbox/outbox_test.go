package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func migrate(ctx context.Context, dsn string) error {
	return pgxdb.Migrate(ctx, dsn, platformdb.Migrations())
}

type fixture struct {
	dsn    string
	db     *pgxdb.DB
	writer *outbox.Writer
	js     jetstream.JetStream
	relay  *outbox.Relay
}

func setup(t *testing.T) (*fixture, func() error, func()) {
	t.Helper()
	return setupStream(t, func(ctx context.Context, js jetstream.JetStream) error {
		_, err := natsx.EnsureStream(ctx, js, "referral", 1, nil)
		return err
	})
}

// setupStream is setup with the referral stream declared by declare (the service may create
// its stream, never update it).
func setupStream(t *testing.T, declare func(context.Context, jetstream.JetStream) error) (*fixture, func() error, func()) {
	t.Helper()
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "platform", migrate)
	db, err := pgxdb.Open(ctx, dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ns := testkit.NewNATS(t)
	nc, err := natsx.Connect(ns.ClientURL(), "outbox-test", ns.ClientTLS(t, testkit.ServiceOrg("referral")), "referral")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := declare(ctx, js); err != nil {
		t.Fatal(err)
	}
	f := &fixture{dsn: dsn, db: db, writer: outbox.NewWriter(db, "referral"), js: js,
		relay: outbox.NewRelay(db, js, outbox.RelayConfig{Service: "referral", PollInterval: 200 * time.Millisecond, AckTimeout: time.Second,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})}
	return f, ns.StartAgain, ns.Stop
}

func (f *fixture) write(t *testing.T, i int) {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	err := f.db.Tx(ctx, func(ctx context.Context) error {
		return f.writer.Add(ctx, "wijkbrug.referral.GM0363.signal.received", id, &referralv1.SignalReceived{SignalId: id})
	})
	if err != nil {
		t.Fatalf("write %d: %v", i, err)
	}
}

// stored returns every message of the referral stream, in stream order.
func (f *fixture) stored(t *testing.T) []*jetstream.RawStreamMsg {
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
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// streamMessages returns the signal ids of the referral stream's events, in stream order.
func (f *fixture) streamMessages(t *testing.T) []string {
	t.Helper()
	var ids []string
	for i, m := range f.stored(t) {
		env, err := cloudevents.FromMsg(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatalf("message %d is no CloudEvent: %v", i+1, err)
		}
		var ev referralv1.SignalReceived
		if err := proto.Unmarshal(env.Data, &ev); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.GetSignalId())
	}
	return ids
}

func waitPending(t *testing.T, r *outbox.Relay, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := r.Pending(context.Background())
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d (%v), want %d", n, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAddRefusesOutsideTransaction(t *testing.T) {
	f, _, _ := setup(t)
	if err := f.writer.Add(context.Background(), "s", "a", &referralv1.SignalReceived{}); err == nil {
		t.Fatal("Add outside a transaction must fail")
	}
}

func TestRolledBackEventIsNeverPublished(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	_ = f.db.Tx(ctx, func(ctx context.Context) error {
		if err := f.writer.Add(ctx, "wijkbrug.referral.GM0363.signal.received", "x", &referralv1.SignalReceived{SignalId: "rolled-back"}); err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("business rule failed")
	})
	f.write(t, 1)
	if _, err := f.relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ids := f.streamMessages(t)
	if len(ids) != 1 || ids[0] == "rolled-back" {
		t.Fatalf("stream holds %v", ids)
	}
}

// Event ids are UUIDv7 and follow the order in which they were written, so that every index of
// them (the outbox's, each consumer's processed_events, which stores them as text) grows at
// its right end. With random ids (version 4) this fails.
func TestEventIDsAreInTimeOrder(t *testing.T) {
	f, _, _ := setup(t)
	ctx := context.Background()
	for i := range 50 {
		f.write(t, i)
	}
	rows, err := f.db.Pool.Query(ctx, `SELECT event_id::text FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 50 {
		t.Fatalf("%d outbox rows, want 50", len(ids))
	}
	for i, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Fatalf("event id %q (%v) is not a UUIDv7", id, err)
		}
		if i > 0 && id <= ids[i-1] {
			t.Fatalf("event id %s, written after %s, sorts before it: ids not in time order", id, ids[i-1])
		}
	}
}

// While NATS is down, writes keep committing; when it is back, every event is published
// exactly once and in commit order.
func TestNothingLostWhileNATSIsDown(t *testing.T) {
	f, startNATS, stopNATS := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f.relay.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	const before, during, after = 20, 30, 10
	i := 0
	for ; i < before; i++ {
		f.write(t, i)
	}
	waitPending(t, f.relay, 0)

	stopNATS()
	for ; i < before+during; i++ {
		f.write(t, i) // the service keeps accepting writes
	}
	time.Sleep(500 * time.Millisecond) // the relay tries and fails meanwhile
	if n, _ := f.relay.Pending(context.Background()); n == 0 {
		t.Fatal("events written while NATS is down cannot have been published")
	}
	if err := startNATS(); err != nil {
		t.Fatalf("restart NATS: %v", err)
	}
	for ; i < before+during+after; i++ {
		f.write(t, i)
	}
	waitPending(t, f.relay, 0)

	ids := f.streamMessages(t)
	if len(ids) != before+during+after {
		t.Fatalf("stream holds %d events, want %d (lost or duplicated)", len(ids), before+during+after)
	}
	for j, id := range ids {
		if want := fmt.Sprintf("00000000-0000-4000-8000-%012d", j); id != want {
			t.Fatalf("event %d is %s, want %s (out of order)", j, id, want)
		}
	}
}

// Two relays on the same database: one leads, and nothing is published twice.
func TestTwoRelaysPublishOnce(t *testing.T) {
	f, _, _ := setup(t)
	other := outbox.NewRelay(f.db, f.js, outbox.RelayConfig{Service: "referral", PollInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, r := range []*outbox.Relay{f.relay, other} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	for i := 0; i < 50; i++ {
		f.write(t, i)
	}
	waitPending(t, f.relay, 0)
	// The leader's lock session names itself in pg_stat_activity, the standby's nothing.
	var leaders int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE '%relay leader'`).Scan(&leaders); err != nil || leaders != 1 {
		t.Fatalf("sessions named as the relay leader: %d (%v), want 1", leaders, err)
	}
	cancel()
	wg.Wait()
	if ids := f.streamMessages(t); len(ids) != 50 {
		t.Fatalf("want 50 events, got %d", len(ids))
	}
}
