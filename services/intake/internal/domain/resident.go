package domain

// RoleApplicant is the household role of the resident who asked for help.
const RoleApplicant = "APPLICANT"

// Resident is a person known to intake by BSN.
type Resident struct {
	ID string
	// BSN is set when the resident is being registered; reads do not decrypt it.
	BSN          string
	Pseudonym    string
	Municipality string
	District     string
	// MergedInto is the resident this duplicate was merged into.
	MergedInto string
	// HouseholdID is the resident's household (filled by reads that need it).
	HouseholdID string
}

// Member is a resident in a household with a role.
type Member struct {
	ResidentID string
	Role       string
}

// Household is the people living together that case direction works with.
type Household struct {
	ID           string
	Municipality string
	District     string
	Members      []Member
}

// NewSingleHousehold is the household a resident gets on first registration: only the
// resident, as applicant. Other members are added when the intake is clarified.
func NewSingleHousehold(id string, r Resident) Household {
	return Household{ID: id, Municipality: r.Municipality, District: r.District,
		Members: []Member{{ResidentID: r.ID, Role: RoleApplicant}}}
}
