package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain/outcomes"
)

// The facts an event adds to the outcome read model, and an intake's household, go out with
// the COMMIT of the event's transaction: recording a signal and its intake costs one round
// trip, and both are stored; a fact that fails still fails the transaction, and nothing of it
// is kept.
func TestEventFactsGoOutWithTheCommit(t *testing.T) {
	ctx := context.Background()
	pool, roundTrips := testkit.RoundTripPool(t, newDSN(t))
	db := &pgxdb.DB{Pool: pool}
	o := NewOutcomes(db)
	cases := NewCases(db, nil)
	scope := outcomes.Scope{Municipality: "GM0363", District: "WK036300", Team: "00000001000000000100"}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	household := uuid.NewString()
	record := func(signalID, intakeID string) (int64, error) {
		before := roundTrips.Load()
		err := db.Tx(ctx, func(ctx context.Context) error {
			if err := o.SignalReceived(ctx, signalID, scope, "GP", at); err != nil {
				return err
			}
			if err := o.IntakeReceived(ctx, intakeID, scope, "SIGNAL", "GP", at); err != nil {
				return err
			}
			return cases.RecordIntakeHousehold(ctx, intakeID, household)
		})
		return roundTrips.Load() - before, err
	}
	// The first transaction prepares the statements (pgx's statement cache): count the next.
	if _, err := record(uuid.NewString(), uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	signal, intake := uuid.NewString(), uuid.NewString()
	n, err := record(signal, intake)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("recording three facts in a transaction took %d round trips, want 1 (with the COMMIT)", n)
	}
	var households int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM intake_households WHERE intake_id = $1 AND household_id = $2`, intake, household).Scan(&households); err != nil || households != 1 {
		t.Fatalf("the intake's household was not stored: %d, %v", households, err)
	}
	sigs, err := o.Signals(ctx, scope.Municipality)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := o.Intakes(ctx, scope.Municipality)
	if err != nil {
		t.Fatal(err)
	}
	if !hasID(sigs, signal, func(s outcomes.Signal) string { return s.ID }) || !hasID(ins, intake, func(i outcomes.Intake) string { return i.ID }) {
		t.Fatalf("the facts were not stored: signals %v, intakes %v", sigs, ins)
	}

	// A fact that cannot be stored (not a uuid) fails the transaction; the signal recorded
	// before it in the same transaction is not kept either.
	kept := uuid.NewString()
	if _, err := record(kept, "not-a-uuid"); err == nil {
		t.Fatal("an intake fact with a malformed id was accepted")
	}
	sigs, err = o.Signals(ctx, scope.Municipality)
	if err != nil {
		t.Fatal(err)
	}
	if hasID(sigs, kept, func(s outcomes.Signal) string { return s.ID }) {
		t.Fatal("the signal of a failed transaction was stored")
	}
}

func hasID[T any](list []T, id string, idOf func(T) string) bool {
	for _, x := range list {
		if idOf(x) == id {
			return true
		}
	}
	return false
}
