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
