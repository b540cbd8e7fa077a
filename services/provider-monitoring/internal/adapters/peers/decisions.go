package peers

import (
	"context"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/grpc"
)

// Intake reads the facts of an intake a decision is drafted from. Provider-monitoring calls
// as a Wijkbrug service (intake answers without the question, the intake's free text); the
// per-object check for the professional it acts for (the owning team, or a municipality
// acting for the intake's municipality) is provider-monitoring's own, before anything is
// stored or returned.
type Intake struct {
	client intakev1.IntakeServiceClient
}

// NewIntake returns the client.
func NewIntake(cc grpc.ClientConnInterface) *Intake {
	return &Intake{client: intakev1.NewIntakeServiceClient(cc)}
}

// Intake returns the intake's applicant, household, place, team, receipt and triage.
func (c *Intake) Intake(ctx context.Context, id string) (app.IntakeFacts, error) {
	resp, err := c.client.GetIntake(ctx, &intakev1.GetIntakeRequest{IntakeId: id})
	if err != nil {
		return app.IntakeFacts{}, grpcx.PeerError("intake", "intake", err)
	}
	in := resp.GetIntake()
	f := app.IntakeFacts{
		ID: in.GetId(), ResidentID: in.GetResidentId(), HouseholdID: in.GetHouseholdId(),
		Municipality: in.GetMunicipalityCode(), District: in.GetDistrictCode(), TeamOIN: in.GetTeamOin(),
		CaseID: in.GetCaseId(), ReceivedAt: in.GetReceivedAt().AsTime(),
		TriageOutcome: protoenum.Code(in.GetTriageOutcome()), TriageRule: in.GetTriageRule(),
	}
	for _, d := range in.GetLifeDomains() {
		f.LifeDomains = append(f.LifeDomains, protoenum.Code(d))
	}
	return f, nil
}

// Case reads the case and its plan's goals (life domain, ZRM scores) from case-direction.
func (c *CaseDirection) Case(ctx context.Context, id string) (app.CaseFacts, error) {
	resp, err := c.client.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	if err != nil {
		return app.CaseFacts{}, grpcx.PeerError("case-direction", "case", err)
	}
	cs := resp.GetCase()
	f := app.CaseFacts{
		ID: cs.GetId(), HouseholdID: cs.GetHouseholdId(), IntakeID: cs.GetIntakeId(),
		Municipality: cs.GetMunicipalityCode(), District: cs.GetDistrictCode(), TeamOIN: cs.GetTeamOin(),
	}
	for _, g := range cs.GetPlan().GetGoals() {
		if g.GetStatus() == casedirectionv1.GoalStatus_GOAL_STATUS_DROPPED {
			continue
		}
		f.Goals = append(f.Goals, domain.MotivationGoal{GoalID: g.GetId(), LifeDomain: protoenum.Code(g.GetLifeDomain()),
			Baseline: g.GetBaselineScore(), Target: g.GetTargetScore()})
	}
	return f, nil
}
