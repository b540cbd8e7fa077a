package postgres

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/intake/migrations"
)

// Registering a resident is one round trip whether the BSN is new or known (the INSERT and the
// read of an existing resident in one pipeline; a known resident took four: the INSERT, a read,
// and FindByBSN's two). A new BSN is inserted once; a known one gives the resident stored, as
// FindByBSN gives it, and after a merge the kept resident.
func TestRegisterIsOneRoundTripForANewOrAKnownResident(t *testing.T) {
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "intake", func(ctx context.Context, dsn string) error {
		return pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), migrations.Set())
	})
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	db := &pgxdb.DB{Pool: pool}
	key := func() []byte {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	prot, err := bsn.NewProtector(bsn.Keys{Encryption: key(), Index: key(), Pseudonym: key()})
	if err != nil {
		t.Fatal(err)
	}
	residents := NewResidents(db, prot)
	register := func(bsnValue string) (domain.Resident, bool, int64) {
		t.Helper()
		var got domain.Resident
		var created bool
		before := roundTrips.Load()
		err := db.Tx(ctx, func(ctx context.Context) error {
			var err error
			got, created, err = residents.Register(ctx, domain.Resident{ID: uuid.NewString(), BSN: bsnValue, Pseudonym: prot.Pseudonym(bsnValue),
				Municipality: "GM0363", District: "WK036300"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, created, roundTrips.Load() - before - 1 // the COMMIT
	}
	register("111222333") // prepares the statements (pgx's statement cache)
	first, created, n := register("123456782")
	if !created || n != 1 {
		t.Fatalf("a new BSN: created %v in %d round trips, want created in 1", created, n)
	}
	again, created, n := register("123456782")
	if created || n != 1 || again.ID != first.ID || again.Pseudonym != first.Pseudonym || again.BSN != "" {
		t.Fatalf("a known BSN: %+v, created %v in %d round trips; want resident %s (without the BSN), not created, in 1", again, created, n, first.ID)
	}
	if found, err := residents.FindByBSN(ctx, "123456782"); err != nil || found != again {
		t.Fatalf("FindByBSN gives %+v (%v), Register %+v: want the same", found, err, again)
	}

	// A duplicate merged into another resident: registering its BSN gives the kept one.
	dup, _, _ := register("111222333")
	if err := db.Tx(ctx, func(ctx context.Context) error { return residents.Merge(ctx, first.ID, dup.ID, "2026-12-03") }); err != nil {
		t.Fatal(err)
	}
	kept, created, _ := register("111222333")
	if created || kept.ID != first.ID {
		t.Fatalf("the merged duplicate's BSN gives %+v (created %v), want the kept resident %s", kept, created, first.ID)
	}
}
