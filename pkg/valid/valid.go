// Package valid checks the shapes of identifiers and codes that arrive from outside, each
// returning a typed INVALID_ARGUMENT error naming the field. Business rules live in the
// services' domain packages; these are only formats (national code formats included).
package valid

import (
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
)

var (
	municipalityRe = regexp.MustCompile(`^GM[0-9]{4}$`)
	districtRe     = regexp.MustCompile(`^WK[0-9]{6}$`)
	agbRe          = regexp.MustCompile(`^[0-9]{8}$`)
	oinRe          = regexp.MustCompile(`^[0-9]{20}$`)
	codeRe         = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)
	orgTypeRe      = regexp.MustCompile(`^[A-Z][A-Z_]{1,31}$`)
)

// DateLayout is the format of calendar dates in the APIs.
const DateLayout = "2006-01-02"

// UUID checks an id.
func UUID(v *apperr.Validation, field, s string) {
	if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
		v.Add(field, "must be a UUID")
	}
}

// Municipality checks a CBS municipality code (GM0363).
func Municipality(v *apperr.Validation, field, s string) {
	v.Check(municipalityRe.MatchString(s), field, "must be a CBS municipality code like GM0363")
}

// District checks an optional CBS district code (WK036300).
func District(v *apperr.Validation, field, s string) {
	v.Check(s == "" || districtRe.MatchString(s), field, "must be empty or a CBS district code like WK036300")
}

// DistrictOf checks that an optional district code lies in the municipality given with it: a
// CBS district code (WK036300) is WK, the four digits of its municipality's code (GM0363) and
// two of its own. Only shapes already checked are compared, so a malformed code is reported
// once, by District or Municipality.
func DistrictOf(v *apperr.Validation, field, district, municipality string) {
	if !districtRe.MatchString(district) || !municipalityRe.MatchString(municipality) {
		return
	}
	v.Check(district[2:6] == municipality[2:6], field,
		"district "+district+" lies in GM"+district[2:6]+", not in "+municipality)
}

// AGB checks an 8-digit AGB code.
func AGB(v *apperr.Validation, field, s string) {
	v.Check(agbRe.MatchString(s), field, "must be an 8-digit AGB code")
}

// OIN checks a 20-digit OIN.
func OIN(v *apperr.Validation, field, s string) {
	v.Check(oinRe.MatchString(s), field, "must be a 20-digit OIN")
}

// OrgType checks the form of an organisation type as carried in certificates (TEAM, GP,
// HOUSING_CORPORATION, …).
func OrgType(v *apperr.Validation, field, s string) {
	v.Check(orgTypeRe.MatchString(s), field, "an organisation type such as TEAM or GP")
}

// Code checks a short code (product codes and categories, units).
func Code(v *apperr.Validation, field, s string) {
	v.Check(codeRe.MatchString(s), field, "must be 1-16 letters, digits, '-' or '_'")
}

// BSN checks a burgerservicenummer; the message never repeats the value.
func BSN(v *apperr.Validation, field, s string) {
	if err := bsn.Validate(s); err != nil {
		v.Add(field, "not a valid BSN: "+err.Error())
	}
}

// Text checks free text: valid UTF-8 and at most max characters; required when min > 0.
// Characters are counted as protovalidate's string.min_len and max_len count them (code
// points), and the messages state the limit.
func Text(v *apperr.Validation, field, s string, minLen, maxLen int) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be UTF-8")
	case n == 0 && minLen == 1:
		v.Add(field, "required")
	case n == 0 && minLen > 1:
		v.Add(field, fmt.Sprintf("required: at least %d characters", minLen))
	case n < minLen:
		v.Add(field, fmt.Sprintf("at least %d characters", minLen))
	case n > maxLen:
		v.Add(field, fmt.Sprintf("at most %d characters", maxLen))
	}
}

// Date parses a YYYY-MM-DD date. Callers check an optional date only when it is given, so an
// empty one is reported as required.
func Date(v *apperr.Validation, field, s string) time.Time {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		if s == "" {
			v.Add(field, "required: a date YYYY-MM-DD")
			return time.Time{}
		}
		v.Add(field, "must be a date YYYY-MM-DD")
		return time.Time{}
	}
	return t
}
