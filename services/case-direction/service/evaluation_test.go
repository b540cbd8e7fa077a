package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Every evaluation decision in every status a case can be evaluated in, as case-direction.md
// "Evaluation decisions" tells it: a decision that moves the case takes the diagram's
// transition, CONTINUE and CLOSE keep the status (CloseCase closes), and anything else is
// FAILED_PRECONDITION saying what the decision does, with nothing recorded. An outside tester
// had SCALE_UP on IN_PROGRESS, SCALE_DOWN on SCALED_DOWN and CLOSE on SCALED_DOWN accepted
// while nothing happened; and a case reopened by CheckIn was told it "needs an adopted plan".
func TestEvaluationDecisionsInEveryStatus(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	id := activeCase(t, h, "noord-1")
	fin := commonv1.LifeDomain_LIFE_DOMAIN_FINANCES
	in := func(days int) string { return domain.Day(time.Now()).AddDate(0, 0, days).Format(time.DateOnly) }

	got, err := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	household := got.GetCase().GetHouseholdId()
	baseline := h.intake.add(household, &commonv1.DomainScore{LifeDomain: fin, Score: 2})
	n := 0
	evaluate := func(d casedirectionv1.EvaluationDecision) (*casedirectionv1.RecordEvaluationResponse, error) {
		n++
		req := &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "eval-" + uuid.NewString(), CaseId: id, Decision: d,
			AssessmentId: h.intake.add(household, &commonv1.DomainScore{LifeDomain: fin, Score: 3}), BaselineAssessmentId: baseline}
		if d == casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH {
			req.CheckInIntervalDays, req.WatchUntil = 14, in(90)
		}
		return noord.RecordEvaluation(ctx, req)
	}
	const (
		cont    = casedirectionv1.EvaluationDecision_EVALUATION_DECISION_CONTINUE
		up      = casedirectionv1.EvaluationDecision_EVALUATION_DECISION_SCALE_UP
		down    = casedirectionv1.EvaluationDecision_EVALUATION_DECISION_SCALE_DOWN
		watch   = casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH
		closeIt = casedirectionv1.EvaluationDecision_EVALUATION_DECISION_CLOSE
	)
	statusName := func(s casedirectionv1.CaseStatus) string { return strings.TrimPrefix(s.String(), "CASE_STATUS_") }
	accepted := func(d casedirectionv1.EvaluationDecision, want casedirectionv1.CaseStatus) {
		t.Helper()
		resp, err := evaluate(d)
		if err != nil || resp.GetCase().GetStatus() != want {
			t.Fatalf("%s: want %s, got %v %v", d, statusName(want), resp.GetCase().GetStatus(), err)
		}
	}
	evaluations := func() int {
		return h.count(t, `SELECT count(*) FROM evaluations WHERE case_id = $1`, id)
	}
	refused := func(d casedirectionv1.EvaluationDecision, says ...string) {
		t.Helper()
		before := evaluations()
		_, err := evaluate(d)
		st := status.Convert(err)
		if st.Code() != codes.FailedPrecondition {
			t.Fatalf("%s: want FAILED_PRECONDITION, got %v", d, err)
		}
		for _, s := range says {
			if !strings.Contains(st.Message(), s) {
				t.Errorf("%s: %q does not say %q", d, st.Message(), s)
			}
		}
		if evaluations() != before {
			t.Errorf("%s: a refused evaluation was recorded", d)
		}
	}
	adopt := func(key string) {
		t.Helper()
		if _, err := noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: key, CaseId: id, EvaluationDate: in(30),
			Goals: []*casedirectionv1.GoalInput{{LifeDomain: fin, BaselineScore: 2, TargetScore: 4}}}); err != nil {
			t.Fatal(err)
		}
	}
	startWork := func(key string) {
		t.Helper()
		if _, err := noord.StartPlanExecution(ctx, &casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: key, CaseId: id}); err != nil {
			t.Fatal(err)
		}
	}

	refused(cont, "ACTIVE", "no plan yet", "AdoptPlan")
	adopt("plan-1")
	// PLAN_ADOPTED: work has not started; only CONTINUE.
	refused(up, "PLAN_ADOPTED", "SCALE_UP", "StartPlanExecution")
	refused(down, "PLAN_ADOPTED", "SCALE_DOWN")
	refused(watch, "PLAN_ADOPTED", "WATCH")
	refused(closeIt, "PLAN_ADOPTED", "CLOSE", "CloseCase")
	accepted(cont, casedirectionv1.CaseStatus_CASE_STATUS_PLAN_ADOPTED)
	startWork("start-1")
	// IN_PROGRESS.
	refused(up, "IN_PROGRESS", "SCALE_UP", "SCALED_DOWN case back to IN_PROGRESS", "CONTINUE")
	accepted(cont, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS)
	accepted(closeIt, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS) // the conclusion; CloseCase closes
	accepted(down, casedirectionv1.CaseStatus_CASE_STATUS_SCALED_DOWN)
	// SCALED_DOWN.
	refused(down, "SCALED_DOWN", "SCALE_DOWN", "IN_PROGRESS case to SCALED_DOWN", "CONTINUE")
	accepted(cont, casedirectionv1.CaseStatus_CASE_STATUS_SCALED_DOWN)
	accepted(closeIt, casedirectionv1.CaseStatus_CASE_STATUS_SCALED_DOWN)
	accepted(up, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS)
	accepted(down, casedirectionv1.CaseStatus_CASE_STATUS_SCALED_DOWN)
	accepted(watch, casedirectionv1.CaseStatus_CASE_STATUS_WATCH)
	// WATCH: WATCH again renews the pilot light.
	refused(up, "WATCH", "SCALE_UP", "CheckIn")
	refused(down, "WATCH", "SCALE_DOWN", "CheckIn")
	accepted(cont, casedirectionv1.CaseStatus_CASE_STATUS_WATCH)
	accepted(watch, casedirectionv1.CaseStatus_CASE_STATUS_WATCH)
	accepted(closeIt, casedirectionv1.CaseStatus_CASE_STATUS_WATCH)

	// Reopened (ACTIVE, plan version 1 still there): told to adopt a new plan version.
	if _, err := noord.CheckIn(ctx, &casedirectionv1.CheckInRequest{IdempotencyKey: "reopen", CaseId: id, Reopen: true}); err != nil {
		t.Fatal(err)
	}
	refused(cont, "ACTIVE", "reopened", "version 1", "adopt a new plan version (AdoptPlan)", "StartPlanExecution")
	_, err = evaluate(cont)
	if strings.Contains(status.Convert(err).Message(), "needs an adopted plan") {
		t.Fatalf("the reopened case has an adopted plan: %v", err)
	}
	adopt("plan-2")
	startWork("start-2")
	accepted(cont, casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS)
}

// INVALID_ARGUMENT names every field that breaks a rule needing no stored case at once: the
// field rules and the dates against today (evaluation_date, watch_until). Rules that compare
// with the stored case (resident_agreed_on not before its opening, a carried-over goal's life
// domain) are checked after them, as the doc says.
func TestPlanAndEvaluationDatesWithTheFieldRules(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	id := activeCase(t, h, "noord-1")
	fin := commonv1.LifeDomain_LIFE_DOMAIN_FINANCES
	in := func(days int) string { return domain.Day(time.Now()).AddDate(0, 0, days).Format(time.DateOnly) }

	// A bad score and an evaluation in the past, or more than 5 years ahead: all at once.
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p1", CaseId: id, EvaluationDate: in(-1),
		Goals: []*casedirectionv1.GoalInput{{LifeDomain: fin, BaselineScore: 0, TargetScore: 4}}})), "goals[0].baseline_score", "evaluation_date")
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p2", CaseId: id, EvaluationDate: in(6 * 366)})),
		"goals", "evaluation_date")
	// resident_agreed_on before the case's opening needs the stored case: after the field rules.
	early := &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p3", CaseId: id, EvaluationDate: in(30), ResidentAgreed: true, ResidentAgreedOn: "1990-01-01",
		Goals: []*casedirectionv1.GoalInput{{LifeDomain: fin, BaselineScore: 0, TargetScore: 4}}}
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, early)), "goals[0].baseline_score")
	early.IdempotencyKey, early.Goals[0].BaselineScore = "p4", 2
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, early)), "resident_agreed_on")

	// A pilot light ending today (or in the past) with no interval, and no assessment: all at
	// once, before the case is even read.
	expectViolations(t, mustErr(noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "e1", CaseId: id,
		Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH, WatchUntil: in(0)})),
		"assessment_id", "check_in_interval_days", "watch_until")
	expectViolations(t, mustErr(noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "e2", CaseId: id, AssessmentId: uuid.NewString(),
		Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH, CheckInIntervalDays: 400, WatchUntil: in(6 * 366)})),
		"check_in_interval_days", "watch_until")
}
