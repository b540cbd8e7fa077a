package app

import (
	"context"

	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// MaxSignalsPerRead is the most signals ReadSignalsAhead asks referral for in one call (the
// limit of BatchGetSignals).
const MaxSignalsPerRead = 100

// readAhead is what ReadSignalsAhead read for the signal events of one consumer batch. The
// batch's handlers run one after the other, so it needs no lock.
type readAhead struct {
	// signals without an intake when they were read, by id; a signal is taken out when its
	// intake is registered, so a second event about it looks the intake up.
	signals map[string]Signal
	// policies are the triage policies in force when the signals were read, by municipality.
	policies map[string]domain.Policy
}

type readAheadKey struct{}

// ReadSignalsAhead reads, in one call to referral, the signals of ids that have no intake yet
// (a signal whose intake exists is not read again), and the triage policies of their
// municipalities, and returns a context in which RegisterFromSignal takes them from there
// instead of reading them per signal. A consumer's batch of signal events becomes intakes
// this way with one read of its signals instead of one per signal, and without a look-up of
// the intake and the policy per signal. It changes nothing; on an error the context is
// returned as it was and every signal is read alone.
func (a *App) ReadSignalsAhead(ctx context.Context, ids []string) (context.Context, error) {
	var unique []string
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] && len(unique) < MaxSignalsPerRead {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	if len(unique) == 0 {
		return ctx, nil
	}
	intakeIDs := make([]string, len(unique))
	for i, id := range unique {
		intakeIDs[i] = IntakeIDForSignal(id)
	}
	existing, err := a.d.Intakes.Existing(ctx, intakeIDs)
	if err != nil {
		return ctx, err
	}
	registered := make(map[string]bool, len(existing))
	for _, id := range existing {
		registered[id] = true
	}
	toRead := unique[:0]
	for i, id := range unique {
		if !registered[intakeIDs[i]] {
			toRead = append(toRead, id)
		}
	}
	if len(toRead) == 0 {
		return ctx, nil
	}
	sigs, err := a.d.Signals.GetSignals(ctx, toRead)
	if err != nil {
		return ctx, err
	}
	ra := readAhead{signals: make(map[string]Signal, len(sigs)), policies: map[string]domain.Policy{}}
	for _, s := range sigs {
		ra.signals[s.ID] = s
		if _, ok := ra.policies[s.Municipality]; !ok {
			// A policy adopted from now on applies from the next batch: as for a signal
			// registered a moment earlier (registrations never waited for adoptions).
			p, err := a.d.Policies.Current(ctx, s.Municipality)
			if err != nil {
				return ctx, err
			}
			ra.policies[s.Municipality] = p
		}
	}
	return context.WithValue(ctx, readAheadKey{}, ra), nil
}

// takeSignal returns the signal with id when ReadSignalsAhead read it for ctx, and takes it
// out: it is registered once.
func takeSignal(ctx context.Context, id string) (Signal, bool) {
	ra, _ := ctx.Value(readAheadKey{}).(readAhead)
	s, ok := ra.signals[id]
	if ok {
		delete(ra.signals, id)
	}
	return s, ok
}

// currentPolicy returns the municipality's triage policy: as ReadSignalsAhead read it for
// ctx, or as it is now.
func (a *App) currentPolicy(ctx context.Context, municipality string) (domain.Policy, error) {
	ra, _ := ctx.Value(readAheadKey{}).(readAhead)
	if p, ok := ra.policies[municipality]; ok {
		return p, nil
	}
	return a.d.Policies.Current(ctx, municipality)
}
