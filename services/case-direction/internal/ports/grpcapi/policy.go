package grpcapi

import (
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	outcomesv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// teams is the rule of every method a neighbourhood team uses to work its cases.
var teams = authz.Rule{OrgTypes: []identity.OrgType{identity.OrgTeam}}

// readers may read a case: its team and Wijkbrug services, and every organisation type that
// can be involved in a case. Which case a partner reads is decided per object: only one it has
// an active involvement in (any other is NOT_FOUND).
var readers = authz.Rule{OrgTypes: []identity.OrgType{
	identity.OrgTeam, identity.OrgService, identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis,
	identity.OrgHousingCorporation, identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice,
	identity.OrgCreditBank, identity.OrgProvider, identity.OrgMunicipality,
}}

// partners are the organisation types other than teams that can be involved in a case (readers
// without teams and Wijkbrug services). A team lists its own cases with ListCases: as their
// director it is "involved" in every one of them.
var partners = authz.Rule{OrgTypes: []identity.OrgType{
	identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis,
	identity.OrgHousingCorporation, identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice,
	identity.OrgCreditBank, identity.OrgProvider, identity.OrgMunicipality,
}}

// Policy is the per-method rule set of the case-direction service (deny by default). Intake
// (a Wijkbrug service) opens and reads cases; teams work them; involved partners read them.
// Per-object checks (a team changes only its own cases; a partner reads only a case it has an
// active involvement in) are in the application layer.
var Policy = authz.Policy{
	// Cases are opened by intake after triage (it owns the household and the intake); a team
	// cannot open a case for a household or intake case-direction cannot check it owns.
	casedirectionv1.CaseDirectionService_OpenCase_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgService}},
	// Other Wijkbrug services ask whether their caller may act on a case.
	casedirectionv1.CaseDirectionService_CheckCaseInvolvement_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgService}},
	// Provider-monitoring logs access to a case's allocations under the case's residents.
	casedirectionv1.CaseDirectionService_ListCaseResidents_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgService}},
	// Provider-monitoring records an allocation it issues for a case outside RequestAllocation.
	casedirectionv1.CaseDirectionService_AttachAllocation_FullMethodName:     {OrgTypes: []identity.OrgType{identity.OrgService}},
	casedirectionv1.CaseDirectionService_GetCase_FullMethodName:              readers,
	casedirectionv1.CaseDirectionService_AssignDirector_FullMethodName:       teams,
	casedirectionv1.CaseDirectionService_RequestAllocation_FullMethodName:    teams,
	casedirectionv1.CaseDirectionService_ListCases_FullMethodName:            teams,
	casedirectionv1.CaseDirectionService_AdoptPlan_FullMethodName:            teams,
	casedirectionv1.CaseDirectionService_StartPlanExecution_FullMethodName:   teams,
	casedirectionv1.CaseDirectionService_AddGoalAction_FullMethodName:        teams,
	casedirectionv1.CaseDirectionService_SetGoalStatus_FullMethodName:        teams,
	casedirectionv1.CaseDirectionService_RecordEvaluation_FullMethodName:     teams,
	casedirectionv1.CaseDirectionService_RecordCaseConference_FullMethodName: teams,
	casedirectionv1.CaseDirectionService_CheckIn_FullMethodName:              teams,
	casedirectionv1.CaseDirectionService_RecordSafetyConcern_FullMethodName:  teams,
	casedirectionv1.CaseDirectionService_HandOver_FullMethodName:             teams,
	casedirectionv1.CaseDirectionService_CloseCase_FullMethodName:            teams,
	casedirectionv1.CaseDirectionService_AddInvolvement_FullMethodName:       teams,
	casedirectionv1.CaseDirectionService_EndInvolvement_FullMethodName:       teams,
	casedirectionv1.CaseDirectionService_ListInvolvements_FullMethodName:     readers,
	// A partner lists the cases it has an active involvement in (per object: only those).
	casedirectionv1.CaseDirectionService_ListInvolvedCases_FullMethodName: partners,
	// Outcome reporting (issue 17): a municipality sees its own municipality, a team its own
	// figures (per object: the application layer checks the municipality and narrows a team's
	// query to itself).
	outcomesv1.OutcomeService_GetIntakeFigures_FullMethodName:     outcomeReaders,
	outcomesv1.OutcomeService_GetCaseFigures_FullMethodName:       outcomeReaders,
	outcomesv1.OutcomeService_GetZrmChange_FullMethodName:         outcomeReaders,
	outcomesv1.OutcomeService_GetReferralFigures_FullMethodName:   outcomeReaders,
	outcomesv1.OutcomeService_GetAllocationFigures_FullMethodName: outcomeReaders,
	outcomesv1.OutcomeService_GetDecisionFigures_FullMethodName:   outcomeReaders,
	outcomesv1.OutcomeService_ExportFigures_FullMethodName:        outcomeReaders,
	// The report is the municipality's (per object: its own municipality).
	outcomesv1.OutcomeService_GetReport_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgMunicipality}},
}

// outcomeReaders may read outcome figures (no personal data; small cells suppressed).
var outcomeReaders = authz.Rule{OrgTypes: []identity.OrgType{identity.OrgMunicipality, identity.OrgTeam}}
