package grpcapi

// Fuzz targets for everything the referral service takes from outside: each request type's
// validation and mapping (random bytes → proto.Unmarshal → the port function that turns a
// request into domain values, then the domain rules the app applies to those values) and the
// HSDS directory parser. None may panic; every refusal must be a typed INVALID_ARGUMENT
// naming fields that exist in the request, in valid UTF-8 (gRPC cannot send anything else),
// without repeating the resident's BSN, and must survive the trip to a gRPC status.

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	fuzzBSN = "111222333"
	fuzzOIN = "00000001000000000500"
	fuzzID  = "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"
)

// orgTypes are every organisation type a caller can have; a signal is checked against each.
var orgTypes = []identity.OrgType{
	identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis, identity.OrgHousingCorporation, identity.OrgUtility,
	identity.OrgHealthInsurer, identity.OrgPolice, identity.OrgCreditBank, identity.OrgTeam, identity.OrgMunicipality,
	identity.OrgProvider, identity.OrgIntegrator, identity.OrgService,
}

func validSignal() *referralv1.SubmitSignalRequest {
	return &referralv1.SubmitSignalRequest{
		IdempotencyKey: "k", SourceType: referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WGS,
		ResidentBsn: fuzzBSN, MunicipalityCode: "GM0363", DistrictCode: "WK036300",
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}, Category: "rent arrears",
		Description: "three months", Arrears: &referralv1.Arrears{AmountCents: 245000, Months: 3},
	}
}

func validReferral() *referralv1.CreateReferralRequest {
	return &referralv1.CreateReferralRequest{
		IdempotencyKey: "k", ProvisionId: fuzzID, CaseId: fuzzID, GoalIds: []string{fuzzID}, ResidentBsn: fuzzBSN,
		MunicipalityCode: "GM0363", DistrictCode: "WK036300", Question: "a buddy",
		SharedDataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY},
		ConsentId:            fuzzID, Priority: referralv1.Priority_PRIORITY_URGENT, AcceptBy: timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
		Send: true, ReplacesReferralId: fuzzID,
	}
}

func validConsent() *referralv1.RecordConsentRequest {
	return &referralv1.RecordConsentRequest{
		IdempotencyKey: "k", ResidentBsn: fuzzBSN, ProcessingActivity: "referral", RecipientOins: []string{fuzzOIN},
		DataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION},
		ValidFrom:      "2026-01-01", ValidUntil: "2026-12-31", MunicipalityCode: "GM0363",
	}
}

func validProvision() *referralv1.Provision {
	return &referralv1.Provision{
		Id: fuzzID, OrganisationOin: fuzzOIN, OrganisationName: "Zorggroep De Brug", Name: "Maatjesproject",
		Description: "buddies", Kind: referralv1.ProvisionKind_PROVISION_KIND_COMMUNITY, Status: referralv1.ProvisionStatus_PROVISION_STATUS_ACTIVE,
		TaxonomyTerms: []string{"buddy-project"}, LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
		MinAge: 18, MaxAge: 99, TargetGroup: "adults", MunicipalityCode: "GM0363", DistrictCodes: []string{"WK036300"},
		Locations:      []*referralv1.Location{{Name: "Buurthuis", Address: "Plein 1", PostalCode: "1011AB", City: "Amsterdam", DistrictCode: "WK036300"}},
		CapacityStatus: referralv1.CapacityStatus_CAPACITY_STATUS_WAITLIST, WaitingDays: 14, AcceptsDigitalReferrals: true,
		VerifiedAt: timestamppb.New(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)), Url: "https://example.org", Email: "a@example.org", Phone: "020-1234567",
	}
}

// transitionRequests are the nine transition request types, indexed by the fuzzer's kind.
var transitionRequests = []func() transitionRequest{
	func() transitionRequest { return &referralv1.SendReferralRequest{} },
	func() transitionRequest { return &referralv1.AcceptReferralRequest{} },
	func() transitionRequest { return &referralv1.DeclineReferralRequest{} },
	func() transitionRequest { return &referralv1.StartReferralRequest{} },
	func() transitionRequest { return &referralv1.HoldReferralRequest{} },
	func() transitionRequest { return &referralv1.ResumeReferralRequest{} },
	func() transitionRequest { return &referralv1.CompleteReferralRequest{} },
	func() transitionRequest { return &referralv1.FailReferralRequest{} },
	func() transitionRequest { return &referralv1.CancelReferralRequest{} },
}

func validTransitions() []transitionRequest {
	return []transitionRequest{
		&referralv1.SendReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID},
		&referralv1.AcceptReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID},
		&referralv1.DeclineReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID, Reason: referralv1.DeclineReason_DECLINE_REASON_CAPACITY, Note: "full"},
		&referralv1.StartReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID},
		&referralv1.HoldReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID, HoldReason: referralv1.HoldReason_HOLD_REASON_WAITLIST, Note: "wait"},
		&referralv1.ResumeReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID},
		&referralv1.CompleteReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID, Outcome: referralv1.ReferralOutcome_REFERRAL_OUTCOME_GOAL_REACHED, Note: "done"},
		&referralv1.FailReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID, Reason: referralv1.FailReason_FAIL_REASON_RESIDENT_STOPPED},
		&referralv1.CancelReferralRequest{IdempotencyKey: "k", ReferralId: fuzzID, Reason: referralv1.CancelReason_CANCEL_REASON_OTHER},
	}
}

func mustMarshal(f *testing.F, m proto.Message) []byte {
	f.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// unmarshal decodes data into m; false means the bytes are no such request (skip them).
func unmarshal(data []byte, m proto.Message) bool { return proto.Unmarshal(data, m) == nil }

// schema is the validator of the proto's field rules, which the interceptor applies before the
// handler's own checks; required ids and codes are only there.
var schema, schemaErr = grpcx.Validator()

// checkRefusal checks the refusal of req by the proto's rules (as the interceptor applies them,
// grpcx.ValidateRequest) and by the port's own checks (err): each must be nil or a typed
// INVALID_ARGUMENT whose every violation names a field of req (a path such as
// provision.locations[0].name), is valid UTF-8, does not repeat the BSN, and converts to a
// gRPC status that can be marshalled.
func checkRefusal(t *testing.T, req proto.Message, bsnValue string, err error) {
	t.Helper()
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	checkOneRefusal(t, req, bsnValue, grpcx.ValidateRequest(schema, req))
	checkOneRefusal(t, req, bsnValue, err)
}

func checkOneRefusal(t *testing.T, req proto.Message, bsnValue string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) == 0 {
		t.Fatalf("want a typed INVALID_ARGUMENT with field violations, got %#v", err)
	}
	for _, v := range e.Violations {
		if req != nil && !fieldExists(req.ProtoReflect().Descriptor(), v.Field) {
			t.Fatalf("violation names %q, which is no field of %s", v.Field, req.ProtoReflect().Descriptor().FullName())
		}
		checkViolationText(t, v, bsnValue)
	}
	checkStatus(t, err)
}

func checkViolationText(t *testing.T, v apperr.FieldViolation, bsnValue string) {
	t.Helper()
	if v.Field == "" || !utf8.ValidString(v.Field) || !utf8.ValidString(v.Description) {
		t.Fatalf("bad violation %+v", v)
	}
	if len(bsnValue) >= 9 && repeats(v.Description, bsnValue) {
		t.Fatalf("violation of %s repeats the BSN: %q", v.Field, v.Description)
	}
}

// repeats reports whether text holds bsn as a number of its own: not inside a longer run of
// digits, so a bound such as 100000000000 does not count as repeating the BSN 000000000.
func repeats(text, bsn string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], bsn)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(bsn)
		if (start == 0 || !isDigit(text[start-1])) && (end == len(text) || !isDigit(text[end])) {
			return true
		}
		i = start + 1
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func checkStatus(t *testing.T, err error) {
	t.Helper()
	gerr := grpcx.ToStatus(context.Background(), slog.New(slog.DiscardHandler), err)
	st, _ := status.FromError(gerr)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("becomes %v, want INVALID_ARGUMENT", st.Code())
	}
	if _, merr := proto.Marshal(st.Proto()); merr != nil {
		t.Fatalf("the status cannot be sent: %v", merr)
	}
}

var indexRe = regexp.MustCompile(`\[[0-9]+\]$`)

// fieldExists walks a violation's field path (a.b[3].c) through the message descriptors.
func fieldExists(md protoreflect.MessageDescriptor, path string) bool {
	for _, part := range strings.Split(path, ".") {
		if md == nil {
			return false
		}
		fd := md.Fields().ByName(protoreflect.Name(indexRe.ReplaceAllString(part, "")))
		if fd == nil {
			return false
		}
		md = fd.Message()
	}
	return true
}

// checkRule fails unless err is nil or a domain rule violation naming a field of req.
func checkRule(t *testing.T, req proto.Message, err error) {
	t.Helper()
	if err == nil {
		return
	}
	rv, ok := err.(domain.RuleViolation)
	if !ok || !fieldExists(req.ProtoReflect().Descriptor(), rv.Field) {
		t.Fatalf("want a RuleViolation naming a request field, got %#v", err)
	}
	checkViolationText(t, apperr.FieldViolation{Field: rv.Field, Description: rv.Reason}, "")
}

func FuzzSubmitSignal(f *testing.F) {
	f.Add(mustMarshal(f, validSignal()))
	f.Add(mustMarshal(f, &referralv1.SubmitSignalRequest{ResidentBsn: "123456789", Arrears: &referralv1.Arrears{AmountCents: -1}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &referralv1.SubmitSignalRequest{}
		if !unmarshal(data, req) {
			return
		}
		sig, err := signalFromRequest(req)
		checkRefusal(t, req, req.GetResidentBsn(), err)
		if err != nil {
			return
		}
		for _, ot := range orgTypes { // the app's rule check, for every kind of caller
			checkRule(t, req, sig.Validate(string(ot)))
		}
	})
}

func FuzzCreateReferral(f *testing.F) {
	f.Add(mustMarshal(f, validReferral()))
	intake := validReferral()
	intake.CaseId, intake.IntakeId, intake.ConsentId, intake.LegalBasis = "", fuzzID, "", referralv1.LegalBasis_LEGAL_BASIS_WMO
	f.Add(mustMarshal(f, intake))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &referralv1.CreateReferralRequest{}
		if !unmarshal(data, req) {
			return
		}
		r, err := referralFromRequest(req)
		checkRefusal(t, req, req.GetResidentBsn(), err)
		if err != nil {
			return
		}
		if (r.CaseID == "") == (r.IntakeID == "") || (r.ConsentID == "" && (r.LegalBasis == "" || r.LegalBasis == domain.BasisConsent)) {
			t.Fatalf("accepted a referral without exactly one of case and intake, or without a legal basis: %+v", r)
		}
	})
}

func FuzzRecordConsent(f *testing.F) {
	f.Add(mustMarshal(f, validConsent()))
	f.Add(mustMarshal(f, &referralv1.RecordConsentRequest{ValidFrom: "2026-02-30", ValidUntil: "2025-01-01"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &referralv1.RecordConsentRequest{}
		if !unmarshal(data, req) {
			return
		}
		c, err := consentFromRequest(req)
		checkRefusal(t, req, req.GetResidentBsn(), err)
		if err != nil {
			return
		}
		for _, rv := range c.Validate() { // the app's rule check
			checkRule(t, req, rv)
		}
	})
}

func FuzzUpsertProvision(f *testing.F) {
	f.Add(mustMarshal(f, &referralv1.UpsertProvisionRequest{IdempotencyKey: "k", Provision: validProvision()}))
	f.Add(mustMarshal(f, &referralv1.UpsertProvisionRequest{Provision: &referralv1.Provision{MinAge: 50, MaxAge: 20, Locations: []*referralv1.Location{{}}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &referralv1.UpsertProvisionRequest{}
		if !unmarshal(data, req) {
			return
		}
		_, err := provisionFromRequest(req)
		checkRefusal(t, req, "", err)
	})
}

func FuzzReferralTransitions(f *testing.F) {
	for i, req := range validTransitions() {
		f.Add(uint8(i), mustMarshal(f, req))
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		req := transitionRequests[int(kind)%len(transitionRequests)]()
		if !unmarshal(data, req) {
			return
		}
		tr, err := transitionFromRequest(req)
		checkRefusal(t, req, "", err)
		if err == nil && tr.Action == domain.ActCancel && tr.Reason == domain.CancelConsentWithdrawn {
			t.Fatal("a caller set the service's own cancel reason CONSENT_WITHDRAWN")
		}
	})
}

// FuzzQueries covers the reads that take more than an id: consents by resident, the social-map
// search and the recurring-themes period.
func FuzzQueries(f *testing.F) {
	age := int32(40)
	f.Add(uint8(0), mustMarshal(f, &referralv1.ListConsentsRequest{ResidentBsn: fuzzBSN, Status: referralv1.ConsentStatus_CONSENT_STATUS_VALID}))
	f.Add(uint8(1), mustMarshal(f, &referralv1.SearchProvisionsRequest{MunicipalityCode: "GM0363", DistrictCode: "WK036300", Text: "eenzaam",
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK}, Age: age, HasAge: true, Limit: 10}))
	f.Add(uint8(2), mustMarshal(f, &referralv1.GetRecurringThemesRequest{MunicipalityCode: "GM0363", FromDate: "2026-01-01", ToDate: "2026-12-31"}))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		switch kind % 3 {
		case 0:
			req := &referralv1.ListConsentsRequest{}
			if unmarshal(data, req) {
				_, err := listConsentsQuery(req)
				checkRefusal(t, req, req.GetResidentBsn(), err)
			}
		case 1:
			req := &referralv1.SearchProvisionsRequest{}
			if unmarshal(data, req) {
				q, err := searchQuery(req)
				checkRefusal(t, req, "", err)
				if err == nil && (q.Limit < 1 || q.Limit > 100) {
					t.Fatalf("limit %d passed", q.Limit)
				}
			}
		case 2:
			req := &referralv1.GetRecurringThemesRequest{}
			if unmarshal(data, req) {
				start, end, err := themesPeriod(req)
				checkRefusal(t, req, "", err)
				if err == nil && (!end.After(start) || end.Sub(start) > 368*24*time.Hour) {
					t.Fatalf("period %v – %v passed", start, end)
				}
			}
		}
	})
}

// hsdsPathRe is the shape of a field an import refusal names: the request field itself or a
// path into the directory, down to an element of a list ("services[0].life_domains[1]").
var hsdsPathRe = regexp.MustCompile(`^(hsds_json|(organizations|services)\[[0-9]+\]\.[a-z_]+(\[[0-9]+\](\.[a-z_]+)?)*)$`)

// FuzzImportDirectory feeds the HSDS parser arbitrary JSON. What it accepts must export again
// to a directory it accepts, and exporting that gives the same document (export ∘ import is
// a fixed point), so nothing an import stores is lost or changed by a later export.
func FuzzImportDirectory(f *testing.F) {
	// Small seeds keep the minimisation of new inputs quick (make test fuzzes for 5 s).
	p, err := provisionFromRequest(&referralv1.UpsertProvisionRequest{Provision: &referralv1.Provision{
		Id: fuzzID, OrganisationOin: fuzzOIN, Name: "M", Kind: referralv1.ProvisionKind_PROVISION_KIND_COMMUNITY,
		Status: referralv1.ProvisionStatus_PROVISION_STATUS_ACTIVE, TaxonomyTerms: []string{"b"}, MunicipalityCode: "GM0363",
		DistrictCodes: []string{"WK036300"}, Locations: []*referralv1.Location{{City: "A"}}, Phone: "1",
		CapacityStatus: referralv1.CapacityStatus_CAPACITY_STATUS_FULL, VerifiedAt: timestamppb.New(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)),
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(exportJSON(f, []domain.Provision{p}))
	f.Add(`{"organizations":[{"id":"` + fuzzOIN + `","name":"X"}],"services":[{"id":"` + fuzzID + `","organization_id":"` + fuzzOIN +
		`","name":"Inloop","status":"active","minimum_age":50,"maximum_age":20,"x_wijkbrug":{"kind":"community","municipality_code":"GM0363","capacity_status":"available","life_domains":["HOUSING","NOPE"]}}]}`)
	f.Add(`{"services":[{"id":"x"},{"id":"x"}]}`)
	f.Add(`{`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		ps, err := parseDirectory(raw)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) == 0 {
				t.Fatalf("want a typed INVALID_ARGUMENT, got %#v", err)
			}
			for _, v := range e.Violations {
				if !hsdsPathRe.MatchString(v.Field) {
					t.Fatalf("violation names %q, not a path in the directory", v.Field)
				}
				checkViolationText(t, v, "")
			}
			checkStatus(t, err)
			return
		}
		first := exportJSON(t, ps)
		again, err := parseDirectory(first)
		if err != nil {
			t.Fatalf("the export of an accepted directory is refused: %v\n%s", err, first)
		}
		if second := exportJSON(t, again); second != first {
			t.Fatalf("export ∘ import is not stable:\n%s\n---\n%s", first, second)
		}
	})
}

// exportJSON writes provisions the way ExportDirectory does.
func exportJSON(t testing.TB, ps []domain.Provision) string {
	t.Helper()
	dir := directoryOf(ps)
	raw, err := json.Marshal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// The fuzz oracle finds a BSN repeated as a number of its own, and only then: a fuzzed BSN of
// zeros was once "found" inside the bound 100000000000 of an amount.
func TestRepeatsFindsTheBSNAsANumberOfItsOwn(t *testing.T) {
	for _, c := range []struct {
		text, bsn string
		want      bool
	}{
		{"123456782", "123456782", true},
		{"resident 123456782 is unknown", "123456782", true},
		{"bsn=123456782.", "123456782", true},
		{"must be less than or equal to 100000000000", "000000000", false},
		{"1234567820 and 0123456782", "123456782", false},
		{"0123456782 and 123456782", "123456782", true},
	} {
		if got := repeats(c.text, c.bsn); got != c.want {
			t.Errorf("repeats(%q, %q) = %v, want %v", c.text, c.bsn, got, c.want)
		}
	}
}
