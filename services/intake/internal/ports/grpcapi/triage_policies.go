package grpcapi

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

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
