package grpcapi

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// CreateHousehold registers a household.
func (s *Server) CreateHousehold(ctx context.Context, req *intakev1.CreateHouseholdRequest) (*intakev1.CreateHouseholdResponse, error) {
	h, startedOn, err := householdFromRequest(req, time.Now())
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.CreateHouseholdResponse { return &intakev1.CreateHouseholdResponse{} },
		func(ctx context.Context) (*intakev1.CreateHouseholdResponse, error) {
			out, err := s.app.CreateHousehold(ctx, h, startedOn)
			if err != nil {
				return nil, err
			}
			return &intakev1.CreateHouseholdResponse{Household: householdToProto(withoutDetails(out))}, nil
		})
}

// AddHouseholdMember adds a member to a household.
func (s *Server) AddHouseholdMember(ctx context.Context, req *intakev1.AddHouseholdMemberRequest) (*intakev1.AddHouseholdMemberResponse, error) {
	m, err := addMemberFromRequest(req, time.Now())
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.AddHouseholdMemberResponse { return &intakev1.AddHouseholdMemberResponse{} },
		func(ctx context.Context) (*intakev1.AddHouseholdMemberResponse, error) {
			out, err := s.app.AddHouseholdMember(ctx, req.GetHouseholdId(), m)
			if err != nil {
				return nil, err
			}
			return &intakev1.AddHouseholdMemberResponse{Household: householdToProto(withoutDetails(out))}, nil
		})
}

// RemoveHouseholdMember ends a membership.
func (s *Server) RemoveHouseholdMember(ctx context.Context, req *intakev1.RemoveHouseholdMemberRequest) (*intakev1.RemoveHouseholdMemberResponse, error) {
	if err := removeMemberFromRequest(req, time.Now()); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.RemoveHouseholdMemberResponse { return &intakev1.RemoveHouseholdMemberResponse{} },
		func(ctx context.Context) (*intakev1.RemoveHouseholdMemberResponse, error) {
			out, err := s.app.RemoveHouseholdMember(ctx, req.GetHouseholdId(), req.GetResidentId(), req.GetEndedOn())
			if err != nil {
				return nil, err
			}
			return &intakev1.RemoveHouseholdMemberResponse{Household: householdToProto(withoutDetails(out))}, nil
		})
}

// GetHousehold returns a household with its address and history.
func (s *Server) GetHousehold(ctx context.Context, req *intakev1.GetHouseholdRequest) (*intakev1.GetHouseholdResponse, error) {
	h, err := s.app.GetHousehold(ctx, req.GetHouseholdId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetHouseholdResponse{Household: householdToProto(h)}, nil
}

// withoutDetails drops the address and the members' names and dates of birth (for answers
// stored in plain form).
func withoutDetails(h domain.Household) domain.Household {
	h.Address = domain.Address{}
	members := make([]domain.Member, len(h.Members))
	for i, m := range h.Members {
		m.Name, m.BirthDate = domain.Name{}, ""
		members[i] = m
	}
	h.Members = members
	return h
}

func householdToProto(h domain.Household) *intakev1.Household {
	out := &intakev1.Household{Id: h.ID, MunicipalityCode: h.Municipality, DistrictCode: h.District, Address: addressToProto(h.Address)}
	for _, m := range h.Members {
		out.Members = append(out.Members, &intakev1.HouseholdMember{ResidentId: m.ResidentID,
			Role: protoenum.FromCode[intakev1.HouseholdRole](m.Role), StartedOn: m.StartedOn, EndedOn: m.EndedOn,
			Name: nameToProto(m.Name), BirthDate: m.BirthDate})
	}
	return out
}

// ListHouseholdResidents tells a Wijkbrug service a household's current members (ids and
// pseudonyms only).
func (s *Server) ListHouseholdResidents(ctx context.Context, req *intakev1.ListHouseholdResidentsRequest) (*intakev1.ListHouseholdResidentsResponse, error) {
	page, err := householdResidentsFromRequest(req)
	if err != nil {
		return nil, err
	}
	after := ""
	if !page.First() {
		after = page.After[0]
	}
	refs, more, err := s.app.ListHouseholdResidents(ctx, req.GetHouseholdId(), after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListHouseholdResidentsResponse{}
	for _, r := range refs {
		out.Residents = append(out.Residents, &commonv1.ResidentPseudonym{ResidentId: r.ResidentID, Pseudonym: r.Pseudonym})
	}
	if more {
		out.NextPageToken = paging.Token(householdResidentList(req), refs[len(refs)-1].ResidentID)
	}
	return out, nil
}

// HouseholdResidentLimits are the page sizes of ListHouseholdResidents.
var HouseholdResidentLimits = paging.Limits{Default: 100, Max: 500}

func householdResidentList(req *intakev1.ListHouseholdResidentsRequest) string {
	return paging.Scoped("intake.household_residents", req.GetHouseholdId())
}

func householdResidentsFromRequest(req *intakev1.ListHouseholdResidentsRequest) (paging.Page, error) {
	var v apperr.Validation
	// household_id: the proto's rule (a required UUID).
	page := paging.Parse(&v, householdResidentList(req), 1, HouseholdResidentLimits, req.GetPageSize(), req.GetPageToken())
	if !page.First() && uuid.Validate(page.After[0]) != nil {
		v.Add("page_token", "not a token from a previous page of this list")
	}
	return page, v.Err()
}
