package domain

import "time"

// MatchBasis says what a match was made on.
type MatchBasis string

// Match bases.
const (
	// MatchResident: another team works with the resident.
	MatchResident MatchBasis = "RESIDENT"
	// MatchHousehold: another team works with a current member of the resident's household.
	MatchHousehold MatchBasis = "HOUSEHOLD"
)

// InvolvedTeam is a team to contact about a match.
type InvolvedTeam struct {
	OIN  string
	Name string
}

// Match records that a team registered an intake for a resident already in other teams'
// intakes or cases (in the spirit of the Verwijsindex): both sides learn of each other, and
// neither gets the other's file. The requesting team owns its new intake; the resident's and
// household's details stay with the teams that already work with them.
type Match struct {
	ID                string
	IntakeID          string
	RequestingTeamOIN string
	ResidentID        string
	HouseholdID       string
	Municipality      string
	Basis             MatchBasis
	Teams             []InvolvedTeam
	At                time.Time
}

// TeamOINs lists the involved teams' OINs.
func (m Match) TeamOINs() []string {
	out := make([]string, 0, len(m.Teams))
	for _, t := range m.Teams {
		out = append(out, t.OIN)
	}
	return out
}
