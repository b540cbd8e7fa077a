// Package postgres stores provider-monitoring's aggregates in its own PostgreSQL database.
package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Providers is the provider and contract repository, with the organisations that act for a
// municipality.
type Providers struct{ db *pgxdb.DB }

// NewProviders returns the repository.
func NewProviders(db *pgxdb.DB) *Providers { return &Providers{db: db} }

// Get reads a provider.
func (r *Providers) Get(ctx context.Context, agb string) (domain.Provider, error) {
	var p domain.Provider
	err := scanProvider(r.db.Q(ctx).QueryRow(ctx, providerSQL, agb), &p)
	if pgxdb.IsNoRows(err) {
		return p, apperr.NotFound("provider", agb)
	}
	return p, err
}

const providerSQL = `SELECT agb, name, oin FROM providers WHERE agb = $1`

func scanProvider(row pgx.Row, p *domain.Provider) error { return row.Scan(&p.AGB, &p.Name, &p.OIN) }

// contractsSQL reads a provider's ($1) contracts with a municipality ($2).
const contractsSQL = `SELECT ` + contractColumns + `
	FROM contracts c WHERE c.provider_agb = $1 AND c.municipality_code = $2
	ORDER BY c.valid_from, c.id`

const contractColumns = `c.id::text, c.provider_agb, c.model, c.municipality_code, c.districts, c.valid_from, c.valid_to, c.capacity,
	COALESCE((SELECT array_agg(p.product_category || '/' || p.product_code ORDER BY p.product_category, p.product_code)
	          FROM contract_products p WHERE p.contract_id = c.id), '{}')`

func scanContract(row pgx.Row) (domain.Contract, error) {
	var (
		c        domain.Contract
		model    string
		to       *time.Time
		products []string
	)
	if err := row.Scan(&c.ID, &c.ProviderAGB, &model, &c.Municipality, &c.Districts, &c.ValidFrom, &to, &c.Capacity, &products); err != nil {
		return c, err
	}
	c.Model, c.ValidTo = domain.ContractModel(model), to
	for _, p := range products {
		for i := range len(p) {
			if p[i] == '/' {
				c.Products = append(c.Products, domain.Product{Category: p[:i], Code: p[i+1:]})
				break
			}
		}
	}
	return c, nil
}

// Contracts reads the provider's contracts with a municipality.
func (r *Providers) Contracts(ctx context.Context, agb, municipality string) ([]domain.Contract, error) {
	return collectContracts(r.db.Q(ctx).Query(ctx, contractsSQL, agb, municipality))
}

// collectContracts reads rows of contractColumns.
func collectContracts(rows pgx.Rows, err error) ([]domain.Contract, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Contract, error) { return scanContract(row) })
}

// GetWithContracts reads a provider and its contracts with the municipality in one pipeline:
// issuing an allocation checks both, and read one after the other they were two round trips.
// apperr NotFound when there is no such provider.
func (r *Providers) GetWithContracts(ctx context.Context, agb, municipality string) (domain.Provider, []domain.Contract, error) {
	b := &pgx.Batch{}
	b.Queue(providerSQL, agb)
	b.Queue(contractsSQL, agb, municipality)
	br := r.db.Q(ctx).SendBatch(ctx, b)
	var (
		p         domain.Provider
		contracts []domain.Contract
	)
	err := scanProvider(br.QueryRow(), &p)
	if err == nil {
		contracts, err = collectContracts(br.Query())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if pgxdb.IsNoRows(err) {
		return p, nil, apperr.NotFound("provider", agb)
	}
	return p, contracts, err
}

// Contract reads one contract.
func (r *Providers) Contract(ctx context.Context, id string) (domain.Contract, error) {
	c, err := scanContract(r.db.Q(ctx).QueryRow(ctx, `SELECT `+contractColumns+` FROM contracts c WHERE c.id = $1`, id))
	if pgxdb.IsNoRows(err) {
		return c, apperr.NotFound("contract", id)
	}
	return c, err
}

// InsertProvider stores a new provider; it returns false when the AGB code is taken.
func (r *Providers) InsertProvider(ctx context.Context, p domain.Provider) (bool, error) {
	tag, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO providers (agb, name, oin) VALUES ($1, $2, $3) ON CONFLICT (agb) DO NOTHING`, p.AGB, p.Name, p.OIN)
	return tag.RowsAffected() == 1, err
}

// GetForUpdate reads a provider and locks it for the rest of the transaction.
func (r *Providers) GetForUpdate(ctx context.Context, agb string) (domain.Provider, error) {
	var p domain.Provider
	err := scanProvider(r.db.Q(ctx).QueryRow(ctx, providerSQL+` FOR UPDATE`, agb), &p)
	if pgxdb.IsNoRows(err) {
		return p, apperr.NotFound("provider", agb)
	}
	return p, err
}

// AnswersFor reports whether the organisation may answer for the provider: it acts for a
// municipality that contracts the provider, or, for a provider without contracts, for any
// municipality.
func (r *Providers) AnswersFor(ctx context.Context, oin, agb string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT CASE WHEN EXISTS (SELECT 1 FROM contracts WHERE provider_agb = $2)
			THEN EXISTS (SELECT 1 FROM municipal_organisations m JOIN contracts c ON c.municipality_code = m.municipality_code
				WHERE m.oin = $1 AND c.provider_agb = $2)
			ELSE EXISTS (SELECT 1 FROM municipal_organisations WHERE oin = $1) END`, oin, agb).Scan(&ok)
	return ok, err
}

// InUse reports whether an allocation, an allocation request or a decision names the provider.
func (r *Providers) InUse(ctx context.Context, agb string) (bool, error) {
	var used bool
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM allocations WHERE provider_agb = $1)
		OR EXISTS (SELECT 1 FROM allocation_requests WHERE provider_agb = $1)
		OR EXISTS (SELECT 1 FROM decisions WHERE provider_agb = $1)`, agb).Scan(&used)
	return used, err
}

// Correct stores the corrected name and OIN and the correction, in one statement.
func (r *Providers) Correct(ctx context.Context, c domain.ProviderCorrection) error {
	tag, err := r.db.Q(ctx).Exec(ctx, `
		WITH corrected AS (UPDATE providers SET name = $6, oin = $8 WHERE agb = $1 RETURNING agb)
		INSERT INTO provider_corrections (provider_agb, corrected_at, corrected_by_oin, corrected_by_user, old_name, new_name, old_oin, new_oin, reason)
		SELECT agb, $2, $3, $4, $5, $6, $7, $8, $9 FROM corrected`, c.AGB, c.At, c.ByOIN, c.ByUser, c.OldName, c.NewName, c.OldOIN, c.NewOIN, c.Reason)
	if err == nil && tag.RowsAffected() != 1 {
		return apperr.NotFound("provider", c.AGB)
	}
	return err
}

// Corrections lists the provider's corrections, newest first.
func (r *Providers) Corrections(ctx context.Context, agb string) ([]domain.ProviderCorrection, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT provider_agb, corrected_at, corrected_by_oin, corrected_by_user, old_name, new_name, old_oin, new_oin, reason
		FROM provider_corrections WHERE provider_agb = $1 ORDER BY corrected_at DESC, id DESC`, agb)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ProviderCorrection, error) {
		var c domain.ProviderCorrection
		err := row.Scan(&c.AGB, &c.At, &c.ByOIN, &c.ByUser, &c.OldName, &c.NewName, &c.OldOIN, &c.NewOIN, &c.Reason)
		return c, err
	})
}

// UpsertProvider stores a provider or updates its name and OIN.
func (r *Providers) UpsertProvider(ctx context.Context, p domain.Provider) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO providers (agb, name, oin) VALUES ($1, $2, $3)
		ON CONFLICT (agb) DO UPDATE SET name = EXCLUDED.name, oin = EXCLUDED.oin`, p.AGB, p.Name, p.OIN)
	return err
}

// UpsertContract stores a contract or replaces it, by id, with its products.
func (r *Providers) UpsertContract(ctx context.Context, c domain.Contract) error {
	districts := c.Districts
	if districts == nil {
		districts = []string{} // NOT NULL: no districts is the empty list, meaning all of them
	}
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO contracts (id, provider_agb, model, municipality_code, districts, valid_from, valid_to, capacity)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET provider_agb = EXCLUDED.provider_agb, model = EXCLUDED.model,
			municipality_code = EXCLUDED.municipality_code, districts = EXCLUDED.districts,
			valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, capacity = EXCLUDED.capacity`,
		c.ID, c.ProviderAGB, string(c.Model), c.Municipality, districts, c.ValidFrom, c.ValidTo, c.Capacity)
	if err != nil {
		return err
	}
	if _, err := r.db.Q(ctx).Exec(ctx, `DELETE FROM contract_products WHERE contract_id = $1`, c.ID); err != nil {
		return err
	}
	for _, p := range c.Products {
		if _, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO contract_products (contract_id, product_category, product_code) VALUES ($1, $2, $3)`,
			c.ID, p.Category, p.Code); err != nil {
			return err
		}
	}
	return nil
}

// ActsFor reports whether the organisation oin acts for the municipality.
func (r *Providers) ActsFor(ctx context.Context, oin, municipality string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM municipal_organisations WHERE oin = $1 AND municipality_code = $2)`,
		oin, municipality).Scan(&ok)
	return ok, err
}

// ActsForAny reports whether the organisation acts for any municipality.
func (r *Providers) ActsForAny(ctx context.Context, oin string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM municipal_organisations WHERE oin = $1)`, oin).Scan(&ok)
	return ok, err
}

// AddMunicipalOrganisation records that the organisation oin acts for the municipality.
func (r *Providers) AddMunicipalOrganisation(ctx context.Context, oin, municipality string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO municipal_organisations (oin, municipality_code) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		oin, municipality)
	return err
}
