// Package peers holds referral's clients of other Wijkbrug services.
package peers

import (
	"context"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/grpc"
)

// CaseDirection asks case-direction about cases.
type CaseDirection struct {
	c casedirectionv1.CaseDirectionServiceClient
}

// NewCaseDirection returns the client.
func NewCaseDirection(cc grpc.ClientConnInterface) *CaseDirection {
	return &CaseDirection{c: casedirectionv1.NewCaseDirectionServiceClient(cc)}
}

// Involved reports whether the organisation is the case's team or actively involved in it.
func (p *CaseDirection) Involved(ctx context.Context, caseID, orgOIN, orgType string) (bool, error) {
	resp, err := p.c.CheckCaseInvolvement(ctx, &casedirectionv1.CheckCaseInvolvementRequest{CaseId: caseID, OrganisationOin: orgOIN, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](orgType)})
	if err != nil {
		return false, grpcx.PeerError("case-direction", "case", err)
	}
	return resp.GetInvolved(), nil
}
