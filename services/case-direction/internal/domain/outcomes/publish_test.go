package outcomes

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The probe's case (thirtieth session): by district, intakes_by_channel showed a district's
// SIGNAL count, intakes_by_source hid a cell of another district, and the source table's
// column total then gave the hidden cell away, as the SIGNAL column of one table is the row
// total of the other.
func TestLinkedTablesGiveNoSuppressedCellAway(t *testing.T) {
	// The facts the tables of one answer count twice, stated here apart from the figures'
	// own links: an onlooker knows them from the documentation.
	relations := map[string][]link{
		"intakes": {
			{sum: ref{"intakes_by_source", Total}, parts: []ref{{"intakes_by_channel", "SIGNAL"}}},
			{sum: ref{"days_to_triage", "MEDIAN"}, parts: []ref{{"triage_outcomes", Total}}},
		},
		"cases": {
			{sum: ref{"case_results", Total}, parts: []ref{{"case_flow", "CLOSED"}}},
			{sum: ref{"case_duration", "MEDIAN"}, parts: []ref{{"case_flow", "CLOSED"}, {"case_flow", "HANDED_OVER"}}},
		},
		"referrals": {
			{sum: ref{"decline_reasons", Total}, parts: []ref{{"referral_flow", "DECLINED"}}},
		},
		"allocations": {
			{sum: ref{"days_from_start_date_to_care", "MEDIAN"}, parts: []ref{{"allocation_start", "ON_TIME"}, {"allocation_start", "LATE"}}},
		},
	}
	answers := map[string]func(q Query, rng *rand.Rand) ([]Table, error){
		"intakes": func(q Query, rng *rand.Rand) ([]Table, error) { return IntakeFigures(q, nil, randomIntakes(rng)) },
		"cases":   func(q Query, rng *rand.Rand) ([]Table, error) { return CaseFigures(q, randomCases(rng)) },
		"referrals": func(q Query, rng *rand.Rand) ([]Table, error) {
			return ReferralFigures(q, randomReferrals(rng))
		},
		"allocations": func(q Query, rng *rand.Rand) ([]Table, error) {
			return AllocationFigures(q, randomAllocations(rng))
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			leakedBefore := 0
			for seed := range uint64(300) {
				q := Query{Scope: Scope{Municipality: "GM0363"}, From: "2026-Q1", To: "2026-Q2", Granularity: Quarter, GroupBy: ByDistrict}
				answerOf := func(min int64) []Table {
					q.MinGroupSize = min
					tables, err := answer(q, rand.New(rand.NewPCG(seed, 7)))
					if err != nil {
						t.Fatal(err)
					}
					return tables
				}
				truth := answerOf(0) // nothing below a minimum of 0: every true number
				if d := derivedFrom(truth, answerOf(10), relations[name]); len(d) > 0 {
					t.Fatalf("seed %d: suppressed numbers derivable from the answer: %v", seed, d)
				}
				// The same answer suppressed table by table, as before: the links give cells away.
				var apart []Table
				for _, tb := range answerOf(0) {
					apart = append(apart, publish(10, []Table{tb})...)
				}
				if len(derivedFrom(truth, apart, relations[name])) > 0 {
					leakedBefore++
				}
			}
			if leakedBefore == 0 {
				t.Fatal("no answer suppressed table by table gave a cell away: the test shows nothing")
			}
			t.Logf("%d of 300 answers suppressed table by table gave a cell away; none suppressed together", leakedBefore)
		})
	}
}

// derivedFrom is what an onlooker computes from the shown cells of published and the
// relations between its tables: the true numbers (of truth, the same answer unsuppressed) of
// suppressed cells that follow from the shown ones.
func derivedFrom(truth, published []Table, relations []link) map[place]int64 {
	for ti := range truth {
		mark := func(rs, ps []Row) {
			for ri := range rs {
				for ci := range rs[ri].Cells {
					rs[ri].Cells[ci].Suppressed = ps[ri].Cells[ci].Suppressed
				}
				rs[ri].Total.Suppressed = ps[ri].Total.Suppressed
			}
		}
		mark(truth[ti].Rows, published[ti].Rows)
		mark(truth[ti].Totals, published[ti].Totals)
	}
	s, places := answerSystem(truth, relations)
	out := map[place]int64{}
	for id, v := range s.derivable() {
		out[places[id]] = v
	}
	return out
}

func randomIntakes(rng *rand.Rand) []Intake {
	var out []Intake
	for range 20 + rng.IntN(120) {
		district := []string{"WK036300", "WK036301", "WK036302", "WK036399"}[rng.IntN(4)]
		in := Intake{
			Scope:      Scope{Municipality: "GM0363", District: district, Team: "T" + district},
			Channel:    Channels[rng.IntN(len(Channels))],
			ReceivedAt: time.Date(2026, time.Month(1+rng.IntN(6)), 1+rng.IntN(28), 12, 0, 0, 0, time.UTC),
		}
		if in.Channel == "SIGNAL" {
			in.Source = Sources[rng.IntN(3)]
		}
		if rng.IntN(3) > 0 {
			in.TriageOutcome = TriageOutcomes[rng.IntN(len(TriageOutcomes))]
			at := in.ReceivedAt.Add(time.Duration(1+rng.IntN(200)) * time.Hour)
			in.TriagedAt = &at
		}
		out = append(out, in)
	}
	return out
}

func randomCases(rng *rand.Rand) []Case {
	var out []Case
	for range 20 + rng.IntN(120) {
		district := []string{"WK036300", "WK036301", "WK036302"}[rng.IntN(3)]
		opened := time.Date(2025, time.Month(7+rng.IntN(6)), 1+rng.IntN(28), 12, 0, 0, 0, time.UTC)
		c := Case{Scope: Scope{Municipality: "GM0363", District: district, Team: "T" + district}, OpenedAt: opened}
		if rng.IntN(4) > 0 {
			closed := opened.AddDate(0, 1+rng.IntN(8), 0)
			c.ClosedAt = &closed
			if rng.IntN(5) == 0 {
				c.HandedOver = true
			} else {
				c.Result = CaseResults[rng.IntN(len(CaseResults))]
			}
		}
		out = append(out, c)
	}
	return out
}

func randomScope(rng *rand.Rand) Scope {
	district := []string{"WK036300", "WK036301", "WK036302"}[rng.IntN(3)]
	return Scope{Municipality: "GM0363", District: district, Team: "T" + district}
}

func randomDay(rng *rand.Rand) time.Time {
	return time.Date(2026, time.Month(1+rng.IntN(6)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
}

func randomReferrals(rng *rand.Rand) []Referral {
	var out []Referral
	for range 20 + rng.IntN(120) {
		r := Referral{Scope: randomScope(rng), SentAt: randomDay(rng)}
		switch rng.IntN(3) {
		case 0:
			r.Declined, r.DeclineReason = true, DeclineReasons[rng.IntN(len(DeclineReasons))]
		case 1:
			r.Accepted, r.Completed = true, rng.IntN(2) == 0
		}
		out = append(out, r)
	}
	return out
}

func randomAllocations(rng *rand.Rand) []Allocation {
	var out []Allocation
	for range 20 + rng.IntN(120) {
		a := Allocation{Scope: randomScope(rng), IssuedAt: randomDay(rng)}
		a.StartDate = a.IssuedAt.AddDate(0, 0, 7)
		if rng.IntN(4) > 0 {
			started := a.StartDate.AddDate(0, 0, rng.IntN(20)-5)
			a.FirstStartedOn, a.StartedOnTime = &started, !started.After(a.StartDate)
		}
		out = append(out, a)
	}
	return out
}
