// Package peers holds the gRPC clients of the services case-direction calls.
package peers

import (
	"context"
	"errors"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/grpc"
)

// ProviderMonitoring allocates care through the provider-monitoring service. The connection
// (from svc.Platform.Dial) gives every call a deadline and carries the acting user onward.
type ProviderMonitoring struct {
	client providermonitoringv1.ProviderMonitoringServiceClient
}

// NewProviderMonitoring returns the client.
func NewProviderMonitoring(cc grpc.ClientConnInterface) *ProviderMonitoring {
	return &ProviderMonitoring{client: providermonitoringv1.NewProviderMonitoringServiceClient(cc)}
}

// Allocate issues an allocation. The peer's error statuses are returned untouched: the edge
// passes them on to our caller, who needs the peer's reason (no valid contract, unknown
// provider), not a masked one.
func (p *ProviderMonitoring) Allocate(ctx context.Context, o app.AllocationOrder) (domain.AllocationAction, error) {
	resp, err := p.client.Allocate(ctx, &providermonitoringv1.AllocateRequest{
		IdempotencyKey:   o.IdempotencyKey,
		CaseId:           o.CaseID,
		MunicipalityCode: o.Municipality,
		DistrictCode:     o.District,
		ProviderAgb:      o.ProviderAGB,
		ProductCategory:  o.ProductCategory,
		ProductCode:      o.ProductCode,
		StartDate:        o.StartDate,
		EndDate:          o.EndDate,
		Volume: &commonv1.Volume{Amount: o.Volume.Amount, Unit: protoenum.FromCode[commonv1.VolumeUnit](o.Volume.Unit),
			Frequency: protoenum.FromCode[commonv1.VolumeFrequency](o.Volume.Frequency)},
	})
	if err != nil {
		return domain.AllocationAction{}, grpcx.PeerError("provider-monitoring", "allocation", err)
	}
	al := resp.GetAllocation()
	if al.GetNumber() == "" {
		return domain.AllocationAction{}, errors.New("provider-monitoring: Allocate answered without an allocation number")
	}
	a := domain.AllocationAction{
		Number:          al.GetNumber(),
		ProviderAGB:     al.GetProviderAgb(),
		ProductCategory: al.GetProductCategory(),
		ProductCode:     al.GetProductCode(),
		Status:          protoenum.Code(al.GetStatus()),
		UpdatedAt:       time.Now(),
	}
	if al.GetIssuedAt() != nil {
		a.UpdatedAt = al.GetIssuedAt().AsTime()
	}
	a.UpdatedAt = a.UpdatedAt.UTC().Truncate(time.Microsecond)
	// The allocation should echo what was asked; where it does not, the request is still the
	// best description of the action, and the case must not record it half empty.
	if a.ProviderAGB == "" {
		a.ProviderAGB = o.ProviderAGB
	}
	if a.ProductCategory == "" {
		a.ProductCategory = o.ProductCategory
	}
	if a.ProductCode == "" {
		a.ProductCode = o.ProductCode
	}
	if a.Status == "" {
		a.Status = domain.AllocationIssued
	}
	return a, nil
}

// Allocation reads an allocation from provider-monitoring as an action, with its case.
func (p *ProviderMonitoring) Allocation(ctx context.Context, number string) (domain.AllocationAction, string, error) {
	resp, err := p.client.GetAllocation(ctx, &providermonitoringv1.GetAllocationRequest{AllocationNumber: number})
	if err != nil {
		return domain.AllocationAction{}, "", grpcx.PeerError("provider-monitoring", "allocation", err)
	}
	al := resp.GetAllocation()
	return ActionOf(al), al.GetCaseId(), nil
}

// ActionOf is an allocation as an action of its case: issued by a provider's granted request
// (origin PROVIDER_REQUEST) or otherwise outside the case (OTHER).
func ActionOf(al *providermonitoringv1.Allocation) domain.AllocationAction {
	a := domain.AllocationAction{Number: al.GetNumber(), ProviderAGB: al.GetProviderAgb(), ProductCategory: al.GetProductCategory(),
		ProductCode: al.GetProductCode(), Status: protoenum.Code(al.GetStatus()), UpdatedAt: time.Now(), Origin: domain.OriginOther,
		DecisionNumber: al.GetDecisionNumber()}
	if al.GetIssuedAt() != nil {
		a.UpdatedAt = al.GetIssuedAt().AsTime()
	}
	if al.GetRequestId() != "" {
		a.Origin = domain.OriginProviderRequest
	}
	return a
}
