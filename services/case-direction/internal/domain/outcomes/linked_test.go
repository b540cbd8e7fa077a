package outcomes

import (
	"testing"
	"time"
)

// The probe's case (thirty-sixth session): allocation_start ON_TIME x, LATE x, NOT_STARTED x,
// total 15, and days_from_start_date_to_care counting 13 (ON_TIME + LATE): 15 − 13 gave the
// hidden NOT_STARTED = 2 back, though every line had two suppressed numbers.
func TestStatisticCountGivesNoHiddenCellBack(t *testing.T) {
	day := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	var as []Allocation
	add := func(n int, started, onTime bool) {
		for range n {
			a := Allocation{Scope: Scope{Municipality: "GM0363", District: "WK036300", Team: "T1"}, IssuedAt: day, StartDate: day}
			if started {
				s := day.AddDate(0, 0, 3)
				a.FirstStartedOn, a.StartedOnTime = &s, onTime
			}
			as = append(as, a)
		}
	}
	add(7, true, true)
	add(6, true, false)
	add(2, false, false)
	q := Query{Scope: Scope{Municipality: "GM0363"}, From: "2026-Q1", To: "2026-Q1", GroupBy: ByMunicipality, MinGroupSize: 10}
	tables, err := AllocationFigures(q, as)
	if err != nil {
		t.Fatal(err)
	}
	start, wait := tables[0].Rows[0], tables[1].Rows[0]
	notStarted := start.Cells[2]
	if !notStarted.Suppressed {
		t.Fatalf("NOT_STARTED 2 is shown: %+v", start)
	}
	if !start.Total.Suppressed && !wait.Cells[0].Suppressed {
		t.Fatalf("total %d and the statistic's count %d are both shown: NOT_STARTED = %d", start.Total.Count, wait.Cells[0].Count,
			start.Total.Count-wait.Cells[0].Count)
	}
}

// The same through the groups: the statistic's counts of the shown districts, subtracted from
// the shown column totals ON_TIME + LATE, give a hidden district's count (and with its row
// total its NOT_STARTED).
func TestStatisticCountsAcrossGroupsGiveNothingBack(t *testing.T) {
	day := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	var as []Allocation
	add := func(district string, n int, started, onTime bool) {
		for range n {
			a := Allocation{Scope: Scope{Municipality: "GM0363", District: district, Team: "T" + district}, IssuedAt: day, StartDate: day}
			if started {
				s := day.AddDate(0, 0, 3)
				a.FirstStartedOn, a.StartedOnTime = &s, onTime
			}
			as = append(as, a)
		}
	}
	add("WK036300", 4, true, true) // small district: 4 on time, 4 late
	add("WK036300", 4, true, false)
	add("WK036301", 12, true, true)
	add("WK036301", 11, true, false)
	add("WK036302", 13, true, true)
	add("WK036302", 14, true, false)
	add("WK036302", 12, false, false)
	q := Query{Scope: Scope{Municipality: "GM0363"}, From: "2026-Q1", To: "2026-Q1", GroupBy: ByDistrict, MinGroupSize: 10}
	tables, err := AllocationFigures(q, as)
	if err != nil {
		t.Fatal(err)
	}
	start, wait := tables[0], tables[1]
	totals := start.Totals[0]
	if totals.Cells[0].Suppressed || totals.Cells[1].Suppressed {
		return // nothing to subtract from
	}
	sum, hidden := totals.Cells[0].Count+totals.Cells[1].Count, 0
	for _, r := range wait.Rows {
		if r.Cells[0].Suppressed {
			hidden++
		} else {
			sum -= r.Cells[0].Count
		}
	}
	if hidden == 1 {
		t.Fatalf("one district's statistic count hidden, the others and ON_TIME + LATE shown: it is %d", sum)
	}
}
