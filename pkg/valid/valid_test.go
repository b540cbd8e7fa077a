package valid

import (
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

// Text's messages state the limit it applies.
func TestTextMessagesStateTheLimit(t *testing.T) {
	for _, tc := range []struct {
		s        string
		min, max int
		want     string
	}{
		{"abcd", 0, 3, "at most 3 characters"},
		{"ééééé", 0, 4, "at most 4 characters"}, // characters, not bytes
		{"", 1, 3, "required"},
		{"", 10, 500, "required: at least 10 characters"},
		{"short", 10, 500, "at least 10 characters"},
	} {
		var v apperr.Validation
		Text(&v, "f", tc.s, tc.min, tc.max)
		e, _ := apperr.As(v.Err())
		if e == nil || len(e.Violations) != 1 || e.Violations[0].Description != tc.want {
			t.Errorf("Text(%q, %d, %d): %v, want %q", tc.s, tc.min, tc.max, v.Err(), tc.want)
		}
	}
	var v apperr.Validation
	Text(&v, "f", "éééé", 0, 4)
	if v.Err() != nil {
		t.Errorf("four characters of two bytes each are within a limit of 4: %v", v.Err())
	}
}

func TestFormats(t *testing.T) {
	cases := []struct {
		name  string
		check func(v *apperr.Validation)
		ok    bool
	}{
		{"uuid", func(v *apperr.Validation) { UUID(v, "f", "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01") }, true},
		{"uuid without dashes", func(v *apperr.Validation) { UUID(v, "f", "0b9a4c2e8f434c399d554f7a2b8e1c01") }, false},
		{"municipality", func(v *apperr.Validation) { Municipality(v, "f", "GM0363") }, true},
		{"municipality name", func(v *apperr.Validation) { Municipality(v, "f", "Amsterdam") }, false},
		{"district empty", func(v *apperr.Validation) { District(v, "f", "") }, true},
		{"district", func(v *apperr.Validation) { District(v, "f", "WK036300") }, true},
		{"district short", func(v *apperr.Validation) { District(v, "f", "WK0363") }, false},
		{"district of its municipality", func(v *apperr.Validation) { DistrictOf(v, "f", "WK036300", "GM0363") }, true},
		{"district of another municipality", func(v *apperr.Validation) { DistrictOf(v, "f", "WK034400", "GM0363") }, false},
		{"no district", func(v *apperr.Validation) { DistrictOf(v, "f", "", "GM0363") }, true},
		{"agb", func(v *apperr.Validation) { AGB(v, "f", "12345678") }, true},
		{"agb letters", func(v *apperr.Validation) { AGB(v, "f", "1234567a") }, false},
		{"oin", func(v *apperr.Validation) { OIN(v, "f", "00000001000000000100") }, true},
		{"code", func(v *apperr.Validation) { Code(v, "f", "45A01") }, true},
		{"org type", func(v *apperr.Validation) { OrgType(v, "f", "HOUSING_CORPORATION") }, true},
		{"org type lower case", func(v *apperr.Validation) { OrgType(v, "f", "team") }, false},
		{"code with space", func(v *apperr.Validation) { Code(v, "f", "45 A01") }, false},
		{"bsn", func(v *apperr.Validation) { BSN(v, "f", "111222333") }, true},
		{"bsn failing 11-proef", func(v *apperr.Validation) { BSN(v, "f", "111222334") }, false},
		{"text too long", func(v *apperr.Validation) { Text(v, "f", "abcd", 0, 3) }, false},
		{"text required", func(v *apperr.Validation) { Text(v, "f", "", 1, 3) }, false},
		{"text invalid utf8", func(v *apperr.Validation) { Text(v, "f", "\xff", 0, 3) }, false},
		{"date", func(v *apperr.Validation) { Date(v, "f", "2026-02-28") }, true},
		{"date impossible", func(v *apperr.Validation) { Date(v, "f", "2026-02-30") }, false},
	}
	for _, tc := range cases {
		var v apperr.Validation
		tc.check(&v)
		if got := v.Err() == nil; got != tc.ok {
			t.Errorf("%s: valid=%v, want %v (%v)", tc.name, got, tc.ok, v.Err())
		}
		if !tc.ok {
			if e, _ := apperr.As(v.Err()); e == nil || e.Violations[0].Field != "f" {
				t.Errorf("%s: the violation must name the field", tc.name)
			}
		}
	}
}

// FuzzValidators: every format check answers (valid or a violation naming the field) for any
// input, never panics, and never echoes a BSN.
func FuzzValidators(f *testing.F) {
	for _, s := range []string{"", "GM0363", "WK036300", "111222333", "2026-02-29", "\xff\xfe", "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v apperr.Validation
		UUID(&v, "a", s)
		Municipality(&v, "b", s)
		District(&v, "c", s)
		AGB(&v, "d", s)
		OIN(&v, "e", s)
		Code(&v, "f", s)
		OrgType(&v, "j", s)
		BSN(&v, "g", s)
		Text(&v, "h", s, 1, 100)
		Date(&v, "i", s)
		if e, ok := apperr.As(v.Err()); ok {
			for _, viol := range e.Violations {
				if viol.Field == "" || (len(s) == 9 && s != "000000000" && viol.Field == "g" && contains(viol.Description, s)) {
					t.Fatalf("bad violation %+v", viol)
				}
			}
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
