package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

const involvementColumns = `id::text, organisation_type, organisation_oin, professional_id, role, valid_from, valid_to, ended_at, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanInvolvement(s scanner) (domain.Involvement, error) {
	var i domain.Involvement
	var role string
	err := s.Scan(&i.ID, &i.OrgType, &i.OrgOIN, &i.ProfessionalID, &role, &i.ValidFrom, &i.ValidTo, &i.EndedAt, &i.CreatedAt)
	i.Role = domain.InvolvementRole(role)
	return i, err
}

// AddInvolvement stores a new involvement. The INSERT is deferred (pgxdb.DB.Defer): nothing
// needs its answer, and it goes out with the transaction's next statement.
func (r *Cases) AddInvolvement(ctx context.Context, caseID string, i domain.Involvement) error {
	return r.db.Defer(ctx, `
		INSERT INTO involvements (id, case_id, organisation_type, organisation_oin, professional_id, role, valid_from, valid_to, ended_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		i.ID, caseID, i.OrgType, i.OrgOIN, i.ProfessionalID, string(i.Role), i.ValidFrom, i.ValidTo, i.EndedAt, i.CreatedAt)
}

// SaveInvolvementEnd stores how an involvement ends (its last day and/or the moment it was
// ended).
func (r *Cases) SaveInvolvementEnd(ctx context.Context, caseID string, i domain.Involvement) error {
	tag, err := r.db.Q(ctx).Exec(ctx, `UPDATE involvements SET valid_to = $3, ended_at = $4 WHERE case_id = $1 AND id = $2`,
		caseID, i.ID, i.ValidTo, i.EndedAt)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("involvements: end of %s changed %d rows", i.ID, tag.RowsAffected())
	}
	return nil
}

// EndDirectorInvolvement ends the current director's involvement at `at` (its last day is
// that day) and returns it; nil when the case had no director.
func (r *Cases) EndDirectorInvolvement(ctx context.Context, caseID string, at time.Time) (*domain.Involvement, error) {
	rows, err := r.endWhere(ctx, caseID, `role = 'DIRECTOR' AND ended_at IS NULL`, at)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &rows[0], nil
}

// EndOpenInvolvements ends, at `at`, every involvement of the case but the director's that
// has not ended yet (also those still to come), and returns them.
func (r *Cases) EndOpenInvolvements(ctx context.Context, caseID string, at time.Time) ([]domain.Involvement, error) {
	return r.endWhere(ctx, caseID, `role <> 'DIRECTOR' AND ended_at IS NULL AND (valid_to IS NULL OR valid_to >= $3)`, at)
}

func (r *Cases) endWhere(ctx context.Context, caseID, where string, at time.Time) ([]domain.Involvement, error) {
	// The last day becomes today where that does not precede the first day; an involvement
	// that had not started yet keeps its dates and only gets ended_at.
	rows, err := r.db.Q(ctx).Query(ctx, `
		UPDATE involvements SET ended_at = $2,
		       valid_to = CASE WHEN valid_from <= $3 AND (valid_to IS NULL OR valid_to > $3) THEN $3 ELSE valid_to END
		WHERE case_id = $1 AND `+where+`
		RETURNING `+involvementColumns, caseID, at, domain.Day(at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Involvement
	for rows.Next() {
		i, err := scanInvolvement(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// InvolvedOrganisationsQuery is the query (and its arguments) of the organisations (OINs)
// with an involvement in the case that is active at t, as domain.Involvement.ActiveAt has it:
// they receive the case's events in their feeds while it lasts. The outbox runs it in the
// statement that writes an event's feed copies, so routing costs no round trip of its own.
func (r *Cases) InvolvedOrganisationsQuery(caseID string, t time.Time) (string, []any) {
	return `SELECT organisation_oin FROM involvements
		WHERE case_id = $1::uuid AND organisation_oin <> ''
		  AND valid_from <= $2::date AND (valid_to IS NULL OR valid_to >= $2::date)
		  AND (ended_at IS NULL OR ended_at > $3)`, []any{caseID, domain.Day(t), t}
}

// InvolvedCases returns, newest first, the positions of up to limit cases after the cursor in
// which the organisation has an involvement active at t: begun on or before t's Dutch day, not
// past its last day, not ended with immediate effect (domain.Involvement.ActiveAt). The
// involvements_organisation index finds the organisation's involvements.
func (r *Cases) InvolvedCases(ctx context.Context, orgOIN, orgType string, t time.Time, after *domain.Cursor, limit int) ([]domain.Cursor, error) {
	args := []any{orgOIN, orgType, domain.Day(t), t, limit}
	cursor := ""
	if after != nil {
		args = append(args, after.OpenedAt, after.ID)
		cursor = ` AND (c.opened_at, c.id) < ($6, $7::uuid)`
	}
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT c.id::text, c.opened_at FROM cases c
		WHERE EXISTS (SELECT 1 FROM involvements i
		              WHERE i.case_id = c.id AND i.organisation_oin = $1 AND i.organisation_type = $2
		                AND i.valid_from <= $3::date AND (i.valid_to IS NULL OR i.valid_to >= $3::date)
		                AND (i.ended_at IS NULL OR i.ended_at > $4))`+cursor+`
		ORDER BY c.opened_at DESC, c.id DESC
		LIMIT $5`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Cursor
	for rows.Next() {
		var c domain.Cursor
		if err := rows.Scan(&c.ID, &c.OpenedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
