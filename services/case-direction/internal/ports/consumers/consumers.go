// Package consumers reacts to other services' events: provider-monitoring reports what
// became of the allocations a case made, and the case mirrors their status.
package consumers

import (
	"context"
	"log/slog"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"google.golang.org/protobuf/proto"
)

// AllocationEvents follows provider-monitoring's allocation events.
func AllocationEvents(a *app.App, caller identity.Caller, log *slog.Logger) consumer.Spec {
	return consumer.Spec{
		Durable:  "casedirection-allocations",
		Stream:   natsx.StreamName("providermonitoring"),
		Subjects: []string{"wijkbrug.providermonitoring.*.allocation.>"},
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			switch m := msg.(type) {
			case *providermonitoringv1.AllocationDeliveryStarted:
				at := ev.Time
				if m.GetReportedAt() != nil {
					at = m.GetReportedAt().AsTime()
				}
				if at.IsZero() {
					at = time.Now()
				}
				found, err := a.MarkAllocationStarted(ctx, m.GetAllocationNumber(), at)
				if err != nil {
					return err
				}
				if !found {
					// Allocations made outside case direction, or for a case whose recording
					// rolled back: retrying cannot make them ours.
					log.InfoContext(ctx, "start of care for an allocation without a case action; ignored",
						"allocation_number", m.GetAllocationNumber(), "event_id", ev.ID)
				}
			case *providermonitoringv1.AllocationIssued:
				// The action was recorded when RequestAllocation got its answer.
			}
			return nil
		},
	}
}
