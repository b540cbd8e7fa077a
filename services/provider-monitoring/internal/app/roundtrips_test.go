package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Issuing an allocation reads its provider and contracts in one pipeline, draws its number and
// reads its case's residents in its INSERT, and its first version goes with the COMMIT: three
// round trips (BEGIN with the provider and contracts, the INSERT, the deferred writes with
// COMMIT), where it took eight. A provider's start and stop reports lock the allocation and
// read its provider's OIN and its case's residents in one statement, and the period of
// delivery and the report go with the COMMIT: three round trips each (BEGIN with the locking
// read, the allocation's UPDATE, the deferred writes with COMMIT), where each took eight. The
// events name the provider's OIN, so routing their copies to the provider's feed looks
// nothing up. The allocation, its version, the periods, the reports, the events with their
// feed copies and the access-log entries, one per resident of the case, are all stored. The
// application logs and routes as the service does (logstore.PerResidentRecorder,
// events.FeedRecipients).
func TestIssuingAndReportingRideWithTheCommit(t *testing.T) {
	ctx := context.Background()
	dsn := newDatabase(t)
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	now := new(time.Time)
	db := &pgxdb.DB{Pool: pool}
	// The writer's NOTIFY after each commit is not the call's work (testkit.NotifyDB); it
	// routes feed copies as the service's does.
	w := outbox.NewWriter(testkit.NotifyDB(t, dsn), events.Service)
	w.SetFeedRouter(events.FeedRecipients())
	a := appWith(t, db, w, now)
	serviceCtx := as(identity.OrgService, "00000009999999900000")
	providerCtx := as(identity.OrgProvider, providerOIN)
	*now = amsterdam(2025, 4, 1, 10, 0)
	startAndStop := func() (string, int64, int64, int64) {
		t.Helper()
		// case-direction tells provider-monitoring the residents of the case (an event).
		caseID := uuid.NewString()
		if err := postgres.NewCaseResidents(db).SetCaseResidents(ctx, caseID, []string{"ps-b", "ps-a"}); err != nil {
			t.Fatal(err)
		}
		before := roundTrips.Load()
		al, err := a.Allocate(serviceCtx, domain.Allocation{
			ProviderAGB: "12345678", CaseID: caseID, Municipality: "GM0363", District: "WK036301",
			Product: domain.Product{Category: "45", Code: "45A48"}, Start: domain.Date(2025, 3, 24),
			Volume: domain.Volume{Amount: 2, Unit: "04", Frequency: "2"},
		})
		if err != nil {
			t.Fatal(err)
		}
		issue := roundTrips.Load() - before
		before = roundTrips.Load()
		if _, err := a.ReportDeliveryStarted(providerCtx, al.Number, domain.Date(2025, 3, 27)); err != nil {
			t.Fatal(err)
		}
		start := roundTrips.Load() - before
		before = roundTrips.Load()
		if _, err := a.ReportDeliveryStopped(providerCtx, al.Number, domain.Date(2025, 3, 31), "31"); err != nil {
			t.Fatal(err)
		}
		return al.Number, issue, start, roundTrips.Load() - before
	}
	first, _, _, _ := startAndStop() // prepares the statements (pgx's statement cache)
	number, issue, start, stop := startAndStop()
	if issue != 3 || start != 3 || stop != 3 {
		t.Errorf("issuing took %d round trips, a start report %d and a stop report %d, want 3, 3 and 3", issue, start, stop)
	}
	if first == number || len(number) != 12 || number[:2] != "TW" {
		t.Errorf("allocation numbers %q and %q: want two different numbers of TW and ten digits", first, number)
	}
	var periods, closed, versions int
	var reports, logged, copies string
	if err := pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM allocation_versions WHERE allocation_number = $1),
			(SELECT count(*) FROM deliveries WHERE allocation_number = $1),
			(SELECT count(*) FROM deliveries WHERE allocation_number = $1 AND stopped_on = '2025-03-31'),
			(SELECT string_agg(kind, ' ' ORDER BY kind) FROM delivery_reports WHERE allocation_number = $1),
			(SELECT string_agg(action || '/' || resident_pseudonym, ' ' ORDER BY id, resident_pseudonym) FROM access_log_entries
			 WHERE object_id = $1),
			(SELECT string_agg(event_type || '>' || recipient, ' ' ORDER BY id) FROM outbox WHERE aggregate_id = $1 AND recipient <> '')`,
		number).Scan(&versions, &periods, &closed, &reports, &logged, &copies); err != nil {
		t.Fatal(err)
	}
	const wantLogged = "providermonitoring.allocation.create/ps-a providermonitoring.allocation.create/ps-b " +
		"providermonitoring.allocation.report_start/ps-a providermonitoring.allocation.report_start/ps-b " +
		"providermonitoring.allocation.report_stop/ps-a providermonitoring.allocation.report_stop/ps-b"
	if logged != wantLogged {
		t.Errorf("the allocation was logged as %q, want %q", logged, wantLogged)
	}
	const wantCopies = "wijkbrug.providermonitoring.v1.AllocationIssued>" + providerOIN +
		" wijkbrug.providermonitoring.v1.AllocationDeliveryStarted>" + providerOIN +
		" wijkbrug.providermonitoring.v1.AllocationDeliveryStopped>" + providerOIN
	if copies != wantCopies {
		t.Errorf("feed copies %q, want %q", copies, wantCopies)
	}
	if versions != 1 || periods != 1 || closed != 1 || reports != "START STOP" {
		t.Fatalf("stored %d versions, %d periods of delivery (%d closed) and reports %q; want 1, 1 (1 closed) and \"START STOP\"",
			versions, periods, closed, reports)
	}
}
