package protoenum

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
)

func TestRoundTrip(t *testing.T) {
	if got := Code(referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION); got != "HOUSING_CORPORATION" {
		t.Fatalf("Code = %q", got)
	}
	if got := FromCode[referralv1.SourceType]("HOUSING_CORPORATION"); got != referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION {
		t.Fatalf("FromCode = %v", got)
	}
	if got := Code(referralv1.SourceType_SOURCE_TYPE_UNSPECIFIED); got != "" {
		t.Fatalf("unspecified must map to empty, got %q", got)
	}
	if got := Code(referralv1.SourceType(999)); got != "" {
		t.Fatalf("unknown number must map to empty, got %q", got)
	}
	if got := FromCode[commonv1.LifeDomain]("NOPE"); got != commonv1.LifeDomain_LIFE_DOMAIN_UNSPECIFIED {
		t.Fatalf("unknown code must map to zero, got %v", got)
	}
}

func TestLifeDomainCodes(t *testing.T) {
	var v apperr.Validation
	got := LifeDomainCodes(&v, "life_domains", []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING})
	if v.Err() != nil || len(got) != 2 || got[0] != "FINANCES" || got[1] != "HOUSING" {
		t.Fatalf("got %v, %v", got, v.Err())
	}
	LifeDomainCodes(&v, "life_domains", []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, 0, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES})
	e, ok := apperr.As(v.Err())
	// The duplicate once, by the list (as the rule unique: true names it); the unspecified
	// value by its element (as the rule items.not_in: [0] names it).
	if !ok || len(e.Violations) != 2 || e.Violations[0].Field != "life_domains" || e.Violations[1].Field != "life_domains[2]" {
		t.Fatalf("want two violations (duplicate, unspecified), got %v", v.Err())
	}
}

// The tables answer what looking each name up in the descriptor answers, for every value of
// every enum linked into this test (common and referral, and what they import), aliases and
// numbers without a value included.
func TestTablesAnswerAsTheDescriptors(t *testing.T) {
	enums := 0
	protoregistry.GlobalTypes.RangeEnums(func(et protoreflect.EnumType) bool {
		d := et.Descriptor()
		prefix := prefixOf(d)
		tab := tableOf(d)
		enums++
		values := d.Values()
		for i := range values.Len() + 1 {
			n := protoreflect.EnumNumber(i)
			if i == values.Len() {
				n = 1 << 20 // no such value
			}
			want := ""
			if v := values.ByNumber(n); v != nil && string(v.Name()) != prefix+"UNSPECIFIED" {
				want = strings.TrimPrefix(string(v.Name()), prefix)
			}
			if got := tab.code[n]; got != want {
				t.Errorf("%s number %d: code %q, want %q", d.FullName(), n, got, want)
			}
		}
		for i := range values.Len() {
			name := string(values.Get(i).Name())
			code := strings.TrimPrefix(name, prefix)
			want := protoreflect.EnumNumber(0)
			if v := values.ByName(protoreflect.Name(prefix + code)); v != nil {
				want = v.Number()
			}
			if got := tab.number[code]; got != want {
				t.Errorf("%s code %q: number %d, want %d", d.FullName(), code, got, want)
			}
		}
		return true
	})
	if enums < 5 {
		t.Fatalf("only %d enums registered", enums)
	}
}
