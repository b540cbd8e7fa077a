package grpcx_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A NUL character in any string of a request is the caller's mistake, named by field (list
// elements and nested messages by their path), together with the field rules' violations: it
// never reaches PostgreSQL, whose text cannot hold it (that was an INTERNAL).
func TestNulCharactersAreRefusedByField(t *testing.T) {
	v, err := grpcx.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	good := func() *referralv1.SubmitSignalRequest {
		return &referralv1.SubmitSignalRequest{
			IdempotencyKey: "k-1", SourceType: referralv1.SourceType_SOURCE_TYPE_GP,
			LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO, ResidentBsn: "111222333",
			MunicipalityCode: "GM0363", LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES},
			Category: "arrears", Description: "text", Arrears: &referralv1.Arrears{Creditor: &referralv1.Creditor{Name: "Woonstichting"}},
		}
	}
	if err := grpcx.ValidateRequest(v, good()); err != nil {
		t.Fatalf("a good request: %v", err)
	}
	bad := good()
	bad.IdempotencyKey, bad.Category, bad.Arrears.Creditor.Name = "k\x00", "a\x00b", "\x00"
	bad.MunicipalityCode = "Amsterdam" // a field rule broken at the same time: both reported
	e, ok := apperr.As(grpcx.ValidateRequest(v, bad))
	if !ok || e.Kind != apperr.KindInvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", e)
	}
	var fields []string
	for _, fv := range e.Violations {
		fields = append(fields, fv.Field)
		if fv.Field != "municipality_code" && fv.Description != "must not contain a NUL character" {
			t.Errorf("%s: %q", fv.Field, fv.Description)
		}
	}
	slices.Sort(fields)
	want := []string{"arrears.creditor.name", "category", "idempotency_key", "municipality_code"}
	if !slices.Equal(fields, want) {
		t.Fatalf("violations name %v, want %v", fields, want)
	}

	// In a list of messages: the element's index is named.
	up := &referralv1.UpsertProvisionRequest{IdempotencyKey: "k-2", Provision: &referralv1.Provision{
		Locations: []*referralv1.Location{{Name: "ok"}, {Name: "x\x00"}},
	}}
	e, _ = apperr.As(grpcx.ValidateRequest(v, up))
	found := false
	for _, fv := range e.Violations {
		found = found || (fv.Field == "provision.locations[1].name" && fv.Description == "must not contain a NUL character")
		if fv.Field == "provision.locations[0].name" {
			t.Errorf("a clean element named: %+v", fv)
		}
	}
	if !found {
		t.Fatalf("provision.locations[1].name not named: %+v", e.Violations)
	}
}

// A Timestamp whose nanos are outside 0–999,999,999 is not a time: the Go type would silently
// carry the surplus into the seconds and store another instant than the one sent. It is
// refused by field, as protovalidate's own rules cannot state it.
func TestInvalidTimestampsAreRefusedByField(t *testing.T) {
	v, err := grpcx.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	at := func(s int64, n int32) *referralv1.UpsertProvisionRequest {
		return &referralv1.UpsertProvisionRequest{IdempotencyKey: "k-3", Provision: &referralv1.Provision{
			VerifiedAt: &timestamppb.Timestamp{Seconds: s, Nanos: n}}}
	}
	for _, tc := range []struct {
		s    int64
		n    int32
		want bool
	}{
		{1767225600, 0, false}, {1767225600, 999_999_999, false},
		{1767225600, -1, true}, {1767225600, 1_000_000_000, true}, {253402300800, 0, true}, {-62135596801, 0, true},
	} {
		e, _ := apperr.As(grpcx.ValidateRequest(v, at(tc.s, tc.n)))
		named := false
		if e != nil {
			for _, fv := range e.Violations {
				// Seconds out of range are the schema's rule ("greater than 1900-01-01…"); nanos
				// out of range are this walk's.
				named = named || (fv.Field == "provision.verified_at" && (tc.n == 0 || strings.Contains(fv.Description, "not a valid timestamp")))
			}
		}
		if named != tc.want {
			t.Errorf("verified_at {%d, %d}: named %v, want %v (%v)", tc.s, tc.n, named, tc.want, e)
		}
	}
}
