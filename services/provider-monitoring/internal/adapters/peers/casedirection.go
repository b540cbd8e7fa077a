// Package peers holds the gRPC clients of the services provider-monitoring calls.
package peers

import (
	"context"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CaseDirection reads the residents a case concerns (pseudonyms only).
type CaseDirection struct {
	client casedirectionv1.CaseDirectionServiceClient
}

// NewCaseDirection returns the client.
func NewCaseDirection(cc grpc.ClientConnInterface) *CaseDirection {
	return &CaseDirection{client: casedirectionv1.NewCaseDirectionServiceClient(cc)}
}

// CaseResidents returns the access-log pseudonyms of the residents the case concerns now.
func (c *CaseDirection) CaseResidents(ctx context.Context, caseID string) ([]string, error) {
	var out []string
	req := &casedirectionv1.ListCaseResidentsRequest{CaseId: caseID, PageSize: 500}
	for {
		resp, err := c.client.ListCaseResidents(ctx, req)
		if err != nil {
			return nil, grpcx.PeerError("case-direction", "case", err)
		}
		for _, r := range resp.GetResidents() {
			out = append(out, r.GetPseudonym())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out, nil
		}
	}
}

// AttachAllocation records the allocation being issued on its case in case-direction, before
// this service commits it: case-direction refuses it (FAILED_PRECONDITION) when the case was
// closed or handed over, under the lock its closing takes.
func (c *CaseDirection) AttachAllocation(ctx context.Context, al domain.Allocation) error {
	origin := casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_OTHER
	if al.RequestID != "" {
		origin = casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_PROVIDER_REQUEST
	}
	_, err := c.client.AttachAllocation(ctx, &casedirectionv1.AttachAllocationRequest{
		CaseId: al.CaseID, AllocationNumber: al.Number, ProviderAgb: al.ProviderAGB,
		ProductCategory: al.Product.Category, ProductCode: al.Product.Code, Origin: origin,
		DecisionNumber: al.DecisionNumber, IssuedAt: timestamppb.New(al.IssuedAt),
	})
	return grpcx.PeerError("case-direction", "case", err)
}
