package grpcapi

import (
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	pm "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// ContractManager is the role that manages a municipality's providers and contracts.
const ContractManager = "contract_manager"

// DecisionRoles are the roles of municipal officials who decide under a mandate (the mandate
// register says which of them may decide what; a register naming another role is refused).
var DecisionRoles = domain.DecisionRoles

var (
	service      = identity.OrgService
	provider     = identity.OrgProvider
	team         = identity.OrgTeam
	municipality = identity.OrgMunicipality
)

// Policy is the per-method rule set of the provider-monitoring service (deny by default).
// Allocations are issued by case-direction (a service); providers report on their own;
// teams and municipalities act for the municipalities they are registered for. Per-object
// checks (a provider sees only its own allocations, a team only its municipality's) are in the
// application layer.
var Policy = authz.Policy{
	pm.ProviderMonitoringService_Allocate_FullMethodName:               {OrgTypes: []identity.OrgType{service}},
	pm.ProviderMonitoringService_GetAllocation_FullMethodName:          {OrgTypes: []identity.OrgType{provider, service, team, municipality}},
	pm.ProviderMonitoringService_ReportDeliveryStarted_FullMethodName:  {OrgTypes: []identity.OrgType{provider}},
	pm.ProviderMonitoringService_ReportDeliveryStopped_FullMethodName:  {OrgTypes: []identity.OrgType{provider}},
	pm.ProviderMonitoringService_ChangeAllocation_FullMethodName:       {OrgTypes: []identity.OrgType{service, team, municipality}},
	pm.ProviderMonitoringService_WithdrawAllocation_FullMethodName:     {OrgTypes: []identity.OrgType{service, team, municipality}},
	pm.ProviderMonitoringService_ListAllocationVersions_FullMethodName: {OrgTypes: []identity.OrgType{provider, service, team, municipality}},
	pm.ProviderMonitoringService_ListCaseAllocations_FullMethodName:    {OrgTypes: []identity.OrgType{service, team, municipality}},
	pm.ProviderMonitoringService_ListMyAllocations_FullMethodName:      {OrgTypes: []identity.OrgType{provider}},

	pm.ProviderMonitoringService_SubmitAllocationRequest_FullMethodName:   {OrgTypes: []identity.OrgType{provider}},
	pm.ProviderMonitoringService_AnswerAllocationRequest_FullMethodName:   {OrgTypes: []identity.OrgType{team, municipality}},
	pm.ProviderMonitoringService_DescribeAllocationRequest_FullMethodName: {OrgTypes: []identity.OrgType{provider, service, team, municipality}},
	pm.ProviderMonitoringService_ListAllocationRequests_FullMethodName:    {OrgTypes: []identity.OrgType{service, team, municipality}},

	pm.ProviderMonitoringService_ReportProgress_FullMethodName: {OrgTypes: []identity.OrgType{provider}},

	pm.ProviderMonitoringService_RegisterProvider_FullMethodName:        {OrgTypes: []identity.OrgType{municipality}, Roles: []string{ContractManager}},
	pm.ProviderMonitoringService_CorrectProvider_FullMethodName:         {OrgTypes: []identity.OrgType{municipality}, Roles: []string{ContractManager}},
	pm.ProviderMonitoringService_ListProviderCorrections_FullMethodName: {OrgTypes: []identity.OrgType{municipality, identity.OrgService}, Roles: []string{ContractManager}},
	pm.ProviderMonitoringService_AddContract_FullMethodName:             {OrgTypes: []identity.OrgType{municipality}, Roles: []string{ContractManager}},
	pm.ProviderMonitoringService_ListContracts_FullMethodName:           {OrgTypes: []identity.OrgType{provider, service, team, municipality}},

	pm.ProviderMonitoringService_GetProviderOverview_FullMethodName: {OrgTypes: []identity.OrgType{provider, service, team, municipality}},
	pm.ProviderMonitoringService_GetContractOverview_FullMethodName: {OrgTypes: []identity.OrgType{provider, service, team, municipality}},

	pm.ProviderMonitoringService_ReportDeliveredVolume_FullMethodName:  {OrgTypes: []identity.OrgType{provider}},
	pm.ProviderMonitoringService_GetAllocationVolumeUse_FullMethodName: {OrgTypes: []identity.OrgType{provider, service, team, municipality}},

	// Decisions (issue 17): the team that owns the intake or case (or the municipality) drafts,
	// proposes and amends; municipal officials with a decision role decide and withdraw under
	// mandate; the municipality sends and registers objections. Per-object checks (owning
	// team, acting for the decision's municipality) are in the application layer.
	pm.DecisionService_DraftDecision_FullMethodName:        {OrgTypes: []identity.OrgType{team, municipality}},
	pm.DecisionService_ProposeDecision_FullMethodName:      {OrgTypes: []identity.OrgType{team, municipality}},
	pm.DecisionService_AmendDecision_FullMethodName:        {OrgTypes: []identity.OrgType{team, municipality}},
	pm.DecisionService_DecideDecision_FullMethodName:       {OrgTypes: []identity.OrgType{municipality}, Roles: DecisionRoles},
	pm.DecisionService_WithdrawDecision_FullMethodName:     {OrgTypes: []identity.OrgType{municipality}, Roles: DecisionRoles},
	pm.DecisionService_SendDecision_FullMethodName:         {OrgTypes: []identity.OrgType{municipality}},
	pm.DecisionService_RegisterObjection_FullMethodName:    {OrgTypes: []identity.OrgType{municipality}},
	pm.DecisionService_GetDecision_FullMethodName:          {OrgTypes: []identity.OrgType{service, team, municipality}},
	pm.DecisionService_ListDecisions_FullMethodName:        {OrgTypes: []identity.OrgType{team, municipality}},
	pm.DecisionService_ListMandates_FullMethodName:         {OrgTypes: []identity.OrgType{service, team, municipality}},
	pm.DecisionService_RenderDecisionLetter_FullMethodName: {OrgTypes: []identity.OrgType{team, municipality}},
	pm.DecisionService_AdoptMandateRegister_FullMethodName: {OrgTypes: []identity.OrgType{municipality}, Roles: []string{"municipal_administrator"}},
}
