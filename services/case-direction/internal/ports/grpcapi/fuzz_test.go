package grpcapi

// Fuzz targets for everything case-direction takes from outside: each request type's
// validation and mapping (random bytes → proto.Unmarshal → the proto's field rules, as the
// interceptor applies them → the port function that turns the request into domain values, and for involvements the domain rules the app then applies).
// None may panic; every refusal must be a typed INVALID_ARGUMENT whose violations name fields
// that exist in the request, in valid UTF-8, and survive the trip to a gRPC status.

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	paging "github.com/wijkbrug/wijkbrug/pkg/paging"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const (
	fuzzID  = "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"
	fuzzOIN = "00000001000000000500"
)

// fuzzAt is the fixed "now" the domain rules are checked against.
var fuzzAt = time.Date(2026, 3, 10, 9, 0, 0, 0, domain.Amsterdam)

// requestKind is one request type: a valid seed and the port function under test, which
// returns the validation error (or, for involvements, the domain rule's error).
type requestKind struct {
	seed  proto.Message
	check func(m proto.Message) error
}

func kinds[M proto.Message](seed M, check func(M) error) requestKind {
	return requestKind{seed: seed, check: func(m proto.Message) error { return check(m.(M)) }}
}

var (
	caseRequests = []requestKind{
		kinds(&casedirectionv1.OpenCaseRequest{IdempotencyKey: "k", HouseholdId: fuzzID, IntakeId: fuzzID, MunicipalityCode: "GM0363",
			DistrictCode: "WK036300", TeamOin: fuzzOIN, LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}},
			func(r *casedirectionv1.OpenCaseRequest) error { _, err := openFromRequest(r); return err }),
		kinds(&casedirectionv1.GetCaseRequest{CaseId: fuzzID}, schemaOnly[*casedirectionv1.GetCaseRequest]),
		kinds(&casedirectionv1.AssignDirectorRequest{IdempotencyKey: "k", CaseId: fuzzID, ProfessionalId: "noord-1"}, assignFromRequest),
		kinds(&casedirectionv1.RequestAllocationRequest{IdempotencyKey: "k", CaseId: fuzzID, ProviderAgb: "12345678", ProductCategory: "45",
			ProductCode: "45A01", StartDate: "2026-04-01", EndDate: "2026-12-31", Volume: &commonv1.Volume{Amount: 4, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK},
			GoalIds: []string{fuzzID}},
			func(r *casedirectionv1.RequestAllocationRequest) error {
				_, err := allocationFromRequest(r)
				return err
			}),
		kinds(&casedirectionv1.ListCasesRequest{Statuses: []casedirectionv1.CaseStatus{casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE},
			DirectorProfessionalId: "noord-1", PageSize: 20, PageToken: paging.Token(caseListOf(&casedirectionv1.ListCasesRequest{
				Statuses: []casedirectionv1.CaseStatus{casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE}, DirectorProfessionalId: "noord-1"}),
				"2026-01-01T00:00:00Z", fuzzID)},
			func(r *casedirectionv1.ListCasesRequest) error { _, err := listFromRequest(r); return err }),
	}
	planRequests = []requestKind{
		kinds(&casedirectionv1.AdoptPlanRequest{IdempotencyKey: "k", CaseId: fuzzID, ResidentAgreed: true, ResidentAgreedOn: "2026-01-05",
			EvaluationDate: "2026-06-01", Goals: []*casedirectionv1.GoalInput{
				{GoalId: fuzzID, LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, BaselineScore: 2, TargetScore: 4},
				{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, BaselineScore: 1, TargetScore: 3}}},
			func(r *casedirectionv1.AdoptPlanRequest) error { _, err := planFromRequest(r, today); return err }),
		kinds(&casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: "k", CaseId: fuzzID}, startFromRequest),
		kinds(&casedirectionv1.AddGoalActionRequest{IdempotencyKey: "k", CaseId: fuzzID, GoalId: fuzzID, AllocationNumber: "TW000001"}, goalActionFromRequest),
		kinds(&casedirectionv1.SetGoalStatusRequest{IdempotencyKey: "k", CaseId: fuzzID, GoalId: fuzzID, Status: casedirectionv1.GoalStatus_GOAL_STATUS_REACHED},
			func(r *casedirectionv1.SetGoalStatusRequest) error { _, err := goalStatusFromRequest(r); return err }),
	}
	followUpRequests = []requestKind{
		kinds(&casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "k", CaseId: fuzzID,
			AssessmentId: fuzzID, BaselineAssessmentId: fuzzID, Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH, CheckInIntervalDays: 14, WatchUntil: "2026-12-31"},
			func(r *casedirectionv1.RecordEvaluationRequest) error {
				_, err := evaluationFromRequest(r, today)
				return err
			}),
		kinds(&casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "k", CaseId: fuzzID, HeldOn: "2026-01-05",
			Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_PRACTICE_NURSE, OrganisationOin: fuzzOIN, ProfessionalId: "poh-1", External: true}},
			Decisions: []string{"start debt counselling"}},
			func(r *casedirectionv1.RecordCaseConferenceRequest) error {
				_, err := conferenceFromRequest(r)
				return err
			}),
		kinds(&casedirectionv1.CheckInRequest{IdempotencyKey: "k", CaseId: fuzzID, Reopen: true}, checkInFromRequest),
		kinds(&casedirectionv1.RecordSafetyConcernRequest{IdempotencyKey: "k", CaseId: fuzzID, Kind: casedirectionv1.SafetyConcernKind_SAFETY_CONCERN_KIND_CHILD_ABUSE,
			MeldcodeStep: casedirectionv1.MeldcodeStep_MELDCODE_STEP_CONSULT},
			func(r *casedirectionv1.RecordSafetyConcernRequest) error { _, err := safetyFromRequest(r); return err }),
		kinds(&casedirectionv1.HandOverRequest{IdempotencyKey: "k", CaseId: fuzzID, Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_OTHER_MUNICIPALITY,
			RecipientOin: fuzzOIN, MunicipalityCode: "GM0344"},
			func(r *casedirectionv1.HandOverRequest) error { _, err := handOverFromRequest(r); return err }),
		kinds(&casedirectionv1.CloseCaseRequest{IdempotencyKey: "k", CaseId: fuzzID, Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED,
			AssessmentId: fuzzID},
			func(r *casedirectionv1.CloseCaseRequest) error { _, err := closeFromRequest(r); return err }),
	}
	involvementRequests = []requestKind{
		kinds(&casedirectionv1.AddInvolvementRequest{IdempotencyKey: "k", CaseId: fuzzID, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP, OrganisationOin: fuzzOIN,
			ProfessionalId: "dr-1", Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR, ValidFrom: "2026-03-10", ValidTo: "2026-06-30"},
			func(r *casedirectionv1.AddInvolvementRequest) error {
				i, err := involvementFromRequest(r)
				if err != nil {
					return err
				}
				_, err = domain.NewInvolvement(i, fuzzAt)
				return ruleErr(err)
			}),
		kinds(&casedirectionv1.EndInvolvementRequest{IdempotencyKey: "k", CaseId: fuzzID, InvolvementId: fuzzID, ValidTo: "2026-03-31"},
			func(r *casedirectionv1.EndInvolvementRequest) error {
				lastDay, err := endFromRequest(r)
				if err != nil {
					return err
				}
				to := time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC)
				i := domain.Involvement{ID: fuzzID, Role: domain.RoleExecutor, ValidFrom: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ValidTo: &to}
				err = i.End(lastDay, fuzzAt)
				var ie *domain.InvolvementError
				if errors.As(err, &ie) && ie.Field == "" {
					return nil // a FAILED_PRECONDITION (e.g. extending), not a field error
				}
				return ruleErr(err)
			}),
		kinds(&casedirectionv1.ListInvolvementsRequest{CaseId: fuzzID},
			func(r *casedirectionv1.ListInvolvementsRequest) error {
				_, _, err := listInvolvementsFromRequest(r)
				return err
			}),
		kinds(&casedirectionv1.ListCaseResidentsRequest{CaseId: fuzzID},
			func(r *casedirectionv1.ListCaseResidentsRequest) error {
				_, err := caseResidentsFromRequest(r)
				return err
			}),
		kinds(&casedirectionv1.ListInvolvedCasesRequest{PageSize: 20},
			func(r *casedirectionv1.ListInvolvedCasesRequest) error {
				_, _, err := listInvolvedFromRequest(r)
				return err
			}),
	}
)

// ruleErr turns a domain involvement rule naming a field into the INVALID_ARGUMENT the app
// makes of it; anything else is returned as it is (and fails the target).
func ruleErr(err error) error {
	var ie *domain.InvolvementError
	if errors.As(err, &ie) && ie.Field != "" {
		return apperr.Invalid(ie.Field, ie.Msg)
	}
	return err
}

// schemaOnly is the port check of a request whose every rule is in its proto.
func schemaOnly[M proto.Message](M) error { return nil }

// schema is the validator of the proto's field rules, which the interceptor applies before a
// handler runs (grpcx.ValidateRequest does the same here).
var schema, schemaErr = grpcx.Validator()

// fuzzKinds runs one target over a family of request types: the first byte picks the type.
func fuzzKinds(f *testing.F, family []requestKind) {
	if schemaErr != nil {
		f.Fatal(schemaErr)
	}
	for k, rk := range family {
		b, err := proto.Marshal(rk.seed)
		if err != nil {
			f.Fatal(err)
		}
		if err := grpcx.ValidateRequest(schema, rk.seed); err != nil {
			f.Fatalf("seed %d (%T) must keep the proto's rules: %v", k, rk.seed, err)
		}
		if err := rk.check(rk.seed); err != nil {
			f.Fatalf("seed %d (%T) must be valid: %v", k, rk.seed, err)
		}
		f.Add(uint8(k), b)
		f.Add(uint8(k), []byte{})
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		rk := family[int(kind)%len(family)]
		m := rk.seed.ProtoReflect().New().Interface()
		if proto.Unmarshal(data, m) != nil {
			t.Skip()
		}
		// As the interceptor: the proto's rules, then the handler's own checks (which it also
		// runs on a request the rules refused, to name every bad field at once).
		checkRefusal(t, m, grpcx.ValidateRequest(schema, m))
		checkRefusal(t, m, rk.check(m))
	})
}

func FuzzCaseRequests(f *testing.F)        { fuzzKinds(f, caseRequests) }
func FuzzPlanRequests(f *testing.F)        { fuzzKinds(f, planRequests) }
func FuzzFollowUpRequests(f *testing.F)    { fuzzKinds(f, followUpRequests) }
func FuzzInvolvementRequests(f *testing.F) { fuzzKinds(f, involvementRequests) }

// checkRefusal fails unless err is nil or a typed INVALID_ARGUMENT whose every violation names
// a field of req (a path such as goals[1].life_domain: a field inside a repeated field names
// its element by an index the request has, as protovalidate does), is valid UTF-8, and
// converts to a gRPC status that can be sent.
func checkRefusal(t *testing.T, req proto.Message, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalidArgument || len(e.Violations) == 0 {
		t.Fatalf("want a typed INVALID_ARGUMENT with field violations, got %#v", err)
	}
	for _, v := range e.Violations {
		if !fieldExists(req.ProtoReflect(), v.Field) {
			t.Fatalf("violation names %q, which is no field of %s", v.Field, req.ProtoReflect().Descriptor().FullName())
		}
		if !utf8.ValidString(v.Field) || !utf8.ValidString(v.Description) || v.Description == "" {
			t.Fatalf("bad violation %+v", v)
		}
	}
	gerr := grpcx.ToStatus(context.Background(), slog.New(slog.DiscardHandler), err)
	st, _ := status.FromError(gerr)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("becomes %v, want INVALID_ARGUMENT", st.Code())
	}
	if _, merr := proto.Marshal(st.Proto()); merr != nil {
		t.Fatalf("the status cannot be sent: %v", merr)
	}
}

var indexRe = regexp.MustCompile(`^([a-z_0-9]+)(?:\[([0-9]+)\])?$`)

// fieldExists walks a violation's field path (a.b[3].c) through the message m: every part is a
// field; an index is only on a repeated field and within its length; and a repeated field
// with more path after it names its element (goals[1].goal_id, never goals.goal_id).
func fieldExists(m protoreflect.Message, path string) bool {
	parts := strings.Split(path, ".")
	for k, part := range parts {
		if m == nil {
			return false
		}
		sub := indexRe.FindStringSubmatch(part)
		if sub == nil {
			return false
		}
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(sub[1]))
		if fd == nil {
			return false
		}
		last := k == len(parts)-1
		switch {
		case sub[2] != "":
			i, err := strconv.Atoi(sub[2])
			if !fd.IsList() || err != nil || i >= m.Get(fd).List().Len() {
				return false
			}
			item := m.Get(fd).List().Get(i)
			m = nil
			if fd.Message() != nil {
				m = item.Message()
			}
		case fd.IsList() && !last:
			return false
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			m = m.Get(fd).Message()
		default:
			m = nil
		}
	}
	return true
}
