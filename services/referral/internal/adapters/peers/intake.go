package peers

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Intake asks intake about intakes.
type Intake struct{ c intakev1.IntakeServiceClient }

// NewIntake returns the client.
func NewIntake(cc grpc.ClientConnInterface) *Intake {
	return &Intake{c: intakev1.NewIntakeServiceClient(cc)}
}

// Owner reports whether the organisation is the team that owns the intake.
func (p *Intake) Owner(ctx context.Context, intakeID, orgOIN, orgType string) (bool, error) {
	resp, err := p.c.CheckIntakeOwnership(ctx, &intakev1.CheckIntakeOwnershipRequest{IntakeId: intakeID, OrganisationOin: orgOIN, OrganisationType: orgType})
	if err != nil {
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded:
			return false, apperr.Unavailable("intake is unreachable; retry", err)
		}
		return false, err
	}
	return resp.GetOwner(), nil
}
