package grpc

import (
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// Policy is the per-method rule set of the provider-monitoring service (deny by default).
// Allocations are issued by case-direction (a service); providers read their own and report
// on them. Per-object checks (a provider sees only its own allocations) are in the
// application layer.
var Policy = authz.Policy{
	providermonitoringv1.ProviderMonitoringService_Allocate_FullMethodName:              {OrgTypes: []identity.OrgType{identity.OrgService}},
	providermonitoringv1.ProviderMonitoringService_GetAllocation_FullMethodName:         {OrgTypes: []identity.OrgType{identity.OrgProvider, identity.OrgService}},
	providermonitoringv1.ProviderMonitoringService_ReportDeliveryStarted_FullMethodName: {OrgTypes: []identity.OrgType{identity.OrgProvider}},
}
