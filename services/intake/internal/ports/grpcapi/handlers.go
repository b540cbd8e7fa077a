package grpcapi

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// intakeChange runs a mutating use case on an intake idempotently, once the request was
// validated (verr). The answer is stored for replays, so it carries no question.
func intakeChange[Resp proto.Message](ctx context.Context, s *Server, req idempotency.Request, verr error,
	wrap func(*intakev1.Intake) Resp, fn func(ctx context.Context) (domain.Intake, error)) (Resp, error) {
	if verr != nil {
		var zero Resp
		return zero, verr
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
	return intakeChange(ctx, s, req, nil, // intake_id: required, a UUID (the proto)
		func(i *intakev1.Intake) *intakev1.StartTriageResponse {
			return &intakev1.StartTriageResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) { return s.app.StartTriage(ctx, req.GetIntakeId()) })
}

// DecideTriage decides an intake in triage.
func (s *Server) DecideTriage(ctx context.Context, req *intakev1.DecideTriageRequest) (*intakev1.DecideTriageResponse, error) {
	outcome, err := decideFromRequest(req)
	return intakeChange(ctx, s, req, err,
		func(i *intakev1.Intake) *intakev1.DecideTriageResponse {
			return &intakev1.DecideTriageResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) {
			return s.app.DecideTriage(ctx, req.GetIntakeId(), outcome, req.GetApplyPolicy())
		})
}

// RecordContactAttempt records an attempt to reach the resident.
func (s *Server) RecordContactAttempt(ctx context.Context, req *intakev1.RecordContactAttemptRequest) (*intakev1.RecordContactAttemptResponse, error) {
	kind, err := contactAttemptFromRequest(req)
	return intakeChange(ctx, s, req, err,
		func(i *intakev1.Intake) *intakev1.RecordContactAttemptResponse {
			return &intakev1.RecordContactAttemptResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) {
			return s.app.RecordContactAttempt(ctx, req.GetIntakeId(), kind, req.GetReached())
		})
}

// RecordClarification records a clarification conversation on an intake. The answer is
// stored for replays, so it carries neither the summary nor the question.
func (s *Server) RecordClarification(ctx context.Context, req *intakev1.RecordClarificationRequest) (*intakev1.RecordClarificationResponse, error) {
	c, err := clarificationFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.RecordClarificationResponse { return &intakev1.RecordClarificationResponse{} },
		func(ctx context.Context) (*intakev1.RecordClarificationResponse, error) {
			rec, in, err := s.app.RecordClarification(ctx, req.GetIntakeId(), c)
			if err != nil {
				return nil, err
			}
			rec.Summary, in.Question, in.Clarifications = "", "", nil
			return &intakev1.RecordClarificationResponse{Clarification: clarificationToProto(rec), Intake: intakeToProto(in)}, nil
		})
}

// WithdrawIntake records that the resident withdrew.
func (s *Server) WithdrawIntake(ctx context.Context, req *intakev1.WithdrawIntakeRequest) (*intakev1.WithdrawIntakeResponse, error) {
	return intakeChange(ctx, s, req, nil, // intake_id: required, a UUID (the proto)
		func(i *intakev1.Intake) *intakev1.WithdrawIntakeResponse {
			return &intakev1.WithdrawIntakeResponse{Intake: i}
		},
		func(ctx context.Context) (domain.Intake, error) { return s.app.WithdrawIntake(ctx, req.GetIntakeId()) })
}

// MergeIntake merges a duplicate intake into another. Both ids are the proto's rules
// (required UUIDs).
func (s *Server) MergeIntake(ctx context.Context, req *intakev1.MergeIntakeRequest) (*intakev1.MergeIntakeResponse, error) {
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

// ListTeamQueue lists one page of the calling team's open intakes.
func (s *Server) ListTeamQueue(ctx context.Context, req *intakev1.ListTeamQueueRequest) (*intakev1.ListTeamQueueResponse, error) {
	var v apperr.Validation
	page := paging.Parse(&v, queueList, 3, QueueLimits, req.GetPageSize(), req.GetPageToken())
	after, err := queueKeyOf(page)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	entries, more, err := s.app.ListTeamQueue(ctx, after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListTeamQueueResponse{}
	for _, e := range entries {
		out.Entries = append(out.Entries, &intakev1.TeamQueueEntry{Intake: intakeToProto(e.Intake), Overdue: e.Overdue})
	}
	if more {
		k := entries[len(entries)-1].Intake.QueueKey()
		out.NextPageToken = paging.Token(queueList, strconv.Itoa(k.Rank), k.TriageDue.Format(time.RFC3339Nano), k.ID)
	}
	return out, nil
}

// ListIntakes finds the calling team's own intakes.
func (s *Server) ListIntakes(ctx context.Context, req *intakev1.ListIntakesRequest) (*intakev1.ListIntakesResponse, error) {
	f, page, after, err := listIntakesFromRequest(req)
	if err != nil {
		return nil, err
	}
	list, more, err := s.app.ListIntakes(ctx, f, after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &intakev1.ListIntakesResponse{}
	for _, in := range list {
		in.Question = ""
		out.Intakes = append(out.Intakes, intakeToProto(in))
	}
	if more {
		last := list[len(list)-1]
		out.NextPageToken = paging.TokenAt(intakeList(req), last.ReceivedAt, last.ID)
	}
	return out, nil
}

// IntakeLimits are the page sizes of ListIntakes.
var IntakeLimits = paging.Limits{Default: 50, Max: 500}

// intakeList names ListIntakes under its filters in page tokens.
func intakeList(req *intakev1.ListIntakesRequest) string {
	var filter []string
	for _, st := range req.GetStatuses() {
		filter = append(filter, st.String())
	}
	filter = append(filter, "|")
	for _, c := range req.GetChannels() {
		filter = append(filter, c.String())
	}
	filter = append(filter, "|", req.GetReceivedFrom().AsTime().Format(time.RFC3339Nano), strconv.FormatBool(req.GetReceivedFrom() != nil),
		req.GetReceivedBefore().AsTime().Format(time.RFC3339Nano), strconv.FormatBool(req.GetReceivedBefore() != nil),
		req.GetResidentId(), req.GetHouseholdId())
	return paging.Scoped("intake.intakes", filter...)
}

// listIntakesFromRequest validates a ListIntakesRequest (every violation at once).
func listIntakesFromRequest(req *intakev1.ListIntakesRequest) (domain.IntakeFilter, paging.Page, *paging.At, error) {
	var v apperr.Validation
	var f domain.IntakeFilter
	for _, st := range req.GetStatuses() {
		c := protoenum.Code(st)
		if c == "" {
			v.Add("statuses", "contains an unspecified or unknown status")
			continue
		}
		f.Statuses = append(f.Statuses, domain.Status(c))
	}
	for _, ch := range req.GetChannels() {
		c := protoenum.Code(ch)
		if c == "" {
			v.Add("channels", "contains an unspecified or unknown channel")
			continue
		}
		f.Channels = append(f.Channels, domain.Channel(c))
	}
	if t := req.GetReceivedFrom(); t != nil {
		v.Check(t.IsValid(), "received_from", "not a valid time")
		at := t.AsTime()
		f.ReceivedFrom = &at
	}
	if t := req.GetReceivedBefore(); t != nil {
		v.Check(t.IsValid(), "received_before", "not a valid time")
		at := t.AsTime()
		f.ReceivedBefore = &at
		if f.ReceivedFrom != nil && !at.After(*f.ReceivedFrom) {
			v.Add("received_before", "must be after received_from")
		}
	}
	// resident_id, household_id: the proto's rules (empty or a UUID).
	f.ResidentID, f.Household = req.GetResidentId(), req.GetHouseholdId()
	page, after := paging.ParseAt(&v, intakeList(req), IntakeLimits, req.GetPageSize(), req.GetPageToken())
	if after != nil && uuid.Validate(after.ID) != nil {
		v.Add("page_token", "not a token from a previous page of this list")
	}
	return f, page, after, v.Err()
}

// queueList names the team queue in its page tokens.
const queueList = "intake.queue"

// QueueLimits are the team queue's page sizes.
var QueueLimits = paging.Limits{Default: 100, Max: 500}

// queueKeyOf decodes the queue position a page token carries.
func queueKeyOf(p paging.Page) (*domain.QueueKey, error) {
	if p.First() {
		return nil, nil
	}
	// A rank is 0-3 (an int column); a forged token with another number is refused here, not
	// by the database's encoder (an INTERNAL).
	rank, err1 := strconv.ParseInt(p.After[0], 10, 32)
	due, err2 := time.Parse(time.RFC3339Nano, p.After[1])
	if err1 != nil || err2 != nil || rank < 0 || uuid.Validate(p.After[2]) != nil {
		return nil, apperr.Invalid("page_token", "not a token from a previous page of this list")
	}
	return &domain.QueueKey{Rank: int(rank), TriageDue: due, ID: p.After[2]}, nil
}

// GetTriagePolicy returns a municipality's policy.
func (s *Server) GetTriagePolicy(ctx context.Context, req *intakev1.GetTriagePolicyRequest) (*intakev1.GetTriagePolicyResponse, error) {
	var v apperr.Validation
	// municipality_code: required, a CBS code (the proto).
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
	p, err := policyFromRequest(req)
	if err != nil {
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

func householdToProto(h domain.Household) *intakev1.Household {
	out := &intakev1.Household{Id: h.ID, MunicipalityCode: h.Municipality, DistrictCode: h.District, Address: addressToProto(h.Address)}
	for _, m := range h.Members {
		out.Members = append(out.Members, &intakev1.HouseholdMember{ResidentId: m.ResidentID,
			Role: protoenum.FromCode[intakev1.HouseholdRole](m.Role), StartedOn: m.StartedOn, EndedOn: m.EndedOn,
			Name: nameToProto(m.Name), BirthDate: m.BirthDate})
	}
	return out
}
