package app

import (
	"context"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// matchNamespace derives a match id from the intake that caused it, so a retried
// registration reports the same match.
var matchNamespace = uuid.MustParse("0b7e6f43-2d8c-4a1e-9c55-16a1f0e3d816")

// relateTeam decides, for a new intake, whether its team works with the resident from now on.
// A team works with a resident it registered first, or one nobody else works with. When other
// teams already work with the resident or a current member of their household, registering
// an intake must not open their file: the intake is the team's own, but the resident and
// household stay NOT_FOUND to it. Both sides are told of the match (events on each team's own
// subject, ids only) and the requesting team is told whom to contact. Access to the file then
// comes only from the owning team, a handover, or audited emergency access.
func (a *App) relateTeam(ctx context.Context, in *domain.Intake, res domain.Resident, created bool) error {
	if created {
		return a.d.Residents.AddTeam(ctx, in.TeamOIN, res.ID)
	}
	works, err := a.d.Residents.TeamWorksWith(ctx, in.TeamOIN, res.ID)
	if err != nil || works {
		return err
	}
	teams, basis, err := a.d.Residents.OtherTeams(ctx, in.TeamOIN, res.ID, in.HouseholdID)
	if err != nil {
		return err
	}
	if len(teams) == 0 {
		return a.d.Residents.AddTeam(ctx, in.TeamOIN, res.ID)
	}
	m := domain.Match{
		ID: uuid.NewSHA1(matchNamespace, []byte(in.ID)).String(), IntakeID: in.ID, RequestingTeamOIN: in.TeamOIN,
		ResidentID: res.ID, HouseholdID: in.HouseholdID, Municipality: in.Municipality, Basis: basis, Teams: teams, At: a.now(),
	}
	in.Match = &m
	if err := a.d.Events.ResidentMatched(ctx, m); err != nil {
		return err
	}
	// The file was not opened: logged as a refused access, with the match as its action.
	return a.d.Access.Record(ctx, residentEntry("intake.resident.match", res, accesslog.RouteNotAllowed, accesslog.OutcomeDenied))
}
