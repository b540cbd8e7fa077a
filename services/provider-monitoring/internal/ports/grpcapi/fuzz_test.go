package grpcapi

import (
	"testing"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	pm "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/proto"
)

// parser is one request type's validation and mapping at the edge: it turns the bytes of a
// request into domain values or a typed error.
type parser struct {
	name  string
	valid proto.Message
	parse func(s *Server, b []byte) (bool, error)
}

// parse unmarshals b into a fresh M and runs fn on it; false when b is not an M.
func parse[M proto.Message](newM func() M, fn func(M) error) func(*Server, []byte) (bool, error) {
	return func(_ *Server, b []byte) (bool, error) {
		m := newM()
		if proto.Unmarshal(b, m) != nil {
			return false, nil
		}
		return true, fn(m)
	}
}

// parsers are the validators of every mutating request and of the request list's page.
func parsers(s *Server) []parser {
	return []parser{
		{"Allocate", &pm.AllocateRequest{IdempotencyKey: "k", CaseId: "0b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33", MunicipalityCode: "GM0363",
			DistrictCode: "WK036301", ProviderAgb: "12345678", ProductCategory: "45", ProductCode: "45A01", StartDate: "2025-03-03",
			EndDate: "2025-12-31", Volume: &commonv1.Volume{Amount: 4, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}, BudgetCents: 100, Form: pm.AllocationForm_ALLOCATION_FORM_PGB},
			parse(func() *pm.AllocateRequest { return new(pm.AllocateRequest) }, func(r *pm.AllocateRequest) error {
				_, err := s.allocationFromRequest(r)
				return err
			})},
		{"ReportDeliveryStarted", &pm.ReportDeliveryStartedRequest{IdempotencyKey: "k", AllocationNumber: "TW0000000001", StartedOn: "2025-03-03"},
			parse(func() *pm.ReportDeliveryStartedRequest { return new(pm.ReportDeliveryStartedRequest) }, func(r *pm.ReportDeliveryStartedRequest) error {
				_, err := startFromRequest(r)
				return err
			})},
		{"ReportDeliveryStopped", &pm.ReportDeliveryStoppedRequest{IdempotencyKey: "k", AllocationNumber: "TW0000000001", StoppedOn: "2025-03-03", ReasonCode: "20"},
			parse(func() *pm.ReportDeliveryStoppedRequest { return new(pm.ReportDeliveryStoppedRequest) }, func(r *pm.ReportDeliveryStoppedRequest) error {
				_, err := s.stopFromRequest(r)
				return err
			})},
		{"ChangeAllocation", &pm.ChangeAllocationRequest{IdempotencyKey: "k", AllocationNumber: "TW0000000001",
			ChangeReason: pm.AllocationChangeReason_ALLOCATION_CHANGE_REASON_EXTENSION, StartDate: "2025-03-01", EndDate: "2026-06-30",
			Volume: &commonv1.Volume{Amount: 3, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}, BudgetCents: 5000},
			parse(func() *pm.ChangeAllocationRequest { return new(pm.ChangeAllocationRequest) }, func(r *pm.ChangeAllocationRequest) error {
				_, err := changeFromRequest(r)
				return err
			})},
		{"WithdrawAllocation", &pm.WithdrawAllocationRequest{IdempotencyKey: "k", AllocationNumber: "TW0000000001", Reason: pm.WithdrawalReason_WITHDRAWAL_REASON_OTHER},
			parse(func() *pm.WithdrawAllocationRequest { return new(pm.WithdrawAllocationRequest) }, func(r *pm.WithdrawAllocationRequest) error {
				_, err := withdrawalFromRequest(r)
				return err
			})},
		{"ReportProgress", &pm.ReportProgressRequest{IdempotencyKey: "k", AllocationNumber: "TW0000000001",
			GoalIds: []string{"0b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33"}, Judgement: pm.ProgressAssessment_PROGRESS_ASSESSMENT_REACHED},
			parse(func() *pm.ReportProgressRequest { return new(pm.ReportProgressRequest) }, func(r *pm.ReportProgressRequest) error {
				_, err := progressFromRequest(r)
				return err
			})},
		{"SubmitAllocationRequest", &pm.SubmitAllocationRequestRequest{IdempotencyKey: "k", Kind: pm.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION,
			ProviderAgb: "12345678", MunicipalityCode: "GM0363", DistrictCode: "WK036301", ProductCategory: "45", ProductCode: "45A01",
			StartDate: "2025-03-03", Volume: &commonv1.Volume{Amount: 3, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}, ReferrerType: "02", ReferrerCode: "01234567"},
			parse(func() *pm.SubmitAllocationRequestRequest { return new(pm.SubmitAllocationRequestRequest) }, func(r *pm.SubmitAllocationRequestRequest) error {
				_, err := s.requestFromProto(r)
				return err
			})},
		{"SubmitAllocationRequest (change)", &pm.SubmitAllocationRequestRequest{IdempotencyKey: "k", Kind: pm.AllocationRequestKind_ALLOCATION_REQUEST_KIND_CHANGE,
			ProviderAgb: "12345678", AllocationNumber: "TW0000000001", StartDate: "2025-03-03", EndDate: "2025-12-31",
			Volume: &commonv1.Volume{Amount: 5, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}, ChangeReasonText: "more support needed"},
			parse(func() *pm.SubmitAllocationRequestRequest { return new(pm.SubmitAllocationRequestRequest) }, func(r *pm.SubmitAllocationRequestRequest) error {
				_, err := s.requestFromProto(r)
				return err
			})},
		{"AnswerAllocationRequest", &pm.AnswerAllocationRequestRequest{IdempotencyKey: "k", RequestId: "0b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33",
			Decision: pm.AnswerDecision_ANSWER_DECISION_GRANT, CaseId: "1b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33", BudgetCents: 100},
			parse(func() *pm.AnswerAllocationRequestRequest { return new(pm.AnswerAllocationRequestRequest) }, func(r *pm.AnswerAllocationRequestRequest) error {
				_, err := answerFromRequest(r)
				return err
			})},
		{"RegisterProvider", &pm.RegisterProviderRequest{IdempotencyKey: "k", Agb: "22334455", Name: "Buurtzorg Jong", Oin: "00000001000000000600"},
			parse(func() *pm.RegisterProviderRequest { return new(pm.RegisterProviderRequest) }, func(r *pm.RegisterProviderRequest) error {
				_, err := providerFromRequest(r)
				return err
			})},
		{"AddContract", &pm.AddContractRequest{IdempotencyKey: "k", ProviderAgb: "22334455", Model: pm.ContractModel_CONTRACT_MODEL_CONSORTIUM,
			MunicipalityCode: "GM0363", Products: []*pm.Product{{Category: "45", Code: "45A01"}}, DistrictCodes: []string{"WK036301"},
			Capacity: 40, ValidFrom: "2026-01-01", ValidTo: "2026-12-31"},
			parse(func() *pm.AddContractRequest { return new(pm.AddContractRequest) }, func(r *pm.AddContractRequest) error {
				_, err := s.contractFromRequest(r)
				return err
			})},
		{"ReportDeliveredVolume", &pm.ReportDeliveredVolumeRequest{IdempotencyKey: "k", AllocationNumber: "TW0000000001",
			PeriodStart: "2025-03-01", PeriodEnd: "2025-03-31", Amount: 16, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR},
			parse(func() *pm.ReportDeliveredVolumeRequest { return new(pm.ReportDeliveredVolumeRequest) }, func(r *pm.ReportDeliveredVolumeRequest) error {
				_, err := deliveredVolumeFromRequest(r)
				return err
			})},
		{"DraftDecision", &pm.DraftDecisionRequest{IdempotencyKey: "k", CaseId: "0b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33",
			LegalBasis: pm.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3, Outcome: pm.DecisionOutcome_DECISION_OUTCOME_GRANTED, ApplicationDate: "2025-03-01",
			Product: &pm.Product{Category: "45", Code: "45A01"}, ProviderAgb: "12345678", StartDate: "2025-03-03", EndDate: "2025-12-31",
			Volume: &commonv1.Volume{Amount: 4, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}, MotivationText: "m"},
			parse(func() *pm.DraftDecisionRequest { return new(pm.DraftDecisionRequest) }, func(r *pm.DraftDecisionRequest) error {
				_, err := draftFromRequest(r)
				return err
			})},
		{"DraftDecision (rejection on a request)", &pm.DraftDecisionRequest{IdempotencyKey: "k", IntakeId: "0b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33",
			AllocationRequestId: "1b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33", LegalBasis: pm.LegalBasis_LEGAL_BASIS_WMO_2_3_5,
			Outcome: pm.DecisionOutcome_DECISION_OUTCOME_REJECTED, RejectionGrounds: "g"},
			parse(func() *pm.DraftDecisionRequest { return new(pm.DraftDecisionRequest) }, func(r *pm.DraftDecisionRequest) error {
				_, err := draftFromRequest(r)
				return err
			})},
		{"ListAllocationRequests", &pm.ListAllocationRequestsRequest{MunicipalityCode: "GM0363", OpenOnly: true, PageSize: 50,
			PageToken: encodeToken(time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), "0b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33")},
			parse(func() *pm.ListAllocationRequestsRequest { return new(pm.ListAllocationRequestsRequest) }, func(r *pm.ListAllocationRequestsRequest) error {
				_, _, _, err := pageFromRequest(r)
				return err
			})},
	}
}

// schema is the validator of the proto's field rules, which the interceptor applies before the
// handler's own checks: the targets apply it too (grpcx.ValidateRequest), since required ids and
// codes are only there.
var schema, schemaErr = grpcx.Validator()

// checkSchema runs the proto's rules on b decoded as p's request type, as the interceptor would.
func checkSchema(t *testing.T, p parser, b []byte) {
	t.Helper()
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	m := p.valid.ProtoReflect().New().Interface()
	if proto.Unmarshal(b, m) == nil {
		checkInvalid(t, p.name, grpcx.ValidateRequest(schema, m))
	}
}

func fuzzServer(t testing.TB) *Server {
	codes, err := domain.LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	return &Server{codes: codes}
}

// checkInvalid fails unless err is nil or a typed INVALID_ARGUMENT naming a field.
func checkInvalid(t *testing.T, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) == 0 {
		t.Fatalf("%s: want INVALID_ARGUMENT with field violations, got %#v", name, err)
	}
	for _, v := range e.Violations {
		if v.Field == "" || v.Description == "" {
			t.Fatalf("%s: a violation without field or description: %+v", name, e.Violations)
		}
	}
}

// The seeds are valid: each parser accepts its seed request.
func TestParsersAcceptValidRequests(t *testing.T) {
	s := fuzzServer(t)
	for _, p := range parsers(s) {
		b, err := proto.Marshal(p.valid)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := p.parse(s, b); !ok || err != nil {
			t.Errorf("%s: the valid request is refused: %v", p.name, err)
		}
		if err := grpcx.ValidateRequest(schema, p.valid); err != nil {
			t.Errorf("%s: the valid request breaks the proto's rules: %v", p.name, err)
		}
	}
}

// FuzzRequests feeds random bytes to the validation and mapping of every mutating request (and
// of the request list's page): whatever arrives must never panic, and a refusal must be a typed
// INVALID_ARGUMENT naming the fields. The first byte picks the request type.
func FuzzRequests(f *testing.F) {
	s := fuzzServer(f)
	ps := parsers(s)
	for i, p := range ps {
		b, err := proto.Marshal(p.valid)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		p := ps[int(which)%len(ps)]
		checkSchema(t, p, b)
		if ok, err := p.parse(s, b); ok {
			checkInvalid(t, p.name, err)
		}
	})
}

// FuzzPageToken feeds random page tokens to their decoder: no panic, and the position of a
// token it accepts survives a round trip through the encoder.
func FuzzPageToken(f *testing.F) {
	f.Add(encodeToken(time.Date(2025, 3, 3, 9, 0, 0, 123, time.UTC), "0b9f5c1e-2d7a-4c4e-9a51-0c3c0f1e2a33"))
	f.Add("")
	f.Add("not a token")
	f.Fuzz(func(t *testing.T, token string) {
		at, id, ok := decodeToken(token)
		if !ok {
			return
		}
		at2, id2, ok2 := decodeToken(encodeToken(at, id))
		if !ok2 || !at2.Equal(at) || id2 != id {
			t.Fatalf("token %q decodes to (%v, %s), which does not survive a round trip", token, at, id)
		}
	})
}
