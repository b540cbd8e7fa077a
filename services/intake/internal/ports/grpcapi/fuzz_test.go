package grpcapi

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// fuzzNow is the fixed clock of the fuzz targets, so a seed stays valid.
var fuzzNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const (
	id1 = "6f1d4c2e-8a4b-4e0f-9a51-3c7d2b9e1f00"
	id2 = "0b8a7f57-1f0e-4d0c-9a55-4c1f6a3e2d10"
)

var address = &intakev1.Address{Street: "Dorpsstraat", HouseNumber: 12, HouseNumberAddition: "a", Postcode: "1234 ab", City: "Amsterdam"}

// mutating is every mutating request type with a valid example and the port function that
// maps it to domain values; the index is the first fuzz input, so one target covers all.
// The targets apply the proto's field rules first (grpcx.ValidateRequest), as the interceptor
// does before a handler runs: required ids and codes are only there.
var mutating = []struct {
	valid proto.Message
	check func(proto.Message) error
}{
	{&intakev1.RegisterIntakeRequest{IdempotencyKey: "k", Channel: intakev1.Channel_CHANNEL_DESK, ResidentBsn: "111222333",
		MunicipalityCode: "GM0363", DistrictCode: "WK036300", Question: "help with forms",
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}, Urgency: intakev1.Urgency_URGENCY_NORMAL},
		func(m proto.Message) error {
			_, err := intakeFromRequest(m.(*intakev1.RegisterIntakeRequest))
			return err
		}},
	{&intakev1.StartTriageRequest{IdempotencyKey: "k", IntakeId: id1}, schemaOnly},
	{&intakev1.WithdrawIntakeRequest{IdempotencyKey: "k", IntakeId: id1}, schemaOnly},
	{&intakev1.DecideTriageRequest{IdempotencyKey: "k", IntakeId: id1, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE},
		func(m proto.Message) error {
			_, err := decideFromRequest(m.(*intakev1.DecideTriageRequest))
			return err
		}},
	{&intakev1.RecordContactAttemptRequest{IdempotencyKey: "k", IntakeId: id1, Kind: intakev1.ContactKind_CONTACT_KIND_PHONE},
		func(m proto.Message) error {
			_, err := contactAttemptFromRequest(m.(*intakev1.RecordContactAttemptRequest))
			return err
		}},
	{&intakev1.MergeIntakeRequest{IdempotencyKey: "k", IntakeId: id1, IntoIntakeId: id2}, schemaOnly},
	{validPolicy(),
		func(m proto.Message) error {
			_, err := policyFromRequest(m.(*intakev1.ReplaceTriagePolicyRequest))
			return err
		}},
	{&intakev1.RecordAssessmentRequest{IdempotencyKey: "k", ResidentId: id1, InstrumentVersion: "ZRM-2017",
		Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE, Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, Score: 2}}},
		func(m proto.Message) error {
			_, err := assessmentFromRequest(m.(*intakev1.RecordAssessmentRequest))
			return err
		}},
	{&intakev1.RegisterResidentRequest{IdempotencyKey: "k", Bsn: "111222333", MunicipalityCode: "GM0363",
		Name: &intakev1.PersonName{GivenNames: "Jan", FamilyNamePrefix: "de", FamilyName: "Vries"}, BirthDate: "1980-05-17", Address: address},
		func(m proto.Message) error {
			_, err := residentFromRequest(m.(*intakev1.RegisterResidentRequest), fuzzNow)
			return err
		}},
	{&intakev1.MergeResidentsRequest{IdempotencyKey: "k", KeepResidentId: id1, DuplicateResidentId: id2}, schemaOnly},
	{&intakev1.UpdateResidentRequest{IdempotencyKey: "k", ResidentId: id1, Address: address, DistrictCode: "WK036300"},
		func(m proto.Message) error {
			_, err := residentChangesFromRequest(m.(*intakev1.UpdateResidentRequest), fuzzNow)
			return err
		}},
	{&intakev1.CreateHouseholdRequest{IdempotencyKey: "k", MunicipalityCode: "GM0363", Address: address, StartedOn: "2026-03-01",
		Members: []*intakev1.NewHouseholdMember{{ResidentId: id1, Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT},
			{ResidentId: id2, Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_CHILD}}},
		func(m proto.Message) error {
			_, _, err := householdFromRequest(m.(*intakev1.CreateHouseholdRequest), fuzzNow)
			return err
		}},
	{&intakev1.AddHouseholdMemberRequest{IdempotencyKey: "k", HouseholdId: id1, ResidentId: id2, Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER},
		func(m proto.Message) error {
			_, err := addMemberFromRequest(m.(*intakev1.AddHouseholdMemberRequest), fuzzNow)
			return err
		}},
	{&intakev1.RemoveHouseholdMemberRequest{IdempotencyKey: "k", HouseholdId: id1, ResidentId: id2, EndedOn: "2026-03-02"},
		func(m proto.Message) error {
			return removeMemberFromRequest(m.(*intakev1.RemoveHouseholdMemberRequest), fuzzNow)
		}},
	{&intakev1.RecordClarificationRequest{IdempotencyKey: "k", IntakeId: id1, HeldOn: "2026-03-02", Summary: "gesprek",
		Participants: []*intakev1.ClarificationParticipant{{Role: intakev1.ClarificationParticipantRole_CLARIFICATION_PARTICIPANT_ROLE_PROFESSIONAL, ProfessionalId: "noord-1"}},
		NextStep:     intakev1.ClarificationNextStep_CLARIFICATION_NEXT_STEP_ADVICE},
		func(m proto.Message) error {
			_, err := clarificationFromRequest(m.(*intakev1.RecordClarificationRequest))
			return err
		}},
}

func validPolicy() *intakev1.ReplaceTriagePolicyRequest {
	return &intakev1.ReplaceTriagePolicyRequest{IdempotencyKey: "k", MunicipalityCode: "GM0363",
		Positioning: intakev1.Positioning_POSITIONING_COMPLEX_ONLY, ContactAttempts: 2, TriageDays: 10,
		Rules: []*intakev1.TriageRule{
			{Name: "crisis", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_CRISIS, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION},
			{Name: "from-veilig-thuis", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_SOURCE_TYPE,
				SourceType: referralv1.SourceType_SOURCE_TYPE_VEILIG_THUIS, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION},
			{Name: "three-domains-low", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_DOMAINS_SCORED_AT_MOST, MinCount: 3, MaxScore: 2,
				Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION},
			{Name: "otherwise", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_ALWAYS, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE},
		}}
}

// mustBeFieldError fails unless err is nil or a typed INVALID_ARGUMENT naming each field.
func mustBeFieldError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) == 0 {
		t.Fatalf("%s: want a typed INVALID_ARGUMENT with field violations, got %v", what, err)
	}
	for _, v := range e.Violations {
		if v.Field == "" || v.Description == "" {
			t.Fatalf("%s: violation without a field or description: %+v", what, v)
		}
	}
}

// schemaOnly is the port check of a request whose every rule is in its proto.
func schemaOnly(proto.Message) error { return nil }

// schema is the validator of the proto's field rules, which the interceptor applies.
var schema, schemaErr = grpcx.Validator()

// fields names the fields of the violations in err.
func fields(err error) []string {
	e, _ := apperr.As(err)
	if e == nil {
		return nil
	}
	var out []string
	for _, v := range e.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestFuzzSeedsAreValid(t *testing.T) {
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	for _, m := range mutating {
		if err := grpcx.ValidateRequest(schema, m.valid); err != nil {
			t.Errorf("%T: the seed must keep the proto's rules: %v", m.valid, err)
		}
		if err := m.check(m.valid); err != nil {
			t.Errorf("%T: the seed must be valid: %v", m.valid, err)
		}
	}
	// And each one can be made invalid, naming the field (so the targets test something): the
	// proto's rules and the port's checks together, as the interceptor reports them.
	bad := &intakev1.CreateHouseholdRequest{Address: &intakev1.Address{Postcode: "0000", HouseNumber: -1}}
	_, _, err := householdFromRequest(bad, fuzzNow)
	named := map[string]bool{}
	for _, f := range append(fields(grpcx.ValidateRequest(schema, bad)), fields(err)...) {
		named[f] = true
	}
	var got []string
	for f := range named {
		got = append(got, f)
	}
	sort.Strings(got)
	if want := "address.city,address.house_number,address.postcode,address.street,idempotency_key,members,municipality_code"; strings.Join(got, ",") != want {
		t.Fatalf("household violations: %s, want %s", strings.Join(got, ","), want)
	}
}

// FuzzMutatingRequests: random bytes as any mutating request type, through the port's
// validation and mapping. It must never panic, and any error is a typed INVALID_ARGUMENT
// naming fields.
func FuzzMutatingRequests(f *testing.F) {
	for i, m := range mutating {
		b, err := proto.Marshal(m.valid)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		m := mutating[int(which)%len(mutating)]
		req := m.valid.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(data, req); err != nil {
			t.Skip()
		}
		what := string(req.ProtoReflect().Descriptor().FullName())
		mustBeFieldError(t, what, grpcx.ValidateRequest(schema, req))
		mustBeFieldError(t, what, m.check(req))
	})
}

// FuzzTriagePolicyDocument: a triage-policy document as an administrator writes it (the JSON
// form grpcurl sends), through the port's mapping and the domain's policy validation.
func FuzzTriagePolicyDocument(f *testing.F) {
	b, err := protojson.Marshal(validPolicy())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"municipality_code":"GM0363","positioning":"POSITIONING_FIRST_ACCESS","contact_attempts":3,"triage_days":5,
	  "rules":[{"name":"x","condition":"TRIAGE_CONDITION_LIFE_DOMAINS_AT_LEAST","min_count":99,"outcome":"TRIAGE_OUTCOME_CUSTOM_PROVISION"}]}`))
	f.Add([]byte(`{"rules":[{"name":"","condition":7,"source_type":99,"outcome":-1}],"expected_version":-5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req intakev1.ReplaceTriagePolicyRequest
		if err := protojson.Unmarshal(data, &req); err != nil {
			t.Skip()
		}
		mustBeFieldError(t, "policy", grpcx.ValidateRequest(schema, &req))
		p, err := policyFromRequest(&req)
		mustBeFieldError(t, "policy", err)
		if err == nil && len(p.Rules) == 0 {
			t.Fatalf("an accepted policy must have rules")
		}
	})
}
