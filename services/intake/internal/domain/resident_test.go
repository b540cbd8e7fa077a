package domain

import (
	"slices"
	"testing"
	"time"
)

func fields(errs []FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestValidateAddress(t *testing.T) {
	ok := Address{Street: "Dorpsstraat", HouseNumber: 1, Postcode: NormalizePostcode(" 1234 ab "), City: "Utrecht"}
	cases := []struct {
		name   string
		modify func(*Address)
		want   []string
	}{
		{"valid", func(*Address) {}, nil},
		{"addition", func(a *Address) { a.Addition = "2hg" }, nil},
		{"postcode leading zero", func(a *Address) { a.Postcode = "0123AB" }, []string{"a.postcode"}},
		{"postcode letters", func(a *Address) { a.Postcode = "1234A" }, []string{"a.postcode"}},
		{"house number", func(a *Address) { a.HouseNumber = 0 }, []string{"a.house_number"}},
		{"house number high", func(a *Address) { a.HouseNumber = 100000 }, []string{"a.house_number"}},
		{"addition", func(a *Address) { a.Addition = "a-b" }, []string{"a.house_number_addition"}},
		{"street blank", func(a *Address) { a.Street = "   " }, []string{"a.street"}},
		{"city control", func(a *Address) { a.City = "Utrecht\n" }, []string{"a.city"}},
		{"all at once", func(a *Address) { *a = Address{} }, []string{"a.street", "a.house_number", "a.postcode", "a.city"}},
	}
	for _, tc := range cases {
		a := ok
		tc.modify(&a)
		if got := fields(ValidateAddress("a.", a)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMatchKeyIgnoresSpellingOfTheSameDwelling(t *testing.T) {
	a := Address{Street: "Lindengracht", HouseNumber: 8, Addition: "a", Postcode: NormalizePostcode("1015 kd"), City: "Amsterdam"}
	b := Address{Street: "Lindengr.", HouseNumber: 8, Addition: "A", Postcode: NormalizePostcode("1015KD"), City: "AMSTERDAM"}
	if a.MatchKey() != b.MatchKey() {
		t.Fatalf("%q != %q", a.MatchKey(), b.MatchKey())
	}
	b.HouseNumber = 80
	if a.MatchKey() == b.MatchKey() {
		t.Fatal("another house number is another dwelling")
	}
}

func TestValidateNameAndDates(t *testing.T) {
	if got := fields(ValidateName("n.", Name{GivenNames: "Jan", Prefix: "van de", FamilyName: "Berg"})); got != nil {
		t.Fatalf("valid name: %v", got)
	}
	if got := fields(ValidateName("n.", Name{GivenNames: "\x00", Prefix: "van de van de van de van", FamilyName: ""})); !slices.Equal(got,
		[]string{"n.given_names", "n.family_name_prefix", "n.family_name"}) {
		t.Fatalf("invalid name: %v", got)
	}
	// Accents and other scripts are names; invisible direction and zero-width characters
	// are not (they make a letter read otherwise than the name is stored).
	if got := fields(ValidateName("n.", Name{GivenNames: "Zoë Çelik", Prefix: "d'", FamilyName: "Øster-Núñez"})); got != nil {
		t.Fatalf("a name with diacritics: %v", got)
	}
	if got := fields(ValidateName("n.", Name{GivenNames: "\u202ePiet", Prefix: "van\u200b", FamilyName: "Jans\u2066en"})); !slices.Equal(got,
		[]string{"n.given_names", "n.family_name_prefix", "n.family_name"}) {
		t.Fatalf("invisible formatting characters: %v", got)
	}
	if got := fields(ValidateAddress("a.", Address{Street: "Kerk\u200dstraat", HouseNumber: 1, Postcode: "1011AB", City: "Amsterdam"})); !slices.Equal(got, []string{"a.street"}) {
		t.Fatalf("an address with a zero-width joiner: %v", got)
	}
	today := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for s, bad := range map[string]bool{"2026-03-02": false, "1950-01-01": false, "2026-03-03": true, "1899-12-31": true, "2026-02-30": true, "": true} {
		if got := len(ValidatePastDate("d", s, today)) > 0; got != bad {
			t.Errorf("%q: invalid %v, want %v", s, got, bad)
		}
	}
	// Just after midnight in Amsterdam it is already the next day.
	if got := Today(time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)); got.Format(DateLayout) != "2026-03-02" {
		t.Fatalf("Today: %v", got)
	}
}

func TestValidateMembers(t *testing.T) {
	cases := []struct {
		name    string
		members []Member
		want    []string
	}{
		{"one applicant", []Member{{ResidentID: "a", Role: RoleApplicant}, {ResidentID: "b", Role: RoleChild}}, nil},
		{"none", nil, []string{"members"}},
		{"no applicant", []Member{{ResidentID: "a", Role: RolePartner}}, []string{"members"}},
		{"two applicants", []Member{{ResidentID: "a", Role: RoleApplicant}, {ResidentID: "b", Role: RoleApplicant}}, []string{"members"}},
		{"twice", []Member{{ResidentID: "a", Role: RoleApplicant}, {ResidentID: "a", Role: RoleChild}}, []string{"members[1].resident_id"}},
	}
	for _, tc := range cases {
		if got := fields(ValidateMembers(tc.members)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHouseholdMembership(t *testing.T) {
	h := Household{Members: []Member{
		{ResidentID: "a", Role: RoleApplicant, StartedOn: "2025-01-01"},
		{ResidentID: "b", Role: RolePartner, StartedOn: "2025-01-01", EndedOn: "2025-06-01"},
	}}
	if !h.Movable("a") || h.Movable("b") || !h.HasCurrentApplicant() {
		t.Fatal("a is the only current member: movable; b left")
	}
	if _, ok := h.CurrentMember("b"); ok {
		t.Fatal("b is a former member")
	}
	h.Members = append(h.Members, Member{ResidentID: "c", Role: RoleChild, StartedOn: "2025-02-01"})
	if h.Movable("a") || len(h.CurrentMembers()) != 2 {
		t.Fatal("with a current child, a does not move implicitly")
	}
}
