package grpc

import (
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// signalSources are the organisation types that send signals.
var signalSources = []identity.OrgType{
	identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis, identity.OrgHousingCorporation,
	identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice, identity.OrgCreditBank,
	identity.OrgTeam, identity.OrgMunicipality,
}

// Policy is the per-method rule set of the referral service (deny by default). Per-object
// checks (a source sees only its own signals) are in the application layer.
var Policy = authz.Policy{
	referralv1.ReferralService_SubmitSignal_FullMethodName: {OrgTypes: signalSources},
	referralv1.ReferralService_GetSignal_FullMethodName:    {OrgTypes: append([]identity.OrgType{identity.OrgService}, signalSources...)},
}
