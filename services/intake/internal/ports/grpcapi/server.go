// Package grpc is the intake service's gRPC edge: it validates requests, maps them to the
// domain and back, and makes mutating calls idempotent. Errors are typed (apperr) and become
// gRPC statuses in the shared interceptor.
package grpcapi

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxQuestionLength bounds the question, in characters.
const MaxQuestionLength = 10000

// Server implements IntakeService.
type Server struct {
	intakev1.UnimplementedIntakeServiceServer
	app  *app.App
	idem *idempotency.Store
}

// NewServer returns the server.
func NewServer(a *app.App, idem *idempotency.Store) *Server { return &Server{app: a, idem: idem} }

// RegisterIntake registers a help request taken by the calling team.
func (s *Server) RegisterIntake(ctx context.Context, req *intakev1.RegisterIntakeRequest) (*intakev1.RegisterIntakeResponse, error) {
	in, err := intakeFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *intakev1.RegisterIntakeResponse { return &intakev1.RegisterIntakeResponse{} },
		func(ctx context.Context) (*intakev1.RegisterIntakeResponse, error) {
			out, err := s.app.RegisterIntake(ctx, req.GetResidentBsn(), in)
			if err != nil {
				return nil, err
			}
			// Without the question: the answer is stored in plain form for idempotent
			// replays, and confidential text is stored only encrypted. The caller sent it.
			out.Question = ""
			return &intakev1.RegisterIntakeResponse{Intake: intakeToProto(out), Match: matchToProto(out.Match)}, nil
		})
}

// GetIntake returns an intake to the team that owns it.
func (s *Server) GetIntake(ctx context.Context, req *intakev1.GetIntakeRequest) (*intakev1.GetIntakeResponse, error) {
	in, err := s.app.GetIntake(ctx, req.GetIntakeId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetIntakeResponse{Intake: intakeToProto(in)}, nil
}

func intakeToProto(i domain.Intake) *intakev1.Intake {
	return &intakev1.Intake{
		Id: i.ID, Channel: protoenum.FromCode[intakev1.Channel](string(i.Channel)), SignalIds: i.SignalIDs,
		ResidentId: i.ResidentID, HouseholdId: i.HouseholdID, Question: i.Question,
		LifeDomains: protoenum.LifeDomains(i.LifeDomains), Urgency: protoenum.FromCode[intakev1.Urgency](string(i.Urgency)),
		Status: protoenum.FromCode[intakev1.IntakeStatus](string(i.Status)), MunicipalityCode: i.Municipality,
		DistrictCode: i.District, TeamOin: i.TeamOIN, ReceivedAt: timestamppb.New(i.ReceivedAt),
		TriageDue: timestamppb.New(i.TriageDue), TriageOutcome: protoenum.FromCode[intakev1.TriageOutcome](string(i.TriageOutcome)),
		TriageRule: i.TriageRule, CaseId: i.CaseID, TriagePolicyVersion: int32(i.PolicyVersion),
		FailedContactAttempts: int32(i.FailedContactAttempts), MergedIntoIntakeId: i.MergedInto,
		TriageProfessional: i.TriageProfessional, Clarifications: clarificationsToProto(i.Clarifications),
	}
}

func clarificationsToProto(cs []domain.Clarification) []*intakev1.Clarification {
	var out []*intakev1.Clarification
	for _, c := range cs {
		out = append(out, clarificationToProto(c))
	}
	return out
}

func clarificationToProto(c domain.Clarification) *intakev1.Clarification {
	out := &intakev1.Clarification{Id: c.ID, HeldOn: c.HeldOn.Format(domain.DateLayout), Summary: c.Summary,
		NextStep: protoenum.FromCode[intakev1.ClarificationNextStep](c.NextStep), RecordedBy: c.RecordedBy, RecordedAt: timestamppb.New(c.RecordedAt)}
	for _, p := range c.Participants {
		out.Participants = append(out.Participants, &intakev1.ClarificationParticipant{
			Role: protoenum.FromCode[intakev1.ClarificationParticipantRole](p.Role), ProfessionalId: p.ProfessionalID})
	}
	return out
}

// CheckIntakeOwnership answers another Wijkbrug service whether an organisation owns an
// intake.
func (s *Server) CheckIntakeOwnership(ctx context.Context, req *intakev1.CheckIntakeOwnershipRequest) (*intakev1.CheckIntakeOwnershipResponse, error) {
	var v apperr.Validation
	// intake_id, organisation_oin: required with their formats (the proto).
	orgType := protoenum.Required(&v, "organisation_type", req.GetOrganisationType())
	if err := v.Err(); err != nil {
		return nil, err
	}
	owner, facts, err := s.app.CheckIntakeOwnership(ctx, req.GetIntakeId(), req.GetOrganisationOin(), orgType, req.GetWithFacts())
	if err != nil {
		return nil, err
	}
	out := &intakev1.CheckIntakeOwnershipResponse{Owner: owner}
	if facts != nil {
		out.Intake, out.HouseholdResidentPseudonyms = intakeToProto(facts.Intake), facts.HouseholdResidents
	}
	return out, nil
}

// matchToProto tells the requesting team whom to contact, nothing more (nil: no match).
func matchToProto(m *domain.Match) *intakev1.ResidentMatch {
	if m == nil {
		return nil
	}
	out := &intakev1.ResidentMatch{MatchId: m.ID, Basis: protoenum.FromCode[intakev1.MatchBasis](string(m.Basis))}
	for _, t := range m.Teams {
		out.InvolvedTeams = append(out.InvolvedTeams, &intakev1.InvolvedTeam{TeamOin: t.OIN, TeamName: t.Name})
	}
	return out
}
