package protoenum

import (
	"testing"

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
	LifeDomainCodes(&v, "life_domains", []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, 0})
	e, ok := apperr.As(v.Err())
	if !ok || len(e.Violations) != 2 {
		t.Fatalf("want two violations (duplicate, unspecified), got %v", v.Err())
	}
}
