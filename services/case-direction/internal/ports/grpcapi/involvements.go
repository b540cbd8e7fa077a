package grpcapi

import (
	"context"
	"time"

	"github.com/google/uuid"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/protoconv"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// AddInvolvement involves an organisation in the team's case.
func (s *Server) AddInvolvement(ctx context.Context, req *casedirectionv1.AddInvolvementRequest) (*casedirectionv1.AddInvolvementResponse, error) {
	in, err := involvementFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.AddInvolvementResponse { return &casedirectionv1.AddInvolvementResponse{} },
		func(ctx context.Context) (*casedirectionv1.AddInvolvementResponse, error) {
			c, i, err := s.app.AddInvolvement(ctx, req.GetCaseId(), in)
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.AddInvolvementResponse{Involvement: involvementToProto(i, s.app.Now()), Case: s.caseToProto(c)}, nil
		})
}

// involvementFromRequest validates an AddInvolvementRequest (every violation at once) and maps
// it to a domain involvement. Dates are checked against today by the application, whose clock
// tests control.
func involvementFromRequest(req *casedirectionv1.AddInvolvementRequest) (domain.Involvement, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id, organisation_oin: required with their formats (the proto).
	orgType := protoenum.Code(req.GetOrganisationType())
	v.Check(knownOrgType(orgType), "organisation_type", "must be an organisation type other than SERVICE and INTEGRATOR")
	if req.GetProfessionalId() != "" {
		professionalID(&v, "professional_id", req.GetProfessionalId())
	}
	role := protoenum.Required(&v, "role", req.GetRole())
	if domain.InvolvementRole(role) == domain.RoleDirector {
		v.Add("role", "the director is assigned with AssignDirector")
	}
	i := domain.Involvement{OrgType: orgType, OrgOIN: req.GetOrganisationOin(),
		ProfessionalID: req.GetProfessionalId(), Role: domain.InvolvementRole(role)}
	if req.GetValidFrom() != "" {
		i.ValidFrom = valid.Date(&v, "valid_from", req.GetValidFrom())
	}
	if req.GetValidTo() != "" {
		if to := valid.Date(&v, "valid_to", req.GetValidTo()); !to.IsZero() {
			i.ValidTo = &to
			if !i.ValidFrom.IsZero() && to.Before(i.ValidFrom) {
				v.Add("valid_to", "must not be before valid_from")
			}
		}
	}
	return i, v.Err()
}

// EndInvolvement ends an involvement of the team's case.
func (s *Server) EndInvolvement(ctx context.Context, req *casedirectionv1.EndInvolvementRequest) (*casedirectionv1.EndInvolvementResponse, error) {
	lastDay, err := endFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *casedirectionv1.EndInvolvementResponse { return &casedirectionv1.EndInvolvementResponse{} },
		func(ctx context.Context) (*casedirectionv1.EndInvolvementResponse, error) {
			c, i, err := s.app.EndInvolvement(ctx, req.GetCaseId(), req.GetInvolvementId(), lastDay)
			if err != nil {
				return nil, err
			}
			return &casedirectionv1.EndInvolvementResponse{Involvement: involvementToProto(i, s.app.Now()), Case: s.caseToProto(c)}, nil
		})
}

// endFromRequest validates an EndInvolvementRequest; it returns the last day (nil = now).
func endFromRequest(req *casedirectionv1.EndInvolvementRequest) (*time.Time, error) {
	var v apperr.Validation
	idempotencyKey(&v, req.GetIdempotencyKey())
	// case_id, involvement_id: required UUIDs (the proto).
	var lastDay *time.Time
	if req.GetValidTo() != "" {
		if d := valid.Date(&v, "valid_to", req.GetValidTo()); !d.IsZero() {
			lastDay = &d
		}
	}
	return lastDay, v.Err()
}

// ListInvolvements lists the involvements of a case the caller may read.
func (s *Server) ListInvolvements(ctx context.Context, req *casedirectionv1.ListInvolvementsRequest) (*casedirectionv1.ListInvolvementsResponse, error) {
	page, after, err := listInvolvementsFromRequest(req)
	if err != nil {
		return nil, err
	}
	all, err := s.app.ListInvolvements(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	// The case's involvements are read with the case (and so bounded by it): paged here.
	list, more := paging.Seek(all, involvementAt, after, page.Size)
	now := s.app.Now()
	out := &casedirectionv1.ListInvolvementsResponse{}
	for _, i := range list {
		out.Involvements = append(out.Involvements, involvementToProto(i, now))
	}
	if more {
		last := involvementAt(list[len(list)-1])
		out.NextPageToken = paging.TokenAt(involvementList(req.GetCaseId()), last.Time, last.ID)
	}
	return out, nil
}

// ListLimits are the page sizes of a case's involvements and residents.
var ListLimits = paging.Limits{Default: 100, Max: 500}

func involvementList(caseID string) string {
	return paging.Scoped("casedirection.involvements", caseID)
}

func involvementAt(i domain.Involvement) paging.At { return paging.At{Time: i.CreatedAt, ID: i.ID} }

func involvementToProto(i domain.Involvement, now time.Time) *casedirectionv1.Involvement {
	out := &casedirectionv1.Involvement{
		Id: i.ID, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](i.OrgType), OrganisationOin: i.OrgOIN, ProfessionalId: i.ProfessionalID,
		Role: protoconv.InvolvementRole(i.Role), ValidFrom: i.ValidFrom.Format(time.DateOnly), ValidTo: protoconv.Date(i.ValidTo),
		Active: i.ActiveAt(now), CreatedAt: timestamppb.New(i.CreatedAt),
	}
	if i.EndedAt != nil {
		out.EndedAt = timestamppb.New(*i.EndedAt)
	}
	return out
}

// listInvolvementsFromRequest validates a ListInvolvementsRequest.
func listInvolvementsFromRequest(req *casedirectionv1.ListInvolvementsRequest) (paging.Page, *paging.At, error) {
	var v apperr.Validation
	// case_id: required, a UUID (the proto).
	page, after := paging.ParseAt(&v, involvementList(req.GetCaseId()), ListLimits, req.GetPageSize(), req.GetPageToken())
	return page, after, v.Err()
}

// CheckCaseInvolvement answers another Wijkbrug service whether an organisation may act on a
// case (its team, or an active involvement).
func (s *Server) CheckCaseInvolvement(ctx context.Context, req *casedirectionv1.CheckCaseInvolvementRequest) (*casedirectionv1.CheckCaseInvolvementResponse, error) {
	var v apperr.Validation
	// case_id, organisation_oin: required with their formats (the proto).
	orgType := protoenum.Required(&v, "organisation_type", req.GetOrganisationType())
	if err := v.Err(); err != nil {
		return nil, err
	}
	involved, facts, err := s.app.CheckInvolvement(ctx, req.GetCaseId(), req.GetOrganisationOin(), orgType, req.GetWithFacts())
	if err != nil {
		return nil, err
	}
	out := &casedirectionv1.CheckCaseInvolvementResponse{Involved: involved}
	if facts != nil {
		out.Case, out.CaseResidentPseudonyms = s.caseToProto(*facts), facts.CurrentPseudonyms()
	}
	return out, nil
}

// ListCaseResidents tells a Wijkbrug service the residents a case concerns now.
func (s *Server) ListCaseResidents(ctx context.Context, req *casedirectionv1.ListCaseResidentsRequest) (*casedirectionv1.ListCaseResidentsResponse, error) {
	page, err := caseResidentsFromRequest(req)
	if err != nil {
		return nil, err
	}
	after := ""
	if !page.First() {
		after = page.After[0]
	}
	refs, more, err := s.app.ListCaseResidents(ctx, req.GetCaseId(), after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &casedirectionv1.ListCaseResidentsResponse{}
	for _, r := range refs {
		out.Residents = append(out.Residents, &commonv1.ResidentPseudonym{ResidentId: r.ResidentID, Pseudonym: r.Pseudonym})
	}
	if more {
		out.NextPageToken = paging.Token(caseResidentList(req.GetCaseId()), refs[len(refs)-1].ResidentID)
	}
	return out, nil
}

func caseResidentList(caseID string) string {
	return paging.Scoped("casedirection.case_residents", caseID)
}

func caseResidentsFromRequest(req *casedirectionv1.ListCaseResidentsRequest) (paging.Page, error) {
	var v apperr.Validation
	// case_id: the proto's rule (a required UUID).
	page := paging.Parse(&v, caseResidentList(req.GetCaseId()), 1, ListLimits, req.GetPageSize(), req.GetPageToken())
	if !page.First() && uuid.Validate(page.After[0]) != nil {
		v.Add("page_token", "not a token from a previous page of this list")
	}
	return page, v.Err()
}

// involvedList names the list of a caller's involved cases in its page tokens.
const involvedList = "casedirection.involved_cases"

// listInvolvedFromRequest validates a ListInvolvedCasesRequest (every violation at once).
func listInvolvedFromRequest(req *casedirectionv1.ListInvolvedCasesRequest) (paging.Page, *domain.Cursor, error) {
	var v apperr.Validation
	page, at := paging.ParseAt(&v, involvedList, CaseLimits, req.GetPageSize(), req.GetPageToken())
	var after *domain.Cursor
	if at != nil {
		if uuid.Validate(at.ID) != nil {
			v.Add("page_token", "not a token from a previous page of this list")
		} else {
			after = &domain.Cursor{OpenedAt: at.Time, ID: at.ID}
		}
	}
	return page, after, v.Err()
}

// ListInvolvedCases lists the cases the calling organisation is involved in now, as it may see
// them.
func (s *Server) ListInvolvedCases(ctx context.Context, req *casedirectionv1.ListInvolvedCasesRequest) (*casedirectionv1.ListInvolvedCasesResponse, error) {
	page, after, err := listInvolvedFromRequest(req)
	if err != nil {
		return nil, err
	}
	list, err := s.app.ListInvolvedCases(ctx, after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &casedirectionv1.ListInvolvedCasesResponse{}
	for _, c := range list.Cases {
		out.Cases = append(out.Cases, s.caseToProto(c))
	}
	if n := list.Next; n != nil {
		out.NextPageToken = paging.TokenAt(involvedList, n.OpenedAt, n.ID)
	}
	return out, nil
}
