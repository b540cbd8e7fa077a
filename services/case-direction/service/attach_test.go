package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// closableCase opens a case of teamNoord with a director and a plan of one reached goal, in
// progress: nothing but what a test adds holds its closing. It returns the case and a closing
// assessment of its household.
func closableCase(t *testing.T, h *harness, clock *testClock) (string, string) {
	t.Helper()
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	household := uuid.NewString()
	opened, err := h.as(t, intake).OpenCase(ctx, openRequest("open-"+household, household))
	if err != nil {
		t.Fatal(err)
	}
	id := opened.GetCase().GetId()
	if _, err := noord.AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "dir-" + id, CaseId: id, ProfessionalId: "noord-1"}); err != nil {
		t.Fatal(err)
	}
	plan, err := noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "plan-" + id, CaseId: id,
		EvaluationDate: clock.Now().Add(60 * day).Format(time.DateOnly),
		Goals:          []*casedirectionv1.GoalInput{{LifeDomain: finances, BaselineScore: 2, TargetScore: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noord.StartPlanExecution(ctx, &casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: "start-" + id, CaseId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := noord.SetGoalStatus(ctx, &casedirectionv1.SetGoalStatusRequest{IdempotencyKey: "goal-" + id, CaseId: id,
		GoalId: goalOf(t, plan.GetCase(), finances).GetId(), Status: casedirectionv1.GoalStatus_GOAL_STATUS_REACHED}); err != nil {
		t.Fatal(err)
	}
	return id, h.intake.add(household, &commonv1.DomainScore{LifeDomain: finances, Score: 4})
}

func attachRequest(caseID, number string) *casedirectionv1.AttachAllocationRequest {
	return &casedirectionv1.AttachAllocationRequest{CaseId: caseID, AllocationNumber: number, ProviderAgb: "12345678",
		ProductCategory: "45", ProductCode: "45A01", Origin: casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_PROVIDER_REQUEST,
		IssuedAt: timestamppb.Now()}
}

// An allocation provider-monitoring issues for a case outside RequestAllocation (a granted
// 315, a decision in kind) is recorded on the case before provider-monitoring commits it:
// a closed case refuses it, and an open case's closing waits for it to end. One
// provider-monitoring never committed holds the closing only until it is settled.
func TestAttachedAllocationHoldsTheClosing(t *testing.T) {
	h, clock := startClocked(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	pm := h.as(t, svctest.ServiceOrg("provider-monitoring"))
	closeCase := func(id, assessment string) error {
		_, err := noord.CloseCase(ctx, &casedirectionv1.CloseCaseRequest{IdempotencyKey: "close-" + uuid.NewString(), CaseId: id,
			AssessmentId: assessment, Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED})
		return err
	}
	pending := func(number string) int {
		return h.count(t, `SELECT count(*) FROM case_allocations WHERE allocation_number = $1 AND pending_since IS NOT NULL`, number)
	}

	// Services only; the proto's rules hold.
	if _, err := noord.AttachAllocation(ctx, attachRequest(uuid.NewString(), "TW9000000001")); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a team attaching an allocation: %v, want PERMISSION_DENIED", err)
	}
	bad := attachRequest(uuid.NewString(), "PM 1")
	bad.Origin = casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_CASE_REQUEST
	expectViolations(t, mustErr(pm.AttachAllocation(ctx, bad)), "allocation_number", "origin")
	if _, err := pm.AttachAllocation(ctx, attachRequest(uuid.NewString(), "TW9000000001")); status.Code(err) != codes.NotFound {
		t.Fatalf("an unknown case: %v, want NOT_FOUND", err)
	}

	// A phantom: attached, never committed by provider-monitoring (its transaction rolled back).
	first, firstAssessment := closableCase(t, h, clock)
	got, err := pm.AttachAllocation(ctx, attachRequest(first, "TW9000000001"))
	if err != nil || !got.GetAttached() {
		t.Fatalf("attach: %v %v", got, err)
	}
	if again, err := pm.AttachAllocation(ctx, attachRequest(first, "TW9000000001")); err != nil || again.GetAttached() {
		t.Fatalf("attaching again is a no-op: %v %v", again, err)
	}
	view, err := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: first})
	if as := view.GetCase().GetAllocations(); err != nil || len(as) != 1 || as[0].GetAllocationNumber() != "TW9000000001" ||
		as[0].GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED || as[0].GetOrigin() != casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_PROVIDER_REQUEST {
		t.Fatalf("the case shows the attached allocation: %v %v", as, err)
	}
	// While its transaction may still commit, it holds the closing.
	if st := status.Convert(closeCase(first, firstAssessment)); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "allocation TW9000000001 is ISSUED") {
		t.Fatalf("closing with an allocation being issued: %v, want FAILED_PRECONDITION naming it", st)
	}
	if pending("TW9000000001") != 1 {
		t.Fatal("an allocation provider-monitoring does not have (yet) stays pending")
	}
	// Once no transaction can still commit it, provider-monitoring's NOT_FOUND is final.
	clock.Advance(6 * time.Minute)
	if err := closeCase(first, firstAssessment); err != nil {
		t.Fatalf("closing once the phantom is settled: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM case_allocations WHERE case_id = $1`, first); n != 0 {
		t.Fatalf("the phantom must be dropped, %d allocations left", n)
	}
	// Nobody closes the case: the pending-allocations job settles what no event confirmed, once
	// no transaction can still commit it. A phantom is dropped; one provider-monitoring has is
	// confirmed and stays.
	third, _ := closableCase(t, h, clock)
	for _, number := range []string{"TW9000000005", "TW9000000006"} {
		if _, err := pm.AttachAllocation(ctx, attachRequest(third, number)); err != nil {
			t.Fatal(err)
		}
	}
	h.pm.issue(&providermonitoringv1.Allocation{Number: "TW9000000006", CaseId: third, ProviderAgb: "12345678", ProductCategory: "45",
		ProductCode: "45A01", Status: commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED, RequestId: uuid.NewString(), IssuedAt: timestamppb.Now()})
	clock.Advance(4 * time.Minute)
	time.Sleep(300 * time.Millisecond) // six runs of the job (50 ms in this harness)
	if pending("TW9000000005") != 1 || pending("TW9000000006") != 1 {
		t.Fatal("the job must leave allocations attached less than five minutes ago pending")
	}
	clock.Advance(2 * time.Minute)
	waitFor(t, "the job drops the phantom and confirms the real one", func() bool {
		return h.count(t, `SELECT count(*) FROM case_allocations WHERE case_id = $1 AND allocation_number = 'TW9000000005'`, third) == 0 &&
			pending("TW9000000006") == 0
	})
	if n := h.count(t, `SELECT count(*) FROM case_allocations WHERE case_id = $1`, third); n != 1 {
		t.Fatalf("the confirmed allocation stays on the case: %d rows", n)
	}

	// A closed case refuses a new one: provider-monitoring then issues nothing.
	if _, err := pm.AttachAllocation(ctx, attachRequest(first, "TW9000000002")); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "is CLOSED") {
		t.Fatalf("attach to a closed case: %v, want FAILED_PRECONDITION", err)
	}

	// A real one: provider-monitoring has it. The closing is refused naming it, however long ago
	// it was attached.
	second, secondAssessment := closableCase(t, h, clock)
	if _, err := pm.AttachAllocation(ctx, attachRequest(second, "TW9000000003")); err != nil {
		t.Fatal(err)
	}
	h.pm.issue(&providermonitoringv1.Allocation{Number: "TW9000000003", CaseId: second, ProviderAgb: "12345678", ProductCategory: "45",
		ProductCode: "45A01", Status: commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED, RequestId: uuid.NewString(), IssuedAt: timestamppb.Now()})
	clock.Advance(6 * time.Minute)
	if st := status.Convert(closeCase(second, secondAssessment)); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "allocation TW9000000003 is ISSUED") {
		t.Fatalf("closing with an issued allocation: %v, want FAILED_PRECONDITION naming it", st)
	}

	// The allocation.issued event confirms one attached before it.
	if _, err := pm.AttachAllocation(ctx, attachRequest(second, "TW9000000004")); err != nil {
		t.Fatal(err)
	}
	if pending("TW9000000004") != 1 {
		t.Fatal("an attached allocation is pending")
	}
	h.env.Publish(t, "providermonitoring", "wijkbrug.providermonitoring.GM0363.allocation.issued", "TW9000000004",
		&providermonitoringv1.AllocationIssued{AllocationNumber: "TW9000000004", CaseId: second, ProviderAgb: "12345678", MunicipalityCode: "GM0363",
			ProductCategory: "45", ProductCode: "45A01", RequestId: uuid.NewString(), IssuedAt: timestamppb.Now()})
	waitFor(t, "the issued event confirms the attached allocation", func() bool { return pending("TW9000000004") == 0 })
	if n := h.count(t, `SELECT count(*) FROM case_allocations WHERE case_id = $1`, second); n != 2 {
		t.Fatalf("the event must not record the allocation twice: %d rows", n)
	}
}
