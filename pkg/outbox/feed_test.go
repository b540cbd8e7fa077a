package outbox_test

import (
	"context"
	"slices"
	"testing"

	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"google.golang.org/protobuf/proto"
)

// TestFeedCopiesGoToTheRoutedRecipients: an event gets one feed copy per organisation its
// router names, whether named outright or selected by the router's query, which runs where the
// event is added (it sees the transaction's earlier writes, not its later ones) and costs no
// round trip of its own. Names that are not OINs get no copy; a name given twice gets one.
func TestFeedCopiesGoToTheRoutedRecipients(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "platform", migrate)
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	db := &pgxdb.DB{Pool: pool}
	if _, err := pool.Exec(ctx, `CREATE TABLE parties (aggregate text, oin text)`); err != nil {
		t.Fatal(err)
	}
	const gp, team, provider, late = "00000001000000000200", "00000001000000000100", "00000001000000000500", "00000001000000000900"
	w := outbox.NewWriter(testkit.NotifyDB(t, dsn), "referral")
	w.SetFeedRouter(func(_ context.Context, _, aggregateID string, _ proto.Message) (outbox.Recipients, error) {
		return outbox.Recipients{OINs: []string{gp, "not-an-oin", team},
			Query: `SELECT oin FROM parties WHERE aggregate = $1 AND oin <> $2`, Args: []any{aggregateID, "00000000000000000000"}}, nil
	})
	const subject, aggregate = "wijkbrug.referral.GM0363.signal.received", "a-1"
	// add counts the round trips up to the COMMIT.
	add := func() (n int64) {
		before := roundTrips.Load()
		err := db.Tx(ctx, func(ctx context.Context) error {
			// The transaction's first statement, then the event, then a later write.
			if _, err := db.Q(ctx).Exec(ctx, `INSERT INTO parties VALUES ($1, $2), ($1, $3), ($1, $4), ($1, 'x'), ($1, '00000000000000000000')`,
				aggregate, team, provider, gp); err != nil {
				return err
			}
			if err := w.Add(ctx, subject, aggregate, &referralv1.SignalReceived{SignalId: aggregate}); err != nil {
				return err
			}
			_, err := db.Q(ctx).Exec(ctx, `INSERT INTO parties VALUES ($1, $2)`, aggregate, late)
			n = roundTrips.Load() - before
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	add() // prepares the statements (pgx's statement cache)
	if _, err := pool.Exec(ctx, `DELETE FROM outbox; DELETE FROM parties`); err != nil {
		t.Fatal(err)
	}
	// BEGIN with the first INSERT; the event and its copies with the later INSERT.
	if n := add(); n != 2 {
		t.Errorf("two statements and an event with routed copies between them took %d round trips, want 2", n)
	}
	rows, err := pool.Query(ctx, `SELECT recipient, subject FROM outbox WHERE recipient <> '' ORDER BY recipient`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var recipient, subj string
		if err := rows.Scan(&recipient, &subj); err != nil {
			t.Fatal(err)
		}
		if want := natsx.FeedSubject(recipient, "wijkbrug.referral.v1.SignalReceived"); subj != want {
			t.Errorf("copy for %s has subject %s, want %s", recipient, subj, want)
		}
		got = append(got, recipient)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{team, gp, provider}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("copies for %v, want one each for %v", got, want)
	}

	// OINs only, one of them twice: no statement of the router's, one copy each.
	w.SetFeedRouter(func(context.Context, string, string, proto.Message) (outbox.Recipients, error) {
		return outbox.Recipients{OINs: []string{gp, team, gp}}, nil
	})
	if err := db.Tx(ctx, func(ctx context.Context) error {
		return w.Add(ctx, subject, "a-2", &referralv1.SignalReceived{SignalId: "a-2"})
	}); err != nil {
		t.Fatal(err)
	}
	if n := testkit.CountRows(t, pool, `SELECT 1 FROM outbox WHERE aggregate_id = 'a-2' AND recipient <> ''`); n != 2 {
		t.Errorf("%d copies for two organisations, one named twice; want 2", n)
	}
}
