package peers

import (
	"context"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"

	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"google.golang.org/grpc"
)

// Intake asks intake about intakes.
type Intake struct{ c intakev1.IntakeServiceClient }

// NewIntake returns the client.
func NewIntake(cc grpc.ClientConnInterface) *Intake {
	return &Intake{c: intakev1.NewIntakeServiceClient(cc)}
}

// Owner reports whether the organisation is the team that owns the intake and, when it is,
// the intake's facts, which intake sends with the answer (with_facts): one call instead of
// Owner and Intake's two. An intake that does not send them (an older version) leaves facts
// nil.
func (p *Intake) Owner(ctx context.Context, intakeID, orgOIN, orgType string) (bool, *domain.IntakeFacts, error) {
	resp, err := p.c.CheckIntakeOwnership(ctx, &intakev1.CheckIntakeOwnershipRequest{IntakeId: intakeID, OrganisationOin: orgOIN,
		OrganisationType: protoenum.FromCode[commonv1.OrganisationType](orgType), WithFacts: true})
	if err != nil {
		return false, nil, grpcx.PeerError("intake", "intake", err)
	}
	if !resp.GetOwner() || resp.GetIntake() == nil {
		return resp.GetOwner(), nil, nil
	}
	f := intakeFacts(resp.GetIntake())
	f.Residents = resp.GetHouseholdResidentPseudonyms()
	return true, &f, nil
}

func intakeFacts(in *intakev1.Intake) domain.IntakeFacts {
	return domain.IntakeFacts{ID: in.GetId(), Municipality: in.GetMunicipalityCode(), Status: protoenum.Code(in.GetStatus()),
		MergedInto: in.GetMergedIntoIntakeId()}
}

// Intake reads the intake as a Wijkbrug service (intake leaves the question out): its
// municipality and status, and the pseudonyms of its household's current members
// (ListHouseholdResidents).
func (p *Intake) Intake(ctx context.Context, intakeID string) (domain.IntakeFacts, error) {
	resp, err := p.c.GetIntake(ctx, &intakev1.GetIntakeRequest{IntakeId: intakeID})
	if err != nil {
		return domain.IntakeFacts{}, grpcx.PeerError("intake", "intake", err)
	}
	in := resp.GetIntake()
	f := intakeFacts(in)
	if in.GetHouseholdId() == "" {
		return f, nil
	}
	req := &intakev1.ListHouseholdResidentsRequest{HouseholdId: in.GetHouseholdId(), PageSize: 500}
	for {
		rs, err := p.c.ListHouseholdResidents(ctx, req)
		if err != nil {
			return domain.IntakeFacts{}, grpcx.PeerError("intake", "household", err)
		}
		for _, r := range rs.GetResidents() {
			f.Residents = append(f.Residents, r.GetPseudonym())
		}
		if req.PageToken = rs.GetNextPageToken(); req.PageToken == "" {
			return f, nil
		}
	}
}
