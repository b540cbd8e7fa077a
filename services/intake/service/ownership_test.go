package service_test

import (
	"testing"

	"github.com/google/uuid"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
}
