// Package protoenum maps protobuf enums to the plain string codes the domain packages use and
// back, by name: SOURCE_TYPE_GP ⇄ "GP". Generated enums follow buf's STANDARD naming (values
// prefixed with the enum name), so one rule serves every API.
package protoenum

import (
	"strconv"
	"strings"
	"sync"

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
	return tableOf(v.Descriptor()).code[protoreflect.EnumNumber(v)]
}

// FromCode returns the enum value of a domain code, or the zero value.
func FromCode[E Enum](code string) E {
	if code == "" {
		return 0
	}
	var zero E
	return E(tableOf(zero.Descriptor()).number[code])
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

// table is one enum's codes both ways, built once per enum: every list answer maps several
// enums per row, and deriving the prefix and looking the name up on each call was 8–12 % of
// the CPU of a ListTeamQueue or ListMySignals call (bench profiles, issue 12).
type table struct {
	code   map[protoreflect.EnumNumber]string // number → code; the unspecified value is absent ("")
	number map[string]protoreflect.EnumNumber // code → number
}

var tables sync.Map // protoreflect.FullName → *table

func tableOf(d protoreflect.EnumDescriptor) *table {
	if t, ok := tables.Load(d.FullName()); ok {
		return t.(*table)
	}
	prefix := prefixOf(d)
	values := d.Values()
	t := &table{code: map[protoreflect.EnumNumber]string{}, number: map[string]protoreflect.EnumNumber{}}
	for i := range values.Len() {
		v := values.Get(i)
		name := string(v.Name())
		code := strings.TrimPrefix(name, prefix)
		if name != prefix+"UNSPECIFIED" {
			// An alias does not replace the first name of its number (as ByNumber answers).
			if _, seen := t.code[v.Number()]; !seen {
				t.code[v.Number()] = code
			}
		}
		if strings.HasPrefix(name, prefix) {
			t.number[code] = v.Number()
		}
	}
	got, _ := tables.LoadOrStore(d.FullName(), t)
	return got.(*table)
}

// prefixOf is the enum's own name in SCREAMING_SNAKE_CASE and "_", as buf STANDARD requires
// for value names.
func prefixOf(d protoreflect.EnumDescriptor) string {
	name := string(d.Name())
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
// duplicates. An unspecified or unknown value is named by its element ("life_domains[2]"), as
// the protos' rule (items: defined_only, not_in [0]) names it; a duplicate is named by the list,
// as the rule unique: true names it, once per duplicated code.
func LifeDomainCodes(v *apperr.Validation, field string, ds []commonv1.LifeDomain) []string {
	out := make([]string, 0, len(ds))
	seen, reported := map[string]bool{}, map[string]bool{}
	for i, d := range ds {
		c := Code(d)
		if c == "" {
			v.Add(field+"["+strconv.Itoa(i)+"]", "must be one of the defined life domains")
			continue
		}
		if seen[c] {
			if !reported[c] { // each duplicated code once, however often it occurs
				reported[c] = true
				v.Add(field, "contains "+c+" more than once")
			}
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	return out
}
