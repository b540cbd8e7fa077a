package events

import (
	"context"
	"testing"

	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/referral/migrations"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// A signal's events name its source, so routing their feed copies asks the database nothing
// inside the transaction that changes the signal; an event that does not name it is looked up.
func TestSignalEventsAreRoutedToTheirSourceWithoutAQuery(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "referral", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	route := FeedRecipients(&pgxdb.DB{Pool: pool})
	const source = "00000001000000000200"
	const signalID = "3f2b8c1e-7a4d-4e5f-9b6c-1d2e3f4a5b6c"
	subject := "wijkbrug.referral.GM0363.signal.status_changed"

	for _, ev := range []proto.Message{
		&referralv1.SignalReceived{SignalId: signalID, SourceOin: source},
		&referralv1.SignalStatusChanged{SignalId: signalID, SourceOin: source},
	} {
		before := roundTrips.Load()
		got, err := route(ctx, subject, signalID, ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != source {
			t.Fatalf("%T: recipients %v, want [%s]", ev, got, source)
		}
		if n := roundTrips.Load() - before; n != 0 {
			t.Errorf("%T: routing took %d round trips, want 0", ev, n)
		}
	}
	// Without the source in the event the router reads the signal (unknown here: no copy).
	before := roundTrips.Load()
	got, err := route(ctx, subject, signalID, &referralv1.SignalStatusChanged{SignalId: signalID})
	if err != nil || len(got) != 0 {
		t.Fatalf("unknown signal: %v %v", got, err)
	}
	if roundTrips.Load() == before {
		t.Error("an event without its source was routed without reading the signal")
	}
}
