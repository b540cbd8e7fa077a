package domain

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEaster(t *testing.T) {
	for year, want := range map[int]string{
		2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28",
		// The computus at its extremes: the latest and earliest possible Easter, and a century
		// year that is a leap year.
		2038: "2038-04-25", 2285: "2285-03-22", 1818: "1818-03-22", 2000: "2000-04-23",
	} {
		if got := Easter(year); !got.Equal(day(want)) {
			t.Errorf("Easter(%d) = %s, want %s", year, got.Format(DateLayout), want)
		}
	}
}

func TestHolidays(t *testing.T) {
	// Every holiday of art. 3 for four years, the Easter-based ones included.
	want := map[string]string{
		"2024-01-01": "Nieuwjaarsdag", "2024-03-29": "Goede Vrijdag", "2024-04-01": "Tweede Paasdag",
		"2024-04-27": "Koningsdag", "2024-05-05": "Bevrijdingsdag", "2024-05-09": "Hemelvaartsdag",
		"2024-05-20": "Tweede Pinksterdag", "2024-12-25": "Eerste Kerstdag", "2024-12-26": "Tweede Kerstdag",

		"2025-01-01": "Nieuwjaarsdag", "2025-04-18": "Goede Vrijdag", "2025-04-21": "Tweede Paasdag",
		"2025-04-26": "Koningsdag", "2025-05-05": "Bevrijdingsdag", "2025-05-29": "Hemelvaartsdag",
		"2025-06-09": "Tweede Pinksterdag", "2025-12-25": "Eerste Kerstdag", "2025-12-26": "Tweede Kerstdag",

		"2026-01-01": "Nieuwjaarsdag", "2026-04-03": "Goede Vrijdag", "2026-04-06": "Tweede Paasdag",
		"2026-04-27": "Koningsdag", "2026-05-05": "Bevrijdingsdag", "2026-05-14": "Hemelvaartsdag",
		"2026-05-25": "Tweede Pinksterdag", "2026-12-25": "Eerste Kerstdag", "2026-12-26": "Tweede Kerstdag",

		"2027-01-01": "Nieuwjaarsdag", "2027-03-26": "Goede Vrijdag", "2027-03-29": "Tweede Paasdag",
		"2027-04-27": "Koningsdag", "2027-05-05": "Bevrijdingsdag", "2027-05-06": "Hemelvaartsdag",
		"2027-05-17": "Tweede Pinksterdag", "2027-12-25": "Eerste Kerstdag", "2027-12-26": "Tweede Kerstdag",
	}
	// Walk every day, so that a day wrongly taken for a holiday fails too.
	for d := day("2024-01-01"); d.Year() <= 2027; d = d.AddDate(0, 0, 1) {
		if got := Holiday(d); got != want[d.Format(DateLayout)] {
			t.Errorf("Holiday(%s) = %q, want %q", d.Format(DateLayout), got, want[d.Format(DateLayout)])
		}
	}
}

func TestKingsDayMovesToSaturday(t *testing.T) {
	// 27 April 2025 was a Sunday: King's Day was Saturday 26 April, and the 27th was no
	// holiday (a Sunday is no working day anyway).
	if d := day("2025-04-26"); Holiday(d) != "Koningsdag" || d.Weekday() != time.Saturday {
		t.Fatalf("King's Day 2025: Holiday(2025-04-26) = %q on %s", Holiday(d), d.Weekday())
	}
	if got := Holiday(day("2025-04-27")); got != "" {
		t.Fatalf("2025-04-27 is no holiday, got %q", got)
	}
	if got := Holiday(day("2014-04-26")); got != "Koningsdag" {
		t.Fatalf("King's Day 2014 (27th a Sunday) = %q", got)
	}
}

func TestIsWorkingDay(t *testing.T) {
	cal := NewCalendar(day("2025-05-30")) // the Friday after Ascension Day, equated by decree
	for d, want := range map[string]bool{
		"2025-06-06": true,  // Friday
		"2025-06-07": false, // Saturday
		"2025-06-08": false, // Sunday (Whit Sunday)
		"2025-06-09": false, // Whit Monday
		"2025-05-05": false, // Liberation Day on a Monday
		"2025-05-30": false, // extra non-working day
		"2024-05-31": true,  // a Friday after Ascension Day without a decree
	} {
		if got := cal.IsWorkingDay(day(d)); got != want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", d, got, want)
		}
	}
	// The extra day is a calendar day, not a moment: any time of that day counts.
	if cal.IsWorkingDay(time.Date(2025, 5, 30, 15, 0, 0, 0, Amsterdam)) {
		t.Error("an extra non-working day must not work at 15:00")
	}
}

func TestAddWorkingDays(t *testing.T) {
	cal := NewCalendar(day("2025-05-30"))
	cases := []struct {
		from string
		n    int
		want string
	}{
		{"2025-03-03", 5, "2025-03-10"},  // Monday + 5 over one weekend
		{"2025-03-07", 1, "2025-03-10"},  // Friday + 1 → Monday
		{"2025-03-08", 1, "2025-03-10"},  // counting from a Saturday
		{"2025-06-06", 1, "2025-06-10"},  // Friday + 1 over the weekend and Whit Monday
		{"2025-06-02", 5, "2025-06-10"},  // Whit Monday inside the period
		{"2025-04-17", 1, "2025-04-22"},  // Maundy Thursday + 1 over Good Friday, Easter and Easter Monday
		{"2025-04-17", 5, "2025-04-28"},  // … and King's Day on a Saturday costs nothing extra
		{"2025-12-24", 1, "2025-12-29"},  // Christmas and Boxing Day before a weekend
		{"2025-05-28", 1, "2025-06-02"},  // Ascension Day and the extra Friday
		{"2025-12-31", 1, "2026-01-02"},  // over New Year's Day into the next year
		{"2025-03-05", 0, "2025-03-05"},  // zero days on a working day: that day
		{"2025-12-25", 0, "2025-12-29"},  // zero days on a holiday: the next working day
		{"2025-02-28", 20, "2025-03-28"}, // four full weeks
	}
	for _, tc := range cases {
		if got := cal.AddWorkingDays(day(tc.from), tc.n); !got.Equal(day(tc.want)) {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tc.from, tc.n, got.Format(DateLayout), tc.want)
		}
	}
}

func TestPeriodEndMovesToNextWorkingDay(t *testing.T) {
	cal := NewCalendar()
	for from, want := range map[string]string{
		"2025-12-25": "2025-12-29", // Christmas Day, Boxing Day, weekend
		"2025-05-05": "2025-05-06", // Liberation Day
		"2025-04-26": "2025-04-28", // King's Day on a Saturday, then Sunday
		"2026-05-14": "2026-05-15", // Ascension Day
		"2025-03-05": "2025-03-05", // a working day stays
	} {
		if got := cal.PeriodEnd(day(from)); !got.Equal(day(want)) {
			t.Errorf("PeriodEnd(%s) = %s, want %s", from, got.Format(DateLayout), want)
		}
	}
	// Eight weeks from a Thursday 30 October 2025 end on Christmas Day: the period runs until
	// the Monday after.
	if got := cal.PeriodEnd(day("2025-10-30").AddDate(0, 0, 56)); !got.Equal(day("2025-12-29")) {
		t.Errorf("eight weeks from 2025-10-30 end %s, want 2025-12-29", got.Format(DateLayout))
	}
}
