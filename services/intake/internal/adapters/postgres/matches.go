package postgres

import (
	"context"

	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// OtherTeams lists the teams other than teamOIN that work with the resident or with a current
// member of the household (with their names when known), and the basis of the match:
// RESIDENT when one of them works with the resident themself.
func (r *Residents) OtherTeams(ctx context.Context, teamOIN, residentID, householdID string) ([]domain.InvolvedTeam, domain.MatchBasis, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT t.team_oin, coalesce(n.name, ''), bool_or(t.resident_id = $2::uuid)
		FROM team_residents t LEFT JOIN teams n ON n.oin = t.team_oin
		WHERE t.team_oin <> $1
		  AND (t.resident_id = $2::uuid
		       OR t.resident_id IN (SELECT resident_id FROM household_members WHERE household_id = $3::uuid AND ended_on IS NULL))
		GROUP BY t.team_oin, n.name
		ORDER BY t.team_oin`, teamOIN, residentID, householdID)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var (
		teams []domain.InvolvedTeam
		basis = domain.MatchHousehold
	)
	for rows.Next() {
		var (
			t        domain.InvolvedTeam
			resident bool
		)
		if err := rows.Scan(&t.OIN, &t.Name, &resident); err != nil {
			return nil, "", err
		}
		if resident {
			basis = domain.MatchResident
		}
		teams = append(teams, t)
	}
	return teams, basis, rows.Err()
}

// NoteTeam remembers a team's name the first time it registers something. DO NOTHING rather
// than an update: a conflicting upsert locks the row, which would serialise a team's
// concurrent registrations. The name is read only for other teams (OtherTeams), never in the
// registering team's own transaction, so it goes with the COMMIT (pgxdb.DB.Defer; issue 12).
func (r *Residents) NoteTeam(ctx context.Context, oin, name string) error {
	return r.db.Defer(ctx, `INSERT INTO teams (oin, name) VALUES ($1, $2) ON CONFLICT (oin) DO NOTHING`, oin, name)
}
