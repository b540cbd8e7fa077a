package service_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/referral/service"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestSeedDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testkit.NewDatabase(t, "referral", func(ctx context.Context, dsn string) error { return svc.Migrate(ctx, service.Spec(), dsn) })
	d := service.DemoSocialMap{MaintainerOIN: "00000001000000000100", ProviderOIN: "00000001000000000500", ProviderName: "Zorggroep De Brug",
		Municipality: "GM0363", District: "WK036300"}
	for range 2 {
		if err := service.SeedDemo(ctx, dsn, d); err != nil {
			t.Fatal(err)
		}
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n, digital int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE accepts_digital_referrals) FROM provisions`).Scan(&n, &digital); err != nil || n != 3 || digital != 2 {
		t.Fatalf("want 3 provisions (2 digital), got %d %d %v", n, digital, err)
	}
	var oin string
	if err := pool.QueryRow(ctx, `SELECT organisation_oin FROM provisions WHERE id = $1`, service.DemoProvisionID("Maatjesproject De Brug")).Scan(&oin); err != nil || oin != d.ProviderOIN {
		t.Fatalf("demo provision id: %q %v", oin, err)
	}
	if err := service.SeedDemo(ctx, dsn, service.DemoSocialMap{}); err == nil {
		t.Fatal("an empty demo map must be refused")
	}
}
