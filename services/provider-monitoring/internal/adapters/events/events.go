// Package events turns provider-monitoring's domain changes into information-poor protobuf
// events in the outbox: numbers, ids, codes and dates, never a name or free text.
package events

import (
	"context"

	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Service is the producing service's subject token.
const Service = "providermonitoring"

// Publisher writes provider-monitoring events to the outbox.
type Publisher struct{ w *outbox.Writer }

// NewPublisher returns a publisher.
func NewPublisher(w *outbox.Writer) *Publisher { return &Publisher{w: w} }

// AllocationIssued announces a new allocation (301).
func (p *Publisher) AllocationIssued(ctx context.Context, a domain.Allocation) error {
	return p.w.Add(ctx, natsx.Subject(Service, a.Municipality, "allocation", "issued"), a.Number, &providermonitoringv1.AllocationIssued{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderAgb: a.ProviderAGB,
		ProductCategory: a.Product.Category, ProductCode: a.Product.Code, MunicipalityCode: a.Municipality,
		IssuedAt: timestamppb.New(a.IssuedAt),
	})
}

// AllocationDeliveryStarted announces the provider's start of care (305) and whether it was
// reported on time, which is what the municipality monitors.
func (p *Publisher) AllocationDeliveryStarted(ctx context.Context, a domain.Allocation, d domain.Delivery) error {
	return p.w.Add(ctx, natsx.Subject(Service, a.Municipality, "allocation", "delivery_started"), a.Number, &providermonitoringv1.AllocationDeliveryStarted{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderAgb: a.ProviderAGB,
		StartedOn: d.StartedOn.Format(domain.DateLayout), ReportedOnTime: d.OnTime, MunicipalityCode: a.Municipality,
		ReportedAt: timestamppb.New(d.ReportedAt),
	})
}
