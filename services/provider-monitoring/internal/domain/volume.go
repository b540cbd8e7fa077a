package domain

import (
	"fmt"
	"slices"
	"time"
)

// DeliveredVolume is a provider's report of the volume of care delivered in a period, after
// the iJw/iWmo declaration (303): the period's first and last day (both included), the amount
// and its unit.
type DeliveredVolume struct {
	ID               string
	AllocationNumber string
	PeriodStart      time.Time
	PeriodEnd        time.Time
	Amount           int32
	Unit             string
	ReportedAt       time.Time
}

// PeriodOverlapError is a delivered-volume period of allocation Number that overlaps one
// reported before.
type PeriodOverlapError struct {
	Number                           string
	Start, End, OtherStart, OtherEnd time.Time
}

func (e PeriodOverlapError) Error() string {
	msg := fmt.Sprintf("the period %s..%s overlaps the period %s..%s reported before",
		e.Start.Format(DateLayout), e.End.Format(DateLayout), e.OtherStart.Format(DateLayout), e.OtherEnd.Format(DateLayout))
	if e.Number == "" {
		return msg
	}
	return "allocation " + e.Number + ": " + msg
}

// ForbiddenTransition makes it an unmet precondition in apperr's vocabulary:
// FAILED_PRECONDITION with this message.
func (PeriodOverlapError) ForbiddenTransition() {}

// ReportVolume checks a delivered-volume report against the allocation, the periods reported
// before and the day today, and returns it with its days normalised. Volume is reported for
// care that started: STARTED, PAUSED or ENDED allocations. The unit is the allocation's; the
// period lies within the allocation's start and end date, is not in the future and overlaps
// no earlier period.
func (a Allocation) ReportVolume(r DeliveredVolume, earlier []DeliveredVolume, today time.Time) (DeliveredVolume, error) {
	switch a.Status {
	case StatusStarted, StatusPaused, StatusEnded:
	default:
		return r, StateError{Number: a.Number, Status: a.Status, Action: "given a delivered volume (only STARTED, PAUSED or ENDED allocations)"}
	}
	r.AllocationNumber = a.Number
	r.PeriodStart, r.PeriodEnd, today = DayOf(r.PeriodStart), DayOf(r.PeriodEnd), DayOf(today)
	switch {
	case r.Amount <= 0:
		return r, RuleViolation{"amount", "must be greater than 0"}
	case r.Unit != a.Volume.Unit:
		return r, RuleViolation{"unit", "must be the allocation's volume unit " + a.Volume.Unit}
	case r.PeriodEnd.Before(r.PeriodStart):
		return r, RuleViolation{"period_end", "cannot be before period_start"}
	case r.PeriodStart.Before(a.Start):
		return r, RuleViolation{"period_start", "cannot be before the allocation's start date " + a.Start.Format(DateLayout)}
	case a.End != nil && r.PeriodEnd.After(*a.End):
		return r, RuleViolation{"period_end", "cannot be after the allocation's end date " + a.End.Format(DateLayout)}
	case r.PeriodEnd.After(today):
		return r, RuleViolation{"period_end", "cannot be after today (" + today.Format(DateLayout) + ")"}
	}
	for _, e := range earlier {
		if !r.PeriodStart.After(DayOf(e.PeriodEnd)) && !DayOf(e.PeriodStart).After(r.PeriodEnd) {
			return r, PeriodOverlapError{Number: a.Number, Start: r.PeriodStart, End: r.PeriodEnd, OtherStart: e.PeriodStart, OtherEnd: e.PeriodEnd}
		}
	}
	return r, nil
}

// frequencyDays is the length in days of the period an allocated amount is given for, by
// iJw/iWmo frequency code (WJ757: 1 per day, 2 per week). Months (code 4) are counted in
// calendar months and the total over the allocation (code 6) has no fixed length: see
// VolumeUseOn.
var frequencyDays = map[string]float64{
	"1": 1,
	"2": 7,
}

// monthFrequencies mean "per calendar month".
var monthFrequencies = []string{"4"}

// calendarMonths is the number of calendar months from the day from up to and including the
// day to: whole months counted from from's day of the month, plus the rest as a fraction of
// the month it falls in (1 March–31 March is 1; 1 March–15 March is 15/31).
func calendarMonths(from, to time.Time) float64 {
	after := to.AddDate(0, 0, 1)
	if !after.After(from) {
		return 0
	}
	m := 0
	for !from.AddDate(0, m+1, 0).After(after) {
		m++
	}
	cursor := from.AddDate(0, m, 0)
	next := from.AddDate(0, m+1, 0)
	return float64(m) + after.Sub(cursor).Hours()/next.Sub(cursor).Hours()
}

// totalFrequencies mean "the total within the allocation's validity".
var totalFrequencies = []string{"6"}

// VolumeUse compares an allocation's allocated volume for its elapsed part with the volume
// delivered.
type VolumeUse struct {
	AllocationNumber string
	// Volume is the allocation's current volume; it is taken to apply over the whole elapsed
	// part (an earlier version's volume is not pro-rated).
	Volume Volume
	// ElapsedFrom and ElapsedTo bound the elapsed part (nil before the start date).
	ElapsedFrom, ElapsedTo *time.Time
	ElapsedDays            int32
	// AllocatedToDate is the allocated volume for the elapsed part, in Volume.Unit.
	AllocatedToDate float64
	// Delivered is the volume reported in Volume.Unit.
	Delivered int64
	// OverDelivered: Delivered exceeds AllocatedToDate.
	OverDelivered bool
	// Comparable is false when the frequency has no known length, or the allocation was
	// withdrawn (the day of withdrawal is not kept, so its elapsed part is unknown).
	Comparable bool
}

// VolumeUseOn compares the allocation's allocated volume for its elapsed part on the day today
// with delivered, the volume reported in the allocation's unit. The elapsed part runs from the
// start date to today, the end date or (when ENDED) the day care stopped, whichever is first.
// The allocated volume to date is amount × elapsed days ÷ the frequency's length in days (1 or
// 7), amount × elapsed calendar months for a monthly volume; for a total over the allocation it is the amount pro rata over the allocation's days, or the whole
// amount when the allocation is open-ended.
func (a Allocation) VolumeUseOn(today time.Time, delivered int64) VolumeUse {
	u := VolumeUse{AllocationNumber: a.Number, Volume: a.Volume, Delivered: delivered}
	to := DayOf(today)
	if a.End != nil && a.End.Before(to) {
		to = *a.End
	}
	if a.Status == StatusEnded && a.StoppedOn != nil && a.StoppedOn.Before(to) {
		to = *a.StoppedOn
	}
	from := a.Start
	if !to.Before(from) {
		u.ElapsedFrom, u.ElapsedTo = &from, &to
		u.ElapsedDays = int32(to.Sub(from).Hours()/24) + 1
	}
	amount := float64(a.Volume.Amount)
	switch days, ok := frequencyDays[a.Volume.Frequency]; {
	case a.Status == StatusWithdrawn:
	case ok:
		u.Comparable = true
		u.AllocatedToDate = amount * float64(u.ElapsedDays) / days
	case slices.Contains(monthFrequencies, a.Volume.Frequency):
		u.Comparable = true
		if u.ElapsedTo != nil {
			u.AllocatedToDate = amount * calendarMonths(from, to)
		}
	case slices.Contains(totalFrequencies, a.Volume.Frequency):
		u.Comparable = true
		u.AllocatedToDate = amount
		if a.End != nil && u.ElapsedDays > 0 {
			total := a.End.Sub(a.Start).Hours()/24 + 1
			u.AllocatedToDate = amount * min(1, float64(u.ElapsedDays)/total)
		}
		if u.ElapsedDays == 0 {
			u.AllocatedToDate = 0
		}
	}
	// A small tolerance keeps a delivery of exactly the allocated volume from counting as
	// over-delivery through floating-point rounding.
	u.OverDelivered = u.Comparable && float64(u.Delivered) > u.AllocatedToDate+1e-6
	return u
}

// VolumeFigure sums the volume use of a provider's or contract's allocations with one unit.
type VolumeFigure struct {
	Unit                     string
	Allocations              int32
	AllocatedToDate          float64
	Delivered                int64
	OverDeliveredAllocations int32
	NotComparableAllocations int32
}

// SumVolumeUse adds up volume uses per unit, in the order of the units' names.
func SumVolumeUse(uses []VolumeUse) []VolumeFigure {
	byUnit := map[string]*VolumeFigure{}
	var units []string
	for _, u := range uses {
		f, ok := byUnit[u.Volume.Unit]
		if !ok {
			f = &VolumeFigure{Unit: u.Volume.Unit}
			byUnit[u.Volume.Unit] = f
			units = append(units, u.Volume.Unit)
		}
		f.Allocations++
		f.AllocatedToDate += u.AllocatedToDate
		f.Delivered += u.Delivered
		if u.OverDelivered {
			f.OverDeliveredAllocations++
		}
		if !u.Comparable {
			f.NotComparableAllocations++
		}
	}
	slices.Sort(units)
	out := make([]VolumeFigure, 0, len(units))
	for _, unit := range units {
		out = append(out, *byUnit[unit])
	}
	return out
}
