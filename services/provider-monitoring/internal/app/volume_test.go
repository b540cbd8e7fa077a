package app_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

func invalidField(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) == 0 || e.Violations[0].Field != field {
		t.Fatalf("want INVALID_ARGUMENT on %s, got %v", field, err)
	}
}

// Volume used vs allocated: the provider reports delivered volume per period (after 303); the
// views compare it with the allocated volume for the elapsed part and flag over-delivery.
func TestDeliveredVolumeUsedVsAllocated(t *testing.T) {
	a, db, now := newApp(t)
	ctx := context.Background()
	*now = amsterdam(2025, 3, 3, 9, 0)
	end := domain.Date(2025, 12, 31)
	base := allocation(domain.Date(2025, 3, 3)) // 2 hours ("04") per week ("2")
	base.End = &end
	al, err := a.Allocate(serviceCtx, base)
	if err != nil {
		t.Fatal(err)
	}
	n := al.Number
	week := func(y int, m, d int, amount int32) domain.DeliveredVolume {
		s := domain.Date(y, time.Month(m), d)
		return domain.DeliveredVolume{PeriodStart: s, PeriodEnd: s.AddDate(0, 0, 6), Amount: amount, Unit: "04"}
	}

	// Not before care started.
	if _, _, err := a.ReportDeliveredVolume(providerCtx, n, week(2025, 3, 3, 2)); !apperr.IsKind(err, apperr.KindFailedPrecondition) ||
		!strings.Contains(err.Error(), "ISSUED") {
		t.Fatalf("volume before the start: %v", err)
	}
	if _, err := a.ReportDeliveryStarted(providerCtx, n, domain.Date(2025, 3, 3)); err != nil {
		t.Fatal(err)
	}
	// Only the allocation's own provider; the refusal is logged.
	other := as(identity.OrgProvider, "00000007777777700000")
	*now = amsterdam(2025, 3, 17, 12, 0) // 15 days elapsed: 2 × 15 / 7 ≈ 4.29 hours allocated
	if _, _, err := a.ReportDeliveredVolume(other, n, week(2025, 3, 3, 2)); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another provider: %v", err)
	}
	var denied int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND outcome = 'DENIED' AND action = 'providermonitoring.allocation.report_volume'`, n).Scan(&denied); err != nil || denied != 1 {
		t.Fatalf("denied entries: %d %v", denied, err)
	}
	// The unit must be the allocation's; the period within it and not in the future.
	wrongUnit := week(2025, 3, 3, 120)
	wrongUnit.Unit = "01"
	_, _, err = a.ReportDeliveredVolume(providerCtx, n, wrongUnit)
	invalidField(t, err, "unit")
	_, _, err = a.ReportDeliveredVolume(providerCtx, n, week(2025, 3, 17, 2))
	invalidField(t, err, "period_end")
	early := week(2025, 2, 24, 2)
	_, _, err = a.ReportDeliveredVolume(providerCtx, n, early)
	invalidField(t, err, "period_start")

	r1, use, err := a.ReportDeliveredVolume(providerCtx, n, week(2025, 3, 3, 2))
	if err != nil || r1.ID == "" || use.Delivered != 2 || use.OverDelivered || use.ElapsedDays != 15 || math.Abs(use.AllocatedToDate-30.0/7) > 1e-9 {
		t.Fatalf("first week: %v %+v", err, use)
	}
	if _, use, err = a.ReportDeliveredVolume(providerCtx, n, week(2025, 3, 10, 2)); err != nil || use.Delivered != 4 || use.OverDelivered {
		t.Fatalf("second week: %v %+v", err, use)
	}
	// Overlapping an earlier period: refused, naming both periods.
	overlap := week(2025, 3, 9, 1)
	overlap.PeriodEnd = domain.Date(2025, 3, 9)
	if _, _, err := a.ReportDeliveredVolume(providerCtx, n, overlap); !apperr.IsKind(err, apperr.KindFailedPrecondition) ||
		!strings.Contains(err.Error(), "2025-03-09..2025-03-09 overlaps the period 2025-03-03..2025-03-09") {
		t.Fatalf("overlap: %v", err)
	}
	// One more hour on 17 March: 5 delivered against ≈ 4.29 allocated, over-delivered.
	day := domain.DeliveredVolume{PeriodStart: domain.Date(2025, 3, 17), PeriodEnd: domain.Date(2025, 3, 17), Amount: 1, Unit: "04"}
	if _, use, err = a.ReportDeliveredVolume(providerCtx, n, day); err != nil || use.Delivered != 5 || !use.OverDelivered {
		t.Fatalf("over-delivery: %v %+v", err, use)
	}
	evs := outboxEvents(t, db, n, "volume_delivered", func() *pmv1.AllocationVolumeDelivered { return new(pmv1.AllocationVolumeDelivered) })
	if len(evs) != 3 || evs[0].GetOverDelivered() || !evs[2].GetOverDelivered() || evs[0].GetReportId() != r1.ID ||
		evs[0].GetPeriodStart() != "2025-03-03" || evs[0].GetPeriodEnd() != "2025-03-09" || evs[0].GetAmount() != 2 ||
		evs[0].GetUnit() != commonv1.VolumeUnit_VOLUME_UNIT_HOUR || evs[0].GetCaseId() != al.CaseID || evs[0].GetMunicipalityCode() != "GM0363" {
		t.Fatalf("events: %v", evs)
	}

	// The per-allocation view: to the team (logged), not to another team.
	got, reports, err := a.AllocationVolumeUse(teamCtx, n)
	if err != nil || len(reports) != 3 || got.Delivered != 5 || !got.OverDelivered || !got.ElapsedTo.Equal(domain.Date(2025, 3, 17)) {
		t.Fatalf("volume use: %v %+v %v", err, got, reports)
	}
	if _, _, err := a.AllocationVolumeUse(otherTeamCtx, n); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("another team: %v", err)
	}
	var reads int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND action = 'providermonitoring.allocation.read_volume'`, n).Scan(&reads); err != nil || reads != 2 {
		t.Fatalf("read entries: %d %v", reads, err)
	}

	// A second allocation, paused, with volume within what was allocated; and an issued one
	// that delivered nothing.
	second, err := a.Allocate(serviceCtx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReportDeliveryStarted(providerCtx, second.Number, domain.Date(2025, 3, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReportDeliveryStopped(providerCtx, second.Number, domain.Date(2025, 3, 14), "20"); err != nil {
		t.Fatal(err)
	}
	if _, use, err := a.ReportDeliveredVolume(providerCtx, second.Number, week(2025, 3, 3, 1)); err != nil || use.OverDelivered {
		t.Fatalf("paused allocation: %v %+v", err, use)
	}
	if _, err := a.Allocate(serviceCtx, base); err != nil {
		t.Fatal(err)
	}
	// The provider's and the contract's figures: one unit, three allocations, one over.
	f, err := a.ProviderOverview(teamCtx, "12345678", "GM0363")
	if err != nil || len(f.Volume) != 1 {
		t.Fatalf("provider figures: %v %+v", err, f)
	}
	v := f.Volume[0]
	if v.Unit != "04" || v.Allocations != 3 || v.Delivered != 6 || v.OverDeliveredAllocations != 1 || v.NotComparableAllocations != 0 ||
		math.Abs(v.AllocatedToDate-3*30.0/7) > 1e-9 {
		t.Fatalf("provider volume figures: %+v", v)
	}
	_, cf, err := a.ContractOverview(teamCtx, al.ContractID)
	if err != nil || len(cf.Volume) != 1 || cf.Volume[0] != v {
		t.Fatalf("contract volume figures: %v %+v", err, cf.Volume)
	}
}

// Two concurrent reports of overlapping periods: the allocation's row lock lets one in.
func TestDeliveredVolumeConcurrentOverlap(t *testing.T) {
	a, db, now := newApp(t)
	*now = amsterdam(2025, 3, 3, 9, 0)
	al, err := a.Allocate(serviceCtx, allocation(domain.Date(2025, 3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReportDeliveryStarted(providerCtx, al.Number, domain.Date(2025, 3, 3)); err != nil {
		t.Fatal(err)
	}
	*now = amsterdam(2025, 4, 1, 9, 0)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, refd int
	)
	for i := range 6 {
		wg.Go(func() {
			r := domain.DeliveredVolume{PeriodStart: domain.Date(2025, 3, 3+i), PeriodEnd: domain.Date(2025, 3, 20), Amount: 1, Unit: "04"}
			_, _, err := a.ReportDeliveredVolume(providerCtx, al.Number, r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case apperr.IsKind(err, apperr.KindFailedPrecondition):
				refd++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var rows int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM delivered_volumes WHERE allocation_number = $1`, al.Number).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if ok != 1 || refd != 5 || rows != 1 {
		t.Fatalf("accepted %d, refused %d, stored %d", ok, refd, rows)
	}
}
