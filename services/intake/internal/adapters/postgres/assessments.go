package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// Assessments stores ZRM assessments.
type Assessments struct{ db *pgxdb.DB }

// NewAssessments returns the repository.
func NewAssessments(db *pgxdb.DB) *Assessments { return &Assessments{db: db} }

// Insert stores an assessment.
func (r *Assessments) Insert(ctx context.Context, a domain.Assessment) error {
	scores, err := json.Marshal(a.ScoreMap())
	if err != nil {
		return err
	}
	_, err = r.db.Q(ctx).Exec(ctx, `
		INSERT INTO assessments (id, resident_id, household_id, instrument_version, context, scores, intake_id, assessed_by,
		                         team_oin, municipality_code, assessed_at)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, $4, $5, $6, NULLIF($7, '')::uuid, $8, $9, $10, $11)`,
		a.ID, a.ResidentID, a.HouseholdID, a.Instrument, string(a.Context), scores, a.IntakeID, a.AssessedBy, a.TeamOIN,
		a.Municipality, a.AssessedAt)
	return err
}

const assessmentColumns = `id::text, COALESCE(resident_id::text, ''), COALESCE(household_id::text, ''), instrument_version, context,
	scores, COALESCE(intake_id::text, ''), assessed_by, team_oin, municipality_code, assessed_at`

func scanAssessment(row pgx.Row) (domain.Assessment, error) {
	var a domain.Assessment
	var ctxt string
	var scores []byte
	if err := row.Scan(&a.ID, &a.ResidentID, &a.HouseholdID, &a.Instrument, &ctxt, &scores, &a.IntakeID, &a.AssessedBy,
		&a.TeamOIN, &a.Municipality, &a.AssessedAt); err != nil {
		return a, err
	}
	a.Context = domain.Context(ctxt)
	m := map[string]int{}
	if err := json.Unmarshal(scores, &m); err != nil {
		return a, err
	}
	// In the instrument's order.
	for _, d := range domain.Instruments[a.Instrument].Domains {
		if s, ok := m[d]; ok {
			a.Scores = append(a.Scores, domain.Score{Domain: d, Score: s})
		}
	}
	return a, nil
}

// Get returns one assessment; apperr NotFound when there is none.
func (r *Assessments) Get(ctx context.Context, id string) (domain.Assessment, error) {
	a, err := scanAssessment(r.db.Q(ctx).QueryRow(ctx, `SELECT `+assessmentColumns+` FROM assessments WHERE id = $1`, id))
	if pgxdb.IsNoRows(err) {
		return a, apperr.NotFound("assessment", id)
	}
	return a, err
}

// List returns the assessments of a resident (residentID set) or a household, newest first.
func (r *Assessments) List(ctx context.Context, residentID, householdID string) ([]domain.Assessment, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+assessmentColumns+` FROM assessments
		WHERE ($1 <> '' AND resident_id = NULLIF($1, '')::uuid) OR ($2 <> '' AND household_id = NULLIF($2, '')::uuid)
		ORDER BY assessed_at DESC, id`, residentID, householdID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Assessment
	for rows.Next() {
		a, err := scanAssessment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Page returns up to limit assessments of a resident (residentID set) or a household, newest
// first, after the position after (nil: from the newest). The indexes assessments_resident and
// assessments_household serve it (a subject has few assessments, so the id tie-break needs none).
func (r *Assessments) Page(ctx context.Context, residentID, householdID string, after *paging.At, limit int) ([]domain.Assessment, error) {
	var at time.Time
	var id string
	if after != nil {
		at, id = after.Time, after.ID
	}
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+assessmentColumns+` FROM assessments
		WHERE (($1 <> '' AND resident_id = NULLIF($1, '')::uuid) OR ($2 <> '' AND household_id = NULLIF($2, '')::uuid))
		  AND ($3 = '' OR (assessed_at, id) < ($4, NULLIF($3, '')::uuid))
		ORDER BY assessed_at DESC, id DESC LIMIT $5`, residentID, householdID, id, at, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Assessment, error) { return scanAssessment(row) })
}

// Latest returns the newest assessment of the resident or, when there is none, of the
// household; ok is false when neither has one. An empty id is not looked up.
func (r *Assessments) Latest(ctx context.Context, residentID, householdID string) (domain.Assessment, bool, error) {
	for _, ids := range [][2]string{{residentID, ""}, {"", householdID}} {
		if ids == [2]string{} {
			continue
		}
		list, err := r.List(ctx, ids[0], ids[1])
		if err != nil {
			return domain.Assessment{}, false, err
		}
		if len(list) > 0 {
			return list[0], true, nil
		}
	}
	return domain.Assessment{}, false, nil
}

// MoveResident moves a duplicate resident's assessments to the kept resident.
func (r *Assessments) MoveResident(ctx context.Context, from, to string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE assessments SET resident_id = $2 WHERE resident_id = $1`, from, to)
	return err
}
