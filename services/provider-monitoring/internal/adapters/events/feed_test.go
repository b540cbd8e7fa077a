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
		if oins := testkit.RoutedByQuery(t, pool, got); len(oins) != 0 {
			t.Errorf("%T: the query of an unknown aggregate found %v", c.event, oins)
		}
	}
	// A request the database knows: its query finds the provider's OIN.
	const requestID = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4c"
	if _, err := pool.Exec(ctx, `INSERT INTO providers (agb, name, oin) VALUES ('12345678', 'Zorg', $1)`, providerOIN); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO allocation_requests (id, kind, provider_agb, municipality_code, product_category,
		    product_code, start_date, volume_amount, volume_unit, volume_frequency, status, received_at, answer_due)
		VALUES ($1, 'ALLOCATION', '12345678', 'GM0363', '45', '45A01', '2026-12-01', 4, '04', '2', 'RECEIVED', now(), '2026-12-15')`,
		requestID); err != nil {
		t.Fatal(err)
	}
	got, err := route(ctx, "wijkbrug.providermonitoring.GM0363.allocation_request.received", requestID,
		&pmv1.AllocationRequestReceived{RequestId: requestID})
	if err != nil {
		t.Fatal(err)
	}
	if oins := testkit.RoutedByQuery(t, pool, got); !slices.Equal(oins, []string{providerOIN}) {
		t.Errorf("the request's query found %v, want the provider's OIN %s", oins, providerOIN)
	}
}
