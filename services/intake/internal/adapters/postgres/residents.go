// Package postgres stores intake's residents, households and intakes in its own PostgreSQL
// database. BSNs and questions are stored only encrypted.
package postgres

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// Additional data bound into the ciphertexts, so a value cannot be moved to another column.
const (
	aadBSN      = "intake.residents.bsn"
	aadQuestion = "intake.intakes.question"
)

// Residents is the resident and household repository.
type Residents struct {
	db   *pgxdb.DB
	prot *bsn.Protector
}

// NewResidents returns the repository.
func NewResidents(db *pgxdb.DB, prot *bsn.Protector) *Residents {
	return &Residents{db: db, prot: prot}
}

// Register inserts r unless a resident with the same BSN exists. The unique blind index
// decides: a concurrent registration of the same BSN waits for the first to commit and then
// finds its row, so there is never a second resident.
func (r *Residents) Register(ctx context.Context, res domain.Resident) (domain.Resident, bool, error) {
	q := r.db.Q(ctx)
	index := r.prot.Index(res.BSN)
	var id string
	err := q.QueryRow(ctx, `
		INSERT INTO residents (id, bsn_enc, bsn_index, pseudonym, municipality_code, district_code)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (bsn_index) DO NOTHING
		RETURNING id::text`,
		res.ID, r.prot.Seal(res.BSN, aadBSN), index, res.Pseudonym, res.Municipality, res.District).Scan(&id)
	if err == nil {
		return res, true, nil
	}
	if !pgxdb.IsNoRows(err) {
		return res, false, err
	}
	out := domain.Resident{BSN: res.BSN}
	err = q.QueryRow(ctx, `SELECT id::text, pseudonym, municipality_code, district_code FROM residents WHERE bsn_index = $1`, index).
		Scan(&out.ID, &out.Pseudonym, &out.Municipality, &out.District)
	return out, false, err
}

// Insert stores a new household with its members.
func (r *Residents) Insert(ctx context.Context, h domain.Household) error {
	q := r.db.Q(ctx)
	if _, err := q.Exec(ctx, `INSERT INTO households (id, municipality_code, district_code) VALUES ($1, $2, $3)`,
		h.ID, h.Municipality, h.District); err != nil {
		return err
	}
	for _, m := range h.Members {
		if _, err := q.Exec(ctx, `INSERT INTO household_members (household_id, resident_id, role) VALUES ($1, $2, $3)`,
			h.ID, m.ResidentID, m.Role); err != nil {
			return err
		}
	}
	return nil
}

// OfResident returns the household of a resident. Until households can be recomposed a
// resident is in one; the newest wins should that change.
func (r *Residents) OfResident(ctx context.Context, residentID string) (string, error) {
	var id string
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT h.id::text FROM household_members m JOIN households h ON h.id = m.household_id
		WHERE m.resident_id = $1 ORDER BY h.created_at DESC LIMIT 1`, residentID).Scan(&id)
	if pgxdb.IsNoRows(err) {
		return "", apperr.NotFound("household", "")
	}
	return id, err
}

// FindByBSN returns the resident with this BSN, following a merge to the kept resident;
// apperr NotFound when there is none.
func (r *Residents) FindByBSN(ctx context.Context, bsnValue string) (domain.Resident, error) {
	var id string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT COALESCE(merged_into, id)::text FROM residents WHERE bsn_index = $1`, r.prot.Index(bsnValue)).Scan(&id)
	if pgxdb.IsNoRows(err) {
		return domain.Resident{}, apperr.NotFound("resident", "")
	}
	if err != nil {
		return domain.Resident{}, err
	}
	return r.Get(ctx, id)
}

// Get returns a resident without the BSN; apperr NotFound when there is none.
func (r *Residents) Get(ctx context.Context, id string) (domain.Resident, error) {
	var out domain.Resident
	var merged *string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT id::text, pseudonym, municipality_code, district_code, merged_into::text FROM residents WHERE id = $1`, id).
		Scan(&out.ID, &out.Pseudonym, &out.Municipality, &out.District, &merged)
	if pgxdb.IsNoRows(err) {
		return out, apperr.NotFound("resident", id)
	}
	if merged != nil {
		out.MergedInto = *merged
	}
	return out, err
}

// AddTeam records that a team works with a resident.
func (r *Residents) AddTeam(ctx context.Context, teamOIN, residentID string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO team_residents (team_oin, resident_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, teamOIN, residentID)
	return err
}

// TeamWorksWith reports whether a team works with a resident.
func (r *Residents) TeamWorksWith(ctx context.Context, teamOIN, residentID string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM team_residents WHERE team_oin = $1 AND resident_id = $2)`, teamOIN, residentID).Scan(&ok)
	return ok, err
}

// TeamWorksWithHousehold reports whether a team works with a member of a household.
func (r *Residents) TeamWorksWithHousehold(ctx context.Context, teamOIN, householdID string) (bool, error) {
	var ok bool
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM household_members m JOIN team_residents t ON t.resident_id = m.resident_id
		               WHERE m.household_id = $2 AND t.team_oin = $1)`, teamOIN, householdID).Scan(&ok)
	return ok, err
}

// HouseholdMunicipality returns a household's municipality; apperr NotFound when none.
func (r *Residents) HouseholdMunicipality(ctx context.Context, householdID string) (string, error) {
	var m string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT municipality_code FROM households WHERE id = $1`, householdID).Scan(&m)
	if pgxdb.IsNoRows(err) {
		return "", apperr.NotFound("household", householdID)
	}
	return m, err
}

// Merge marks duplicate as merged into keep: the duplicate leaves its households, its teams
// now work with keep, and its BSN finds keep from now on (FindByBSN follows merged_into).
func (r *Residents) Merge(ctx context.Context, keep, duplicate string) error {
	q := r.db.Q(ctx)
	if _, err := q.Exec(ctx, `UPDATE residents SET merged_into = $2 WHERE id = $1`, duplicate, keep); err != nil {
		return err
	}
	// Earlier merges into the duplicate now point at the kept resident directly.
	if _, err := q.Exec(ctx, `UPDATE residents SET merged_into = $2 WHERE merged_into = $1`, duplicate, keep); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `DELETE FROM household_members WHERE resident_id = $1`, duplicate); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO team_residents (team_oin, resident_id) SELECT team_oin, $2 FROM team_residents WHERE resident_id = $1
		ON CONFLICT DO NOTHING`, duplicate, keep)
	return err
}
