package outcomes

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPrimarySuppressionAloneLetsTheTotalsGiveACellAway(t *testing.T) {
	g := NewGrid([][]int64{{12, 3, 20}, {15, 11, 30}})
	// Primary suppression only: the 3 is hidden but its row total is not.
	g.Suppressed[0][1] = true
	got := g.Derivable()
	if v, ok := got[[2]int{0, 1}]; !ok || v != 3 {
		t.Fatalf("an onlooker should derive the hidden 3 from the row total, derived %v", got)
	}
}

func TestComplementarySuppressionLeavesNothingDerivable(t *testing.T) {
	cases := map[string][][]int64{
		"one small cell":           {{12, 3, 20}, {15, 11, 30}},
		"small cells in one row":   {{2, 3, 20}, {15, 11, 30}, {40, 12, 14}},
		"a small row total":        {{1, 2, 0}, {15, 11, 30}, {40, 12, 14}},
		"one column":               {{4}, {15}, {22}},
		"a column of small values": {{12, 1}, {15, 2}, {22, 4}},
		"zeros around a small one": {{0, 0, 3}, {0, 0, 0}, {14, 20, 11}},
		"everything small":         {{1, 2}, {3, 1}},
	}
	for name, cells := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewGrid(cells)
			g.Suppress(5)
			for r := range g.Values {
				for c, v := range g.Values[r] {
					if v > 0 && v < 5 && !g.Suppressed[r][c] {
						t.Errorf("value %d at (%d,%d) is below the minimum and shown", v, r, c)
					}
				}
			}
			s, _ := g.system()
			for _, line := range s.lines {
				if s.suppressedIn(line) == 1 {
					t.Errorf("line %v has exactly one suppressed value", line)
				}
			}
			if d := g.Derivable(); len(d) != 0 {
				t.Errorf("derivable after suppression: %v", d)
			}
		})
	}
}

func TestSuppressionKeepsLargeTablesVisible(t *testing.T) {
	g := NewGrid([][]int64{{12, 13, 20}, {15, 11, 30}})
	if n := g.Suppress(5); n != 0 {
		t.Fatalf("nothing is small, yet %d values were suppressed", n)
	}
	if g.Values[2][3] != 101 || g.Values[0][3] != 45 || g.Values[2][0] != 27 {
		t.Fatalf("margins wrong: %v", g.Values)
	}
}

func TestComplementChoosesTheSmallestPositiveValue(t *testing.T) {
	g := NewGrid([][]int64{{3, 0, 40, 9}, {20, 20, 20, 20}, {20, 20, 20, 20}})
	g.Suppress(5)
	if !g.Suppressed[0][3] || g.Suppressed[0][1] || g.Suppressed[0][2] {
		t.Fatalf("the complement of the 3 in its row should be the 9 (smallest positive), got %v", g.Suppressed[0])
	}
}

func TestCountTableSuppressesPerPeriodAndMarksCells(t *testing.T) {
	q := Query{Scope: Scope{Municipality: "GM0363"}, From: "2026-Q1", To: "2026-Q2", Granularity: Quarter, GroupBy: ByTeam, MinGroupSize: 5}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var intakes []Intake
	add := func(team, channel string, n int, when time.Time) {
		for range n {
			intakes = append(intakes, Intake{Scope: Scope{Municipality: "GM0363", Team: team}, Channel: channel, ReceivedAt: when})
		}
	}
	add("A", "DESK", 20, at)
	add("A", "PHONE", 2, at)
	add("B", "DESK", 12, at)
	add("B", "PHONE", 9, at)
	add("B", "DESK", 7, at.AddDate(0, 3, 0))
	add("X", "DESK", 3, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)) // outside the periods
	intakes = append(intakes, Intake{Scope: Scope{Municipality: "GM0599", Team: "A"}, Channel: "DESK", ReceivedAt: at})
	tables, err := IntakeFigures(q, nil, intakes)
	if err != nil {
		t.Fatal(err)
	}
	ch := tables[1]
	if ch.Name != "intakes_by_channel" || len(ch.Rows) != 3 || len(ch.Totals) != 2 {
		t.Fatalf("rows %+v totals %+v", ch.Rows, ch.Totals)
	}
	a := ch.Rows[0]
	// The 2 is hidden (reported as suppressed, not as 0); its row total 22 is shown, so the
	// smallest other positive value of the row, DESK's 20, is hidden with it.
	if a.Period != "2026-Q1" || a.Group != "A" || !a.Cells[1].Suppressed || a.Cells[1].Count != 0 || !a.Cells[0].Suppressed || a.Total.Count != 22 {
		t.Fatalf("team A: %+v", a)
	}
	// And in the PHONE column (total 11) B's 9 is hidden too.
	if b := ch.Rows[1]; b.Group != "B" || !b.Cells[1].Suppressed {
		t.Fatalf("team B: %+v", b)
	}
	if q2 := ch.Rows[2]; q2.Period != "2026-Q2" || q2.Cells[0].Count != 7 || q2.Total.Count != 7 {
		t.Fatalf("Q2: %+v", q2)
	}
}

func TestPeriodsAndPercentiles(t *testing.T) {
	q := Query{From: "2025-Q4", To: "2026-Q2", Granularity: Quarter}
	ps, err := q.Periods()
	if err != nil || len(ps) != 3 || ps[0] != "2025-Q4" || ps[2] != "2026-Q2" {
		t.Fatalf("periods %v %v", ps, err)
	}
	// Each refusal names the field at fault.
	for _, c := range []struct {
		q     Query
		field string
	}{
		{Query{From: "2026-03", To: "2026-Q2", Granularity: Quarter}, "from_period"}, // mixed forms
		{Query{From: "2026-Q1", To: "2026-06", Granularity: Quarter}, "to_period"},
		{Query{From: "xx", To: "2026-Q2", Granularity: Quarter}, "from_period"}, // malformed
		{Query{From: "2026-Q1", To: "2026-Q5", Granularity: Quarter}, "to_period"},
		{Query{From: "2026-05", To: "2026-03", Granularity: Month}, "to_period"},     // reversed
		{Query{From: "2000-01", To: "2026-03", Granularity: Month}, "to_period"},     // too many
		{Query{From: "0000-Q1", To: "0000-Q1", Granularity: Quarter}, "from_period"}, // no such year in Wijkbrug
		{Query{From: "2026-Q1", To: "+026-Q1", Granularity: Quarter}, "to_period"},
		{Query{From: "1899-12", To: "2026-03", Granularity: Month}, "from_period"},
		{Query{From: "2026-01", To: "2200-01", Granularity: Month}, "to_period"},
	} {
		_, err := c.q.Periods()
		var pe *PeriodError
		if !errors.As(err, &pe) || pe.Field != c.field {
			t.Errorf("%s..%s: %v, want a PeriodError on %s", c.q.From, c.q.To, err, c.field)
			continue
		}
		// A malformed period is not repeated: a period field may hold anything.
		if sent := map[string]string{"from_period": c.q.From, "to_period": c.q.To}[pe.Field]; strings.HasPrefix(pe.Msg, "must be a period") && strings.Contains(pe.Msg, sent) {
			t.Errorf("%s: the message repeats %q", pe.Msg, sent)
		}
	}
	vs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	if Percentile(vs, 50) != 5 || Percentile(vs, 90) != 9 || Mean(vs) != 5.5 {
		t.Fatalf("median %v p90 %v mean %v", Percentile(vs, 50), Percentile(vs, 90), Mean(vs))
	}
}

// The probe's case (thirty-sixth session): periods were the events' UTC time, so an intake at
// 00:30 on 1 January in Amsterdam counted in the previous year's last quarter; the services
// count Dutch calendar days.
func TestPeriodsAreDutchCalendarDays(t *testing.T) {
	newYear := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC) // 00:30 on 1 January 2027 in Amsterdam
	if got := PeriodOf(newYear, Quarter); got != "2027-Q1" {
		t.Fatalf("23:30 UTC on 31 December is in %s, want 2027-Q1", got)
	}
	if got := PeriodOf(newYear, Month); got != "2027-01" {
		t.Fatalf("23:30 UTC on 31 December is in %s, want 2027-01", got)
	}
	if got := PeriodOf(time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC), Quarter); got != "2026-Q4" {
		t.Fatalf("23:59 on 31 December in Amsterdam is in %s, want 2026-Q4", got)
	}
	// Summer time: 22:30 UTC on 30 June is 00:30 on 1 July.
	if got := PeriodOf(time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC), Quarter); got != "2026-Q3" {
		t.Fatalf("00:30 on 1 July in Amsterdam is in %s, want 2026-Q3", got)
	}
	// A calendar day (midnight UTC) stays its own day.
	if got := PeriodOf(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Quarter); got != "2026-Q4" {
		t.Fatalf("the day 31 December is in %s", got)
	}
	// And an intake counts there.
	in := Intake{Scope: Scope{Municipality: "GM0363", District: "WK036300", Team: "T"}, Channel: "DESK", ReceivedAt: newYear}
	q := Query{Scope: Scope{Municipality: "GM0363"}, From: "2026-Q4", To: "2027-Q1", GroupBy: ByMunicipality}
	ts, err := IntakeFigures(q, nil, []Intake{in})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range ts {
		if tb.Name == "intakes_by_channel" && (len(tb.Rows) != 1 || tb.Rows[0].Period != "2027-Q1") {
			t.Fatalf("the intake at 00:30 on 1 January counted in %+v", tb.Rows)
		}
	}
}
