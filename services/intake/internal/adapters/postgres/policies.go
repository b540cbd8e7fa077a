package postgres

import (
	"context"
	"encoding/json"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// Policies stores triage policies, one immutable row per version.
type Policies struct{ db *pgxdb.DB }

// NewPolicies returns the repository.
func NewPolicies(db *pgxdb.DB) *Policies { return &Policies{db: db} }

type ruleJSON struct {
	Name       string `json:"name"`
	Condition  string `json:"condition"`
	MinCount   int    `json:"min_count,omitempty"`
	MaxScore   int    `json:"max_score,omitempty"`
	SourceType string `json:"source_type,omitempty"`
	Outcome    string `json:"outcome"`
}

// Current returns the municipality's latest version, or the default policy.
func (r *Policies) Current(ctx context.Context, municipality string) (domain.Policy, error) {
	return r.read(ctx, municipality, `ORDER BY version DESC LIMIT 1`)
}

// CurrentForUpdate is Current, holding a lock that serialises adoptions of the same
// municipality (an advisory lock: there may be no row to lock yet).
func (r *Policies) CurrentForUpdate(ctx context.Context, municipality string) (domain.Policy, error) {
	if _, err := r.db.Q(ctx).Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('intake.triage_policies:' || $1, 0))`, municipality); err != nil {
		return domain.Policy{}, err
	}
	return r.Current(ctx, municipality)
}

// Version returns one version; version 0 is the default. apperr NotFound for an unknown one.
func (r *Policies) Version(ctx context.Context, municipality string, version int) (domain.Policy, error) {
	if version == 0 {
		return domain.DefaultPolicy(municipality), nil
	}
	p, err := r.read(ctx, municipality, `AND version = $2`, version)
	if err == nil && p.Version == 0 {
		return p, apperr.NotFound("triage policy version", "")
	}
	return p, err
}

func (r *Policies) read(ctx context.Context, municipality, tail string, args ...any) (domain.Policy, error) {
	p := domain.Policy{Municipality: municipality}
	var positioning string
	var rules []byte
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT version, positioning, rules, contact_attempts, triage_days, adopted_at, adopted_by
		FROM triage_policies WHERE municipality_code = $1 `+tail, append([]any{municipality}, args...)...).
		Scan(&p.Version, &positioning, &rules, &p.ContactAttempts, &p.TriageDays, &p.AdoptedAt, &p.AdoptedBy)
	if pgxdb.IsNoRows(err) {
		return domain.DefaultPolicy(municipality), nil
	}
	if err != nil {
		return p, err
	}
	p.Positioning = domain.Positioning(positioning)
	var rs []ruleJSON
	if err := json.Unmarshal(rules, &rs); err != nil {
		return p, err
	}
	for _, x := range rs {
		p.Rules = append(p.Rules, domain.Rule{Name: x.Name, Condition: domain.Condition(x.Condition), MinCount: x.MinCount,
			MaxScore: x.MaxScore, SourceType: x.SourceType, Outcome: domain.Outcome(x.Outcome)})
	}
	return p, nil
}

// Insert stores a newly adopted version.
func (r *Policies) Insert(ctx context.Context, p domain.Policy) error {
	rs := make([]ruleJSON, 0, len(p.Rules))
	for _, x := range p.Rules {
		rs = append(rs, ruleJSON{Name: x.Name, Condition: string(x.Condition), MinCount: x.MinCount, MaxScore: x.MaxScore,
			SourceType: x.SourceType, Outcome: string(x.Outcome)})
	}
	rules, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	_, err = r.db.Q(ctx).Exec(ctx, `
		INSERT INTO triage_policies (municipality_code, version, positioning, rules, contact_attempts, triage_days, adopted_at, adopted_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.Municipality, p.Version, string(p.Positioning), rules, p.ContactAttempts, p.TriageDays, p.AdoptedAt, p.AdoptedBy)
	return err
}

// Administers reports whether the organisation with orgOIN administers the municipality.
func (r *Policies) Administers(ctx context.Context, orgOIN, municipality string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM municipality_administrations WHERE org_oin = $1 AND municipality_code = $2)`,
		orgOIN, municipality).Scan(&ok)
	return ok, err
}

// AddAdministration records that an organisation administers a municipality (idempotent).
func (r *Policies) AddAdministration(ctx context.Context, orgOIN, municipality string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO municipality_administrations (org_oin, municipality_code) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		orgOIN, municipality)
	return err
}
