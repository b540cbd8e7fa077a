package grpcx_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A NUL character in any string of a request is the caller's mistake, named by field (list
// elements and nested messages by their path), together with the field rules' violations: it
// never reaches PostgreSQL, whose text cannot hold it (that was an INTERNAL).
func TestNulCharactersAreRefusedByField(t *testing.T) {
	v, err := grpcx.Validator()
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
	v, err := grpcx.Validator()
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

// An answer stays small whatever the request's lists hold (a probe's 220 kB AdoptPlan drew a
// 12.7 MB answer, and 360,000 goals tore the connection down, for every call on it): a list
// longer than its rule is named once and only its elements within the limit are checked, and
// an answer lists at most MaxViolations, the fields themselves before the lists' elements.
func TestAnswersToLongListsStaySmall(t *testing.T) {
	v, err := grpcx.Validator()
	if err != nil {
		t.Fatal(err)
	}
	goal := &casedirectionv1.GoalInput{GoalId: "not a uuid", LifeDomain: 999, BaselineScore: 9, TargetScore: 9}
	req := &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "k", CaseId: "not a uuid either"}
	for range 20000 {
		req.Goals = append(req.Goals, goal)
	}
	e, ok := apperr.As(grpcx.ValidateRequest(v, req))
	if !ok {
		t.Fatalf("want INVALID_ARGUMENT, got %v", e)
	}
	fields := map[string]string{}
	for _, fv := range e.Violations {
		fields[fv.Field] = fv.Description
		if n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(fv.Field, "]", 2)[0], "goals["), "]")); strings.HasPrefix(fv.Field, "goals[") && n >= 100 {
			t.Fatalf("an element past the limit was checked: %s", fv.Field)
		}
	}
	if fields["goals"] != "must contain no more than 100 item(s)" || fields["case_id"] == "" || fields["goals[99].goal_id"] == "" {
		t.Fatalf("want the list's length, the other fields and the elements within the limit named, got %d: %v", len(e.Violations), fields)
	}
	if len(req.Goals) != 20000 {
		t.Fatalf("the request itself was cut: %d goals", len(req.Goals))
	}
	// However many there are, the answer lists MaxViolations, fields before elements, and
	// counts the rest.
	st := status.Convert(grpcx.ToStatus(context.Background(), slog.New(slog.DiscardHandler), e))
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			br = b
		}
	}
	if st.Code() != codes.InvalidArgument || br == nil || len(br.GetFieldViolations()) != grpcx.MaxViolations+1 {
		t.Fatalf("want %d violations and a count of the rest, got %v", grpcx.MaxViolations, st.Details())
	}
	listed := map[string]bool{}
	for _, fv := range br.GetFieldViolations() {
		listed[fv.GetField()] = true
	}
	last := br.GetFieldViolations()[grpcx.MaxViolations].GetDescription()
	if !listed["goals"] || !listed["case_id"] || last != fmt.Sprintf("%d more violations not listed: correct the ones above and send it again", len(e.Violations)-grpcx.MaxViolations) {
		t.Fatalf("the fields must come first and the rest be counted: %v … %q", listed, last)
	}
}
