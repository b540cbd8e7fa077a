// Package peers holds the gRPC clients of the services provider-monitoring calls.
package peers

import (
	"context"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/grpc"
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
