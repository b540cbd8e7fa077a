package service_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Referral asks whether the organisation creating a referral owns the intake it names.
func TestCheckIntakeOwnership(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	in := h.register(t, validBSN(71), intakev1.Urgency_URGENCY_NORMAL)
	referral := h.clientAs(t, svctest.ServiceOrg("referral"))
	check := func(intakeID, oin, orgType string) bool {
		t.Helper()
		resp, err := referral.CheckIntakeOwnership(ctx, &intakev1.CheckIntakeOwnershipRequest{IntakeId: intakeID, OrganisationOin: oin, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](orgType)})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetOwner()
	}
	other := svctest.Org(identity.OrgTeam, "Wijkteam Zuid")
	if !check(in.GetId(), h.team.OIN, "TEAM") {
		t.Fatal("the owning team owns its intake")
	}
	if check(in.GetId(), other.OIN, "TEAM") || check(in.GetId(), h.team.OIN, "GP") || check(uuid.NewString(), h.team.OIN, "TEAM") {
		t.Fatal("another team, another type and an unknown intake do not")
	}
	if _, err := h.client.CheckIntakeOwnership(ctx, &intakev1.CheckIntakeOwnershipRequest{IntakeId: in.GetId(), OrganisationOin: h.team.OIN, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("only services may ask: %v", err)
	}

	// With the facts: the owner's intake as GetIntake gives it to a service and its household as
	// ListHouseholdResidents does, logged as those two reads are; nothing for anyone else.
	read := func() *intakev1.CheckIntakeOwnershipResponse {
		t.Helper()
		resp, err := referral.CheckIntakeOwnership(ctx, &intakev1.CheckIntakeOwnershipRequest{IntakeId: in.GetId(), OrganisationOin: h.team.OIN,
			OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, WithFacts: true})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	asService, err := referral.GetIntake(ctx, &intakev1.GetIntakeRequest{IntakeId: in.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	members, err := referral.ListHouseholdResidents(ctx, &intakev1.ListHouseholdResidentsRequest{HouseholdId: asService.GetIntake().GetHouseholdId(), PageSize: 500})
	if err != nil || len(members.GetResidents()) == 0 {
		t.Fatalf("the household as ListHouseholdResidents gives it: %v %v", members, err)
	}
	logged := func() (reads, residents int) {
		return h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.intake.read' AND object_id = $1 AND route = 'SERVICE'`, in.GetId()),
			h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.household.residents' AND object_id = $1 AND route = 'SERVICE'`, asService.GetIntake().GetHouseholdId())
	}
	reads, residents := logged()
	resp := read()
	if !resp.GetOwner() || !proto.Equal(resp.GetIntake(), asService.GetIntake()) || resp.GetIntake().GetQuestion() != "" {
		t.Fatalf("the owner's intake with the answer:\n%v\nwant, as GetIntake gives it to a service:\n%v", resp.GetIntake(), asService.GetIntake())
	}
	var want []string
	for _, r := range members.GetResidents() {
		want = append(want, r.GetPseudonym())
	}
	if !slices.Equal(resp.GetHouseholdResidentPseudonyms(), want) {
		t.Fatalf("household pseudonyms %v, want %v", resp.GetHouseholdResidentPseudonyms(), want)
	}
	if r2, m2 := logged(); r2 != reads+1 || m2 != residents+len(want) {
		t.Fatalf("logged %d intake reads and %d household entries, want %d and %d", r2-reads, m2-residents, 1, len(want))
	}
	other2, err := referral.CheckIntakeOwnership(ctx, &intakev1.CheckIntakeOwnershipRequest{IntakeId: in.GetId(), OrganisationOin: other.OIN,
		OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, WithFacts: true})
	if err != nil || other2.GetOwner() || other2.GetIntake() != nil || len(other2.GetHouseholdResidentPseudonyms()) != 0 {
		t.Fatalf("another team gets no facts: %v %v", other2, err)
	}
}
