package grpcapi

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// RegisterResident registers a resident by BSN.
func (s *Server) RegisterResident(ctx context.Context, req *intakev1.RegisterResidentRequest) (*intakev1.RegisterResidentResponse, error) {
	res, err := residentFromRequest(req, time.Now())
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.RegisterResidentResponse { return &intakev1.RegisterResidentResponse{} },
		func(ctx context.Context) (*intakev1.RegisterResidentResponse, error) {
			r, created, err := s.app.RegisterResident(ctx, res)
			if err != nil {
				return nil, err
			}
			// Without personal details: the answer is stored in plain form for replays.
			return &intakev1.RegisterResidentResponse{Resident: residentToProto(r.WithoutDetails()), Created: created}, nil
		})
}

// FindResident looks a resident up by BSN.
func (s *Server) FindResident(ctx context.Context, req *intakev1.FindResidentRequest) (*intakev1.FindResidentResponse, error) {
	var v apperr.Validation
	valid.BSN(&v, "bsn", req.GetBsn())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.app.FindResident(ctx, req.GetBsn())
	if err != nil {
		return nil, err
	}
	return &intakev1.FindResidentResponse{Resident: residentToProto(r)}, nil
}

// MergeResidents merges a duplicate resident. Both ids are the proto's rules (required UUIDs).
func (s *Server) MergeResidents(ctx context.Context, req *intakev1.MergeResidentsRequest) (*intakev1.MergeResidentsResponse, error) {
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.MergeResidentsResponse { return &intakev1.MergeResidentsResponse{} },
		func(ctx context.Context) (*intakev1.MergeResidentsResponse, error) {
			r, err := s.app.MergeResidents(ctx, req.GetKeepResidentId(), req.GetDuplicateResidentId())
			if err != nil {
				return nil, err
			}
			return &intakev1.MergeResidentsResponse{Resident: residentToProto(r.WithoutDetails())}, nil
		})
}

// GetResident returns a resident with personal details.
func (s *Server) GetResident(ctx context.Context, req *intakev1.GetResidentRequest) (*intakev1.GetResidentResponse, error) {
	r, err := s.app.GetResident(ctx, req.GetResidentId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetResidentResponse{Resident: residentToProto(r)}, nil
}

// UpdateResident changes a resident's details.
func (s *Server) UpdateResident(ctx context.Context, req *intakev1.UpdateResidentRequest) (*intakev1.UpdateResidentResponse, error) {
	changes, err := residentChangesFromRequest(req, time.Now())
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.UpdateResidentResponse { return &intakev1.UpdateResidentResponse{} },
		func(ctx context.Context) (*intakev1.UpdateResidentResponse, error) {
			r, err := s.app.UpdateResident(ctx, req.GetResidentId(), changes)
			if err != nil {
				return nil, err
			}
			return &intakev1.UpdateResidentResponse{Resident: residentToProto(r.WithoutDetails())}, nil
		})
}

func nameToProto(n domain.Name) *intakev1.PersonName {
	if n.IsZero() {
		return nil
	}
	return &intakev1.PersonName{GivenNames: n.GivenNames, FamilyNamePrefix: n.Prefix, FamilyName: n.FamilyName}
}

func addressToProto(a domain.Address) *intakev1.Address {
	if a.IsZero() {
		return nil
	}
	return &intakev1.Address{Street: a.Street, HouseNumber: int32(a.HouseNumber), HouseNumberAddition: a.Addition,
		Postcode: a.Postcode, City: a.City}
}

func residentToProto(r domain.Resident) *intakev1.Resident {
	return &intakev1.Resident{Id: r.ID, MunicipalityCode: r.Municipality, DistrictCode: r.District, HouseholdId: r.HouseholdID,
		MergedIntoResidentId: r.MergedInto, Name: nameToProto(r.Name), BirthDate: r.BirthDate, Address: addressToProto(r.Address)}
}
