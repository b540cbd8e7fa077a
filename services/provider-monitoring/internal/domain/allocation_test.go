package domain

import (
	"errors"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	allowed := []struct{ from, to Status }{
		{StatusIssued, StatusStarted}, {StatusIssued, StatusWithdrawn},
		{StatusStarted, StatusPaused}, {StatusStarted, StatusEnded}, {StatusStarted, StatusWithdrawn},
		{StatusPaused, StatusStarted}, {StatusPaused, StatusEnded},
	}
	for _, tc := range allowed {
		if !CanTransition(tc.from, tc.to) {
			t.Errorf("%s → %s should be allowed", tc.from, tc.to)
		}
	}
	forbidden := []struct{ from, to Status }{
		{StatusStarted, StatusStarted}, {StatusIssued, StatusPaused}, {StatusIssued, StatusEnded},
		{StatusPaused, StatusWithdrawn}, {StatusEnded, StatusStarted}, {StatusEnded, StatusWithdrawn},
		{StatusWithdrawn, StatusIssued}, {StatusWithdrawn, StatusStarted}, {StatusStarted, StatusIssued},
		{Status("UNKNOWN"), StatusStarted},
	}
	for _, tc := range forbidden {
		if CanTransition(tc.from, tc.to) {
			t.Errorf("%s → %s should be forbidden", tc.from, tc.to)
		}
	}
}

func rules(t *testing.T) Timeliness {
	t.Helper()
	codes, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	return NewTimeliness(codes)
}

func TestCodesDeadlines(t *testing.T) {
	codes, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	if codes.Deadlines.StartReport != 5 || codes.Deadlines.StopReport != 5 || codes.StopReasons["20"] == "" {
		t.Fatalf("unexpected code lists: %+v", codes)
	}
}

func TestStartReportOnTimeBoundary(t *testing.T) {
	r := rules(t)
	started := day("2025-03-03") // Monday; the 5th working day after it is Monday 10 March
	at := func(y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, Amsterdam).UTC()
	}
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"same day", at(2025, 3, 3, 9, 0), true},
		{"4th working day", at(2025, 3, 7, 12, 0), true},
		{"5th working day, late evening", at(2025, 3, 10, 23, 59), true},
		// 00:10 in Amsterdam is still 10 March in UTC: the Dutch day counts.
		{"6th working day, just after midnight", at(2025, 3, 11, 0, 10), false},
		{"6th working day", at(2025, 3, 11, 12, 0), false},
	}
	for _, tc := range cases {
		if got := r.StartReportedOnTime(started, tc.at); got != tc.want {
			t.Errorf("%s (%s): on time = %v, want %v", tc.name, tc.at, got, tc.want)
		}
	}
	// Over Easter and King's Day: started Thursday 17 April 2025, the 5th working day is
	// Monday 28 April.
	if !r.StartReportedOnTime(day("2025-04-17"), at(2025, 4, 28, 16, 0)) || r.StartReportedOnTime(day("2025-04-17"), at(2025, 4, 29, 9, 0)) {
		t.Error("over Easter: 28 April must be on time and 29 April late")
	}
}

func TestReportStart(t *testing.T) {
	r := rules(t)
	end := day("2025-12-31")
	now := time.Date(2025, 3, 12, 10, 0, 0, 0, Amsterdam)
	newAlloc := func(s Status) Allocation {
		return Allocation{Number: "TW0000000001", Status: s, Start: day("2025-03-01"), End: &end}
	}

	a := newAlloc(StatusIssued)
	d, err := a.ReportStart(day("2025-03-03"), now, r)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusStarted || d.OnTime || *a.StartReportedOnTime || !a.StartedOn.Equal(day("2025-03-03")) || d.AllocationNumber != a.Number {
		t.Fatalf("start reported on the 7th working day: %+v %+v", a, d)
	}
	if _, err := a.ReportStart(day("2025-03-03"), now, r); !errors.As(err, new(TransitionError)) {
		t.Fatalf("second start must be a forbidden transition, got %v", err)
	}

	paused := newAlloc(StatusPaused)
	if d, err := paused.ReportStart(day("2025-03-10"), now, r); err != nil || !d.OnTime || paused.Status != StatusStarted {
		t.Fatalf("a paused allocation starts again: %v %+v", err, d)
	}

	for name, started := range map[string]time.Time{
		"before the allocation's start": day("2025-02-28"),
		"in the future":                 day("2025-03-13"),
	} {
		a := newAlloc(StatusIssued)
		var rv RuleViolation
		if _, err := a.ReportStart(started, now, r); !errors.As(err, &rv) || rv.Field != "started_on" || a.Status != StatusIssued {
			t.Errorf("%s: want a started_on violation and no change, got %v (%s)", name, err, a.Status)
		}
	}
	late := newAlloc(StatusIssued)
	late.End = new(day("2025-03-01"))
	if _, err := late.ReportStart(day("2025-03-02"), now, r); !errors.As(err, new(RuleViolation)) {
		t.Errorf("a start after the end date must be refused, got %v", err)
	}
	for _, s := range []Status{StatusStarted, StatusEnded, StatusWithdrawn} {
		a := newAlloc(s)
		var te TransitionError
		if _, err := a.ReportStart(day("2025-03-03"), now, r); !errors.As(err, &te) || te.From != s || te.To != StatusStarted {
			t.Errorf("start from %s: got %v", s, err)
		}
	}
}

// A volume of time fits in its period: 24 hours a day, 168 a week, 744 a month of 31 days;
// pieces, euros and a total over the allocation have no such bound.
func TestVolumeMaxPerPeriod(t *testing.T) {
	for _, c := range []struct {
		unit, frequency string
		want            int32
	}{
		{"04", "1", 24}, {"04", "2", 168}, {"04", "4", 744}, {"01", "1", 1440}, {"14", "2", 7}, {"16", "1", 6},
		{"04", "6", 0}, {"82", "1", 0}, {"83", "4", 0},
	} {
		if got := (Volume{Amount: 1, Unit: c.unit, Frequency: c.frequency}).MaxPerPeriod(); got != c.want {
			t.Errorf("unit %s per frequency %s: %d, want %d", c.unit, c.frequency, got, c.want)
		}
	}
}
