package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/case-direction/migrations"
)

// newDSN returns a new database migrated to case-direction's schema.
func newDSN(t *testing.T) string {
	t.Helper()
	return testkit.NewDatabase(t, "casedirection", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
}

func openCases(t *testing.T) (*pgxdb.DB, *Cases, string) {
	t.Helper()
	ctx := context.Background()
	dsn := newDSN(t)
	db, err := pgxdb.Open(ctx, dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	caseID := "6b1f0a52-8a44-4c1e-9d0e-3f1d2c9b7a01"
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO cases (id, household_id, municipality_code, team_oin, status, opened_at)
		VALUES ($1, gen_random_uuid(), 'GM0363', '00000001000000000001', 'ACTIVE', now())`, caseID); err != nil {
		t.Fatal(err)
	}
	return db, NewCases(db, nil), caseID
}

func action(number, origin string) domain.AllocationAction {
	return domain.AllocationAction{Number: number, ProviderAGB: "12345678", ProductCategory: "04", ProductCode: "04A01",
		Status: domain.AllocationIssued, UpdatedAt: time.Now().UTC().Truncate(time.Microsecond), Origin: origin}
}

// waitingOnLock waits until some backend of the database waits for a lock. It runs inside a
// transaction's goroutine, so it returns an error rather than failing the test.
func waitingOnLock(ctx context.Context, db *pgxdb.DB) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return errors.New("no transaction ever waited for a lock")
}

// The AllocationIssued consumer and a RequestAllocation of the same allocation meet on the
// case row and the allocation number. In the order the bench smoke hit — the consumer has read
// the case, the request inserts its action (whose foreign key needs a key-share lock on the
// case row), then the consumer inserts the same number — neither may wait for the other in a
// cycle: the request commits, the consumer's insert finds the row and does nothing, and the
// action keeps origin CASE_REQUEST. (With the consumer holding FOR UPDATE this was 40P01.)
func TestAllocationEventRacingTheRequestDoesNotDeadlock(t *testing.T) {
	db, cases, caseID := openCases(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	locked, requestInserted, consumerDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var consumerAdded bool
	go func() {
		consumerDone <- db.Tx(ctx, func(ctx context.Context) error {
			if _, err := cases.GetForShare(ctx, caseID); err != nil {
				return err
			}
			close(locked)
			select {
			case <-requestInserted:
			case <-ctx.Done():
				return ctx.Err()
			}
			var err error
			consumerAdded, err = cases.AddAllocation(ctx, caseID, action("A-RACE-1", domain.OriginOther))
			return err
		})
	}()
	<-locked
	var requestAdded bool
	requestDone := make(chan error, 1)
	go func() {
		requestDone <- db.Tx(ctx, func(ctx context.Context) error {
			var err error
			if requestAdded, err = cases.AddAllocation(ctx, caseID, action("A-RACE-1", domain.OriginCaseRequest)); err != nil {
				return err
			}
			close(requestInserted)
			return waitingOnLock(ctx, db) // the consumer's insert waits for this transaction
		})
	}()
	select {
	case err := <-requestDone:
		if err != nil {
			t.Fatalf("request: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request's insert waits for the consumer's lock on the case (deadlock in the making)")
	}
	if err := <-consumerDone; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if !requestAdded || consumerAdded {
		t.Fatalf("request added = %v (want true), consumer added = %v (want false)", requestAdded, consumerAdded)
	}
	var origin string
	if err := db.Pool.QueryRow(ctx, `SELECT origin FROM case_allocations WHERE allocation_number = 'A-RACE-1'`).Scan(&origin); err != nil {
		t.Fatal(err)
	}
	if origin != domain.OriginCaseRequest {
		t.Fatalf("origin = %s, want %s", origin, domain.OriginCaseRequest)
	}
}

// When the event wins outright (recorded and committed before the request records its action),
// the request claims the action: origin CASE_REQUEST and "added", so the case's own event about
// its request is still published. A repeat of the request adds nothing.
func TestRequestClaimsAnAllocationRecordedFromTheEvent(t *testing.T) {
	db, cases, caseID := openCases(t)
	ctx := context.Background()
	add := func(origin string) bool {
		var added bool
		if err := db.Tx(ctx, func(ctx context.Context) error {
			var err error
			added, err = cases.AddAllocation(ctx, caseID, action("A-RACE-2", origin))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return added
	}
	if !add(domain.OriginOther) {
		t.Fatal("the event's action was not recorded")
	}
	if !add(domain.OriginCaseRequest) {
		t.Fatal("the request did not claim the action the event recorded")
	}
	if add(domain.OriginCaseRequest) || add(domain.OriginOther) {
		t.Fatal("a repeat added the action again")
	}
	var origin string
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT min(origin), count(*) FROM case_allocations WHERE allocation_number = 'A-RACE-2'`).Scan(&origin, &n); err != nil {
		t.Fatal(err)
	}
	if origin != domain.OriginCaseRequest || n != 1 {
		t.Fatalf("origin %s, %d rows; want CASE_REQUEST, 1", origin, n)
	}
}
