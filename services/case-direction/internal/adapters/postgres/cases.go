// Package postgres stores case-direction's aggregates in its own PostgreSQL database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// openPredicate must match the predicate of the cases_one_open_per_household index word for
// word, or PostgreSQL cannot use the index as the ON CONFLICT arbiter.
const openPredicate = `status NOT IN ('CLOSED', 'HANDED_OVER')`

// Cases is the case repository.
type Cases struct{ db *pgxdb.DB }

// NewCases returns the repository.
func NewCases(db *pgxdb.DB) *Cases { return &Cases{db: db} }

// Insert stores a new case unless the household already has an open one, whose id it then
// returns. The unique index decides, so two concurrent inserts for one household cannot both
// succeed: the second waits for the first to commit and then does nothing.
func (r *Cases) Insert(ctx context.Context, c domain.Case) (string, error) {
	// The open case found by the conflict may be closed before we read it; then the insert
	// can simply be tried again.
	for range 3 {
		tag, err := r.db.Q(ctx).Exec(ctx, `
			INSERT INTO cases (id, household_id, intake_id, municipality_code, district_code, team_oin, status,
			                   life_domains, opened_at)
			VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (household_id) WHERE `+openPredicate+` DO NOTHING`,
			c.ID, c.HouseholdID, c.IntakeID, c.Municipality, c.District, c.TeamOIN, string(c.Status),
			nonNil(c.LifeDomains), c.OpenedAt)
		if err != nil {
			return "", err
		}
		if tag.RowsAffected() == 1 {
			return "", nil
		}
		var existing string
		err = r.db.Q(ctx).QueryRow(ctx, `SELECT id::text FROM cases WHERE household_id = $1 AND `+openPredicate, c.HouseholdID).Scan(&existing)
		if pgxdb.IsNoRows(err) {
			continue
		}
		return existing, err
	}
	return "", errors.New("cases: the household's open case changed during every attempt to open a new one")
}

// Get reads a case with its allocations.
func (r *Cases) Get(ctx context.Context, id string) (domain.Case, error) { return r.get(ctx, id, "") }

// GetForUpdate reads and locks a case.
func (r *Cases) GetForUpdate(ctx context.Context, id string) (domain.Case, error) {
	return r.get(ctx, id, " FOR UPDATE")
}

func (r *Cases) get(ctx context.Context, id, lock string) (domain.Case, error) {
	var (
		c                   domain.Case
		status              string
		intakeID, directorP *string
		directorSince       *time.Time
	)
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT id::text, household_id::text, intake_id::text, municipality_code, district_code, team_oin, status,
		       director_professional_id, director_since, life_domains, opened_at, closed_at
		FROM cases WHERE id = $1`+lock, id).Scan(
		&c.ID, &c.HouseholdID, &intakeID, &c.Municipality, &c.District, &c.TeamOIN, &status,
		&directorP, &directorSince, &c.LifeDomains, &c.OpenedAt, &c.ClosedAt)
	if pgxdb.IsNoRows(err) {
		return c, apperr.NotFound("case", id)
	}
	if err != nil {
		return c, err
	}
	c.Status = domain.Status(status)
	if intakeID != nil {
		c.IntakeID = *intakeID
	}
	if directorP != nil && directorSince != nil {
		// The director's team is the case's team: only the owning team assigns directors.
		c.Director = &domain.Director{ProfessionalID: *directorP, TeamOIN: c.TeamOIN, Since: *directorSince}
	}
	c.Allocations, err = r.allocations(ctx, c.ID)
	return c, err
}

func (r *Cases) allocations(ctx context.Context, caseID string) ([]domain.AllocationAction, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT allocation_number, provider_agb, product_category, product_code, status, updated_at
		FROM case_allocations WHERE case_id = $1 ORDER BY allocation_number`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.AllocationAction
	for rows.Next() {
		var a domain.AllocationAction
		if err := rows.Scan(&a.Number, &a.ProviderAGB, &a.ProductCategory, &a.ProductCode, &a.Status, &a.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Update stores status, director and closing time.
func (r *Cases) Update(ctx context.Context, c domain.Case) error {
	var professional *string
	var since *time.Time
	if c.Director != nil {
		professional, since = &c.Director.ProfessionalID, &c.Director.Since
	}
	tag, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE cases SET status = $2, director_professional_id = $3, director_since = $4, closed_at = $5
		WHERE id = $1`, c.ID, string(c.Status), professional, since, c.ClosedAt)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("cases: update of %s changed %d rows", c.ID, tag.RowsAffected())
	}
	return nil
}

// RecordDirector closes the current director's period and opens d's.
func (r *Cases) RecordDirector(ctx context.Context, caseID string, d domain.Director) error {
	q := r.db.Q(ctx)
	if _, err := q.Exec(ctx, `UPDATE director_history SET valid_to = $2 WHERE case_id = $1 AND valid_to IS NULL`, caseID, d.Since); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO director_history (case_id, professional_id, team_oin, valid_from) VALUES ($1, $2, $3, $4)`,
		caseID, d.ProfessionalID, d.TeamOIN, d.Since)
	return err
}

// AddAllocation stores an allocation action once per allocation number.
func (r *Cases) AddAllocation(ctx context.Context, caseID string, a domain.AllocationAction) (bool, error) {
	tag, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO case_allocations (case_id, allocation_number, provider_agb, product_category, product_code, status, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (allocation_number) DO NOTHING`,
		caseID, a.Number, a.ProviderAGB, a.ProductCategory, a.ProductCode, a.Status, a.UpdatedAt)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// MarkAllocationStarted moves an ISSUED allocation to STARTED. Only from ISSUED: a late or
// repeated start report must not overwrite a status provider-monitoring reported after it.
func (r *Cases) MarkAllocationStarted(ctx context.Context, number string, at time.Time) (string, bool, error) {
	q := r.db.Q(ctx)
	var caseID string
	err := q.QueryRow(ctx, `
		UPDATE case_allocations SET status = $2, updated_at = $3
		WHERE allocation_number = $1 AND status = $4
		RETURNING case_id::text`, number, domain.AllocationStarted, at, domain.AllocationIssued).Scan(&caseID)
	if err == nil {
		return caseID, true, nil
	}
	if !pgxdb.IsNoRows(err) {
		return "", false, err
	}
	err = q.QueryRow(ctx, `SELECT case_id::text FROM case_allocations WHERE allocation_number = $1`, number).Scan(&caseID)
	if pgxdb.IsNoRows(err) {
		return "", false, nil
	}
	return caseID, false, err
}

// nonNil keeps an empty list an empty array rather than NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
