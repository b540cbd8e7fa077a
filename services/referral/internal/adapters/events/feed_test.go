package events

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/referral/migrations"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// A signal's events name its source, so their feed copies need no read at all; an event that
// does not name it, and a referral's events, are routed by a query of the signal or the
// referral, which the statement writing the copies runs (the router has no database to ask).
func TestSignalEventsAreRoutedToTheirSourceWithoutAQuery(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "referral", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	route := FeedRecipients()
	const source = "00000001000000000200"
	const signalID = "3f2b8c1e-7a4d-4e5f-9b6c-1d2e3f4a5b6c"
	subject := "wijkbrug.referral.GM0363.signal.status_changed"

	for _, ev := range []proto.Message{
		&referralv1.SignalReceived{SignalId: signalID, SourceOin: source},
		&referralv1.SignalStatusChanged{SignalId: signalID, SourceOin: source},
	} {
		got, err := route(ctx, subject, signalID, ev)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.OINs, []string{source}) || got.Query != "" {
			t.Fatalf("%T: recipients %+v, want [%s] and no query", ev, got, source)
		}
	}
	// Without the source in the event, and for a referral's event, a query; it runs against
	// the schema (no such signal or referral here: no recipients).
	for _, c := range []struct {
		subject string
		event   proto.Message
	}{
		{subject, &referralv1.SignalStatusChanged{SignalId: signalID}},
		{"wijkbrug.referral.GM0363.referral.status_changed", &referralv1.ReferralStatusChanged{ReferralId: signalID}},
	} {
		got, err := route(ctx, c.subject, signalID, c.event)
		if err != nil {
			t.Fatal(err)
		}
		if oins := testkit.RoutedByQuery(t, pool, got); len(oins) != 0 {
			t.Errorf("%T: the query of an unknown aggregate found %v", c.event, oins)
		}
	}
}
