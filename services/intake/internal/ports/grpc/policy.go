package grpc

import (
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// Policy is the per-method rule set of the intake service (deny by default). Per-object
// checks (a team sees only its own intakes) are in the application layer.
var Policy = authz.Policy{
	intakev1.IntakeService_RegisterIntake_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgTeam}},
	intakev1.IntakeService_GetIntake_FullMethodName:      {OrgTypes: []identity.OrgType{identity.OrgTeam, identity.OrgService}},
}
