package domain

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // dates are Dutch calendar days, also on hosts without zoneinfo
	"unicode"
	"unicode/utf8"
)

// Household roles.
const (
	// RoleApplicant is the household role of the resident who asked for help; a household has
	// at most one current applicant.
	RoleApplicant  = "APPLICANT"
	RolePartner    = "PARTNER"
	RoleChild      = "CHILD"
	RoleOtherAdult = "OTHER_ADULT"
)

// DateLayout is the format of calendar dates.
const DateLayout = "2006-01-02"

// Amsterdam is the time zone of calendar dates.
var Amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}()

// Today is the Dutch calendar date of t, as a time at midnight UTC (comparable with parsed
// dates).
func Today(t time.Time) time.Time {
	y, m, d := t.In(Amsterdam).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Name is a Dutch personal name. Personal data: stored encrypted, never in events or logs.
type Name struct {
	GivenNames, Prefix, FamilyName string
}

// IsZero reports whether no part of the name is known.
func (n Name) IsZero() bool { return n == Name{} }

// Address is a Dutch address. Personal data: stored encrypted, never in events or logs.
type Address struct {
	Street      string
	HouseNumber int
	Addition    string
	// Postcode is normalised: "1234AB".
	Postcode string
	City     string
}

// IsZero reports whether no part of the address is known.
func (a Address) IsZero() bool { return a == Address{} }

// MatchKey is what identifies the dwelling: postcode, house number and addition, normalised
// (the addition case-insensitively). Two households with the same key live at one address.
func (a Address) MatchKey() string {
	return a.Postcode + "|" + strconv.Itoa(a.HouseNumber) + "|" + strings.ToUpper(a.Addition)
}

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
	// HouseholdID is the resident's current household (filled by reads that need it).
	HouseholdID string
	// Personal details, filled only by reads that may return them.
	Name      Name
	BirthDate string
	Address   Address
}

// WithoutDetails is r without its personal details (for answers stored in plain form).
func (r Resident) WithoutDetails() Resident {
	r.Name, r.BirthDate, r.Address = Name{}, "", Address{}
	return r
}

// Member is one membership of a resident in a household.
type Member struct {
	ResidentID string
	Role       string
	StartedOn  string
	// EndedOn is empty while the membership is current.
	EndedOn string
	// Name and BirthDate are filled only for members the reader may see.
	Name      Name
	BirthDate string
}

// Current reports whether the membership has not ended.
func (m Member) Current() bool { return m.EndedOn == "" }

// Household is the people living together that case direction works with.
type Household struct {
	ID           string
	Municipality string
	District     string
	// Address is empty for the one-person household a resident gets on registration.
	Address Address
	Members []Member
}

// CurrentMembers returns the members that have not left.
func (h Household) CurrentMembers() []Member {
	var out []Member
	for _, m := range h.Members {
		if m.Current() {
			out = append(out, m)
		}
	}
	return out
}

// CurrentMember returns the current membership of a resident.
func (h Household) CurrentMember(residentID string) (Member, bool) {
	for _, m := range h.Members {
		if m.Current() && m.ResidentID == residentID {
			return m, true
		}
	}
	return Member{}, false
}

// HasCurrentApplicant reports whether a current member is the applicant.
func (h Household) HasCurrentApplicant() bool {
	for _, m := range h.Members {
		if m.Current() && m.Role == RoleApplicant {
			return true
		}
	}
	return false
}

// Movable reports whether a resident whose current household is h may move to another
// household without a separate removal: when they are its only current member (the
// one-person household every new resident gets).
func (h Household) Movable(residentID string) bool {
	cur := h.CurrentMembers()
	return len(cur) == 1 && cur[0].ResidentID == residentID
}

// NewSingleHousehold is the household a resident gets on first registration: only the
// resident, as applicant. Other members are added when the intake is clarified.
func NewSingleHousehold(id string, r Resident, today string) Household {
	return Household{ID: id, Municipality: r.Municipality, District: r.District,
		Members: []Member{{ResidentID: r.ID, Role: RoleApplicant, StartedOn: today}}}
}

// Limits on personal details.
const (
	MaxGivenNames   = 200
	MaxPrefix       = 20
	MaxFamilyName   = 200
	MaxStreet       = 80
	MaxCity         = 80
	MaxHouseNumber  = 99999
	MaxAddition     = 6
	MaxHouseholdMem = 20
)

var (
	postcodeRe = regexp.MustCompile(`^[1-9][0-9]{3}[A-Z]{2}$`)
	additionRe = regexp.MustCompile(`^[A-Za-z0-9]{0,6}$`)
)

// NormalizePostcode turns "1234 ab" into "1234AB"; the result is checked by ValidateAddress.
func NormalizePostcode(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
}

// text checks free text of a personal detail: valid UTF-8, no control characters, no
// invisible formatting characters, length. A name or address is printed on letters and shown
// to people: a direction override or a zero-width character makes it read otherwise than it
// is stored (a probe's name lost its first given name's initial in a decision letter, and left
// the letter's HTML with an unclosed right-to-left override).
func text(field, s string, minLen, maxLen int) []FieldError {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		return []FieldError{{field, "must be UTF-8"}}
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return []FieldError{{field, "must not contain control characters"}}
	case strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) >= 0:
		return []FieldError{{field, "must not contain invisible formatting characters (direction marks, zero-width characters)"}}
	case n < minLen:
		return []FieldError{{field, "required"}}
	case n > maxLen:
		return []FieldError{{field, fmt.Sprintf("at most %d characters", maxLen)}}
	case minLen > 0 && strings.TrimSpace(s) == "":
		return []FieldError{{field, "required"}}
	}
	return nil
}

// ValidateName checks a name given as a whole; prefix is the field path ("name.").
func ValidateName(prefix string, n Name) []FieldError {
	var errs []FieldError
	errs = append(errs, text(prefix+"given_names", n.GivenNames, 0, MaxGivenNames)...)
	errs = append(errs, text(prefix+"family_name_prefix", n.Prefix, 0, MaxPrefix)...)
	errs = append(errs, text(prefix+"family_name", n.FamilyName, 1, MaxFamilyName)...)
	return errs
}

// ValidateAddress checks an address given as a whole (postcode already normalised).
func ValidateAddress(prefix string, a Address) []FieldError {
	var errs []FieldError
	errs = append(errs, text(prefix+"street", a.Street, 1, MaxStreet)...)
	if a.HouseNumber < 1 || a.HouseNumber > MaxHouseNumber {
		errs = append(errs, FieldError{prefix + "house_number", "must be 1-99999"})
	}
	if !additionRe.MatchString(a.Addition) {
		errs = append(errs, FieldError{prefix + "house_number_addition", "at most 6 letters and digits"})
	}
	if !postcodeRe.MatchString(a.Postcode) {
		errs = append(errs, FieldError{prefix + "postcode", "must be a Dutch postcode like 1234AB"})
	}
	errs = append(errs, text(prefix+"city", a.City, 1, MaxCity)...)
	return errs
}

// ValidatePastDate checks a YYYY-MM-DD date that is not after today (and not before 1900).
func ValidatePastDate(field, s string, today time.Time) []FieldError {
	d, err := time.Parse(DateLayout, s)
	switch {
	case err != nil:
		return []FieldError{{field, "must be a date YYYY-MM-DD"}}
	case d.Year() < 1900:
		return []FieldError{{field, "must not be before 1900"}}
	case d.After(today):
		return []FieldError{{field, "must not be in the future"}}
	}
	return nil
}

// ValidateMembers checks the members of a new household: 1-20 distinct residents, exactly
// one applicant. Resident ids are checked at the edge.
func ValidateMembers(members []Member) []FieldError {
	var errs []FieldError
	if len(members) == 0 || len(members) > MaxHouseholdMem {
		errs = append(errs, FieldError{"members", "1-20 members"})
	}
	seen := map[string]bool{}
	applicants := 0
	for i, m := range members {
		if seen[m.ResidentID] {
			errs = append(errs, FieldError{"members[" + strconv.Itoa(i) + "].resident_id", "listed twice"})
		}
		seen[m.ResidentID] = true
		if m.Role == RoleApplicant {
			applicants++
		}
	}
	if len(members) > 0 && applicants != 1 {
		errs = append(errs, FieldError{"members", "exactly one member must be the APPLICANT"})
	}
	return errs
}

// ResidentRef names a resident to another Wijkbrug service without personal data: the id and
// the access log's pseudonym.
type ResidentRef struct {
	ResidentID string
	Pseudonym  string
}
