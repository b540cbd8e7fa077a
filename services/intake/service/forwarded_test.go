package service_test

import (
	"testing"

	"github.com/google/uuid"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Provider-monitoring drafts a decision letter for a team: it reads the applicant's name and
// address from intake as a Wijkbrug service forwarding the team. The per-object rule is the
// team's (it must work with the resident), and the read is logged under the resident with
// route SERVICE and the team it acted for.
func TestServiceReadsResidentDetailsOnlyForwardingATeamThatWorksWithThem(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	reg, err := h.client.RegisterResident(ctx, &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: validBSN(81),
		MunicipalityCode: municipality,
		Name:             &intakev1.PersonName{GivenNames: "Anna", FamilyNamePrefix: "de", FamilyName: "Vries"},
		Address:          &intakev1.Address{Street: "Kerkstraat", HouseNumber: 1, Postcode: "1011AB", City: "Amsterdam"}})
	if err != nil {
		t.Fatalf("RegisterResident: %v", err)
	}
	id, household := reg.GetResident().GetId(), reg.GetResident().GetHouseholdId()
	pm := h.clientAs(t, svctest.ServiceOrg("provider-monitoring"))
	forTeam := func(oin string) (*intakev1.GetResidentResponse, error) {
		return pm.GetResident(metadata.AppendToOutgoingContext(ctx, identity.HeaderOnBehalfOf, oin), &intakev1.GetResidentRequest{ResidentId: id})
	}

	got, err := forTeam(h.team.OIN)
	if err != nil || got.GetResident().GetName().GetFamilyName() != "Vries" || got.GetResident().GetAddress().GetStreet() != "Kerkstraat" {
		t.Fatalf("forwarding the team that works with the resident: %v %v", got, err)
	}
	hh, err := pm.GetHousehold(metadata.AppendToOutgoingContext(ctx, identity.HeaderOnBehalfOf, h.team.OIN), &intakev1.GetHouseholdRequest{HouseholdId: household})
	if err != nil || len(hh.GetHousehold().GetMembers()) != 1 || hh.GetHousehold().GetMembers()[0].GetName().GetFamilyName() != "Vries" {
		t.Fatalf("household forwarding the team: %v %v", hh, err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.resident.read' AND object_id = $1 AND outcome = 'GRANTED'
		AND route = 'SERVICE' AND org_type = 'SERVICE' AND on_behalf_of = $2 AND resident_pseudonym <> ''`, id, h.team.OIN); n != 1 {
		t.Fatalf("the service's read is logged under the resident once with route SERVICE, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.household.read' AND object_id = $1 AND outcome = 'GRANTED'
		AND route = 'SERVICE' AND on_behalf_of = $2 AND resident_pseudonym <> ''`, household, h.team.OIN); n != 1 {
		t.Fatalf("the household read is logged with route SERVICE, got %d", n)
	}

	// Forwarding a team that does not work with the resident: as if that team asked.
	other := svctest.Org(identity.OrgTeam, "Wijkteam Oost")
	if _, err := forTeam(other.OIN); status.Code(err) != codes.NotFound {
		t.Fatalf("forwarding another team: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.resident.read' AND object_id = $1 AND outcome = 'DENIED'`, id); n != 1 {
		t.Fatalf("the refusal is logged, got %d", n)
	}
	// A service acting for no team reads nothing.
	if _, err := pm.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: id}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a service without a team: %v", err)
	}
	// Other organisations are still refused by the method policy.
	gp := h.clientAs(t, svctest.Org(identity.OrgGP, "Huisartsenpraktijk"))
	if _, err := gp.GetResident(ctx, &intakev1.GetResidentRequest{ResidentId: id}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP: %v", err)
	}
}
