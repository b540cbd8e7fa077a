package peers

import (
	"context"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"

	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/grpc"
)

// Intake asks intake about intakes.
type Intake struct{ c intakev1.IntakeServiceClient }

// NewIntake returns the client.
func NewIntake(cc grpc.ClientConnInterface) *Intake {
	return &Intake{c: intakev1.NewIntakeServiceClient(cc)}
}

// Owner reports whether the organisation is the team that owns the intake.
func (p *Intake) Owner(ctx context.Context, intakeID, orgOIN, orgType string) (bool, error) {
	resp, err := p.c.CheckIntakeOwnership(ctx, &intakev1.CheckIntakeOwnershipRequest{IntakeId: intakeID, OrganisationOin: orgOIN, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](orgType)})
	if err != nil {
		return false, grpcx.PeerError("intake", "intake", err)
	}
	return resp.GetOwner(), nil
}
