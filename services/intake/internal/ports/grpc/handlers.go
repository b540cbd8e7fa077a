package grpc

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Queue sizes.
const (
	DefaultQueueLimit = 100
	MaxQueueLimit     = 500
)

// intakeChange validates an intake id and runs a mutating use case idempotently. The answer
// is stored for replays, so it carries no question.
func intakeChange[Resp proto.Message](ctx context.Context, s *Server, req idempotency.Request, id string, v *apperr.Validation,
	wrap func(*intakev1.Intake) Resp, fn func(ctx context.Context) (domain.Intake, error)) (Resp, error) {
	valid.UUID(v, "intake_id", id)
	if err := v.Err(); err != nil {
		var zero Resp
		return zero, err
	}
	// wrap(nil) is the empty response a replay is decoded into.
	return idempotency.Do(ctx, s.idem, req, func() Resp { return wrap(nil) }, func(ctx context.Context) (Resp, error) {
		in, err := fn(ctx)
		if err != nil {
			var zero Resp
			return zero, err
		}
		in.Question = ""
		return wrap(intakeToProto(in)), nil
	})
}

// StartTriage picks up a received intake.
func (s *Server) StartTriage(ctx context.Context, req *intakev1.StartTriageRequest) (*intakev1.StartTriageResponse, error) {
	return intakeChange(ctx, s, req, req.GetIntakeId(), &apperr.Validation{},
		func(i *intakev1.Intake) *intakev1.StartTriageResponse {
			return &intakev1.StartTriageResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) { return s.app.StartTriage(ctx, req.GetIntakeId()) })
}

// DecideTriage decides an intake in triage.
func (s *Server) DecideTriage(ctx context.Context, req *intakev1.DecideTriageRequest) (*intakev1.DecideTriageResponse, error) {
	var v apperr.Validation
	outcome := domain.Outcome(protoenum.Code(req.GetOutcome()))
	switch {
	case req.GetApplyPolicy() && req.GetOutcome() != intakev1.TriageOutcome_TRIAGE_OUTCOME_UNSPECIFIED:
		v.Add("outcome", "set either outcome or apply_policy, not both")
	case !req.GetApplyPolicy() && outcome == domain.OutcomeNone:
		v.Add("outcome", "required unless apply_policy is set: one of the defined values")
	}
	return intakeChange(ctx, s, req, req.GetIntakeId(), &v,
		func(i *intakev1.Intake) *intakev1.DecideTriageResponse {
			return &intakev1.DecideTriageResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) {
			return s.app.DecideTriage(ctx, req.GetIntakeId(), outcome, req.GetApplyPolicy())
		})
}

// RecordContactAttempt records an attempt to reach the resident.
func (s *Server) RecordContactAttempt(ctx context.Context, req *intakev1.RecordContactAttemptRequest) (*intakev1.RecordContactAttemptResponse, error) {
	var v apperr.Validation
	kind := protoenum.Required(&v, "kind", req.GetKind())
	return intakeChange(ctx, s, req, req.GetIntakeId(), &v,
		func(i *intakev1.Intake) *intakev1.RecordContactAttemptResponse {
			return &intakev1.RecordContactAttemptResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) {
			return s.app.RecordContactAttempt(ctx, req.GetIntakeId(), kind, req.GetReached())
		})
}

// WithdrawIntake records that the resident withdrew.
func (s *Server) WithdrawIntake(ctx context.Context, req *intakev1.WithdrawIntakeRequest) (*intakev1.WithdrawIntakeResponse, error) {
	return intakeChange(ctx, s, req, req.GetIntakeId(), &apperr.Validation{},
		func(i *intakev1.Intake) *intakev1.WithdrawIntakeResponse {
			return &intakev1.WithdrawIntakeResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) { return s.app.WithdrawIntake(ctx, req.GetIntakeId()) })
}

// MergeIntake merges a duplicate intake into another.
func (s *Server) MergeIntake(ctx context.Context, req *intakev1.MergeIntakeRequest) (*intakev1.MergeIntakeResponse, error) {
	var v apperr.Validation
	valid.UUID(&v, "intake_id", req.GetIntakeId())
	valid.UUID(&v, "into_intake_id", req.GetIntoIntakeId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.MergeIntakeResponse { return &intakev1.MergeIntakeResponse{} },
		func(ctx context.Context) (*intakev1.MergeIntakeResponse, error) {
			merged, into, err := s.app.MergeIntake(ctx, req.GetIntakeId(), req.GetIntoIntakeId())
			if err != nil {
				return nil, err
			}
			merged.Question, into.Question = "", ""
			return &intakev1.MergeIntakeResponse{Merged: intakeToProto(merged), Into: intakeToProto(into)}, nil
		})
}

// ListTeamQueue lists the calling team's open intakes.
func (s *Server) ListTeamQueue(ctx context.Context, req *intakev1.ListTeamQueueRequest) (*intakev1.ListTeamQueueResponse, error) {
	var v apperr.Validation
	limit := int(req.GetLimit())
	v.Check(limit >= 0 && limit <= MaxQueueLimit, "limit", fmt.Sprintf("must be 0-%d (0 = %d)", MaxQueueLimit, DefaultQueueLimit))
	if err := v.Err(); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultQueueLimit
	}
	entries, err := s.app.ListTeamQueue(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListTeamQueueResponse{}
	for _, e := range entries {
		out.Entries = append(out.Entries, &intakev1.TeamQueueEntry{Intake: intakeToProto(e.Intake), Overdue: e.Overdue})
	}
	return out, nil
}

// GetTriagePolicy returns a municipality's policy.
func (s *Server) GetTriagePolicy(ctx context.Context, req *intakev1.GetTriagePolicyRequest) (*intakev1.GetTriagePolicyResponse, error) {
	var v apperr.Validation
	valid.Municipality(&v, "municipality_code", req.GetMunicipalityCode())
	v.Check(req.GetVersion() >= 0, "version", "must be 0 (the version in force) or a version number")
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, err := s.app.GetTriagePolicy(ctx, req.GetMunicipalityCode(), int(req.GetVersion()))
	if err != nil {
		return nil, err
	}
	return &intakev1.GetTriagePolicyResponse{Policy: policyToProto(p)}, nil
}

// ReplaceTriagePolicy adopts a new policy version.
func (s *Server) ReplaceTriagePolicy(ctx context.Context, req *intakev1.ReplaceTriagePolicyRequest) (*intakev1.ReplaceTriagePolicyResponse, error) {
	var v apperr.Validation
	valid.Municipality(&v, "municipality_code", req.GetMunicipalityCode())
	v.Check(req.GetExpectedVersion() >= 0, "expected_version", "must be 0 or a version number")
	p := domain.Policy{
		Municipality: req.GetMunicipalityCode(), Positioning: domain.Positioning(protoenum.Code(req.GetPositioning())),
		ContactAttempts: int(req.GetContactAttempts()), TriageDays: int(req.GetTriageDays()),
	}
	for _, r := range req.GetRules() {
		p.Rules = append(p.Rules, domain.Rule{
			Name: r.GetName(), Condition: domain.Condition(protoenum.Code(r.GetCondition())),
			MinCount: int(r.GetMinCount()), MaxScore: int(r.GetMaxScore()),
			SourceType: protoenum.Code(r.GetSourceType()), Outcome: domain.Outcome(protoenum.Code(r.GetOutcome())),
		})
	}
	for _, fe := range p.Validate(func(s string) bool { return protoenum.FromCode[referralv1.SourceType](s) != 0 }) {
		v.Add(fe.Field, fe.Problem)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.ReplaceTriagePolicyResponse { return &intakev1.ReplaceTriagePolicyResponse{} },
		func(ctx context.Context) (*intakev1.ReplaceTriagePolicyResponse, error) {
			out, err := s.app.ReplaceTriagePolicy(ctx, p, int(req.GetExpectedVersion()))
			if err != nil {
				return nil, err
			}
			return &intakev1.ReplaceTriagePolicyResponse{Policy: policyToProto(out)}, nil
		})
}

func policyToProto(p domain.Policy) *intakev1.TriagePolicy {
	out := &intakev1.TriagePolicy{
		MunicipalityCode: p.Municipality, Version: int32(p.Version),
		Positioning: protoenum.FromCode[intakev1.Positioning](string(p.Positioning)), ContactAttempts: int32(p.ContactAttempts),
		TriageDays: int32(p.TriageDays), IsDefault: p.Version == 0, AdoptedBy: p.AdoptedBy,
	}
	if !p.AdoptedAt.IsZero() {
		out.AdoptedAt = timestamppb.New(p.AdoptedAt)
	}
	for _, r := range p.Rules {
		out.Rules = append(out.Rules, &intakev1.TriageRule{
			Name: r.Name, Condition: protoenum.FromCode[intakev1.TriageCondition](string(r.Condition)),
			MinCount: int32(r.MinCount), MaxScore: int32(r.MaxScore),
			SourceType: protoenum.FromCode[referralv1.SourceType](r.SourceType),
			Outcome:    protoenum.FromCode[intakev1.TriageOutcome](string(r.Outcome)),
		})
	}
	return out
}

// subjectIDs checks that exactly one of a resident and a household id is given.
func subjectIDs(v *apperr.Validation, residentID, householdID string) {
	switch {
	case residentID == "" && householdID == "":
		v.Add("resident_id", "set resident_id or household_id")
	case residentID != "" && householdID != "":
		v.Add("household_id", "set resident_id or household_id, not both")
	case residentID != "":
		valid.UUID(v, "resident_id", residentID)
	default:
		valid.UUID(v, "household_id", householdID)
	}
}

// RecordAssessment records a ZRM assessment.
func (s *Server) RecordAssessment(ctx context.Context, req *intakev1.RecordAssessmentRequest) (*intakev1.RecordAssessmentResponse, error) {
	var v apperr.Validation
	subjectIDs(&v, req.GetResidentId(), req.GetHouseholdId())
	if req.GetIntakeId() != "" {
		valid.UUID(&v, "intake_id", req.GetIntakeId())
	}
	a := domain.Assessment{
		ResidentID: req.GetResidentId(), HouseholdID: req.GetHouseholdId(), Instrument: req.GetInstrumentVersion(),
		Context: domain.Context(protoenum.Required(&v, "context", req.GetContext())), IntakeID: req.GetIntakeId(),
	}
	for _, sc := range req.GetScores() {
		a.Scores = append(a.Scores, domain.Score{Domain: sc.GetDomain(), Score: int(sc.GetScore())})
	}
	for _, fe := range domain.ValidateScores(a.Instrument, a.Scores) {
		v.Add(fe.Field, fe.Problem)
	}
	if err := v.Err(); err != nil {
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
	var v apperr.Validation
	subjectIDs(&v, req.GetResidentId(), req.GetHouseholdId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	list, err := s.app.ListAssessments(ctx, req.GetResidentId(), req.GetHouseholdId())
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListAssessmentsResponse{}
	for _, a := range list {
		out.Assessments = append(out.Assessments, assessmentToProto(a))
	}
	return out, nil
}

// CompareAssessments returns the change between two assessments.
func (s *Server) CompareAssessments(ctx context.Context, req *intakev1.CompareAssessmentsRequest) (*intakev1.CompareAssessmentsResponse, error) {
	var v apperr.Validation
	valid.UUID(&v, "from_assessment_id", req.GetFromAssessmentId())
	valid.UUID(&v, "to_assessment_id", req.GetToAssessmentId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	from, to, changes, err := s.app.CompareAssessments(ctx, req.GetFromAssessmentId(), req.GetToAssessmentId())
	if err != nil {
		return nil, err
	}
	out := &intakev1.CompareAssessmentsResponse{From: assessmentToProto(from), To: assessmentToProto(to)}
	for _, c := range changes {
		out.Changes = append(out.Changes, &intakev1.DomainChange{Domain: c.Domain, FromScore: int32(c.From), ToScore: int32(c.To),
			Delta: int32(c.Delta), Change: protoenum.FromCode[intakev1.ScoreChange](c.Change)})
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
		out.Scores = append(out.Scores, &intakev1.DomainScore{Domain: s.Domain, Score: int32(s.Score)})
	}
	return out
}

// RegisterResident registers a resident by BSN.
func (s *Server) RegisterResident(ctx context.Context, req *intakev1.RegisterResidentRequest) (*intakev1.RegisterResidentResponse, error) {
	var v apperr.Validation
	valid.BSN(&v, "bsn", req.GetBsn())
	valid.Municipality(&v, "municipality_code", req.GetMunicipalityCode())
	valid.District(&v, "district_code", req.GetDistrictCode())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.RegisterResidentResponse { return &intakev1.RegisterResidentResponse{} },
		func(ctx context.Context) (*intakev1.RegisterResidentResponse, error) {
			r, created, err := s.app.RegisterResident(ctx, domain.Resident{BSN: req.GetBsn(), Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode()})
			if err != nil {
				return nil, err
			}
			return &intakev1.RegisterResidentResponse{Resident: residentToProto(r), Created: created}, nil
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

// MergeResidents merges a duplicate resident.
func (s *Server) MergeResidents(ctx context.Context, req *intakev1.MergeResidentsRequest) (*intakev1.MergeResidentsResponse, error) {
	var v apperr.Validation
	valid.UUID(&v, "keep_resident_id", req.GetKeepResidentId())
	valid.UUID(&v, "duplicate_resident_id", req.GetDuplicateResidentId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.MergeResidentsResponse { return &intakev1.MergeResidentsResponse{} },
		func(ctx context.Context) (*intakev1.MergeResidentsResponse, error) {
			r, err := s.app.MergeResidents(ctx, req.GetKeepResidentId(), req.GetDuplicateResidentId())
			if err != nil {
				return nil, err
			}
			return &intakev1.MergeResidentsResponse{Resident: residentToProto(r)}, nil
		})
}

func residentToProto(r domain.Resident) *intakev1.Resident {
	return &intakev1.Resident{Id: r.ID, MunicipalityCode: r.Municipality, DistrictCode: r.District, HouseholdId: r.HouseholdID,
		MergedIntoResidentId: r.MergedInto}
}
