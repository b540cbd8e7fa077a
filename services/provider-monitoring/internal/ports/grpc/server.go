// Package grpc is the provider-monitoring service's gRPC edge: it validates requests, maps them
// to the domain and back, and makes mutating calls idempotent. Errors are typed (apperr) and
// become gRPC statuses in the shared interceptor.
package grpc

import (
	"context"
	"regexp"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// allocationNumberRe is the shape of the numbers this service hands out ("TW" + 10 digits);
// anything else cannot name an allocation, so it is refused before touching the database.
var allocationNumberRe = regexp.MustCompile(`^TW[0-9]{10}$`)

// Server implements ProviderMonitoringService.
type Server struct {
	providermonitoringv1.UnimplementedProviderMonitoringServiceServer
	app  *app.App
	idem *idempotency.Store
}

// NewServer returns the server.
func NewServer(a *app.App, idem *idempotency.Store) *Server { return &Server{app: a, idem: idem} }

// Allocate issues an allocation.
func (s *Server) Allocate(ctx context.Context, req *providermonitoringv1.AllocateRequest) (*providermonitoringv1.AllocateResponse, error) {
	al, err := allocationFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.AllocateResponse { return &providermonitoringv1.AllocateResponse{} },
		func(ctx context.Context) (*providermonitoringv1.AllocateResponse, error) {
			out, err := s.app.Allocate(ctx, al)
			if err != nil {
				return nil, err
			}
			return &providermonitoringv1.AllocateResponse{Allocation: allocationToProto(out)}, nil
		})
}

// GetAllocation returns an allocation to its provider or a Wijkbrug service.
func (s *Server) GetAllocation(ctx context.Context, req *providermonitoringv1.GetAllocationRequest) (*providermonitoringv1.GetAllocationResponse, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	if err := v.Err(); err != nil {
		return nil, err
	}
	al, err := s.app.GetAllocation(ctx, req.GetAllocationNumber())
	if err != nil {
		return nil, err
	}
	return &providermonitoringv1.GetAllocationResponse{Allocation: allocationToProto(al)}, nil
}

// ReportDeliveryStarted records the start of care.
func (s *Server) ReportDeliveryStarted(ctx context.Context, req *providermonitoringv1.ReportDeliveryStartedRequest) (*providermonitoringv1.ReportDeliveryStartedResponse, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	startedOn := valid.Date(&v, "started_on", req.GetStartedOn())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.ReportDeliveryStartedResponse {
		return &providermonitoringv1.ReportDeliveryStartedResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.ReportDeliveryStartedResponse, error) {
		out, err := s.app.ReportDeliveryStarted(ctx, req.GetAllocationNumber(), startedOn)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.ReportDeliveryStartedResponse{Allocation: allocationToProto(out)}, nil
	})
}

func allocationNumber(v *apperr.Validation, field, s string) {
	v.Check(allocationNumberRe.MatchString(s), field, "must be an allocation number like TW0000000001")
}

func allocationFromRequest(req *providermonitoringv1.AllocateRequest) (domain.Allocation, error) {
	var v apperr.Validation
	valid.UUID(&v, "case_id", req.GetCaseId())
	valid.Municipality(&v, "municipality_code", req.GetMunicipalityCode())
	valid.District(&v, "district_code", req.GetDistrictCode())
	// A CBS district code carries its municipality's number (WK0363xx lies in GM0363), so a
	// mismatch is a mistake in the request, not a question for the contract check.
	if m, d := req.GetMunicipalityCode(), req.GetDistrictCode(); len(m) == 6 && len(d) == 8 && m[2:] != d[2:6] {
		v.Add("district_code", "must lie in municipality "+m)
	}
	valid.AGB(&v, "provider_agb", req.GetProviderAgb())
	valid.Code(&v, "product_category", req.GetProductCategory())
	valid.Code(&v, "product_code", req.GetProductCode())
	start := valid.Date(&v, "start_date", req.GetStartDate())
	var end *time.Time
	if req.GetEndDate() != "" {
		e := valid.Date(&v, "end_date", req.GetEndDate())
		if !e.IsZero() && !start.IsZero() && e.Before(start) {
			v.Add("end_date", "cannot be before start_date")
		}
		end = &e
	}
	vol := req.GetVolume()
	if vol == nil {
		v.Add("volume", "required")
	} else {
		v.Check(vol.GetAmount() > 0, "volume.amount", "must be greater than 0")
		valid.Code(&v, "volume.unit", vol.GetUnit())
		valid.Code(&v, "volume.frequency", vol.GetFrequency())
	}
	al := domain.Allocation{
		ProviderAGB: req.GetProviderAgb(), CaseID: req.GetCaseId(),
		Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode(),
		Product: domain.Product{Category: req.GetProductCategory(), Code: req.GetProductCode()},
		Start:   start, End: end,
		Volume: domain.Volume{Amount: vol.GetAmount(), Unit: vol.GetUnit(), Frequency: vol.GetFrequency()},
	}
	return al, v.Err()
}

func allocationToProto(a domain.Allocation) *providermonitoringv1.Allocation {
	out := &providermonitoringv1.Allocation{
		Number: a.Number, ProviderAgb: a.ProviderAGB, CaseId: a.CaseID,
		MunicipalityCode: a.Municipality, DistrictCode: a.District,
		ProductCategory: a.Product.Category, ProductCode: a.Product.Code,
		StartDate: a.Start.Format(domain.DateLayout),
		Volume:    &providermonitoringv1.Volume{Amount: a.Volume.Amount, Unit: a.Volume.Unit, Frequency: a.Volume.Frequency},
		Status:    protoenum.FromCode[providermonitoringv1.AllocationStatus](string(a.Status)),
		IssuedAt:  timestamppb.New(a.IssuedAt),
	}
	if a.End != nil {
		out.EndDate = a.End.Format(domain.DateLayout)
	}
	if a.StartedOn != nil {
		out.StartedOn = a.StartedOn.Format(domain.DateLayout)
	}
	if a.StartReportedOnTime != nil {
		out.StartReportedOnTime = *a.StartReportedOnTime
	}
	return out
}
