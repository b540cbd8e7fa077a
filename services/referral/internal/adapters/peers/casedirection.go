// Package peers holds referral's clients of other Wijkbrug services.
package peers

import (
	"context"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
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

// Involved reports whether the organisation is the case's team or actively involved in it and,
// when it is, the case's facts, which case-direction sends with the answer (with_facts): one
// call instead of Involved and Case's two or more. A case-direction that does not send them (an
// older version during a rolling update) leaves facts nil.
func (p *CaseDirection) Involved(ctx context.Context, caseID, orgOIN, orgType string) (bool, *domain.CaseFacts, error) {
	resp, err := p.c.CheckCaseInvolvement(ctx, &casedirectionv1.CheckCaseInvolvementRequest{CaseId: caseID, OrganisationOin: orgOIN,
		OrganisationType: protoenum.FromCode[commonv1.OrganisationType](orgType), WithFacts: true})
	if err != nil {
		return false, nil, grpcx.PeerError("case-direction", "case", err)
	}
	if !resp.GetInvolved() || resp.GetCase() == nil {
		return resp.GetInvolved(), nil, nil
	}
	f := caseFacts(resp.GetCase())
	f.Residents = resp.GetCaseResidentPseudonyms()
	return true, &f, nil
}

func caseFacts(cs *casedirectionv1.Case) domain.CaseFacts {
	f := domain.CaseFacts{ID: cs.GetId(), Municipality: cs.GetMunicipalityCode(), Status: protoenum.Code(cs.GetStatus()),
		HasPlan: cs.GetPlan() != nil, Goals: map[string]string{}}
	for _, g := range cs.GetPlan().GetGoals() {
		f.Goals[g.GetId()] = protoenum.Code(g.GetStatus())
	}
	return f
}

// Case reads the case as a Wijkbrug service: its municipality, status, the goals of its
// current plan and the pseudonyms of its household's current members (ListCaseResidents).
func (p *CaseDirection) Case(ctx context.Context, caseID string) (domain.CaseFacts, error) {
	resp, err := p.c.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: caseID})
	if err != nil {
		return domain.CaseFacts{}, grpcx.PeerError("case-direction", "case", err)
	}
	f := caseFacts(resp.GetCase())
	req := &casedirectionv1.ListCaseResidentsRequest{CaseId: caseID, PageSize: 500}
	for {
		rs, err := p.c.ListCaseResidents(ctx, req)
		if err != nil {
			return domain.CaseFacts{}, grpcx.PeerError("case-direction", "case", err)
		}
		for _, r := range rs.GetResidents() {
			f.Residents = append(f.Residents, r.GetPseudonym())
		}
		if req.PageToken = rs.GetNextPageToken(); req.PageToken == "" {
			return f, nil
		}
	}
}
