package grpcapi

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ReportDeliveredVolume records the volume delivered in a period.
func (s *Server) ReportDeliveredVolume(ctx context.Context, req *providermonitoringv1.ReportDeliveredVolumeRequest) (*providermonitoringv1.ReportDeliveredVolumeResponse, error) {
	dv, err := deliveredVolumeFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.ReportDeliveredVolumeResponse {
		return &providermonitoringv1.ReportDeliveredVolumeResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.ReportDeliveredVolumeResponse, error) {
		r, use, err := s.app.ReportDeliveredVolume(ctx, req.GetAllocationNumber(), dv)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.ReportDeliveredVolumeResponse{Report: deliveredVolumeToProto(r), VolumeUse: volumeUseToProto(use, nil)}, nil
	})
}

// GetAllocationVolumeUse compares an allocation's allocated and delivered volume.
func (s *Server) GetAllocationVolumeUse(ctx context.Context, req *providermonitoringv1.GetAllocationVolumeUseRequest) (*providermonitoringv1.GetAllocationVolumeUseResponse, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	if err := v.Err(); err != nil {
		return nil, err
	}
	use, reports, err := s.app.AllocationVolumeUse(ctx, req.GetAllocationNumber())
	if err != nil {
		return nil, err
	}
	return &providermonitoringv1.GetAllocationVolumeUseResponse{VolumeUse: volumeUseToProto(use, reports)}, nil
}

// maxDeliveredAmount bounds one report's amount: a year of care counted in minutes is about
// 525,600, so a larger number is a mistake in the request.
const maxDeliveredAmount = 100_000

// deliveredVolumeFromRequest validates a delivered-volume report and maps it to the domain.
func deliveredVolumeFromRequest(req *providermonitoringv1.ReportDeliveredVolumeRequest) (domain.DeliveredVolume, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	start := valid.Date(&v, "period_start", req.GetPeriodStart())
	end := valid.Date(&v, "period_end", req.GetPeriodEnd())
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		v.Add("period_end", "cannot be before period_start")
	}
	v.Check(req.GetAmount() > 0 && req.GetAmount() <= maxDeliveredAmount, "amount", "must be between 1 and 100000")
	unit := unitCode(&v, "unit", req.GetUnit())
	return domain.DeliveredVolume{AllocationNumber: req.GetAllocationNumber(), PeriodStart: start, PeriodEnd: end,
		Amount: req.GetAmount(), Unit: unit}, v.Err()
}

func deliveredVolumeToProto(r domain.DeliveredVolume) *providermonitoringv1.DeliveredVolume {
	return &providermonitoringv1.DeliveredVolume{
		Id: r.ID, AllocationNumber: r.AllocationNumber,
		PeriodStart: r.PeriodStart.Format(domain.DateLayout), PeriodEnd: r.PeriodEnd.Format(domain.DateLayout),
		Amount: r.Amount, Unit: unitOf(r.Unit), ReportedAt: timestamppb.New(r.ReportedAt),
	}
}

func volumeUseToProto(u domain.VolumeUse, reports []domain.DeliveredVolume) *providermonitoringv1.AllocationVolumeUse {
	out := &providermonitoringv1.AllocationVolumeUse{
		AllocationNumber: u.AllocationNumber,
		Volume:           volumeToProto(u.Volume),
		ElapsedDays:      u.ElapsedDays, AllocatedToDate: u.AllocatedToDate, Delivered: u.Delivered,
		OverDelivered: u.OverDelivered, Comparable: u.Comparable,
	}
	if u.ElapsedFrom != nil {
		out.ElapsedFrom, out.ElapsedTo = u.ElapsedFrom.Format(domain.DateLayout), u.ElapsedTo.Format(domain.DateLayout)
	}
	for _, r := range reports {
		out.Reports = append(out.Reports, deliveredVolumeToProto(r))
	}
	return out
}

func volumeFiguresToProto(fs []domain.VolumeFigure) []*providermonitoringv1.VolumeUseFigures {
	var out []*providermonitoringv1.VolumeUseFigures
	for _, f := range fs {
		out = append(out, &providermonitoringv1.VolumeUseFigures{
			Unit: unitOf(f.Unit), Allocations: f.Allocations, AllocatedToDate: f.AllocatedToDate, Delivered: f.Delivered,
			OverDeliveredAllocations: f.OverDeliveredAllocations, NotComparableAllocations: f.NotComparableAllocations,
		})
	}
	return out
}
