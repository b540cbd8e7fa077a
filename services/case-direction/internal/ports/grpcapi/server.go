// Package grpc is the case-direction service's gRPC edge: it validates requests (reporting
// every violation at once), maps them to the domain and back, and makes mutating calls
// idempotent. Errors are typed (apperr) and become gRPC statuses in the shared interceptor.
package grpcapi

import (
	"context"
	"regexp"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// professionalIDRe accepts the opaque identifiers teams' systems use for their professionals
// (employee numbers, UUIDs, UZI or AGB numbers) and nothing that looks like a name or free
// text, because the id travels in events.
var professionalIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// Server implements CaseDirectionService.
type Server struct {
	casedirectionv1.UnimplementedCaseDirectionServiceServer
	app  *app.App
	idem *idempotency.Store
}

// NewServer returns the server.
func NewServer(a *app.App, idem *idempotency.Store) *Server { return &Server{app: a, idem: idem} }

// openFromRequest validates an OpenCaseRequest (every violation at once) and maps it to domain values.
func openFromRequest(req *casedirectionv1.OpenCaseRequest) (domain.Case, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// household_id, municipality_code, team_oin (required), intake_id, district_code (optional):
	// the proto's rules; the district must lie in the municipality.
	valid.DistrictOf(&v, "district_code", req.GetDistrictCode(), req.GetMunicipalityCode())
	c := domain.Case{
		HouseholdID:  req.GetHouseholdId(),
		IntakeID:     req.GetIntakeId(),
		Municipality: req.GetMunicipalityCode(),
		District:     req.GetDistrictCode(),
		TeamOIN:      req.GetTeamOin(),
		LifeDomains:  protoenum.LifeDomainCodes(&v, "life_domains", req.GetLifeDomains()),
	}
	// residents[i].resident_id (a UUID) and .pseudonym (at most 128 bytes), both required:
	// the proto's rules.
	for _, r := range req.GetResidents() {
		c.Residents = append(c.Residents, domain.ResidentRef{ResidentID: r.GetResidentId(), Pseudonym: r.GetPseudonym()})
	}
	c.BaselineAssessmentID = req.GetBaselineAssessmentId() // the proto's rule: empty or a UUID
	return c, v.Err()
}

// OpenCase opens the case of a household.
func (s *Server) OpenCase(ctx context.Context, req *casedirectionv1.OpenCaseRequest) (*casedirectionv1.OpenCaseResponse, error) {
	c, err := openFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.OpenCaseResponse { return &casedirectionv1.OpenCaseResponse{} },
		func(ctx context.Context) (*casedirectionv1.OpenCaseResponse, error) {
			out, err := s.app.OpenCase(ctx, c)
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.OpenCaseResponse{Case: s.caseToProto(out)}, nil
		})
}

// GetCase returns a case to its team.
// Its one field, case_id, is the proto's rule (required, a UUID).
func (s *Server) GetCase(ctx context.Context, req *casedirectionv1.GetCaseRequest) (*casedirectionv1.GetCaseResponse, error) {
	c, err := s.app.GetCase(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	return &casedirectionv1.GetCaseResponse{Case: s.caseToProto(c)}, nil
}

// assignFromRequest validates an AssignDirectorRequest (every violation at once).
func assignFromRequest(req *casedirectionv1.AssignDirectorRequest) error {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id: required, a UUID (the proto).
	v.Check(professionalIDRe.MatchString(req.GetProfessionalId()), "professional_id",
		"must be an identifier of 1-64 letters, digits, '.', '_', ':' or '-'")
	return v.Err()
}

// AssignDirector assigns (or hands over to) a director.
func (s *Server) AssignDirector(ctx context.Context, req *casedirectionv1.AssignDirectorRequest) (*casedirectionv1.AssignDirectorResponse, error) {
	err := assignFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.AssignDirectorResponse { return &casedirectionv1.AssignDirectorResponse{} },
		func(ctx context.Context) (*casedirectionv1.AssignDirectorResponse, error) {
			out, err := s.app.AssignDirector(ctx, req.GetCaseId(), req.GetProfessionalId())
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.AssignDirectorResponse{Case: s.caseToProto(out)}, nil
		})
}

// RequestAllocation allocates custom care for a case through provider-monitoring.
func (s *Server) RequestAllocation(ctx context.Context, req *casedirectionv1.RequestAllocationRequest) (*casedirectionv1.RequestAllocationResponse, error) {
	ar, err := allocationFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.RequestAllocationResponse { return &casedirectionv1.RequestAllocationResponse{} },
		func(ctx context.Context) (*casedirectionv1.RequestAllocationResponse, error) {
			c, number, err := s.app.RequestAllocation(ctx, req.GetCaseId(), req.GetIdempotencyKey(), ar, req.GetGoalIds())
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.RequestAllocationResponse{AllocationNumber: number, Case: s.caseToProto(c)}, nil
		})
}

// AttachAllocation records, for provider-monitoring, an allocation it is issuing for the case
// outside RequestAllocation; the proto's rules validate the request (origin PROVIDER_REQUEST
// or OTHER, issued_at required).
func (s *Server) AttachAllocation(ctx context.Context, req *casedirectionv1.AttachAllocationRequest) (*casedirectionv1.AttachAllocationResponse, error) {
	attached, err := s.app.AttachAllocation(ctx, req.GetCaseId(), domain.AllocationAction{
		Number: req.GetAllocationNumber(), ProviderAGB: req.GetProviderAgb(), ProductCategory: req.GetProductCategory(),
		ProductCode: req.GetProductCode(), Origin: protoenum.Code(req.GetOrigin()), DecisionNumber: req.GetDecisionNumber(),
		UpdatedAt: req.GetIssuedAt().AsTime(),
	})
	if err != nil {
		return nil, err
	}
	return &casedirectionv1.AttachAllocationResponse{Attached: attached}, nil
}

func allocationFromRequest(req *casedirectionv1.RequestAllocationRequest) (app.AllocationRequest, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id, provider_agb, product_category, product_code: required with their formats (the proto).
	start := valid.Date(&v, "start_date", req.GetStartDate())
	end := valid.Date(&v, "end_date", req.GetEndDate())
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		v.Add("end_date", "must not be before start_date")
	}
	vol := req.GetVolume()
	v.Check(vol.GetAmount() > 0, "volume.amount", "must be greater than 0")
	unit := protoenum.Required(&v, "volume.unit", vol.GetUnit())
	frequency := protoenum.Required(&v, "volume.frequency", vol.GetFrequency())
	uuids(&v, "goal_ids", req.GetGoalIds())
	return app.AllocationRequest{
		ProviderAGB:     req.GetProviderAgb(),
		ProductCategory: req.GetProductCategory(),
		ProductCode:     req.GetProductCode(),
		StartDate:       req.GetStartDate(),
		EndDate:         req.GetEndDate(),
		Volume:          app.Volume{Amount: vol.GetAmount(), Unit: unit, Frequency: frequency},
	}, v.Err()
}

// idempotencyKey reports a missing key together with the other violations; idempotency.Do
// would refuse it too, but only on its own.
func idempotencyKey(v *apperr.Validation, key string) {
	v.Check(key != "", "idempotency_key", "required for every change, so that a retry cannot apply it twice")
}
