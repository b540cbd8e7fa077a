package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// DemoSocialMap names the organisations of the demo social map.
type DemoSocialMap struct {
	// MaintainerOIN is the team that maintains the entries.
	MaintainerOIN string
	// ProviderOIN and ProviderName are the organisation of the provisions (it receives the
	// referrals).
	ProviderOIN, ProviderName string
	Municipality, District    string
}

// demoProvisionNamespace makes a demo provision's id a function of its name, so seeding twice
// updates the entries instead of adding new ones.
var demoProvisionNamespace = uuid.MustParse("3a8e6c1d-5b7f-4e2a-9d1c-0f6b2a4e8c17")

// DemoProvisionID returns the id SeedDemo gives the provision with this name.
func DemoProvisionID(name string) string {
	return uuid.NewSHA1(demoProvisionNamespace, []byte(name)).String()
}

// SeedDemo stores three community provisions of the demo provider on the social map (a buddy
// project and a debt-help buddy that accept digital referrals, and a walk-in centre that does
// not). It is idempotent and migrates the database first.
func SeedDemo(ctx context.Context, dsn string, d DemoSocialMap) error {
	if d.MaintainerOIN == "" || d.ProviderOIN == "" || d.Municipality == "" {
		return errors.New("seed demo social map: maintainer, provider and municipality are required")
	}
	now := time.Now().UTC()
	var districts []string
	if d.District != "" {
		districts = []string{d.District}
	}
	base := domain.Provision{OrganisationOIN: d.ProviderOIN, OrganisationName: d.ProviderName, Kind: domain.KindCommunity,
		Status: domain.ProvisionActive, Municipality: d.Municipality, MaintainerOIN: d.MaintainerOIN, VerifiedAt: &now, UpdatedAt: now}
	entries := []domain.Provision{base, base, base}
	entries[0].Name, entries[0].Description = "Maatjesproject De Brug", "Een vrijwillige maatje tegen eenzaamheid"
	entries[0].Taxonomy, entries[0].LifeDomains = []string{"buddy-project", "welfare"}, []string{"SOCIAL_NETWORK", "COMMUNITY_PARTICIPATION"}
	entries[0].MinAge, entries[0].CapacityStatus, entries[0].WaitingDays, entries[0].AcceptsDigitalReferrals = 18, "AVAILABLE", 7, true
	entries[1].Name, entries[1].Description = "Schuldhulpmaatje", "Vrijwilligers helpen met administratie, budget en schulden"
	entries[1].Taxonomy, entries[1].LifeDomains, entries[1].Districts = []string{"debt-help"}, []string{"FINANCES"}, districts
	entries[1].MinAge, entries[1].CapacityStatus, entries[1].WaitingDays, entries[1].AcceptsDigitalReferrals = 18, "WAITLIST", 21, true
	entries[2].Name, entries[2].Description = "Inloop Buurthuis", "Vrije inloop voor vragen, koffie en activiteiten"
	entries[2].Taxonomy, entries[2].LifeDomains = []string{"community-work"}, []string{"DAYTIME_ACTIVITIES", "SOCIAL_NETWORK"}
	entries[2].CapacityStatus = "AVAILABLE"
	return svc.Seed(ctx, Spec(), dsn, func(ctx context.Context, db *pgxdb.DB) error {
		repo := postgres.NewProvisions(db)
		for _, p := range entries {
			p.ID = DemoProvisionID(p.Name)
			if vs := p.Validate(""); len(vs) > 0 {
				return fmt.Errorf("seed provision %s: %v", p.Name, vs)
			}
			if _, err := repo.Upsert(ctx, p); err != nil {
				return fmt.Errorf("seed provision %s: %w", p.Name, err)
			}
		}
		return nil
	})
}
