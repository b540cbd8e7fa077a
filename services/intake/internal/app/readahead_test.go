package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
)

// signals stands in for referral (the gRPC peer, not the database): it knows the signals it is
// given and counts the calls.
type signals struct {
	known  map[string]app.Signal
	single []string   // GetSignal calls
	batch  [][]string // GetSignals calls
}

func (s *signals) GetSignal(_ context.Context, id string) (app.Signal, error) {
	s.single = append(s.single, id)
	return s.known[id], nil
}

func (s *signals) GetSignals(_ context.Context, ids []string) ([]app.Signal, error) {
	s.batch = append(s.batch, slices.Clone(ids))
	out := make([]app.Signal, len(ids))
	for i, id := range ids {
		out[i] = s.known[id]
	}
	return out, nil
}

// Signals read ahead for a batch are registered without a look-up of the intake or the policy:
// two round trips each (BEGIN with the resident's registration; the household with its member,
// deferred, and the intake with the COMMIT) instead of four, after two for the whole batch (which of
// its signals have an intake, the policy). A second event about a signal of the batch finds the
// intake the first registered; a batch of signals that all have their intake reads nothing.
// Counted on the wire.
func TestSignalsReadAheadAreRegisteredWithoutLookUps(t *testing.T) {
	sigs := &signals{known: map[string]app.Signal{}}
	var ids []string
	for n := range 5 {
		id := uuid.NewString()
		ids = append(ids, id)
		sigs.known[id] = app.Signal{ID: id, SourceType: "GP", ResidentBSN: bsnFor(100 + n), Description: "lonely",
			LifeDomains: []string{"SOCIAL_NETWORK"}, Municipality: "GM0363", District: "WK036301"}
	}
	c := countedApp(t, app.Deps{CaseDirection: &caseDirection{}, Signals: sigs, DefaultTeamOIN: teamOIN})
	a, pool, roundTrips := c.app, c.db.Pool, c.roundTrips
	system := identity.WithCaller(context.Background(), identity.System(identity.Organisation{OIN: "00000001000000000001", Name: "Intake", Type: identity.OrgService}, "signal-intake"))
	register := func(ctx context.Context, id string) int64 {
		t.Helper()
		before := roundTrips.Load()
		in, err := a.RegisterFromSignal(ctx, id)
		if err != nil || in.ID != app.IntakeIDForSignal(id) {
			t.Fatalf("RegisterFromSignal(%s): %+v, %v", id, in, err)
		}
		return roundTrips.Load() - before
	}
	// First uses prepare the statements (pgx's statement cache): one signal alone, one batch.
	register(system, ids[0])
	warm, err := a.ReadSignalsAhead(system, []string{ids[1]})
	if err != nil {
		t.Fatal(err)
	}
	register(warm, ids[1])
	if trips := register(system, ids[2]); trips != 4 {
		t.Errorf("a signal read alone: %d round trips, want 4", trips)
	}

	before := roundTrips.Load()
	ctx, err := a.ReadSignalsAhead(system, []string{ids[3], ids[4], ids[4], ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if trips := roundTrips.Load() - before; trips != 2 {
		t.Errorf("reading ahead: %d round trips, want 2", trips)
	}
	if len(sigs.batch) != 2 || !slices.Equal(sigs.batch[1], []string{ids[3], ids[4]}) {
		t.Fatalf("signals read ahead: %v, want a read of the two without an intake", sigs.batch)
	}
	for _, id := range ids[3:5] {
		if trips := register(ctx, id); trips != 2 {
			t.Errorf("a signal read ahead: %d round trips, want 2", trips)
		}
	}
	// A second event about ids[4] in the same batch: the intake is found, nothing is read.
	register(ctx, ids[4])
	if !slices.Equal(sigs.single, []string{ids[0], ids[2]}) {
		t.Errorf("signals read alone: %v, want only the two registered without a read-ahead", sigs.single)
	}
	var intakes, received int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM intakes`).Scan(&intakes); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE event_type = 'wijkbrug.intake.v1.IntakeReceived'`).Scan(&received); err != nil {
		t.Fatal(err)
	}
	if intakes != len(ids) || received != len(ids) {
		t.Errorf("%d intakes and %d IntakeReceived events for %d signals", intakes, received, len(ids))
	}

	// All of them have their intake now: a batch of them reads nothing.
	if _, err := a.ReadSignalsAhead(system, ids); err != nil || len(sigs.batch) != 2 {
		t.Errorf("signals with an intake were read again: %v (%v)", sigs.batch, err)
	}
}
