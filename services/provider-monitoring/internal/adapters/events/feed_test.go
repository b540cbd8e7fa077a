package events

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/migrations"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// An allocation's events name its provider's OIN, so their feed copies need no read at all;
// an allocation event without it, and a request's event, are routed by a query of the
// provider, which the statement writing the copies runs (the router has no database to ask).
func TestAllocationEventsAreRoutedToTheirProviderWithoutAQuery(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "providermonitoring", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	route := FeedRecipients()
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
		got, err := route(ctx, c.subject, number, c.event)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.OINs, []string{providerOIN}) || got.Query != "" {
			t.Errorf("%T: recipients %+v, want [%s] and no query", c.event, got, providerOIN)
		}
	}
	// Without the OIN in the event, and for a request's event, a query; it runs against the
	// schema (no such allocation or request here: no recipients).
	for _, c := range []struct {
		subject, aggregate string
		event              proto.Message
	}{
		{"wijkbrug.providermonitoring.GM0363.allocation.delivery_started", number, &pmv1.AllocationDeliveryStarted{AllocationNumber: number}},
		{"wijkbrug.providermonitoring.GM0363.allocation_request.received", "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
			&pmv1.AllocationRequestReceived{RequestId: "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"}},
	} {
		got, err := route(ctx, c.subject, c.aggregate, c.event)
		if err != nil {
			t.Fatal(err)
		}
		if got.Query == "" || len(got.OINs) != 0 {
			t.Fatalf("%T: recipients %+v, want a query", c.event, got)
		}
		if n := testkit.CountRows(t, pool, got.Query, got.Args...); n != 0 {
			t.Errorf("%T: the query of an unknown aggregate found %d recipients", c.event, n)
		}
	}
}
