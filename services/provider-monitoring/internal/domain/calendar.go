package domain

import (
	"time"
	// The timeliness rules count Dutch calendar days; embedding the zone database keeps them
	// right on hosts and images that ship without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// DateLayout is how calendar dates are written (ISO 8601).
const DateLayout = "2006-01-02"

// Amsterdam is the time zone in which a moment becomes a calendar day for statutory deadlines:
// a report sent at 00:30 Dutch time is sent on that Dutch day, not on the previous UTC day.
var Amsterdam = mustLoadLocation("Europe/Amsterdam")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Date returns the calendar date y-m-d. Dates are midnight UTC throughout the domain, so that
// comparing and adding days is never disturbed by daylight saving time.
func Date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// DayOf returns the calendar date of t as read in its own location.
func DayOf(t time.Time) time.Time { return Date(t.Year(), t.Month(), t.Day()) }

// DayIn returns the calendar date of the moment t in loc.
func DayIn(t time.Time, loc *time.Location) time.Time { return DayOf(t.In(loc)) }

// Easter returns Easter Sunday of year in the Gregorian calendar (the anonymous Gregorian
// computus of Meeus, Jones and Butcher), valid for every Gregorian year.
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date(year, time.Month(month), day)
}

// Calendar tells working days from non-working days for statutory deadlines (Algemene
// termijnenwet): Saturdays, Sundays, the holidays of art. 3 and the extra days the government
// equated with them by decree (art. 3 para. 2).
type Calendar struct {
	extra map[time.Time]bool
}

// NewCalendar returns the calendar with extra non-working days, e.g. a Friday after Ascension
// Day that a decree equated with a holiday.
func NewCalendar(extra ...time.Time) Calendar {
	c := Calendar{extra: make(map[time.Time]bool, len(extra))}
	for _, d := range extra {
		c.extra[DayOf(d)] = true
	}
	return c
}

// Holiday names the generally recognised holiday on d (art. 3), or returns "" for other days.
// Extra non-working days are not holidays by this definition; IsWorkingDay covers both.
func Holiday(d time.Time) string {
	d = DayOf(d)
	y := d.Year()
	switch d {
	case Date(y, time.January, 1):
		return "Nieuwjaarsdag"
	case kingsDay(y):
		return "Koningsdag"
	case Date(y, time.May, 5):
		return "Bevrijdingsdag"
	case Date(y, time.December, 25):
		return "Eerste Kerstdag"
	case Date(y, time.December, 26):
		return "Tweede Kerstdag"
	}
	easter := Easter(y)
	switch d {
	case easter.AddDate(0, 0, -2):
		return "Goede Vrijdag"
	case easter.AddDate(0, 0, 1):
		return "Tweede Paasdag"
	case easter.AddDate(0, 0, 39):
		return "Hemelvaartsdag"
	case easter.AddDate(0, 0, 50):
		return "Tweede Pinksterdag"
	}
	return ""
}

// kingsDay is 27 April, or 26 April when the 27th is a Sunday (Wet viering Koningsdag).
func kingsDay(y int) time.Time {
	d := Date(y, time.April, 27)
	if d.Weekday() == time.Sunday {
		return Date(y, time.April, 26)
	}
	return d
}

// IsWorkingDay reports whether d is a working day: Monday to Friday, not a holiday and not an
// extra non-working day.
func (c Calendar) IsWorkingDay(d time.Time) bool {
	d = DayOf(d)
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return Holiday(d) == "" && !c.extra[d]
}

// AddWorkingDays returns the n-th working day after d (n ≥ 0; for n = 0, d itself when it is a
// working day, else the next working day). The result is always a working day, so a period
// counted in working days never needs the extension of art. 1.
func (c Calendar) AddWorkingDays(d time.Time, n int) time.Time {
	d = DayOf(d)
	if n <= 0 {
		return c.PeriodEnd(d)
	}
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// PeriodEnd applies art. 1 of the Algemene termijnenwet to the last day d of a statutory
// period: a period that would end on a Saturday, Sunday or holiday ends on the next day that is
// none of them.
func (c Calendar) PeriodEnd(d time.Time) time.Time {
	d = DayOf(d)
	for !c.IsWorkingDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}
