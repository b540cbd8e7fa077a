package domain

import (
	"errors"
	"math"
	"testing"
	"time"
)

func volumeAllocation(status Status, freq string, end *time.Time) Allocation {
	return Allocation{Number: "TW0000000001", Status: status, Start: Date(2025, 3, 1), End: end,
		Volume: Volume{Amount: 4, Unit: "04", Frequency: freq}}
}

func ptr(t time.Time) *time.Time { return &t }

func TestReportVolumeRules(t *testing.T) {
	end := Date(2025, 12, 31)
	started := volumeAllocation(StatusStarted, "2", &end)
	today := Date(2025, 5, 10)
	earlier := []DeliveredVolume{{PeriodStart: Date(2025, 3, 1), PeriodEnd: Date(2025, 3, 31)}, {PeriodStart: Date(2025, 4, 1), PeriodEnd: Date(2025, 4, 30)}}
	ok := DeliveredVolume{PeriodStart: Date(2025, 5, 1), PeriodEnd: Date(2025, 5, 9), Amount: 6, Unit: "04"}
	if r, err := started.ReportVolume(ok, earlier, today); err != nil || r.AllocationNumber != started.Number {
		t.Fatalf("a valid report: %v %+v", err, r)
	}
	for _, st := range []Status{StatusPaused, StatusEnded} {
		a := started
		a.Status = st
		if _, err := a.ReportVolume(ok, earlier, today); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	for _, st := range []Status{StatusIssued, StatusWithdrawn} {
		a := started
		a.Status = st
		var se StateError
		if _, err := a.ReportVolume(ok, earlier, today); !errors.As(err, &se) || se.Status != st {
			t.Fatalf("%s: %v", st, err)
		}
	}
	field := func(mod func(*DeliveredVolume)) string {
		r := ok
		mod(&r)
		_, err := started.ReportVolume(r, earlier, today)
		var rv RuleViolation
		if !errors.As(err, &rv) {
			t.Fatalf("%+v: want a rule violation, got %v", r, err)
		}
		return rv.Field
	}
	cases := map[string]func(*DeliveredVolume){
		"amount":       func(r *DeliveredVolume) { r.Amount = 0 },
		"unit":         func(r *DeliveredVolume) { r.Unit = "01" },
		"period_start": func(r *DeliveredVolume) { r.PeriodStart = Date(2025, 2, 28); r.PeriodEnd = Date(2025, 2, 28) },
		"period_end":   func(r *DeliveredVolume) { r.PeriodEnd = Date(2025, 5, 11) },
	}
	for want, mod := range cases {
		if got := field(mod); got != want {
			t.Errorf("field %s, want %s", got, want)
		}
	}
	if got := field(func(r *DeliveredVolume) { r.PeriodStart = Date(2025, 5, 9); r.PeriodEnd = Date(2025, 5, 1) }); got != "period_end" {
		t.Errorf("end before start: field %s", got)
	}
	short := started
	short.End = ptr(Date(2025, 5, 5))
	if _, err := short.ReportVolume(ok, earlier, today); err == nil {
		t.Fatal("a period after the end date must be refused")
	}
	// Touching an earlier period on its last day overlaps; the day after does not.
	var oe PeriodOverlapError
	over := ok
	over.PeriodStart = Date(2025, 4, 30)
	if _, err := started.ReportVolume(over, earlier, today); !errors.As(err, &oe) || !oe.OtherStart.Equal(Date(2025, 4, 1)) {
		t.Fatalf("overlap: %v", err)
	}
	inside := DeliveredVolume{PeriodStart: Date(2025, 3, 10), PeriodEnd: Date(2025, 3, 12), Amount: 1, Unit: "04"}
	if _, err := started.ReportVolume(inside, earlier, today); !errors.As(err, &oe) {
		t.Fatalf("a period inside an earlier one: %v", err)
	}
	around := DeliveredVolume{PeriodStart: Date(2025, 3, 1), PeriodEnd: Date(2025, 5, 1), Amount: 1, Unit: "04"}
	if _, err := started.ReportVolume(around, earlier, today); !errors.As(err, &oe) {
		t.Fatalf("a period around earlier ones: %v", err)
	}
}

func TestVolumeUseOn(t *testing.T) {
	end := Date(2025, 3, 31) // 31 days from 1 March
	approx := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	cases := []struct {
		name      string
		a         Allocation
		today     time.Time
		delivered int64
		days      int32
		allocated float64
		over      bool
		cmp       bool
	}{
		{"per week, 14 days", volumeAllocation(StatusStarted, "2", nil), Date(2025, 3, 14), 8, 14, 8, false, true},
		{"per week, over", volumeAllocation(StatusStarted, "2", nil), Date(2025, 3, 14), 9, 14, 8, true, true},
		{"per day", volumeAllocation(StatusStarted, "1", nil), Date(2025, 3, 10), 40, 10, 40, false, true},
		{"per month, a year", volumeAllocation(StatusStarted, "4", ptr(Date(2026, 2, 28))), Date(2026, 6, 1), 48, 365, 48, false, true},
		{"per month, half a month", volumeAllocation(StatusStarted, "4", nil), Date(2025, 3, 16), 3, 16, 4 * 16.0 / 31, true, true},
		{"per month, into April", volumeAllocation(StatusStarted, "4", nil), Date(2025, 4, 15), 6, 46, 4 + 4*15.0/30, false, true},
		{"total pro rata", volumeAllocation(StatusStarted, "6", &end), Date(2025, 3, 16), 3, 16, 4 * 16.0 / 31, true, true},
		{"total open-ended", volumeAllocation(StatusStarted, "6", nil), Date(2025, 3, 2), 4, 2, 4, false, true},
		{"before the start", volumeAllocation(StatusIssued, "2", nil), Date(2025, 2, 20), 0, 0, 0, false, true},
		{"after the end date", volumeAllocation(StatusStarted, "1", &end), Date(2025, 6, 1), 0, 31, 124, false, true},
		{"ended early", func() Allocation {
			a := volumeAllocation(StatusEnded, "1", &end)
			a.StoppedOn = ptr(Date(2025, 3, 5))
			return a
		}(), Date(2025, 6, 1), 21, 5, 20, true, true},
		{"unknown frequency", volumeAllocation(StatusStarted, "9", nil), Date(2025, 3, 14), 100, 14, 0, false, false},
		{"withdrawn", volumeAllocation(StatusWithdrawn, "2", nil), Date(2025, 3, 14), 100, 14, 0, false, false},
	}
	for _, tc := range cases {
		u := tc.a.VolumeUseOn(tc.today, tc.delivered)
		if u.ElapsedDays != tc.days || !approx(u.AllocatedToDate, tc.allocated) || u.OverDelivered != tc.over || u.Comparable != tc.cmp {
			t.Errorf("%s: %+v, want days %d allocated %v over %v comparable %v", tc.name, u, tc.days, tc.allocated, tc.over, tc.cmp)
		}
	}
	figs := SumVolumeUse([]VolumeUse{
		volumeAllocation(StatusStarted, "2", nil).VolumeUseOn(Date(2025, 3, 14), 9),
		volumeAllocation(StatusStarted, "2", nil).VolumeUseOn(Date(2025, 3, 14), 2),
		{Volume: Volume{Unit: "01"}, Delivered: 30},
	})
	if len(figs) != 2 || figs[0].Unit != "01" || figs[0].NotComparableAllocations != 1 || figs[1].Allocations != 2 ||
		figs[1].Delivered != 11 || !approx(figs[1].AllocatedToDate, 16) || figs[1].OverDeliveredAllocations != 1 {
		t.Fatalf("figures: %+v", figs)
	}
}
