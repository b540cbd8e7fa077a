package service_test

import (
	"slices"
	"testing"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// Delivered volume through the API: the provider's report (validated field by field,
// idempotent, its own allocations only), the event, and the views that compare it.
func TestDeliveredVolumeThroughTheAPI(t *testing.T) {
	t.Parallel()
	w := start(t)
	_, team, otherTeam := w.municipal(t)
	ctx := svctest.Ctx(t)
	req := allocateRequest() // 4 hours ("04") per week ("2"), from three days ago
	number := w.allocate(t, req).GetNumber()
	if _, err := w.asProvider.ReportDeliveryStarted(ctx, &pmv1.ReportDeliveryStartedRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: number, StartedOn: req.GetStartDate()}); err != nil {
		t.Fatal(err)
	}

	// Every bad field at once.
	_, err := w.asProvider.ReportDeliveredVolume(ctx, &pmv1.ReportDeliveredVolumeRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: "X1", PeriodStart: "2025-13-01", PeriodEnd: "", Amount: 0, Unit: commonv1.VolumeUnit(77)})
	if got := violatedFields(t, err); !slices.Equal(got, []string{"allocation_number", "period_start", "period_end", "amount", "unit"}) {
		t.Fatalf("violations: %v", got)
	}
	// A team may not report volume at all; another provider is told the allocation does not exist.
	report := &pmv1.ReportDeliveredVolumeRequest{IdempotencyKey: uuid.NewString(), AllocationNumber: number,
		PeriodStart: req.GetStartDate(), PeriodEnd: date(today()), Amount: 30, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR}
	_, err = team.ReportDeliveredVolume(ctx, report)
	wantCode(t, err, codes.PermissionDenied)
	_, err = w.asOther.ReportDeliveredVolume(ctx, report)
	wantCode(t, err, codes.NotFound)
	// Another unit than the allocation's.
	wrong := proto.Clone(report).(*pmv1.ReportDeliveredVolumeRequest)
	wrong.IdempotencyKey, wrong.Unit = uuid.NewString(), commonv1.VolumeUnit_VOLUME_UNIT_MINUTE
	_, err = w.asProvider.ReportDeliveredVolume(ctx, wrong)
	if got := violatedFields(t, err); !slices.Equal(got, []string{"unit"}) {
		t.Fatalf("unit violation: %v", got)
	}

	// 30 hours in four days against 4 hours a week: over-delivered; a retry answers the same.
	resp, err := w.asProvider.ReportDeliveredVolume(ctx, report)
	if err != nil {
		t.Fatal(err)
	}
	use := resp.GetVolumeUse()
	if resp.GetReport().GetAmount() != 30 || use.GetDelivered() != 30 || !use.GetOverDelivered() || !use.GetComparable() ||
		use.GetElapsedDays() != 4 || use.GetElapsedFrom() != req.GetStartDate() || use.GetElapsedTo() != date(today()) {
		t.Fatalf("report: %v", resp)
	}
	if again, err := w.asProvider.ReportDeliveredVolume(ctx, report); err != nil || !proto.Equal(again, resp) {
		t.Fatalf("retry: %v %v", err, again)
	}
	ev, msg := w.events.WaitFor(t, func(e cloudevents.Envelope, m proto.Message) bool {
		_, ok := m.(*pmv1.AllocationVolumeDelivered)
		return ok && e.Subject == number
	})
	if vd := msg.(*pmv1.AllocationVolumeDelivered); ev.NATSSubject != "wijkbrug.providermonitoring.GM0363.allocation.volume_delivered" ||
		!vd.GetOverDelivered() || vd.GetReportId() != resp.GetReport().GetId() || vd.GetAmount() != 30 {
		t.Fatalf("event %s: %v", ev.NATSSubject, vd)
	}
	// The same period again (another key) overlaps.
	dup := proto.Clone(report).(*pmv1.ReportDeliveredVolumeRequest)
	dup.IdempotencyKey = uuid.NewString()
	_, err = w.asProvider.ReportDeliveredVolume(ctx, dup)
	wantCode(t, err, codes.FailedPrecondition)

	// The views: the allocation's volume use for the team and the provider, not for another team.
	got, err := team.GetAllocationVolumeUse(ctx, &pmv1.GetAllocationVolumeUseRequest{AllocationNumber: number})
	if err != nil || len(got.GetVolumeUse().GetReports()) != 1 || !got.GetVolumeUse().GetOverDelivered() {
		t.Fatalf("team's view: %v %v", err, got)
	}
	if _, err := w.asProvider.GetAllocationVolumeUse(ctx, &pmv1.GetAllocationVolumeUseRequest{AllocationNumber: number}); err != nil {
		t.Fatal(err)
	}
	_, err = otherTeam.GetAllocationVolumeUse(ctx, &pmv1.GetAllocationVolumeUseRequest{AllocationNumber: number})
	wantCode(t, err, codes.NotFound)
	ov, err := team.GetProviderOverview(ctx, &pmv1.GetProviderOverviewRequest{ProviderAgb: providerAGB, MunicipalityCode: municipality})
	if err != nil || len(ov.GetFigures().GetVolumeUse()) != 1 {
		t.Fatalf("provider overview: %v %v", err, ov)
	}
	if v := ov.GetFigures().GetVolumeUse()[0]; v.GetUnit() != commonv1.VolumeUnit_VOLUME_UNIT_HOUR || v.GetAllocations() != 1 || v.GetDelivered() != 30 || v.GetOverDeliveredAllocations() != 1 {
		t.Fatalf("volume figures: %v", v)
	}
}
