package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Provisions is the social-map repository.
type Provisions struct{ db *pgxdb.DB }

// NewProvisions returns the repository.
func NewProvisions(db *pgxdb.DB) *Provisions { return &Provisions{db: db} }

const provisionColumns = `id::text, organisation_oin, organisation_name, name, description, kind, status, taxonomy, life_domains,
	min_age, max_age, target_group, municipality_code, districts, locations, capacity_status, waiting_days,
	accepts_digital_referrals, verified_at, url, email, phone, maintainer_oin, updated_at`

type location struct {
	Name       string `json:"name,omitempty"`
	Address    string `json:"address,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city,omitempty"`
	District   string `json:"district_code,omitempty"`
}

// Upsert stores a provision (insert or replace) and reports whether it was new.
func (r *Provisions) Upsert(ctx context.Context, p domain.Provision) (bool, error) {
	locs := make([]location, 0, len(p.Locations))
	for _, l := range p.Locations {
		locs = append(locs, location(l))
	}
	locJSON, err := json.Marshal(locs)
	if err != nil {
		return false, err
	}
	doc := strings.Join([]string{p.Description, p.TargetGroup, strings.ReplaceAll(strings.Join(p.Taxonomy, " "), "-", " "), p.OrganisationName}, " ")
	var inserted bool
	err = r.db.Q(ctx).QueryRow(ctx, `
		INSERT INTO provisions (id, organisation_oin, organisation_name, name, description, kind, status, taxonomy, life_domains,
		                        min_age, max_age, target_group, municipality_code, districts, locations, capacity_status, waiting_days,
		                        accepts_digital_referrals, verified_at, url, email, phone, maintainer_oin, updated_at, search_doc)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
		ON CONFLICT (id) DO UPDATE SET organisation_oin = EXCLUDED.organisation_oin, organisation_name = EXCLUDED.organisation_name,
		    name = EXCLUDED.name, description = EXCLUDED.description, kind = EXCLUDED.kind, status = EXCLUDED.status,
		    taxonomy = EXCLUDED.taxonomy, life_domains = EXCLUDED.life_domains, min_age = EXCLUDED.min_age, max_age = EXCLUDED.max_age,
		    target_group = EXCLUDED.target_group, municipality_code = EXCLUDED.municipality_code, districts = EXCLUDED.districts,
		    locations = EXCLUDED.locations, capacity_status = EXCLUDED.capacity_status, waiting_days = EXCLUDED.waiting_days,
		    accepts_digital_referrals = EXCLUDED.accepts_digital_referrals, verified_at = EXCLUDED.verified_at, url = EXCLUDED.url,
		    email = EXCLUDED.email, phone = EXCLUDED.phone, maintainer_oin = EXCLUDED.maintainer_oin, updated_at = EXCLUDED.updated_at,
		    search_doc = EXCLUDED.search_doc
		RETURNING (xmax = 0)`,
		p.ID, p.OrganisationOIN, p.OrganisationName, p.Name, p.Description, p.Kind, p.Status, nonNil(p.Taxonomy), nonNil(p.LifeDomains),
		p.MinAge, p.MaxAge, p.TargetGroup, p.Municipality, nonNil(p.Districts), locJSON, p.CapacityStatus, p.WaitingDays,
		p.AcceptsDigitalReferrals, p.VerifiedAt, p.URL, p.Email, p.Phone, p.MaintainerOIN, p.UpdatedAt, doc).Scan(&inserted)
	return inserted, err
}

// Get reads a provision; NotFound when there is none.
func (r *Provisions) Get(ctx context.Context, id string) (domain.Provision, error) {
	rows, err := r.query(ctx, `SELECT `+provisionColumns+` FROM provisions WHERE id = $1`, id)
	if err != nil {
		return domain.Provision{}, err
	}
	if len(rows) == 0 {
		return domain.Provision{}, apperr.NotFound("provision", id)
	}
	return rows[0], nil
}

// Search finds active provisions, best first: full-text rank (when there is text), then
// capacity (available before full), then waiting days, then provisions for the district
// before municipality-wide ones, then name.
//
// It pages by keyset on the whole order (relevance, capacity, waiting days, coverage, name,
// id), compared in one row comparison, so a page continues exactly after the previous one.
func (r *Provisions) Search(ctx context.Context, s domain.ProvisionQuery) ([]domain.SearchHit, error) {
	after, k := s.After != nil, domain.SearchKey{}
	if after {
		k = *s.After
	}
	var keys []domain.SearchKey
	ps, err := r.queryWith(ctx, func(row pgx.Rows) []any {
		keys = append(keys, domain.SearchKey{})
		key := &keys[len(keys)-1]
		return []any{&key.Rank, &key.Capacity, &key.WaitingDays, &key.WholeMunicipality, &key.Name, &key.ID}
	}, `
		WITH hits AS (
			SELECT *, -(CASE WHEN $6 = '' THEN 0 ELSE ts_rank(search, websearch_to_tsquery('dutch', $6)) END)::float8 AS k_rank,
			       COALESCE(array_position(ARRAY['AVAILABLE','LIMITED','WAITLIST','FULL'], capacity_status), 5) AS k_capacity
			FROM provisions
			WHERE municipality_code = $1 AND status = 'ACTIVE'
			  AND ($2 = '' OR districts = '{}' OR $2 = ANY (districts))
			  AND (cardinality($3::text[]) = 0 OR life_domains && $3::text[])
			  AND ($4 = '' OR $4 = ANY (taxonomy))
			  AND ($5::int IS NULL OR ((min_age = 0 OR min_age <= $5) AND (max_age = 0 OR max_age >= $5)))
			  AND ($6 = '' OR search @@ websearch_to_tsquery('dutch', $6))
			  AND ($7 = '' OR kind = $7)
			  AND (NOT $8 OR accepts_digital_referrals))
		SELECT `+provisionColumns+`, -k_rank, k_capacity, waiting_days, (districts = '{}'), name, id::text FROM hits
		WHERE NOT $10 OR (k_rank, k_capacity, waiting_days, (districts = '{}'), name, id) > (-$11::float8, $12::int, $13::int, $14::bool, $15::text, NULLIF($16, '')::uuid)
		ORDER BY k_rank, k_capacity, waiting_days, (districts = '{}'), name, id
		LIMIT $9`,
		s.Municipality, s.District, nonNil(s.LifeDomains), s.Taxonomy, s.Age, s.Text, s.Kind, s.DigitalOnly, s.Limit,
		after, k.Rank, k.Capacity, k.WaitingDays, k.WholeMunicipality, k.Name, k.ID)
	if err != nil {
		return nil, err
	}
	out := make([]domain.SearchHit, len(ps))
	for i, p := range ps {
		out[i] = domain.SearchHit{Provision: p, Key: keys[i]}
	}
	return out, nil
}

// ListByMunicipality returns a page of a municipality's provisions (for export), by name and
// id, after the one at after (nil: from the first). after.ID must be a UUID.
func (r *Provisions) ListByMunicipality(ctx context.Context, municipality string, after *domain.ExportKey, limit int) ([]domain.Provision, error) {
	if after == nil {
		return r.query(ctx, `SELECT `+provisionColumns+` FROM provisions WHERE municipality_code = $1 ORDER BY name, id LIMIT $2`, municipality, limit)
	}
	return r.query(ctx, `SELECT `+provisionColumns+` FROM provisions WHERE municipality_code = $1 AND (name, id) > ($2, $3::uuid)
		ORDER BY name, id LIMIT $4`, municipality, after.Name, after.ID, limit)
}

func (r *Provisions) query(ctx context.Context, sql string, args ...any) ([]domain.Provision, error) {
	return r.queryWith(ctx, nil, sql, args...)
}

// queryWith reads provisions; extra, when set, gives the destinations of the columns a row
// has after the provision's.
func (r *Provisions) queryWith(ctx context.Context, extra func(pgx.Rows) []any, sql string, args ...any) ([]domain.Provision, error) {
	rows, err := r.db.Q(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Provision
	for rows.Next() {
		var (
			p        domain.Provision
			locJSON  []byte
			verified *time.Time
		)
		dest := []any{&p.ID, &p.OrganisationOIN, &p.OrganisationName, &p.Name, &p.Description, &p.Kind, &p.Status,
			&p.Taxonomy, &p.LifeDomains, &p.MinAge, &p.MaxAge, &p.TargetGroup, &p.Municipality, &p.Districts, &locJSON,
			&p.CapacityStatus, &p.WaitingDays, &p.AcceptsDigitalReferrals, &verified, &p.URL, &p.Email, &p.Phone,
			&p.MaintainerOIN, &p.UpdatedAt}
		if extra != nil {
			dest = append(dest, extra(rows)...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		var locs []location
		if err := json.Unmarshal(locJSON, &locs); err != nil {
			return nil, err
		}
		for _, l := range locs {
			p.Locations = append(p.Locations, domain.Location(l))
		}
		p.VerifiedAt = verified
		out = append(out, p)
	}
	return out, rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
