package grpcapi

import (
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// RoleMunicipalAdministrator is the role that may adopt a municipality's triage policy.
const RoleMunicipalAdministrator = "municipal_administrator"

var (
	team          = []identity.OrgType{identity.OrgTeam}
	teamOrService = []identity.OrgType{identity.OrgTeam, identity.OrgService}
)

// Policy is the per-method rule set of the intake service (deny by default). Per-object
// checks (a team sees only its own intakes and the residents it works with; a municipality
// adopts only its own policy) are in the application layer.
var Policy = authz.Policy{
	intakev1.IntakeService_RegisterIntake_FullMethodName: {OrgTypes: team},
	intakev1.IntakeService_GetIntake_FullMethodName:      {OrgTypes: teamOrService},
	// Other Wijkbrug services ask whether their caller owns an intake.
	intakev1.IntakeService_CheckIntakeOwnership_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgService}},
	intakev1.IntakeService_StartTriage_FullMethodName:          {OrgTypes: team},
	intakev1.IntakeService_DecideTriage_FullMethodName:         {OrgTypes: team},
	intakev1.IntakeService_RecordContactAttempt_FullMethodName: {OrgTypes: team},
	intakev1.IntakeService_RecordClarification_FullMethodName:  {OrgTypes: team},
	intakev1.IntakeService_WithdrawIntake_FullMethodName:       {OrgTypes: team},
	intakev1.IntakeService_MergeIntake_FullMethodName:          {OrgTypes: team},
	intakev1.IntakeService_ListTeamQueue_FullMethodName:        {OrgTypes: team},
	intakev1.IntakeService_ListIntakes_FullMethodName:          {OrgTypes: team},
	intakev1.IntakeService_GetTriagePolicy_FullMethodName: {OrgTypes: []identity.OrgType{
		identity.OrgTeam, identity.OrgService, identity.OrgMunicipality}},
	intakev1.IntakeService_ReplaceTriagePolicy_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgMunicipality},
		Roles: []string{RoleMunicipalAdministrator}},
	intakev1.IntakeService_RecordAssessment_FullMethodName: {OrgTypes: team},
	intakev1.IntakeService_ListAssessments_FullMethodName:  {OrgTypes: team},
	// Case-direction compares a case's assessments for the case's team (evaluation, closing).
	intakev1.IntakeService_CompareAssessments_FullMethodName: {OrgTypes: teamOrService},
	intakev1.IntakeService_RegisterResident_FullMethodName:   {OrgTypes: team},
	intakev1.IntakeService_FindResident_FullMethodName:       {OrgTypes: team},
	intakev1.IntakeService_MergeResidents_FullMethodName:     {OrgTypes: team},
	// Residents' personal details and households: teams, for residents and households they
	// work with (checked per object in the application).
	// Provider-monitoring reads the applicant's name and address for a decision letter,
	// forwarding the drafting team (x-wijkbrug-on-behalf-of), which must work with the resident.
	intakev1.IntakeService_GetResident_FullMethodName:           {OrgTypes: teamOrService},
	intakev1.IntakeService_UpdateResident_FullMethodName:        {OrgTypes: team},
	intakev1.IntakeService_CreateHousehold_FullMethodName:       {OrgTypes: team},
	intakev1.IntakeService_AddHouseholdMember_FullMethodName:    {OrgTypes: team},
	intakev1.IntakeService_RemoveHouseholdMember_FullMethodName: {OrgTypes: team},
	// Provider-monitoring reads the household address the same way (forwarding the team).
	intakev1.IntakeService_GetHousehold_FullMethodName: {OrgTypes: teamOrService},
	// Case-direction keeps a case's residents (ids and pseudonyms) with the household.
	intakev1.IntakeService_ListHouseholdResidents_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgService}},
}
