// Package postgres stores provider-monitoring's aggregates in its own PostgreSQL database.
package postgres

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Providers is the provider and contract repository.
type Providers struct{ db *pgxdb.DB }

// NewProviders returns the repository.
func NewProviders(db *pgxdb.DB) *Providers { return &Providers{db: db} }

// Get reads a provider.
func (r *Providers) Get(ctx context.Context, agb string) (domain.Provider, error) {
	var p domain.Provider
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT agb, name, oin FROM providers WHERE agb = $1`, agb).Scan(&p.AGB, &p.Name, &p.OIN)
	if pgxdb.IsNoRows(err) {
		return p, apperr.NotFound("provider", agb)
	}
	return p, err
}

// Contracts reads the provider's contracts with a municipality.
func (r *Providers) Contracts(ctx context.Context, agb, municipality string) ([]domain.Contract, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT id::text, provider_agb, model, municipality_code, product_category, product_code, districts, valid_from, valid_to
		FROM contracts WHERE provider_agb = $1 AND municipality_code = $2
		ORDER BY valid_from, id`, agb, municipality)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Contract
	for rows.Next() {
		var (
			c     domain.Contract
			model string
			to    *time.Time
		)
		if err := rows.Scan(&c.ID, &c.ProviderAGB, &model, &c.Municipality, &c.Product.Category, &c.Product.Code,
			&c.Districts, &c.ValidFrom, &to); err != nil {
			return nil, err
		}
		c.Model, c.ValidTo = domain.ContractModel(model), to
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpsertProvider stores a provider or updates its name and OIN.
func (r *Providers) UpsertProvider(ctx context.Context, p domain.Provider) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO providers (agb, name, oin) VALUES ($1, $2, $3)
		ON CONFLICT (agb) DO UPDATE SET name = EXCLUDED.name, oin = EXCLUDED.oin`, p.AGB, p.Name, p.OIN)
	return err
}

// UpsertContract stores a contract or replaces it, by id.
func (r *Providers) UpsertContract(ctx context.Context, c domain.Contract) error {
	districts := c.Districts
	if districts == nil {
		districts = []string{} // NOT NULL: no districts is the empty list, meaning all of them
	}
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO contracts (id, provider_agb, model, municipality_code, product_category, product_code, districts, valid_from, valid_to)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET provider_agb = EXCLUDED.provider_agb, model = EXCLUDED.model,
			municipality_code = EXCLUDED.municipality_code, product_category = EXCLUDED.product_category,
			product_code = EXCLUDED.product_code, districts = EXCLUDED.districts,
			valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to`,
		c.ID, c.ProviderAGB, string(c.Model), c.Municipality, c.Product.Category, c.Product.Code, districts, c.ValidFrom, c.ValidTo)
	return err
}
