package grpcapi

import (
	"context"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// subjectIDs checks that exactly one of a resident and a household id is given (a rule across
// fields; each id's format is the proto's rule).
func subjectIDs(v *apperr.Validation, residentID, householdID string) {
	switch {
	case residentID == "" && householdID == "":
		v.Add("resident_id", "set resident_id or household_id")
	case residentID != "" && householdID != "":
		v.Add("household_id", "set resident_id or household_id, not both")
	}
}

// RecordAssessment records a ZRM assessment.
func (s *Server) RecordAssessment(ctx context.Context, req *intakev1.RecordAssessmentRequest) (*intakev1.RecordAssessmentResponse, error) {
	a, err := assessmentFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.RecordAssessmentResponse { return &intakev1.RecordAssessmentResponse{} },
		func(ctx context.Context) (*intakev1.RecordAssessmentResponse, error) {
			out, err := s.app.RecordAssessment(ctx, a)
			if err != nil {
				return nil, err
			}
			return &intakev1.RecordAssessmentResponse{Assessment: assessmentToProto(out)}, nil
		})
}

// ListAssessments returns a resident's or household's history.
func (s *Server) ListAssessments(ctx context.Context, req *intakev1.ListAssessmentsRequest) (*intakev1.ListAssessmentsResponse, error) {
	page, after, err := listAssessmentsFromRequest(req)
	if err != nil {
		return nil, err
	}
	list, more, err := s.app.ListAssessments(ctx, req.GetResidentId(), req.GetHouseholdId(), after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListAssessmentsResponse{}
	for _, a := range list {
		out.Assessments = append(out.Assessments, assessmentToProto(a))
	}
	if more {
		last := list[len(list)-1]
		out.NextPageToken = paging.TokenAt(assessmentList(req), last.AssessedAt, last.ID)
	}
	return out, nil
}

// AssessmentLimits are the page sizes of ListAssessments.
var AssessmentLimits = paging.Limits{Default: 50, Max: 500}

// assessmentList names ListAssessments under its subject in page tokens.
func assessmentList(req *intakev1.ListAssessmentsRequest) string {
	return paging.Scoped("intake.assessments", req.GetResidentId(), req.GetHouseholdId())
}

func listAssessmentsFromRequest(req *intakev1.ListAssessmentsRequest) (paging.Page, *paging.At, error) {
	var v apperr.Validation
	subjectIDs(&v, req.GetResidentId(), req.GetHouseholdId())
	page, after := paging.ParseAt(&v, assessmentList(req), AssessmentLimits, req.GetPageSize(), req.GetPageToken())
	if after != nil && uuid.Validate(after.ID) != nil {
		v.Add("page_token", "not a token from a previous page of this list")
	}
	return page, after, v.Err()
}

// CompareAssessments returns the change between two assessments.
func (s *Server) CompareAssessments(ctx context.Context, req *intakev1.CompareAssessmentsRequest) (*intakev1.CompareAssessmentsResponse, error) {
	var v apperr.Validation
	// from_assessment_id, to_assessment_id: required UUIDs (the proto).
	// household_id: the proto's rule (empty or a UUID).
	if err := v.Err(); err != nil {
		return nil, err
	}
	from, to, changes, err := s.app.CompareAssessments(ctx, req.GetFromAssessmentId(), req.GetToAssessmentId(), req.GetHouseholdId())
	if err != nil {
		return nil, err
	}
	out := &intakev1.CompareAssessmentsResponse{From: assessmentToProto(from), To: assessmentToProto(to)}
	for _, c := range changes {
		out.Changes = append(out.Changes, &commonv1.DomainChange{LifeDomain: protoenum.FromCode[commonv1.LifeDomain](c.Domain), FromScore: int32(c.From), ToScore: int32(c.To),
			Delta: int32(c.Delta), Change: protoenum.FromCode[commonv1.ScoreChange](c.Change)})
	}
	return out, nil
}

func assessmentToProto(a domain.Assessment) *intakev1.Assessment {
	out := &intakev1.Assessment{
		Id: a.ID, ResidentId: a.ResidentID, HouseholdId: a.HouseholdID, InstrumentVersion: a.Instrument,
		Context: protoenum.FromCode[intakev1.AssessmentContext](string(a.Context)), IntakeId: a.IntakeID,
		AssessedBy: a.AssessedBy, TeamOin: a.TeamOIN, AssessedAt: timestamppb.New(a.AssessedAt),
	}
	for _, s := range a.Scores {
		out.Scores = append(out.Scores, &commonv1.DomainScore{LifeDomain: protoenum.FromCode[commonv1.LifeDomain](s.Domain), Score: int32(s.Score)})
	}
	return out
}
