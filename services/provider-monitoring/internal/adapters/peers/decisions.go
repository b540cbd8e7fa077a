package peers

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"context"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
		Status: protoenum.Code(cs.GetStatus()),
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

// Addressee reads the resident's registered name and address from intake, forwarding the
// drafting team (x-wijkbrug-on-behalf-of, set by the client interceptor): intake answers only
// when that team works with the resident and logs the read under the resident. Without a
// registered home address the household's address is used.
func (c *Intake) Addressee(ctx context.Context, residentID string) (domain.Addressee, error) {
	resp, err := c.client.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: residentID})
	if err != nil {
		return domain.Addressee{}, grpcx.PeerError("intake", "resident", err)
	}
	r := resp.GetResident()
	out := domain.Addressee{Name: envelopeName(r.GetName())}
	addr := r.GetAddress()
	if addr.GetStreet() == "" && r.GetHouseholdId() != "" {
		h, err := c.client.GetHousehold(ctx, &intakev1.GetHouseholdRequest{HouseholdId: r.GetHouseholdId()})
		if err != nil && status.Code(err) != codes.NotFound {
			return domain.Addressee{}, grpcx.PeerError("intake", "household", err)
		}
		addr = h.GetHousehold().GetAddress()
	}
	if addr.GetStreet() != "" {
		out.Street = strings.TrimSpace(fmt.Sprintf("%s %d%s", addr.GetStreet(), addr.GetHouseNumber(), addr.GetHouseNumberAddition()))
		out.PostalCode, out.City = postcode(addr.GetPostcode()), addr.GetCity()
	}
	return out, nil
}

// HouseholdResidents returns the household's current members as resident id and access-log
// pseudonym (ListHouseholdResidents, for Wijkbrug services; intake logs the read under each).
func (c *Intake) HouseholdResidents(ctx context.Context, householdID string) ([]app.ResidentRef, error) {
	var out []app.ResidentRef
	req := &intakev1.ListHouseholdResidentsRequest{HouseholdId: householdID, PageSize: 500}
	for {
		resp, err := c.client.ListHouseholdResidents(ctx, req)
		if err != nil {
			return nil, grpcx.PeerError("intake", "household", err)
		}
		for _, r := range resp.GetResidents() {
			out = append(out, app.ResidentRef{ResidentID: r.GetResidentId(), Pseudonym: r.GetPseudonym()})
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out, nil
		}
	}
}

// envelopeName writes a name as on an envelope: initials, prefix, family name
// ("A.M. de Vries").
func envelopeName(n *intakev1.PersonName) string {
	var initials strings.Builder
	for _, g := range strings.Fields(n.GetGivenNames()) {
		r, _ := utf8.DecodeRuneInString(g)
		initials.WriteString(strings.ToUpper(string(r)) + ".")
	}
	return strings.Join(strings.Fields(strings.Join([]string{initials.String(), n.GetFamilyNamePrefix(), n.GetFamilyName()}, " ")), " ")
}

// postcode writes a Dutch postcode as on an envelope: "1011 AB".
func postcode(p string) string {
	p = strings.ToUpper(strings.ReplaceAll(p, " ", ""))
	if len(p) == 6 {
		return p[:4] + " " + p[4:]
	}
	return p
}
