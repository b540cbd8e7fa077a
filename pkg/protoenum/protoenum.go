// Package protoenum maps protobuf enums to the plain string codes the domain packages use and
// back, by name: SOURCE_TYPE_GP ⇄ "GP". Generated enums follow buf's STANDARD naming (values
// prefixed with the enum name), so one rule serves every API.
package protoenum

import (
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Enum is a generated enum type.
type Enum interface {
	~int32
	protoreflect.Enum
}

// Code returns the domain code of v: its value name without the prefix, "" when unspecified
// or unknown.
func Code[E Enum](v E) string {
	d := v.Descriptor().Values().ByNumber(protoreflect.EnumNumber(v))
	if d == nil {
		return ""
	}
	name := string(d.Name())
	prefix := prefixOf(v)
	if name == prefix+"UNSPECIFIED" {
		return ""
	}
	return strings.TrimPrefix(name, prefix)
}

// FromCode returns the enum value of a domain code, or the zero value.
func FromCode[E Enum](code string) E {
	var zero E
	if code == "" {
		return zero
	}
	d := zero.Descriptor().Values().ByName(protoreflect.Name(prefixOf(zero) + code))
	if d == nil {
		return zero
	}
	return E(d.Number())
}

// Required returns the code of v, recording a violation on field when v is unspecified or
// not a known value.
func Required[E Enum](v *apperr.Validation, field string, e E) string {
	c := Code(e)
	if c == "" {
		v.Add(field, "required: one of the defined values")
	}
	return c
}

func prefixOf[E Enum](v E) string {
	// The enum's own name in SCREAMING_SNAKE_CASE, as buf STANDARD requires for value names.
	name := string(v.Descriptor().Name())
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String()) + "_"
}

// LifeDomains maps domain codes to proto.
func LifeDomains(codes []string) []commonv1.LifeDomain {
	out := make([]commonv1.LifeDomain, 0, len(codes))
	for _, c := range codes {
		out = append(out, FromCode[commonv1.LifeDomain](c))
	}
	return out
}

// LifeDomainCodes maps proto life domains to codes, rejecting unspecified values and
// duplicates.
func LifeDomainCodes(v *apperr.Validation, field string, ds []commonv1.LifeDomain) []string {
	out := make([]string, 0, len(ds))
	seen := map[string]bool{}
	for _, d := range ds {
		c := Code(d)
		if c == "" {
			v.Add(field, "contains an unspecified or unknown life domain")
			continue
		}
		if seen[c] {
			v.Add(field, "contains "+c+" twice")
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	return out
}
