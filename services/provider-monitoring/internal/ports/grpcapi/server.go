// Package grpc is the provider-monitoring service's gRPC edge: it validates requests, maps them
// to the domain and back, and makes mutating calls idempotent. Errors are typed (apperr) and
// become gRPC statuses in the shared interceptor.
package grpcapi

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
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
	app   *app.App
	idem  *idempotency.Store
	codes domain.Codes
}

// NewServer returns the server.
func NewServer(a *app.App, idem *idempotency.Store) *Server {
	return &Server{app: a, idem: idem, codes: a.Codes()}
}

// Allocate issues an allocation.
func (s *Server) Allocate(ctx context.Context, req *providermonitoringv1.AllocateRequest) (*providermonitoringv1.AllocateResponse, error) {
	al, err := s.allocationFromRequest(req)
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

// GetAllocation returns an allocation to those who may read it.
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
	startedOn, err := startFromRequest(req)
	if err != nil {
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

// ReportDeliveryStopped records the stop of care.
func (s *Server) ReportDeliveryStopped(ctx context.Context, req *providermonitoringv1.ReportDeliveryStoppedRequest) (*providermonitoringv1.ReportDeliveryStoppedResponse, error) {
	stoppedOn, err := s.stopFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.ReportDeliveryStoppedResponse {
		return &providermonitoringv1.ReportDeliveryStoppedResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.ReportDeliveryStoppedResponse, error) {
		out, err := s.app.ReportDeliveryStopped(ctx, req.GetAllocationNumber(), stoppedOn, req.GetReasonCode())
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.ReportDeliveryStoppedResponse{Allocation: allocationToProto(out)}, nil
	})
}

// ChangeAllocation makes a new version of an allocation.
func (s *Server) ChangeAllocation(ctx context.Context, req *providermonitoringv1.ChangeAllocationRequest) (*providermonitoringv1.ChangeAllocationResponse, error) {
	c, err := changeFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.ChangeAllocationResponse {
		return &providermonitoringv1.ChangeAllocationResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.ChangeAllocationResponse, error) {
		out, err := s.app.ChangeAllocation(ctx, req.GetAllocationNumber(), c)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.ChangeAllocationResponse{Allocation: allocationToProto(out)}, nil
	})
}

// WithdrawAllocation withdraws an allocation.
func (s *Server) WithdrawAllocation(ctx context.Context, req *providermonitoringv1.WithdrawAllocationRequest) (*providermonitoringv1.WithdrawAllocationResponse, error) {
	reason, err := withdrawalFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.WithdrawAllocationResponse {
		return &providermonitoringv1.WithdrawAllocationResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.WithdrawAllocationResponse, error) {
		out, err := s.app.WithdrawAllocation(ctx, req.GetAllocationNumber(), reason)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.WithdrawAllocationResponse{Allocation: allocationToProto(out)}, nil
	})
}

// ListAllocationVersions returns an allocation's history.
func (s *Server) ListAllocationVersions(ctx context.Context, req *providermonitoringv1.ListAllocationVersionsRequest) (*providermonitoringv1.ListAllocationVersionsResponse, error) {
	page, after, err := listVersionsFromRequest(req)
	if err != nil {
		return nil, err
	}
	all, err := s.app.ListAllocationVersions(ctx, req.GetAllocationNumber())
	if err != nil {
		return nil, err
	}
	// An allocation's versions are few (one per change): read whole, paged here.
	versions, more := paging.Seek(all, versionAt, after, page.Size)
	out := &providermonitoringv1.ListAllocationVersionsResponse{}
	if more {
		last := versionAt(versions[len(versions)-1])
		out.NextPageToken = paging.TokenAt(versionList(req.GetAllocationNumber()), last.Time, last.ID)
	}
	for _, ver := range versions {
		pv := &providermonitoringv1.AllocationVersion{
			Version: ver.Version, ChangeReason: protoenum.FromCode[providermonitoringv1.AllocationChangeReason](string(ver.ChangeReason)),
			ValidFrom: timestamppb.New(ver.ValidFrom), StartDate: ver.Start.Format(domain.DateLayout),
			Volume:      volumeToProto(ver.Volume),
			BudgetCents: ver.BudgetCents, ChangedByOin: ver.ChangedByOIN,
		}
		if ver.End != nil {
			pv.EndDate = ver.End.Format(domain.DateLayout)
		}
		out.Versions = append(out.Versions, pv)
	}
	return out, nil
}

// ListCaseAllocations lists a case's allocations.
func (s *Server) ListCaseAllocations(ctx context.Context, req *providermonitoringv1.ListCaseAllocationsRequest) (*providermonitoringv1.ListCaseAllocationsResponse, error) {
	page, after, err := caseAllocationsFromRequest(req)
	if err != nil {
		return nil, err
	}
	all, err := s.app.ListCaseAllocations(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	// A case's allocations are read whole (each is checked against the caller), paged here.
	list, more := paging.Seek(all, allocationAt, after, page.Size)
	out := &providermonitoringv1.ListCaseAllocationsResponse{}
	for _, al := range list {
		out.Allocations = append(out.Allocations, allocationToProto(al))
	}
	if more {
		last := allocationAt(list[len(list)-1])
		out.NextPageToken = paging.TokenAt(caseAllocationList(req.GetCaseId()), last.Time, last.ID)
	}
	return out, nil
}

// ListMyAllocations lists the calling provider's own allocations.
func (s *Server) ListMyAllocations(ctx context.Context, req *providermonitoringv1.ListMyAllocationsRequest) (*providermonitoringv1.ListMyAllocationsResponse, error) {
	statuses, page, after, err := myAllocationsFromRequest(req)
	if err != nil {
		return nil, err
	}
	list, more, err := s.app.ListMyAllocations(ctx, statuses, after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &providermonitoringv1.ListMyAllocationsResponse{}
	for _, al := range list {
		out.Allocations = append(out.Allocations, allocationToProto(al))
	}
	if more {
		last := allocationAt(list[len(list)-1])
		out.NextPageToken = paging.TokenAt(myAllocationList(req), last.Time, last.ID)
	}
	return out, nil
}

func myAllocationList(req *providermonitoringv1.ListMyAllocationsRequest) string {
	var filter []string
	for _, st := range req.GetStatuses() {
		filter = append(filter, st.String())
	}
	return paging.Scoped("providermonitoring.my_allocations", filter...)
}

func myAllocationsFromRequest(req *providermonitoringv1.ListMyAllocationsRequest) ([]string, paging.Page, *paging.At, error) {
	var v apperr.Validation
	statuses := statusCodes(&v, req.GetStatuses())
	page, after := paging.ParseAt(&v, myAllocationList(req), ListLimits, req.GetPageSize(), req.GetPageToken())
	return statuses, page, after, v.Err()
}

// statusCodes maps a list's status filter to domain codes, refusing unspecified or unknown
// values.
func statusCodes[E protoenum.Enum](v *apperr.Validation, statuses []E) []string {
	var out []string
	for i, st := range statuses {
		c := protoenum.Code(st)
		if c == "" {
			v.Add("statuses["+itoa(i)+"]", "unspecified or unknown: one of the defined statuses")
			continue
		}
		out = append(out, c)
	}
	return out
}

// ListLimits are the page sizes of the lists that have no others.
var ListLimits = paging.Limits{Default: 100, Max: 500}

func versionList(number string) string { return paging.Scoped("providermonitoring.versions", number) }

// versionAt sorts versions by number; the token's time is when the version took effect.
func versionAt(v domain.Version) paging.At {
	return paging.At{Time: v.ValidFrom, ID: fmt.Sprintf("%010d", v.Version)}
}

func listVersionsFromRequest(req *providermonitoringv1.ListAllocationVersionsRequest) (paging.Page, *paging.At, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	page, after := paging.ParseAt(&v, versionList(req.GetAllocationNumber()), ListLimits, req.GetPageSize(), req.GetPageToken())
	return page, after, v.Err()
}

func caseAllocationList(caseID string) string {
	return paging.Scoped("providermonitoring.case_allocations", caseID)
}

func allocationAt(al domain.Allocation) paging.At { return paging.At{Time: al.IssuedAt, ID: al.Number} }

func caseAllocationsFromRequest(req *providermonitoringv1.ListCaseAllocationsRequest) (paging.Page, *paging.At, error) {
	var v apperr.Validation
	// case_id: required, a UUID (the proto).
	page, after := paging.ParseAt(&v, caseAllocationList(req.GetCaseId()), ListLimits, req.GetPageSize(), req.GetPageToken())
	return page, after, v.Err()
}

// ReportProgress records a progress report.
func (s *Server) ReportProgress(ctx context.Context, req *providermonitoringv1.ReportProgressRequest) (*providermonitoringv1.ReportProgressResponse, error) {
	j, err := progressFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.ReportProgressResponse {
		return &providermonitoringv1.ReportProgressResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.ReportProgressResponse, error) {
		r, err := s.app.ReportProgress(ctx, req.GetAllocationNumber(), req.GetGoalIds(), j)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.ReportProgressResponse{Report: &providermonitoringv1.ProgressReport{
			Id: r.ID, AllocationNumber: r.AllocationNumber, GoalIds: r.GoalIDs,
			Judgement:  protoenum.FromCode[providermonitoringv1.ProgressAssessment](string(r.Judgement)),
			ReportedAt: timestamppb.New(r.ReportedAt), ScaleDownAdvised: r.ScaleDownAdvised,
		}}, nil
	})
}

// startFromRequest validates a start report and returns the day care started.
func startFromRequest(req *providermonitoringv1.ReportDeliveryStartedRequest) (time.Time, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	startedOn := valid.Date(&v, "started_on", req.GetStartedOn())
	return startedOn, v.Err()
}

// stopFromRequest validates a stop report and returns the day care stopped.
func (s *Server) stopFromRequest(req *providermonitoringv1.ReportDeliveryStoppedRequest) (time.Time, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	stoppedOn := valid.Date(&v, "stopped_on", req.GetStoppedOn())
	_, known := s.codes.StopReasons[req.GetReasonCode()]
	v.Check(known, "reason_code", "must be a JZ588 reason for ending, e.g. 20 (temporarily stopped) or 31 (as planned)")
	return stoppedOn, v.Err()
}

// changeFromRequest validates a change and maps it to the domain; empty fields keep their value.
func changeFromRequest(req *providermonitoringv1.ChangeAllocationRequest) (domain.Change, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	c := domain.Change{Reason: domain.ChangeReason(protoenum.Required(&v, "change_reason", req.GetChangeReason()))}
	if req.GetStartDate() != "" {
		d := valid.Date(&v, "start_date", req.GetStartDate())
		c.Start = &d
	}
	if req.GetEndDate() != "" {
		d := valid.Date(&v, "end_date", req.GetEndDate())
		c.End = &d
	}
	if req.GetVolume() != nil {
		vol := volume(&v, req.GetVolume())
		c.Volume = &vol
	}
	if req.GetBudgetCents() != 0 {
		b := req.GetBudgetCents()
		v.Check(b > 0, "budget_cents", "cannot be negative")
		c.BudgetCents = &b
	}
	return c, v.Err()
}

// withdrawalFromRequest validates a withdrawal and returns its reason code.
func withdrawalFromRequest(req *providermonitoringv1.WithdrawAllocationRequest) (string, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	reason := protoenum.Required(&v, "reason", req.GetReason())
	return reason, v.Err()
}

// progressFromRequest validates a progress report and returns its judgement.
func progressFromRequest(req *providermonitoringv1.ReportProgressRequest) (domain.Judgement, error) {
	var v apperr.Validation
	allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
	v.Check(len(req.GetGoalIds()) > 0, "goal_ids", "at least one goal is required")
	v.Check(len(req.GetGoalIds()) <= 50, "goal_ids", "at most 50 goals")
	seen := map[string]bool{}
	for i, g := range req.GetGoalIds() {
		valid.UUID(&v, "goal_ids["+itoa(i)+"]", g)
		// A UUID in upper case is the same goal (RFC 4122).
		g = strings.ToLower(g)
		v.Check(!seen[g], "goal_ids["+itoa(i)+"]", "listed twice")
		seen[g] = true
	}
	j := protoenum.Required(&v, "judgement", req.GetJudgement())
	return domain.Judgement(j), v.Err()
}

func allocationNumber(v *apperr.Validation, field, s string) {
	v.Check(allocationNumberRe.MatchString(s), field, "must be an allocation number like TW0000000001")
}

// volume maps the API's volume to the iJw/iWmo codes the service stores (WJ756, WJ757).
func volume(v *apperr.Validation, vol *commonv1.Volume) domain.Volume {
	if vol == nil {
		v.Add("volume", "required")
		return domain.Volume{}
	}
	v.Check(vol.GetAmount() > 0, "volume.amount", "must be greater than 0")
	out := domain.Volume{Amount: vol.GetAmount(), Unit: unitCode(v, "volume.unit", vol.GetUnit()),
		Frequency: frequencyCode(v, "volume.frequency", vol.GetFrequency())}
	if max := out.MaxPerPeriod(); max > 0 && out.Amount > max {
		v.Add("volume.amount", fmt.Sprintf("at most %d %s per %s: more does not fit in the period", max,
			strings.ToLower(strings.ReplaceAll(domain.UnitName(out.Unit), "_", " ")), strings.ToLower(domain.FrequencyName(out.Frequency))))
	}
	return out
}

func unitCode(v *apperr.Validation, field string, u commonv1.VolumeUnit) string {
	c := domain.UnitCode(protoenum.Code(u))
	v.Check(c != "", field, "required: one of the defined volume units")
	return c
}

func frequencyCode(v *apperr.Validation, field string, f commonv1.VolumeFrequency) string {
	c := domain.FrequencyCode(protoenum.Code(f))
	v.Check(c != "", field, "required: one of the defined volume frequencies")
	return c
}

// unitOf is the API's unit of a stored WJ756 code (unspecified for a code the list lacks).
func unitOf(code string) commonv1.VolumeUnit {
	return protoenum.FromCode[commonv1.VolumeUnit](domain.UnitName(code))
}

// volumeToProto shows a stored volume with its enums and its iJw/iWmo codes.
func volumeToProto(vol domain.Volume) *commonv1.Volume {
	return &commonv1.Volume{Amount: vol.Amount, Unit: unitOf(vol.Unit),
		Frequency: protoenum.FromCode[commonv1.VolumeFrequency](domain.FrequencyName(vol.Frequency)),
		UnitCode:  vol.Unit, FrequencyCode: vol.Frequency}
}

// place checks the district and that it lies in the municipality (whose own format the caller
// checks, or the proto requires): a CBS district code carries its municipality's
// number (WK0363xx lies in GM0363), so a mismatch is a mistake in the request, not a question
// for the contract check.
func place(v *apperr.Validation, municipality, district string) {
	valid.District(v, "district_code", district)
	valid.DistrictOf(v, "district_code", district, municipality)
}

// product checks a product's category on the national list (the shapes of category and code
// are the proto's rules for an allocation, the caller's for a request).
func (s *Server) product(v *apperr.Validation, prefix, category, code string) domain.Product {
	if _, ok := s.codes.ProductCategories[category]; !ok && category != "" {
		v.Add(prefix+"product_category", "must be a product category of the national iJw/iWmo list")
	}
	return domain.Product{Category: category, Code: code}
}

// period checks a start date and an optional end date not before it.
func period(v *apperr.Validation, startField, start, endField, end string) (time.Time, *time.Time) {
	s := valid.Date(v, startField, start)
	if end == "" {
		return s, nil
	}
	e := valid.Date(v, endField, end)
	if !e.IsZero() && !s.IsZero() && e.Before(s) {
		v.Add(endField, "cannot be before "+startField)
	}
	return s, &e
}

func (s *Server) allocationFromRequest(req *providermonitoringv1.AllocateRequest) (domain.Allocation, error) {
	var v apperr.Validation
	// case_id, municipality_code, provider_agb, product_category, product_code: required with
	// their formats (the proto).
	place(&v, req.GetMunicipalityCode(), req.GetDistrictCode())
	p := s.product(&v, "", req.GetProductCategory(), req.GetProductCode())
	start, end := period(&v, "start_date", req.GetStartDate(), "end_date", req.GetEndDate())
	vol := volume(&v, req.GetVolume())
	v.Check(req.GetBudgetCents() >= 0, "budget_cents", "cannot be negative")
	al := domain.Allocation{
		ProviderAGB: req.GetProviderAgb(), CaseID: req.GetCaseId(),
		Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode(),
		Product: p, Start: start, End: end, Volume: vol,
		BudgetCents: req.GetBudgetCents(), Form: domain.Form(protoenum.Code(req.GetForm())),
	}
	return al, v.Err()
}

func itoa(i int) string { return strconv.Itoa(i) }

func allocationToProto(a domain.Allocation) *providermonitoringv1.Allocation {
	out := &providermonitoringv1.Allocation{
		Number: a.Number, ProviderAgb: a.ProviderAGB, CaseId: a.CaseID,
		MunicipalityCode: a.Municipality, DistrictCode: a.District,
		ProductCategory: a.Product.Category, ProductCode: a.Product.Code,
		StartDate:   a.Start.Format(domain.DateLayout),
		Volume:      volumeToProto(a.Volume),
		Status:      protoenum.FromCode[commonv1.AllocationStatus](string(a.Status)),
		IssuedAt:    timestamppb.New(a.IssuedAt),
		Version:     a.Version,
		BudgetCents: a.BudgetCents,
		Form:        protoenum.FromCode[providermonitoringv1.AllocationForm](string(a.Form)),
		ContractId:  a.ContractID, RequestId: a.RequestID,
		StopReasonCode:   a.StopReason,
		WithdrawalReason: protoenum.FromCode[providermonitoringv1.WithdrawalReason](a.WithdrawalReason),
		DecisionNumber:   a.DecisionNumber,
	}
	if a.End != nil {
		out.EndDate = a.End.Format(domain.DateLayout)
	}
	if a.StartedOn != nil {
		out.StartedOn = a.StartedOn.Format(domain.DateLayout)
	}
	if a.FirstStartedOn != nil {
		out.FirstStartedOn = a.FirstStartedOn.Format(domain.DateLayout)
	}
	if a.StartReportedOnTime != nil {
		out.StartReportedOnTime = *a.StartReportedOnTime
	}
	if a.StoppedOn != nil {
		out.StoppedOn = a.StoppedOn.Format(domain.DateLayout)
	}
	if a.StopReportedOnTime != nil {
		out.StopReportedOnTime = *a.StopReportedOnTime
	}
	if a.NotStartedAlertedAt != nil {
		out.NotStartedAlertedAt = timestamppb.New(*a.NotStartedAlertedAt)
	}
	return out
}
