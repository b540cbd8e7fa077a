package grpcapi

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"
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

// SubmitAllocationRequest registers a provider's request for allocation or change.
func (s *Server) SubmitAllocationRequest(ctx context.Context, req *providermonitoringv1.SubmitAllocationRequestRequest) (*providermonitoringv1.SubmitAllocationRequestResponse, error) {
	q, err := s.requestFromProto(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.SubmitAllocationRequestResponse {
		return &providermonitoringv1.SubmitAllocationRequestResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.SubmitAllocationRequestResponse, error) {
		out, err := s.app.SubmitRequest(ctx, q)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.SubmitAllocationRequestResponse{Request: s.requestToProto(out)}, nil
	})
}

// requestFromProto validates a request for allocation or change and maps it to the domain.
func (s *Server) requestFromProto(req *providermonitoringv1.SubmitAllocationRequestRequest) (domain.Request, error) {
	var v apperr.Validation
	q := domain.Request{Kind: domain.RequestKind(protoenum.Required(&v, "kind", req.GetKind())), ProviderAGB: req.GetProviderAgb()}
	// provider_agb: required, an AGB code (the proto).
	q.Start, q.End = period(&v, "start_date", req.GetStartDate(), "end_date", req.GetEndDate())
	q.Volume = volume(&v, req.GetVolume())
	switch q.Kind {
	case domain.RequestAllocation:
		valid.Municipality(&v, "municipality_code", req.GetMunicipalityCode())
		place(&v, req.GetMunicipalityCode(), req.GetDistrictCode())
		q.Municipality, q.District = req.GetMunicipalityCode(), req.GetDistrictCode()
		valid.Code(&v, "product_category", req.GetProductCategory())
		valid.Code(&v, "product_code", req.GetProductCode())
		q.Product = s.product(&v, "", req.GetProductCategory(), req.GetProductCode())
		name, ok := s.codes.ReferrerTypes[req.GetReferrerType()]
		v.Check(ok, "referrer_type", "must be a COD327 referrer type, e.g. 02 (GP)")
		switch {
		case domain.ReferrerHasAGB(req.GetReferrerType()):
			valid.AGB(&v, "referrer_code", req.GetReferrerCode())
		case ok:
			v.Check(req.GetReferrerCode() == "", "referrer_code", "referrer type "+req.GetReferrerType()+" ("+name+") has no referrer code: leave it empty")
		}
		v.Check(req.GetAllocationNumber() == "", "allocation_number", "only for a request for change")
		v.Check(req.GetChangeReasonText() == "", "change_reason_text", "only for a request for change")
		// referrer_code: an AGB code for a referrer that has one, else none (ReferrerHasAGB).
		q.ReferrerType, q.ReferrerCode = req.GetReferrerType(), req.GetReferrerCode()
	case domain.RequestChange:
		allocationNumber(&v, "allocation_number", req.GetAllocationNumber())
		for f, val := range map[string]string{"municipality_code": req.GetMunicipalityCode(), "district_code": req.GetDistrictCode(),
			"product_category": req.GetProductCategory(), "product_code": req.GetProductCode(), "referrer_type": req.GetReferrerType(), "referrer_code": req.GetReferrerCode()} {
			v.Check(val == "", f, "taken from the allocation; leave empty in a request for change")
		}
		valid.Text(&v, "change_reason_text", req.GetChangeReasonText(), 1, 500)
		q.AllocationNumber, q.ChangeReasonText = req.GetAllocationNumber(), req.GetChangeReasonText()
	}
	return q, v.Err()
}

// AnswerAllocationRequest answers a request.
func (s *Server) AnswerAllocationRequest(ctx context.Context, req *providermonitoringv1.AnswerAllocationRequestRequest) (*providermonitoringv1.AnswerAllocationRequestResponse, error) {
	ans, err := answerFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.AnswerAllocationRequestResponse {
		return &providermonitoringv1.AnswerAllocationRequestResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.AnswerAllocationRequestResponse, error) {
		q, al, err := s.app.AnswerRequest(ctx, req.GetRequestId(), ans)
		if err != nil {
			return nil, err
		}
		out := &providermonitoringv1.AnswerAllocationRequestResponse{Request: s.requestToProto(q)}
		if al != nil {
			out.Allocation = allocationToProto(*al)
		}
		return out, nil
	})
}

// answerFromRequest validates an answer to a request and maps it to the application's Answer.
func answerFromRequest(req *providermonitoringv1.AnswerAllocationRequestRequest) (app.Answer, error) {
	var v apperr.Validation
	// request_id: required, a UUID (the proto).
	ans := app.Answer{BudgetCents: req.GetBudgetCents(), Form: domain.Form(protoenum.Code(req.GetForm())), CaseID: req.GetCaseId()}
	switch req.GetDecision() {
	case providermonitoringv1.AnswerDecision_ANSWER_DECISION_GRANT:
		ans.Decision = domain.RequestGranted
		// case_id: the proto's rule (empty or a UUID).
		v.Check(req.GetBudgetCents() >= 0, "budget_cents", "cannot be negative")
		v.Check(req.GetRefusalReason() == "", "refusal_reason", "only for a refusal")
	case providermonitoringv1.AnswerDecision_ANSWER_DECISION_REFUSE:
		ans.Decision, ans.RefusalReason = domain.RequestRefused, strings.TrimSpace(req.GetRefusalReason())
		valid.Text(&v, "refusal_reason", ans.RefusalReason, 1, 1000)
	case providermonitoringv1.AnswerDecision_ANSWER_DECISION_UNDER_INVESTIGATION:
		ans.Decision = domain.RequestUnderInvestigation
		v.Check(req.GetRefusalReason() == "", "refusal_reason", "only for a refusal")
	default:
		v.Add("decision", "required: GRANT, REFUSE or UNDER_INVESTIGATION")
	}
	if ans.Decision != domain.RequestGranted {
		v.Check(req.GetCaseId() == "" && req.GetBudgetCents() == 0 && req.GetForm() == 0, "case_id", "case, budget and form only when granting")
	}
	return ans, v.Err()
}

// DescribeAllocationRequest returns one request.
func (s *Server) DescribeAllocationRequest(ctx context.Context, req *providermonitoringv1.DescribeAllocationRequestRequest) (*providermonitoringv1.DescribeAllocationRequestResponse, error) {
	q, err := s.app.GetRequest(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &providermonitoringv1.DescribeAllocationRequestResponse{Request: s.requestToProto(q)}, nil
}

// ListAllocationRequests lists a municipality's requests, a page at a time.
func (s *Server) ListAllocationRequests(ctx context.Context, req *providermonitoringv1.ListAllocationRequestsRequest) (*providermonitoringv1.ListAllocationRequestsResponse, error) {
	size, afterAt, afterID, err := pageFromRequest(req)
	if err != nil {
		return nil, err
	}
	list, err := s.app.ListRequests(ctx, req.GetMunicipalityCode(), req.GetOpenOnly(), afterAt, afterID, size+1)
	if err != nil {
		return nil, err
	}
	out := &providermonitoringv1.ListAllocationRequestsResponse{}
	if len(list) > size {
		list = list[:size]
		last := list[size-1]
		out.NextPageToken = encodeToken(last.ReceivedAt, last.ID)
	}
	for _, q := range list {
		out.Requests = append(out.Requests, s.requestToProto(q))
	}
	return out, nil
}

// pageFromRequest validates a page of the request list: its size and where it starts.
func pageFromRequest(req *providermonitoringv1.ListAllocationRequestsRequest) (size int, afterAt time.Time, afterID string, err error) {
	var v apperr.Validation
	// municipality_code: required, a CBS code (the proto).
	// page_size: checked as every list checks it (paging.Parse), so a size out of range is
	// refused with the same words as elsewhere ("must be 1-500 (0 = 100)"), which replace the
	// proto's range rule's; this list's page_token is its own and is checked below.
	size = paging.Parse(&v, "", 0, ListLimits, req.GetPageSize(), "").Size
	afterAt, afterID = time.Unix(0, 0).UTC(), uuid.Nil.String()
	if t := req.GetPageToken(); t != "" {
		var ok bool
		afterAt, afterID, ok = decodeToken(t)
		v.Check(ok, "page_token", "not a token from a previous page")
	}
	return size, afterAt, afterID, v.Err()
}

// A page token is the last row's (received_at, id): opaque to callers, stable under inserts.
func encodeToken(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeToken(t string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return time.Time{}, "", false
	}
	at, id, ok := strings.Cut(string(b), "|")
	ts, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || uuid.Validate(id) != nil {
		return time.Time{}, "", false
	}
	return ts, id, true
}

func (s *Server) requestToProto(q domain.Request) *providermonitoringv1.AllocationRequest {
	out := &providermonitoringv1.AllocationRequest{
		Id: q.ID, Kind: protoenum.FromCode[providermonitoringv1.AllocationRequestKind](string(q.Kind)),
		ProviderAgb: q.ProviderAGB, MunicipalityCode: q.Municipality, DistrictCode: q.District,
		AllocationNumber: q.AllocationNumber, ProductCategory: q.Product.Category, ProductCode: q.Product.Code,
		StartDate:    q.Start.Format(domain.DateLayout),
		Volume:       volumeToProto(q.Volume),
		ReferrerType: q.ReferrerType, ReferrerCode: q.ReferrerCode,
		Status:     protoenum.FromCode[providermonitoringv1.AllocationRequestStatus](string(q.Status)),
		ReceivedAt: timestamppb.New(q.ReceivedAt), AnswerDue: q.AnswerDue.Format(domain.DateLayout),
		Overdue: s.app.Overdue(q), RefusalReason: q.RefusalReason, ResultingAllocationNumber: q.ResultingAllocation,
		ChangeReasonText: q.ChangeReasonText,
	}
	if q.End != nil {
		out.EndDate = q.End.Format(domain.DateLayout)
	}
	if q.AnsweredAt != nil {
		out.AnsweredAt, out.AnsweredOnTime = timestamppb.New(*q.AnsweredAt), *q.AnsweredOnTime
	}
	if q.DecisionDue != nil {
		out.DecisionDue = q.DecisionDue.Format(domain.DateLayout)
	}
	if q.DecidedAt != nil {
		out.DecidedAt, out.DecidedOnTime = timestamppb.New(*q.DecidedAt), *q.DecidedOnTime
	}
	return out
}

// RegisterProvider registers a provider.
func (s *Server) RegisterProvider(ctx context.Context, req *providermonitoringv1.RegisterProviderRequest) (*providermonitoringv1.RegisterProviderResponse, error) {
	p, err := providerFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.RegisterProviderResponse {
		return &providermonitoringv1.RegisterProviderResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.RegisterProviderResponse, error) {
		p, err := s.app.RegisterProvider(ctx, p)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.RegisterProviderResponse{Provider: &providermonitoringv1.Provider{Agb: p.AGB, Name: p.Name, Oin: p.OIN}}, nil
	})
}

// CorrectProvider corrects a provider's registration.
func (s *Server) CorrectProvider(ctx context.Context, req *providermonitoringv1.CorrectProviderRequest) (*providermonitoringv1.CorrectProviderResponse, error) {
	var v apperr.Validation
	// agb: required with its format; oin: its format when given (the proto).
	name := strings.TrimSpace(req.GetName())
	if name != "" {
		valid.Text(&v, "name", name, 2, 200)
	}
	v.Check(name != "" || req.GetOin() != "", "name", "give the corrected name, the corrected oin, or both")
	reason := strings.TrimSpace(req.GetReason())
	valid.Text(&v, "reason", reason, 10, 500)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.CorrectProviderResponse {
		return &providermonitoringv1.CorrectProviderResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.CorrectProviderResponse, error) {
		p, corrected, err := s.app.CorrectProvider(ctx, req.GetAgb(), name, req.GetOin(), reason)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.CorrectProviderResponse{Provider: &providermonitoringv1.Provider{Agb: p.AGB, Name: p.Name, Oin: p.OIN}, Corrected: corrected}, nil
	})
}

// ListProviderCorrections lists a provider's corrections.
func (s *Server) ListProviderCorrections(ctx context.Context, req *providermonitoringv1.ListProviderCorrectionsRequest) (*providermonitoringv1.ListProviderCorrectionsResponse, error) {
	cs, err := s.app.ProviderCorrections(ctx, req.GetAgb())
	if err != nil {
		return nil, err
	}
	out := &providermonitoringv1.ListProviderCorrectionsResponse{}
	for _, c := range cs {
		out.Corrections = append(out.Corrections, &providermonitoringv1.ProviderCorrection{CorrectedAt: timestamppb.New(c.At),
			CorrectedByOin: c.ByOIN, CorrectedByUser: c.ByUser, OldName: c.OldName, NewName: c.NewName, OldOin: c.OldOIN, NewOin: c.NewOIN, Reason: c.Reason})
	}
	return out, nil
}

// AddContract adds a contract.
func (s *Server) AddContract(ctx context.Context, req *providermonitoringv1.AddContractRequest) (*providermonitoringv1.AddContractResponse, error) {
	c, err := s.contractFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *providermonitoringv1.AddContractResponse {
		return &providermonitoringv1.AddContractResponse{}
	}, func(ctx context.Context) (*providermonitoringv1.AddContractResponse, error) {
		out, err := s.app.AddContract(ctx, c)
		if err != nil {
			return nil, err
		}
		return &providermonitoringv1.AddContractResponse{Contract: contractToProto(out)}, nil
	})
}

// providerFromRequest validates a provider's registration.
func providerFromRequest(req *providermonitoringv1.RegisterProviderRequest) (domain.Provider, error) {
	var v apperr.Validation
	// agb, oin: required with their formats (the proto).
	name := strings.TrimSpace(req.GetName())
	valid.Text(&v, "name", name, 2, 200)
	return domain.Provider{AGB: req.GetAgb(), Name: name, OIN: req.GetOin()}, v.Err()
}

// contractFromRequest validates a new contract and maps it to the domain.
func (s *Server) contractFromRequest(req *providermonitoringv1.AddContractRequest) (domain.Contract, error) {
	var v apperr.Validation
	// provider_agb, municipality_code: required with their formats (the proto).
	c := domain.Contract{
		ProviderAGB: req.GetProviderAgb(), Municipality: req.GetMunicipalityCode(),
		Model: domain.ContractModel(protoenum.Code(req.GetModel())), Capacity: req.GetCapacity(),
		Districts: req.GetDistrictCodes(),
	}
	// district_codes[i]: each a CBS district code (the proto); that it lies in the
	// municipality is a rule across fields.
	for i, d := range req.GetDistrictCodes() {
		valid.DistrictOf(&v, "district_codes["+itoa(i)+"]", d, req.GetMunicipalityCode())
	}
	// products[i].code and .category: required codes (the proto); a category on the national
	// list and no product twice are the domain's rules.
	for _, p := range req.GetProducts() {
		c.Products = append(c.Products, domain.Product{Category: p.GetCategory(), Code: p.GetCode()})
	}
	// valid_to not before valid_from is the domain's rule (ValidateContract), reported once.
	c.ValidFrom = valid.Date(&v, "valid_from", req.GetValidFrom())
	if req.GetValidTo() != "" {
		if to := valid.Date(&v, "valid_to", req.GetValidTo()); !to.IsZero() {
			c.ValidTo = &to
		}
	}
	for _, rv := range domain.ValidateContract(c, s.codes) {
		v.Add(rv.Field, rv.Reason)
	}
	return c, v.Err()
}

// ListContracts lists a provider's contracts with a municipality.
func (s *Server) ListContracts(ctx context.Context, req *providermonitoringv1.ListContractsRequest) (*providermonitoringv1.ListContractsResponse, error) {
	page, after, err := listContractsFromRequest(req)
	if err != nil {
		return nil, err
	}
	all, err := s.app.ListContracts(ctx, req.GetProviderAgb(), req.GetMunicipalityCode())
	if err != nil {
		return nil, err
	}
	// A provider's contracts with one municipality are few: read whole, paged here.
	list, more := paging.Seek(all, contractAt, after, page.Size)
	out := &providermonitoringv1.ListContractsResponse{}
	for _, c := range list {
		out.Contracts = append(out.Contracts, contractToProto(c))
	}
	if more {
		last := contractAt(list[len(list)-1])
		out.NextPageToken = paging.TokenAt(contractList(req), last.Time, last.ID)
	}
	return out, nil
}

func contractList(req *providermonitoringv1.ListContractsRequest) string {
	return paging.Scoped("providermonitoring.contracts", req.GetProviderAgb(), req.GetMunicipalityCode())
}

func contractAt(c domain.Contract) paging.At { return paging.At{Time: c.ValidFrom, ID: c.ID} }

func listContractsFromRequest(req *providermonitoringv1.ListContractsRequest) (paging.Page, *paging.At, error) {
	var v apperr.Validation
	// provider_agb, municipality_code: required with their formats (the proto).
	page, after := paging.ParseAt(&v, contractList(req), ListLimits, req.GetPageSize(), req.GetPageToken())
	return page, after, v.Err()
}

// GetProviderOverview returns a provider's figures in a municipality.
func (s *Server) GetProviderOverview(ctx context.Context, req *providermonitoringv1.GetProviderOverviewRequest) (*providermonitoringv1.GetProviderOverviewResponse, error) {
	f, err := s.app.ProviderOverview(ctx, req.GetProviderAgb(), req.GetMunicipalityCode())
	if err != nil {
		return nil, err
	}
	return &providermonitoringv1.GetProviderOverviewResponse{Figures: figuresToProto(f)}, nil
}

// GetContractOverview returns a contract with its figures.
func (s *Server) GetContractOverview(ctx context.Context, req *providermonitoringv1.GetContractOverviewRequest) (*providermonitoringv1.GetContractOverviewResponse, error) {
	c, f, err := s.app.ContractOverview(ctx, req.GetContractId())
	if err != nil {
		return nil, err
	}
	return &providermonitoringv1.GetContractOverviewResponse{Contract: contractToProto(c), Figures: figuresToProto(f), ActiveAllocations: f.ActiveAllocations}, nil
}

func contractToProto(c domain.Contract) *providermonitoringv1.Contract {
	out := &providermonitoringv1.Contract{
		Id: c.ID, ProviderAgb: c.ProviderAGB, Model: protoenum.FromCode[providermonitoringv1.ContractModel](string(c.Model)),
		MunicipalityCode: c.Municipality, DistrictCodes: c.Districts, Capacity: c.Capacity,
		ValidFrom: c.ValidFrom.Format(domain.DateLayout),
	}
	if c.ValidTo != nil {
		out.ValidTo = c.ValidTo.Format(domain.DateLayout)
	}
	for _, p := range c.Products {
		out.Products = append(out.Products, &providermonitoringv1.Product{Category: p.Category, Code: p.Code})
	}
	return out
}

func figuresToProto(f domain.Figures) *providermonitoringv1.MonitoringFigures {
	rt := func(c domain.ReportCount) *providermonitoringv1.ReportTimeliness {
		return &providermonitoringv1.ReportTimeliness{Reported: c.Reported, OnTime: c.OnTime, Late: c.Late()}
	}
	return &providermonitoringv1.MonitoringFigures{
		Issued: f.Issued, Started: f.Started, Paused: f.Paused, Ended: f.Ended, Withdrawn: f.Withdrawn,
		StartReports: rt(f.StartReports), StopReports: rt(f.StopReports),
		RequestsReceived: f.RequestsReceived, RequestsAnsweredLate: f.RequestsAnsweredLate, RequestsOverdue: f.RequestsOverdue,
		NotStarted: f.NotStarted, AverageWaitingDays: f.AverageWaitingDays, MaxWaitingDays: f.MaxWaitingDays,
		VolumeUse: volumeFiguresToProto(f.Volume),
	}
}
