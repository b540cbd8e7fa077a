package outcomes

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The probe's case (thirty-sixth session): the municipality's signals GP x, HOUSING x, total
// 15; the same with district_code WK036300 GP 12, total 12: 15 − 12 gave the other district's
// 3 housing signals, and the municipality's HOUSING with it. Every answer about one
// municipality and period set is now a slice of one table suppressed once: nothing the
// whole, the districts' and the teams' answers show together determines a hidden number.
func TestDistrictAndTeamAnswersGiveNoHiddenCellAway(t *testing.T) {
	day := time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	probe := []Signal{}
	for range 12 {
		probe = append(probe, Signal{Scope: Scope{Municipality: "GM0363", District: "WK036300"}, Source: "GP", ReceivedAt: day})
	}
	for range 3 {
		probe = append(probe, Signal{Scope: Scope{Municipality: "GM0363", District: "WK036301"}, Source: "HOUSING_CORPORATION", ReceivedAt: day})
	}
	check := func(t *testing.T, signals []Signal, intakes []Intake) {
		t.Helper()
		answer := func(min int64, district, team string, by GroupBy) Table {
			q := Query{Scope: Scope{Municipality: "GM0363", District: district, Team: team}, From: "2026-Q1", To: "2026-Q1",
				GroupBy: by, MinGroupSize: min}
			ts, err := IntakeFigures(q, signals, intakes)
			if err != nil {
				t.Fatal(err)
			}
			name := "signals_by_source"
			if len(signals) == 0 {
				name = "intakes_by_channel"
			}
			for _, tb := range ts {
				if tb.Name == name {
					return tb
				}
			}
			t.Fatal("no table")
			return Table{}
		}
		// The onlooker's system: the municipality's row, every district's own row and every
		// team's own row, each a line; per column the districts add up to the municipality,
		// and the teams do.
		s := &lineSystem{}
		row := func(district, team string) (shown, truth Row, ok bool) {
			pub, tr := answer(10, district, team, ByMunicipality), answer(0, district, team, ByMunicipality)
			if len(tr.Rows) == 0 {
				return Row{}, Row{}, false
			}
			return pub.Rows[0], tr.Rows[0], true
		}
		add := func(district, team string) []int {
			pub, tr, ok := row(district, team)
			if !ok {
				return nil
			}
			var ids []int
			for i, c := range tr.Cells {
				ids = append(ids, s.add(c.Count, pub.Cells[i].Suppressed))
			}
			ids = append(ids, s.add(tr.Total.Count, pub.Total.Suppressed))
			s.lines = append(s.lines, ids)
			return ids
		}
		whole := add("", "")
		for _, dim := range []func() []string{
			func() []string { return []string{"WK036300", "WK036301", "WK036302"} },
			func() []string { return []string{"TA", "TB", "TC", "TD"} },
		} {
			var parts [][]int
			for _, g := range dim() {
				var ids []int
				if len(g) == 8 {
					ids = add(g, "")
				} else {
					ids = add("", g)
				}
				if ids != nil {
					parts = append(parts, ids)
				}
			}
			if len(parts) == 0 {
				continue // signals have no team
			}
			for c := range whole {
				var line []int
				for _, p := range parts {
					line = append(line, p[c])
				}
				s.lines = append(s.lines, append(line, whole[c]))
			}
		}
		if d := s.derivable(); len(d) > 0 {
			t.Fatalf("hidden numbers follow from the municipality's, the districts' and the teams' own answers: %v (values %v)", d, s.values)
		}
		// And the slices agree: a district's own answer is its row of the answer by district,
		// the municipality's answer is that answer's margin.
		byDistrict := answer(10, "", "", ByDistrict)
		for _, r := range byDistrict.Rows {
			own := answer(10, r.Group, "", ByMunicipality)
			if len(own.Rows) != 1 || !sameCells(own.Rows[0], r) {
				t.Errorf("district %s: own answer %+v, by district %+v", r.Group, own.Rows, r)
			}
		}
		if w := answer(10, "", "", ByMunicipality); len(byDistrict.Totals) == 1 && !sameCells(w.Rows[0], byDistrict.Totals[0]) {
			t.Errorf("municipality %+v, margin by district %+v", w.Rows[0], byDistrict.Totals[0])
		}
	}
	t.Run("probe", func(t *testing.T) { check(t, probe, nil) })
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 36))
		var intakes []Intake
		for range 10 + rng.IntN(80) {
			d := []string{"WK036300", "WK036301", "WK036302"}[rng.IntN(3)]
			team := []string{"TA", "TB", "TC", "TD"}[rng.IntN(4)]
			intakes = append(intakes, Intake{Scope: Scope{Municipality: "GM0363", District: d, Team: team},
				Channel: Channels[rng.IntN(len(Channels))], ReceivedAt: day})
		}
		t.Run("random", func(t *testing.T) { check(t, nil, intakes) })
	}
}

func sameCells(a, b Row) bool {
	if len(a.Cells) != len(b.Cells) || a.Total != b.Total {
		return false
	}
	for i := range a.Cells {
		if a.Cells[i] != b.Cells[i] {
			return false
		}
	}
	return true
}
