package events

import (
	"context"
	"testing"

	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/migrations"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// An allocation's events name its provider's OIN, so routing their feed copies asks the
// database nothing inside the transaction that writes them; an allocation event without it,
// and a request's event, are looked up.
func TestAllocationEventsAreRoutedToTheirProviderWithoutAQuery(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "providermonitoring", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	route := FeedRecipients(&pgxdb.DB{Pool: pool})
	const providerOIN = "00000001234567800000"
	const number = "TW0000000001"

	for _, c := range []struct {
		subject string
		event   proto.Message
	}{
		{"wijkbrug.providermonitoring.GM0363.allocation.issued", &pmv1.AllocationIssued{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.delivery_started", &pmv1.AllocationDeliveryStarted{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.delivery_stopped", &pmv1.AllocationDeliveryStopped{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.withdrawn", &pmv1.AllocationWithdrawn{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.progress_reported", &pmv1.AllocationProgressReported{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.scale_down_advised", &pmv1.AllocationScaleDownAdvised{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.changed", &pmv1.AllocationChanged{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.not_started", &pmv1.AllocationNotStarted{AllocationNumber: number, ProviderOin: providerOIN}},
		{"wijkbrug.providermonitoring.GM0363.allocation.volume_delivered", &pmv1.AllocationVolumeDelivered{AllocationNumber: number, ProviderOin: providerOIN}},
	} {
		before := roundTrips.Load()
		got, err := route(ctx, c.subject, number, c.event)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != providerOIN {
			t.Errorf("%T: recipients %v, want [%s]", c.event, got, providerOIN)
		}
		if n := roundTrips.Load() - before; n != 0 {
			t.Errorf("%T: routing took %d round trips, want 0", c.event, n)
		}
	}
	// Without the OIN in the event the router reads the allocation (unknown here: no copy),
	// and so it does for a request's event.
	for _, c := range []struct {
		subject, aggregate string
		event              proto.Message
	}{
		{"wijkbrug.providermonitoring.GM0363.allocation.delivery_started", number, &pmv1.AllocationDeliveryStarted{AllocationNumber: number}},
		{"wijkbrug.providermonitoring.GM0363.allocation_request.received", "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
			&pmv1.AllocationRequestReceived{RequestId: "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"}},
	} {
		before := roundTrips.Load()
		got, err := route(ctx, c.subject, c.aggregate, c.event)
		if err != nil || len(got) != 0 {
			t.Fatalf("%T for an unknown %s: %v %v", c.event, c.aggregate, got, err)
		}
		if roundTrips.Load() == before {
			t.Errorf("%T without a provider's OIN was routed without a lookup", c.event)
		}
	}
}
