package service_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/case-direction/service"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testClock is the service's clock in a test: it stands still until the test moves it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startClocked runs the service with a test clock and a fast pilot-light scheduler.
func startClocked(t *testing.T) (*harness, *testClock) {
	t.Helper()
	env := svctest.New(t)
	pm, in, peers := startPeers(t, env)
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	s := env.Start(t, service.SpecWith(service.Options{Now: clock.Now, WatchInterval: 50 * time.Millisecond}), peers)
	return &harness{env: env, s: s, pm: pm, intake: in}, clock
}

const day = 24 * time.Hour

var (
	finances = commonv1.LifeDomain_LIFE_DOMAIN_FINANCES
	housing  = commonv1.LifeDomain_LIFE_DOMAIN_HOUSING
	network  = commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK
)

func goalOf(t *testing.T, c *casedirectionv1.Case, d commonv1.LifeDomain) *casedirectionv1.Goal {
	t.Helper()
	for _, g := range c.GetPlan().GetGoals() {
		if g.GetLifeDomain() == d {
			return g
		}
	}
	t.Fatalf("no goal for %s in %v", d, c.GetPlan())
	return nil
}

// outboxEvents decodes the outbox rows of one event type for a case, in order.
func outboxEvents[M proto.Message](t *testing.T, h *harness, caseID string, newM func() M) []M {
	t.Helper()
	var zero M
	rows, err := h.s.Pool.Query(context.Background(), `SELECT payload FROM outbox WHERE recipient = '' AND aggregate_id = $1 AND event_type = $2 ORDER BY id`,
		caseID, cloudevents.TypeOf(zero))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []M
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		m := newM()
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestHouseholdCaseFromOpeningToClosing(t *testing.T) {
	h, clock := startClocked(t)
	ctx := svctest.Ctx(t)
	recorded := h.env.Events(t, "casedirection", "wijkbrug.casedirection.>")
	noord := h.as(t, teamNoord)
	// The Dutch calendar day of the clock, as the service counts days (between 23:00 and
	// 24:00 UTC it is already tomorrow in Amsterdam).
	today := func() string { return domain.Day(clock.Now()).Format(time.DateOnly) }
	getCase := func(id string) *casedirectionv1.Case {
		t.Helper()
		resp, err := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
		if err != nil {
			t.Fatalf("get case: %v", err)
		}
		return resp.GetCase()
	}

	// Opening and director.
	opened, err := h.as(t, intake).OpenCase(ctx, openRequest("open", uuid.NewString()))
	if err != nil {
		t.Fatal(err)
	}
	id := opened.GetCase().GetId()
	if _, err := noord.AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "dir", CaseId: id, ProfessionalId: "noord-1"}); err != nil {
		t.Fatal(err)
	}

	// Plan, version 1: three goals, the resident agreed.
	adopt := &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "plan-1", CaseId: id, ResidentAgreed: true, ResidentAgreedOn: today(),
		EvaluationDate: clock.Now().Add(60 * day).Format(time.DateOnly), Goals: []*casedirectionv1.GoalInput{
			{LifeDomain: finances, BaselineScore: 2, TargetScore: 4},
			{LifeDomain: housing, BaselineScore: 2, TargetScore: 3},
			{LifeDomain: network, BaselineScore: 1, TargetScore: 3},
		}}
	plan, err := noord.AdoptPlan(ctx, adopt)
	if err != nil {
		t.Fatalf("adopt plan: %v", err)
	}
	c := plan.GetCase()
	if c.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_PLAN_ADOPTED || c.GetPlan().GetVersion() != 1 || !c.GetPlan().GetResidentAgreed() ||
		c.GetPlan().GetAdoptedBy() != "professional-1" || len(c.GetPlan().GetGoals()) != 3 {
		t.Fatalf("after adoption: %v", c)
	}
	gFin, gHou, gNet := goalOf(t, c, finances).GetId(), goalOf(t, c, housing).GetId(), goalOf(t, c, network).GetId()
	if again, err := noord.AdoptPlan(ctx, adopt); err != nil || again.GetCase().GetPlan().GetVersion() != 1 {
		t.Fatalf("a retry must not adopt a second version: %v %v", again, err)
	}
	if n := h.count(t, `SELECT count(*) FROM goals WHERE case_id = $1 AND status = 'OPEN'`, id); n != 3 {
		t.Fatalf("want 3 open goal rows, got %d", n)
	}
	if _, err := noord.StartPlanExecution(ctx, &casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: "start", CaseId: id}); err != nil {
		t.Fatal(err)
	}

	// Actions: an allocation for the finances goal, referrals for housing and the network.
	alloc := allocationRequest("alloc", id)
	alloc.GoalIds = []string{gFin}
	allocated, err := noord.RequestAllocation(ctx, alloc)
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	number := allocated.GetAllocationNumber()
	if a := goalOf(t, allocated.GetCase(), finances).GetActions(); len(a) != 1 || a[0].GetAllocationNumber() != number || a[0].GetAllocationStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED {
		t.Fatalf("allocation action on the goal: %v", a)
	}
	refHousing, refNetwork := uuid.NewString(), uuid.NewString()
	refEvent := func(ref, st string, goals ...string) {
		h.env.Publish(t, "referral", "wijkbrug.referral.GM0363.referral.status_changed", ref, &referralv1.ReferralStatusChanged{
			ReferralId: ref, CaseId: id, GoalIds: goals, Status: protoenum.FromCode[commonv1.ReferralStatus](st), MunicipalityCode: "GM0363", At: timestamppb.Now()})
	}
	// A referral made for the case without a goal is linked to one once reported; before
	// that case direction does not know it.
	link := func(key string) (*casedirectionv1.AddGoalActionResponse, error) {
		return noord.AddGoalAction(ctx, &casedirectionv1.AddGoalActionRequest{IdempotencyKey: key, CaseId: id, GoalId: gHou, ReferralId: refHousing})
	}
	if _, err := link("ref-h-early"); status.Code(err) != codes.NotFound {
		t.Fatalf("linking a referral not reported for the case: want NOT_FOUND, got %v", err)
	}
	refEvent(refHousing, "SENT")
	waitFor(t, "the referral reported", func() bool {
		return h.count(t, `SELECT count(*) FROM case_referrals WHERE referral_id = $1`, refHousing) == 1
	})
	withRef, err := link("ref-h")
	if err != nil {
		t.Fatalf("add referral action: %v", err)
	}
	if a := goalOf(t, withRef.GetCase(), housing).GetActions(); len(a) != 1 || a[0].GetReferralId() != refHousing || a[0].GetReferralStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_SENT {
		t.Fatalf("referral action on the goal: %v", a)
	}
	refEvent(refHousing, "ACCEPTED")
	refEvent(refNetwork, "SENT", gNet)
	pmEvent := func(ev string, m proto.Message) {
		h.env.Publish(t, "providermonitoring", "wijkbrug.providermonitoring.GM0363.allocation."+ev, number, m)
	}
	pmEvent("delivery_started", &providermonitoringv1.AllocationDeliveryStarted{AllocationNumber: number, CaseId: id, StartedOn: today(), MunicipalityCode: "GM0363", ReportedAt: timestamppb.Now()})
	pmEvent("progress_reported", &providermonitoringv1.AllocationProgressReported{AllocationNumber: number, CaseId: id, GoalIds: []string{gFin},
		Judgement: providermonitoringv1.ProgressJudgement_PROGRESS_JUDGEMENT_REACHED, MunicipalityCode: "GM0363", ReportedAt: timestamppb.Now()})
	pmEvent("scale_down_advised", &providermonitoringv1.AllocationScaleDownAdvised{AllocationNumber: number, CaseId: id, GoalIds: []string{gFin}, MunicipalityCode: "GM0363", AdvisedAt: timestamppb.Now()})
	waitFor(t, "referral and allocation events applied", func() bool {
		return h.count(t, `SELECT count(*) FROM case_referrals WHERE case_id = $1 AND status IN ('ACCEPTED', 'SENT')`, id) == 2 &&
			h.count(t, `SELECT count(*) FROM case_allocations WHERE allocation_number = $1 AND status = 'STARTED' AND last_progress = 'REACHED'`, number) == 1 &&
			h.count(t, `SELECT count(*) FROM evaluation_todos WHERE case_id = $1 AND done_at IS NULL`, id) == 1
	})
	c = getCase(id)
	if a := goalOf(t, c, network).GetActions(); len(a) != 1 || a[0].GetReferralId() != refNetwork || a[0].GetReferralStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_SENT {
		t.Fatalf("the referral event links the referral to its goal: %v", a)
	}
	if td := c.GetEvaluationTodos(); len(td) != 1 || td[0].GetReason() != casedirectionv1.EvaluationTodoReason_EVALUATION_TODO_REASON_SCALE_DOWN_ADVISED || td[0].GetAllocationNumber() != number || td[0].GetDoneAt() != nil {
		t.Fatalf("scale-down advice must show as an evaluation to-do: %v", td)
	}
	recorded.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*casedirectionv1.CaseEvaluationDue)
		return ok && e.GetCaseId() == id && e.GetAllocationNumber() == number
	})

	// Closing now is refused, naming everything still open.
	_, err = noord.CloseCase(ctx, &casedirectionv1.CloseCaseRequest{IdempotencyKey: "close-early", CaseId: id, AssessmentId: uuid.NewString(), Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED})
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("early close: want FAILED_PRECONDITION, got %v", err)
	}
	for _, open := range []string{"goal " + gFin, "goal " + gHou, "goal " + gNet, "referral " + refHousing + " is ACCEPTED", "referral " + refNetwork + " is SENT", "allocation " + number + " is STARTED"} {
		if !strings.Contains(st.Message(), open) {
			t.Errorf("the refusal must name %q: %s", open, st.Message())
		}
	}

	// A case conference with external experts; its decisions are stored encrypted.
	conf, err := noord.RecordCaseConference(ctx, &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "conf", CaseId: id, HeldOn: today(),
		Attendees: []*casedirectionv1.Attendee{
			{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, OrganisationOin: teamNoord.OIN, ProfessionalId: "noord-1"},
			{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_PRACTICE_NURSE, ProfessionalId: "poh-12", External: true},
			{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_VEILIG_THUIS, ProfessionalId: "vt-3", External: true},
		},
		Decisions: []string{"Schuldhulp via de kredietbank starten"}})
	if err != nil {
		t.Fatalf("conference: %v", err)
	}
	if cf := conf.GetCase().GetConferences(); len(cf) != 1 || len(cf[0].GetAttendees()) != 3 || !cf[0].GetAttendees()[1].GetExternal() ||
		len(cf[0].GetDecisions()) != 1 || cf[0].GetDecisions()[0] != "Schuldhulp via de kredietbank starten" {
		t.Fatalf("conference on the case: %v", cf)
	}
	var sealed [][]byte
	if err := h.s.Pool.QueryRow(context.Background(), `SELECT decisions FROM case_conferences WHERE case_id = $1`, id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 1 || bytes.Contains(sealed[0], []byte("kredietbank")) {
		t.Fatal("conference decisions must be stored encrypted")
	}

	// Care ends, referrals complete, goals are settled.
	pmEvent("delivery_stopped", &providermonitoringv1.AllocationDeliveryStopped{AllocationNumber: number, CaseId: id, StoppedOn: today(), ReasonCode: "31",
		Status: commonv1.AllocationStatus_ALLOCATION_STATUS_ENDED, MunicipalityCode: "GM0363", ReportedAt: timestamppb.Now()})
	refEvent(refHousing, "COMPLETED")
	waitFor(t, "care ended and referral completed", func() bool {
		return h.count(t, `SELECT count(*) FROM case_allocations WHERE allocation_number = $1 AND status = 'ENDED'`, number) == 1 &&
			h.count(t, `SELECT count(*) FROM case_referrals WHERE referral_id = $1 AND status = 'COMPLETED'`, refHousing) == 1
	})
	setGoal := func(key, goal string, s casedirectionv1.GoalStatus) *casedirectionv1.Case {
		t.Helper()
		resp, err := noord.SetGoalStatus(ctx, &casedirectionv1.SetGoalStatusRequest{IdempotencyKey: key, CaseId: id, GoalId: goal, Status: s})
		if err != nil {
			t.Fatalf("goal %s → %s: %v", goal, s, err)
		}
		return resp.GetCase()
	}
	setGoal("g-fin", gFin, casedirectionv1.GoalStatus_GOAL_STATUS_REACHED)
	setGoal("g-hou", gHou, casedirectionv1.GoalStatus_GOAL_STATUS_PARTLY)
	setGoal("g-net", gNet, casedirectionv1.GoalStatus_GOAL_STATUS_IN_PROGRESS)
	if _, err := noord.SetGoalStatus(ctx, &casedirectionv1.SetGoalStatusRequest{IdempotencyKey: "g-fin-back", CaseId: id, GoalId: gFin,
		Status: casedirectionv1.GoalStatus_GOAL_STATUS_OPEN}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "from REACHED to OPEN") {
		t.Fatalf("a final goal cannot reopen: %v", err)
	}

	// Evaluation: pilot light, every 14 days for 90 days. It settles the to-do.
	// ZRM once: the scores are intake's assessments, named by id; the case keeps the change.
	household := getCase(id).GetHouseholdId()
	baseline := h.intake.add(household, &commonv1.DomainScore{LifeDomain: finances, Score: 2}, &commonv1.DomainScore{LifeDomain: housing, Score: 3})
	assessed := h.intake.add(household, &commonv1.DomainScore{LifeDomain: finances, Score: 4}, &commonv1.DomainScore{LifeDomain: housing, Score: 3},
		&commonv1.DomainScore{LifeDomain: network, Score: 2})
	if _, err := noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "eval-0", CaseId: id, AssessmentId: assessed,
		Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_CONTINUE}); !hasViolation(err, "baseline_assessment_id") {
		t.Fatalf("a case without a baseline needs one named: %v", err)
	}
	if _, err := noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "eval-x", CaseId: id, AssessmentId: h.intake.add(uuid.NewString()),
		BaselineAssessmentId: baseline, Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_CONTINUE}); status.Code(err) != codes.NotFound {
		t.Fatalf("an assessment of another household: want NOT_FOUND, got %v", err)
	}
	if _, err := noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "eval-far", CaseId: id, AssessmentId: assessed,
		BaselineAssessmentId: baseline, Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH, CheckInIntervalDays: 14,
		WatchUntil: clock.Now().AddDate(6, 0, 0).Format(time.DateOnly)}); !hasViolation(err, "watch_until") {
		t.Fatalf("a pilot light six years ahead: want INVALID_ARGUMENT on watch_until, got %v", err)
	}
	eval, err := noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "eval-1", CaseId: id, AssessmentId: assessed,
		BaselineAssessmentId: baseline, Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH, CheckInIntervalDays: 14,
		WatchUntil: clock.Now().Add(90 * day).Format(time.DateOnly)})
	if err != nil {
		t.Fatalf("evaluation: %v", err)
	}
	c = eval.GetCase()
	w := c.GetWatch()
	if c.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_WATCH || w.GetCheckInIntervalDays() != 14 || !w.GetNextCheckAt().AsTime().Equal(clock.Now().Add(14*day)) {
		t.Fatalf("after the WATCH evaluation: %v", c)
	}
	if len(c.GetEvaluations()) != 1 || len(c.GetEvaluations()[0].GetChanges()) != 3 || c.GetEvaluations()[0].GetChanges()[0].GetDelta() != 2 ||
		c.GetEvaluations()[0].GetBaselineAssessmentId() != baseline || c.GetEvaluationTodos()[0].GetDoneAt() == nil {
		t.Fatalf("evaluation and settled to-do: %v %v", c.GetEvaluations(), c.GetEvaluationTodos())
	}
	firstDue := w.GetNextCheckAt().AsTime()

	// Nothing is overdue yet; 15 days later one check-in is.
	time.Sleep(300 * time.Millisecond)
	if n := h.count(t, `SELECT count(*) FROM outbox WHERE recipient = '' AND aggregate_id = $1 AND event_type = 'wijkbrug.casedirection.v1.CaseWatchCheckOverdue'`, id); n != 0 {
		t.Fatalf("no check-in is overdue yet, got %d events", n)
	}
	clock.Advance(15 * day)
	_, msg := recorded.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		o, ok := m.(*casedirectionv1.CaseWatchCheckOverdue)
		return ok && o.GetCaseId() == id
	})
	overdue := msg.(*casedirectionv1.CaseWatchCheckOverdue)
	if !overdue.GetDueAt().AsTime().Equal(firstDue) || overdue.GetMissedCheckIns() != 1 || overdue.GetTeamOin() != teamNoord.OIN ||
		overdue.GetDirectorProfessionalId() != "noord-1" || overdue.GetMunicipalityCode() != "GM0363" {
		t.Fatalf("overdue event: %v", overdue)
	}
	time.Sleep(300 * time.Millisecond) // several scheduler ticks: still one event
	if n := h.count(t, `SELECT count(*) FROM outbox WHERE recipient = '' AND aggregate_id = $1 AND event_type = 'wijkbrug.casedirection.v1.CaseWatchCheckOverdue'`, id); n != 1 {
		t.Fatalf("one missed check-in must be reported once, got %d", n)
	}
	if w := getCase(id).GetWatch(); w.GetMissedCheckIns() != 1 || !w.GetNextCheckAt().AsTime().Equal(firstDue.Add(14*day)) {
		t.Fatalf("after a missed check-in the next is due one interval later: %v", w)
	}

	// The check-in shows new trouble: the case reopens.
	reopened, err := noord.CheckIn(ctx, &casedirectionv1.CheckInRequest{IdempotencyKey: "check-1", CaseId: id, Reopen: true})
	if err != nil || reopened.GetCase().GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || reopened.GetCase().GetWatch() != nil {
		t.Fatalf("reopen: %v %v", reopened, err)
	}
	clock.Advance(30 * day)
	time.Sleep(300 * time.Millisecond)
	if n := h.count(t, `SELECT count(*) FROM outbox WHERE recipient = '' AND aggregate_id = $1 AND event_type = 'wijkbrug.casedirection.v1.CaseWatchCheckOverdue'`, id); n != 1 {
		t.Fatalf("a reopened case has no pilot light, got %d overdue events", n)
	}

	// Plan version 2 carries every goal over; work resumes and the last goal is reached.
	v2, err := noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "plan-2", CaseId: id, EvaluationDate: clock.Now().Add(30 * day).Format(time.DateOnly),
		Goals: []*casedirectionv1.GoalInput{
			{GoalId: gFin, LifeDomain: finances, BaselineScore: 2, TargetScore: 4},
			{GoalId: gHou, LifeDomain: housing, BaselineScore: 2, TargetScore: 3},
			{GoalId: gNet, LifeDomain: network, BaselineScore: 1, TargetScore: 3},
		}})
	if err != nil || v2.GetCase().GetPlan().GetVersion() != 2 || v2.GetCase().GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_PLAN_ADOPTED ||
		goalOf(t, v2.GetCase(), finances).GetStatus() != casedirectionv1.GoalStatus_GOAL_STATUS_REACHED {
		t.Fatalf("plan version 2: %v %v", v2, err)
	}
	if _, err := noord.StartPlanExecution(ctx, &casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: "start-2", CaseId: id}); err != nil {
		t.Fatal(err)
	}
	_, err = noord.CloseCase(ctx, &casedirectionv1.CloseCaseRequest{IdempotencyKey: "close-early-2", CaseId: id, AssessmentId: uuid.NewString(), Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "goal "+gNet) ||
		!strings.Contains(st.Message(), "referral "+refNetwork) || strings.Contains(st.Message(), refHousing) || strings.Contains(st.Message(), number) {
		t.Fatalf("still open: only the network goal and its referral, got %v", err)
	}
	refEvent(refNetwork, "COMPLETED")
	waitFor(t, "network referral completed", func() bool {
		return h.count(t, `SELECT count(*) FROM case_referrals WHERE referral_id = $1 AND status = 'COMPLETED'`, refNetwork) == 1
	})
	setGoal("g-net-2", gNet, casedirectionv1.GoalStatus_GOAL_STATUS_REACHED)

	// Closing with a result: the closing assessment gives the outcome per life domain.
	closing := h.intake.add(household, &commonv1.DomainScore{LifeDomain: finances, Score: 4}, &commonv1.DomainScore{LifeDomain: housing, Score: 2},
		&commonv1.DomainScore{LifeDomain: network, Score: 99})
	closed, err := noord.CloseCase(ctx, &casedirectionv1.CloseCaseRequest{IdempotencyKey: "close", CaseId: id, Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED,
		AssessmentId: closing})
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	c = closed.GetCase()
	if c.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_CLOSED || c.GetResult() != commonv1.CaseResult_CASE_RESULT_GOALS_REACHED || c.GetClosedAt() == nil {
		t.Fatalf("closed case: %v", c)
	}
	wantOutcomes := map[commonv1.LifeDomain]casedirectionv1.DomainOutcomeKind{
		finances: casedirectionv1.DomainOutcomeKind_DOMAIN_OUTCOME_KIND_TARGET_REACHED,
		housing:  casedirectionv1.DomainOutcomeKind_DOMAIN_OUTCOME_KIND_UNCHANGED,
		network:  casedirectionv1.DomainOutcomeKind_DOMAIN_OUTCOME_KIND_NOT_ASSESSED,
	}
	if len(c.GetDomainOutcomes()) != 3 {
		t.Fatalf("outcomes: %v", c.GetDomainOutcomes())
	}
	for _, o := range c.GetDomainOutcomes() {
		if wantOutcomes[o.GetLifeDomain()] != o.GetOutcome() {
			t.Errorf("outcome %s: got %s", o.GetLifeDomain(), o.GetOutcome())
		}
	}
	if n := h.count(t, `SELECT count(*) FROM domain_outcomes WHERE case_id = $1`, id); n != 3 {
		t.Fatalf("want 3 outcome rows, got %d", n)
	}
	_, msg = recorded.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*casedirectionv1.CaseClosed)
		return ok && e.GetCaseId() == id
	})
	if e := msg.(*casedirectionv1.CaseClosed); e.GetResult() != commonv1.CaseResult_CASE_RESULT_GOALS_REACHED || e.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_CLOSED || len(e.GetDomainOutcomes()) != 3 {
		t.Fatalf("CaseClosed: %v", e)
	}

	// CaseStatusChanged for every transition, in order.
	changes := outboxEvents(t, h, id, func() *casedirectionv1.CaseStatusChanged { return &casedirectionv1.CaseStatusChanged{} })
	var got []string
	for _, ch := range changes {
		got = append(got, strings.TrimPrefix(ch.GetFrom().String(), "CASE_STATUS_")+">"+strings.TrimPrefix(ch.GetTo().String(), "CASE_STATUS_"))
		if ch.GetConfidentiality() != commonv1.Confidentiality_CONFIDENTIALITY_SPECIAL || ch.GetMunicipalityCode() != "GM0363" {
			t.Errorf("status change %v", ch)
		}
	}
	want := "REGISTERED>ACTIVE ACTIVE>PLAN_ADOPTED PLAN_ADOPTED>IN_PROGRESS IN_PROGRESS>WATCH WATCH>ACTIVE ACTIVE>PLAN_ADOPTED PLAN_ADOPTED>IN_PROGRESS IN_PROGRESS>CLOSED"
	if strings.Join(got, " ") != want {
		t.Fatalf("status changes:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if n := len(outboxEvents(t, h, id, func() *casedirectionv1.CasePlanAdopted { return &casedirectionv1.CasePlanAdopted{} })); n != 2 {
		t.Fatalf("want 2 CasePlanAdopted, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM plans WHERE case_id = $1`, id); n != 2 {
		t.Fatalf("want 2 plan versions, got %d", n)
	}
	// Every change is in the access log.
	for _, action := range []string{"adopt_plan", "start_plan", "add_goal_action", "set_goal_status", "evaluate", "record_conference", "check_in", "close", "referral_status", "allocation_started", "allocation_status", "evaluation_due"} {
		if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = $1 AND object_id = $2 AND outcome = 'GRANTED'`, "casedirection.case."+action, id); n == 0 {
			t.Errorf("no access-log entry for %s", action)
		}
	}
	// A closed case takes no more changes.
	if _, err := noord.CheckIn(ctx, &casedirectionv1.CheckInRequest{IdempotencyKey: "check-late", CaseId: id}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("check-in on a closed case: want FAILED_PRECONDITION, got %v", err)
	}
}
