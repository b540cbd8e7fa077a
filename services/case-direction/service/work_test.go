package service_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// activeCase opens a case for teamNoord and assigns a director.
func activeCase(t *testing.T, h *harness, director string) string {
	t.Helper()
	ctx := svctest.Ctx(t)
	opened, err := h.as(t, intake).OpenCase(ctx, openRequest("open-"+uuid.NewString(), uuid.NewString()))
	if err != nil {
		t.Fatal(err)
	}
	id := opened.GetCase().GetId()
	if _, err := h.as(t, teamNoord).AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "dir-" + id, CaseId: id, ProfessionalId: director}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSafetyConcernAndHandOver(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	recorded := h.env.Events(t, "casedirection", "wijkbrug.casedirection.>")
	noord := h.as(t, teamNoord)
	id := activeCase(t, h, "noord-1")

	safety := func(key string, step casedirectionv1.MeldcodeStep) (*casedirectionv1.RecordSafetyConcernResponse, error) {
		return noord.RecordSafetyConcern(ctx, &casedirectionv1.RecordSafetyConcernRequest{IdempotencyKey: key, CaseId: id,
			Kind: casedirectionv1.SafetyConcernKind_SAFETY_CONCERN_KIND_CHILD_ABUSE, MeldcodeStep: step})
	}
	if _, err := safety("s-1", casedirectionv1.MeldcodeStep_MELDCODE_STEP_CONSULT); err != nil {
		t.Fatal(err)
	}
	resp, err := safety("s-2", casedirectionv1.MeldcodeStep_MELDCODE_STEP_DECIDE)
	if err != nil {
		t.Fatal(err)
	}
	if sc := resp.GetCase().GetSafetyConcerns(); len(sc) != 1 || sc[0].GetMeldcodeStep() != casedirectionv1.MeldcodeStep_MELDCODE_STEP_DECIDE {
		t.Fatalf("the step moves on within one concern: %v", sc)
	}
	if _, err := safety("s-3", casedirectionv1.MeldcodeStep_MELDCODE_STEP_MAP_SIGNALS); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("the meldcode does not go back: %v", err)
	}
	// Nor does it stay: the step it is at again is refused (the doc's "only moves forward"; an
	// outside tester had CONSULT → CONSULT accepted), while a retry with the same key still
	// gets the first answer.
	if _, err := safety("s-4", casedirectionv1.MeldcodeStep_MELDCODE_STEP_DECIDE); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "at step 5 (DECIDE) already") {
		t.Fatalf("the same step again: %v", err)
	}
	if again, err := safety("s-2", casedirectionv1.MeldcodeStep_MELDCODE_STEP_DECIDE); err != nil || len(again.GetCase().GetSafetyConcerns()) != 1 {
		t.Fatalf("a retry of the step recorded: %v %v", again, err)
	}
	_, msg := recorded.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*casedirectionv1.CaseSafetyConcernRecorded)
		return ok && e.GetCaseId() == id && e.GetMeldcodeStep() == casedirectionv1.MeldcodeStep_MELDCODE_STEP_DECIDE
	})
	if e := msg.(*casedirectionv1.CaseSafetyConcernRecorded); e.GetConfidentiality() != commonv1.Confidentiality_CONFIDENTIALITY_SAFETY {
		t.Fatalf("safety events are SAFETY: %v", e)
	}

	// Veilig Thuis takes over.
	vt := svctest.Org("VEILIG_THUIS", "Veilig Thuis Regio").OIN
	handed, err := noord.HandOver(ctx, &casedirectionv1.HandOverRequest{IdempotencyKey: "ho", CaseId: id,
		Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_VEILIG_THUIS, RecipientOin: vt})
	if err != nil {
		t.Fatal(err)
	}
	c := handed.GetCase()
	if c.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER || c.GetResult() != commonv1.CaseResult_CASE_RESULT_HANDED_OVER || c.GetHandover().GetRecipientOin() != vt ||
		c.GetHandover().GetRecipient() != casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_VEILIG_THUIS || c.GetClosedAt() == nil {
		t.Fatalf("handed over: %v", c)
	}
	_, msg = recorded.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*casedirectionv1.CaseStatusChanged)
		return ok && e.GetCaseId() == id && e.GetTo() == casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER
	})
	if e := msg.(*casedirectionv1.CaseStatusChanged); e.GetFrom() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || e.GetConfidentiality() != commonv1.Confidentiality_CONFIDENTIALITY_SAFETY {
		t.Fatalf("status change of a case with a safety concern: %v", e)
	}
	recorded.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*casedirectionv1.CaseClosed)
		return ok && e.GetCaseId() == id && e.GetResult() == commonv1.CaseResult_CASE_RESULT_HANDED_OVER
	})
	recorded.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*casedirectionv1.CaseHandedOver)
		return ok && e.GetCaseId() == id && e.GetRecipientOin() == vt
	})
	// Handed over is final; the household may get a new case.
	_, err = noord.HandOver(ctx, &casedirectionv1.HandOverRequest{IdempotencyKey: "ho-2", CaseId: id,
		Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_OTHER_MUNICIPALITY, MunicipalityCode: "GM0344"})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "from HANDED_OVER to HANDED_OVER") {
		t.Fatalf("second handover: %v", err)
	}
}

func TestCaseload(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	var anna []string
	for range 3 {
		anna = append(anna, activeCase(t, h, "anna"))
	}
	bram := activeCase(t, h, "bram")
	if _, err := noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p", CaseId: anna[0], EvaluationDate: "2030-01-01",
		Goals: []*casedirectionv1.GoalInput{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, BaselineScore: 2, TargetScore: 4}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.as(t, intake).OpenCase(ctx, openRequest("unassigned", uuid.NewString())); err != nil {
		t.Fatal(err)
	}
	// Another team's cases never show.
	other := openRequest("zuid", uuid.NewString())
	other.TeamOin = teamZuid.OIN
	if _, err := h.as(t, intake).OpenCase(ctx, other); err != nil {
		t.Fatal(err)
	}

	counts := func(r *casedirectionv1.ListCasesResponse) string {
		var s []string
		for _, c := range r.GetCounts() {
			s = append(s, fmt.Sprintf("%s=%d", strings.TrimPrefix(c.GetStatus().String(), "CASE_STATUS_"), c.GetCount()))
		}
		return strings.Join(s, ",")
	}
	team, err := noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(team.GetCases()) != 5 || counts(team) != "REGISTERED=1,ACTIVE=3,PLAN_ADOPTED=1" || team.GetNextPageToken() != "" {
		t.Fatalf("team caseload: %d cases, counts %s", len(team.GetCases()), counts(team))
	}
	annas, err := noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{DirectorProfessionalId: "anna", Statuses: []casedirectionv1.CaseStatus{casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE}})
	if err != nil {
		t.Fatal(err)
	}
	if len(annas.GetCases()) != 2 || counts(annas) != "ACTIVE=2,PLAN_ADOPTED=1" {
		t.Fatalf("anna's active cases: %v, counts %s", annas.GetCases(), counts(annas))
	}
	for _, c := range annas.GetCases() {
		if c.GetDirectorProfessionalId() != "anna" || c.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || c.GetId() == bram || c.GetId() == anna[0] {
			t.Fatalf("unexpected case %v", c)
		}
	}
	// Paging: newest first, two per page, no case twice.
	seen := map[string]bool{}
	token := ""
	for page := 0; ; page++ {
		r, err := noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.GetCases() {
			if seen[c.GetId()] {
				t.Fatalf("case %s on two pages", c.GetId())
			}
			seen[c.GetId()] = true
		}
		if token = r.GetNextPageToken(); token == "" {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paging listed %d cases, want 5", len(seen))
	}
	if zuid, err := h.as(t, teamZuid).ListCases(ctx, &casedirectionv1.ListCasesRequest{}); err != nil || len(zuid.GetCases()) != 1 {
		t.Fatalf("team Zuid sees only its own case: %v %v", zuid, err)
	}
	if _, err := h.as(t, intake).ListCases(ctx, &casedirectionv1.ListCasesRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a service has no caseload: %v", err)
	}
	if _, err := noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{PageToken: "garbage"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad page token: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.list' AND org_oin = $1`, teamNoord.OIN); n < 5 {
		t.Fatalf("listed cases must be access-logged, got %d entries", n)
	}
}

// TestAnotherTeamsCaseIsNotFound: every new RPC that takes a case id refuses another team's
// case with NOT_FOUND, and the refusal stays in the access log.
func TestAnotherTeamsCaseIsNotFound(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	id := activeCase(t, h, "noord-1")
	zuid := h.as(t, teamZuid)
	goal := uuid.NewString()
	calls := map[string]func() error{
		"AdoptPlan": func() error {
			_, err := zuid.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "k1", CaseId: id, EvaluationDate: "2030-01-01",
				Goals: []*casedirectionv1.GoalInput{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, BaselineScore: 2, TargetScore: 3}}})
			return err
		},
		"StartPlanExecution": func() error {
			_, err := zuid.StartPlanExecution(ctx, &casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: "k2", CaseId: id})
			return err
		},
		"AddGoalAction": func() error {
			_, err := zuid.AddGoalAction(ctx, &casedirectionv1.AddGoalActionRequest{IdempotencyKey: "k3", CaseId: id, GoalId: goal, ReferralId: uuid.NewString()})
			return err
		},
		"SetGoalStatus": func() error {
			_, err := zuid.SetGoalStatus(ctx, &casedirectionv1.SetGoalStatusRequest{IdempotencyKey: "k4", CaseId: id, GoalId: goal, Status: casedirectionv1.GoalStatus_GOAL_STATUS_REACHED})
			return err
		},
		"RecordEvaluation": func() error {
			_, err := zuid.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "k5", CaseId: id, AssessmentId: uuid.NewString(), Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_CONTINUE})
			return err
		},
		"RecordCaseConference": func() error {
			_, err := zuid.RecordCaseConference(ctx, &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "k6", CaseId: id, HeldOn: "2026-01-05",
				Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "z-1"}}})
			return err
		},
		"CheckIn": func() error {
			_, err := zuid.CheckIn(ctx, &casedirectionv1.CheckInRequest{IdempotencyKey: "k7", CaseId: id})
			return err
		},
		"RecordSafetyConcern": func() error {
			_, err := zuid.RecordSafetyConcern(ctx, &casedirectionv1.RecordSafetyConcernRequest{IdempotencyKey: "k8", CaseId: id,
				Kind: casedirectionv1.SafetyConcernKind_SAFETY_CONCERN_KIND_DOMESTIC_VIOLENCE, MeldcodeStep: casedirectionv1.MeldcodeStep_MELDCODE_STEP_CONSULT})
			return err
		},
		"HandOver": func() error {
			_, err := zuid.HandOver(ctx, &casedirectionv1.HandOverRequest{IdempotencyKey: "k9", CaseId: id,
				Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_OTHER_MUNICIPALITY, MunicipalityCode: "GM0344"})
			return err
		},
		"CloseCase": func() error {
			_, err := zuid.CloseCase(ctx, &casedirectionv1.CloseCaseRequest{IdempotencyKey: "k10", CaseId: id, AssessmentId: uuid.NewString(), Result: commonv1.CaseResult_CASE_RESULT_MOVED})
			return err
		},
		"AddInvolvement": func() error {
			_, err := zuid.AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "k11", CaseId: id, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM,
				OrganisationOin: teamZuid.OIN, Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR})
			return err
		},
		"EndInvolvement": func() error {
			_, err := zuid.EndInvolvement(ctx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "k12", CaseId: id, InvolvementId: uuid.NewString()})
			return err
		},
		"ListInvolvements": func() error {
			_, err := zuid.ListInvolvements(ctx, &casedirectionv1.ListInvolvementsRequest{CaseId: id})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); status.Code(err) != codes.NotFound {
			t.Errorf("%s on another team's case: want NOT_FOUND, got %v", name, err)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1 AND object_id = $2`, teamZuid.OIN, id); n != len(calls) {
		t.Fatalf("every refusal must be in the access log: %d of %d", n, len(calls))
	}
	view, err := h.as(t, teamNoord).GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	if err != nil || view.GetCase().GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || view.GetCase().GetPlan() != nil || len(view.GetCase().GetSafetyConcerns()) != 0 {
		t.Fatalf("the refused calls changed the case: %v %v", view, err)
	}
	if n := h.count(t, `SELECT count(*) FROM case_referrals`); n != 0 {
		t.Fatal("a refused call must leave no rows")
	}
	// The GP may call none of them.
	if _, err := h.as(t, gp).CheckIn(ctx, &casedirectionv1.CheckInRequest{IdempotencyKey: "k", CaseId: id}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("GP: want PERMISSION_DENIED, got %v", err)
	}

	// Involved, the other team reads the case, so its existence is no secret: a change is
	// PERMISSION_DENIED instead, still refused, logged and without effect.
	if _, err := h.as(t, teamNoord).AddInvolvement(ctx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "involve-zuid", CaseId: id,
		OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, OrganisationOin: teamZuid.OIN, Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR}); err != nil {
		t.Fatal(err)
	}
	if _, err := zuid.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id}); err != nil {
		t.Fatalf("the involved team reads the case: %v", err)
	}
	denied := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1 AND object_id = $2`, teamZuid.OIN, id)
	changes := 0
	for name, call := range calls {
		if name == "ListInvolvements" {
			if err := call(); err != nil {
				t.Errorf("ListInvolvements by the involved team: %v", err)
			}
			continue
		}
		changes++
		err := call()
		if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "only the team that owns the case") {
			t.Errorf("%s by a team involved in the case: want PERMISSION_DENIED naming the owning team, got %v", name, err)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1 AND object_id = $2`, teamZuid.OIN, id); n != denied+changes {
		t.Fatalf("every refused change of the involved team must be in the access log: %d of %d", n-denied, changes)
	}
	view, err = h.as(t, teamNoord).GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	if err != nil || view.GetCase().GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || view.GetCase().GetPlan() != nil || len(view.GetCase().GetSafetyConcerns()) != 0 {
		t.Fatalf("the involved team's refused calls changed the case: %v %v", view, err)
	}
}

func TestWorkBadInputAndStateErrors(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	fin := commonv1.LifeDomain_LIFE_DOMAIN_FINANCES

	expectViolations(t, mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "k", CaseId: "x", ResidentAgreedOn: "2026-01-01", EvaluationDate: "soon",
		Goals: []*casedirectionv1.GoalInput{{GoalId: "g", LifeDomain: fin, BaselineScore: 0, TargetScore: 6}, {LifeDomain: fin, BaselineScore: 4, TargetScore: 2}}})),
		// Each violation names its goal by index, as the proto's rules do: the first goal's id and
		// scores, the second's repeated life domain and target below its baseline.
		"case_id", "resident_agreed_on", "evaluation_date", "goals[0].goal_id", "goals[0].baseline_score", "goals[0].target_score",
		"goals[1].life_domain", "goals[1].target_score")
	expectViolations(t, mustErr(noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "k", CaseId: uuid.NewString(),
		Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_WATCH, BaselineAssessmentId: "x"})),
		"assessment_id", "baseline_assessment_id", "check_in_interval_days", "watch_until")
	expectViolations(t, mustErr(noord.RecordCaseConference(ctx, &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "k", CaseId: uuid.NewString(), HeldOn: "2999-01-01",
		Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "anna"},
			{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_SERVICE, ProfessionalId: "Jan de Vries", OrganisationOin: "1"}},
		Decisions: []string{"start debt counselling", ""}})),
		// The second attendee and the second decision are wrong, and named as such.
		"held_on", "attendees[1].organisation_type", "attendees[1].professional_id", "attendees[1].organisation_oin", "decisions[1]")
	expectViolations(t, mustErr(noord.HandOver(ctx, &casedirectionv1.HandOverRequest{IdempotencyKey: "k", CaseId: uuid.NewString(),
		Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_CERTIFIED_INSTITUTION, MunicipalityCode: "GM0344"})),
		"recipient_oin", "municipality_code")
	expectViolations(t, mustErr(noord.CloseCase(ctx, &casedirectionv1.CloseCaseRequest{CaseId: uuid.NewString()})), "idempotency_key", "result", "assessment_id")
	expectViolations(t, mustErr(noord.AddGoalAction(ctx, &casedirectionv1.AddGoalActionRequest{IdempotencyKey: "k", CaseId: uuid.NewString(), GoalId: uuid.NewString()})), "referral_id")
	expectViolations(t, mustErr(noord.RecordSafetyConcern(ctx, &casedirectionv1.RecordSafetyConcernRequest{IdempotencyKey: "k", CaseId: uuid.NewString()})), "kind", "meldcode_step")
	expectViolations(t, mustErr(noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{PageSize: 501, DirectorProfessionalId: "a b",
		Statuses: []casedirectionv1.CaseStatus{casedirectionv1.CaseStatus_CASE_STATUS_UNSPECIFIED}})), "page_size", "director_professional_id", "statuses[0]")

	// Forbidden transitions name from and to.
	opened, err := h.as(t, intake).OpenCase(ctx, openRequest("o", uuid.NewString()))
	if err != nil {
		t.Fatal(err)
	}
	reg := opened.GetCase().GetId()
	_, err = noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p", CaseId: reg, EvaluationDate: "2030-01-01",
		Goals: []*casedirectionv1.GoalInput{{LifeDomain: fin, BaselineScore: 2, TargetScore: 3}}})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "from REGISTERED to PLAN_ADOPTED") {
		t.Fatalf("plan on a registered case: %v", err)
	}
	id := activeCase(t, h, "noord-1")
	_, err = noord.CloseCase(ctx, &casedirectionv1.CloseCaseRequest{IdempotencyKey: "c", CaseId: id, AssessmentId: uuid.NewString(), Result: commonv1.CaseResult_CASE_RESULT_MOVED})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "from ACTIVE to CLOSED") {
		t.Fatalf("closing an active case: %v", err)
	}
	_, err = noord.RecordEvaluation(ctx, &casedirectionv1.RecordEvaluationRequest{IdempotencyKey: "e", CaseId: id, AssessmentId: uuid.NewString(), Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_SCALE_DOWN})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "ACTIVE") {
		t.Fatalf("evaluating without a plan: %v", err)
	}
	_, err = noord.SetGoalStatus(ctx, &casedirectionv1.SetGoalStatusRequest{IdempotencyKey: "g", CaseId: id, GoalId: uuid.NewString(), Status: casedirectionv1.GoalStatus_GOAL_STATUS_REACHED})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown goal: %v", err)
	}
	// An allocation of another case cannot become this case's action.
	_, err = noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p2", CaseId: id, EvaluationDate: "2030-01-01",
		Goals: []*casedirectionv1.GoalInput{{LifeDomain: fin, BaselineScore: 2, TargetScore: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	view, _ := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	goal := view.GetCase().GetPlan().GetGoals()[0].GetId()
	if _, err := noord.AddGoalAction(ctx, &casedirectionv1.AddGoalActionRequest{IdempotencyKey: "a", CaseId: id, GoalId: goal, AllocationNumber: "TW999999"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown allocation: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM goal_actions`); n != 0 {
		t.Fatalf("refused actions must leave no rows, got %d", n)
	}

	// Dates must fit the case (probe-B F6): no evaluation in the past, no agreement or
	// conference before the case was opened.
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p-past", CaseId: id, EvaluationDate: "1900-01-01",
		Goals: []*casedirectionv1.GoalInput{{GoalId: goal, LifeDomain: fin, BaselineScore: 2, TargetScore: 4}}})), "evaluation_date")
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p-agreed", CaseId: id, EvaluationDate: "2030-01-01",
		ResidentAgreed: true, ResidentAgreedOn: "1990-01-01", Goals: []*casedirectionv1.GoalInput{{GoalId: goal, LifeDomain: fin, BaselineScore: 2, TargetScore: 4}}})),
		"resident_agreed_on")
	expectViolations(t, mustErr(noord.RecordCaseConference(ctx, &casedirectionv1.RecordCaseConferenceRequest{IdempotencyKey: "conf-1900", CaseId: id, HeldOn: "1900-01-01",
		Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "anna"}}})), "held_on")
	// A carried-over goal keeps its life domain (probe-B F7).
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p-domain", CaseId: id, EvaluationDate: "2030-01-01",
		Goals: []*casedirectionv1.GoalInput{{GoalId: goal, LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, BaselineScore: 1, TargetScore: 5}}})), "goals[0].life_domain")
	expectViolations(t, mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p-domain-2", CaseId: id, EvaluationDate: "2030-01-01",
		Goals: []*casedirectionv1.GoalInput{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK, BaselineScore: 2, TargetScore: 3},
			{GoalId: goal, LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, BaselineScore: 1, TargetScore: 5}}})), "goals[1].life_domain")
	// A list far over its limit is named once; neither the schema nor the handler's own checks
	// name the elements past the limit (a probe's 5,000 goals drew 19,903 more violations).
	many := make([]*casedirectionv1.GoalInput, 5000)
	for i := range many {
		many[i] = &casedirectionv1.GoalInput{LifeDomain: fin, BaselineScore: 9, TargetScore: -1}
	}
	long := status.Convert(mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p-many", CaseId: id, EvaluationDate: "2030-01-01", Goals: many})))
	if long.Code() != codes.InvalidArgument || !strings.Contains(fmt.Sprint(long.Details()), `field:"goals"`) {
		t.Fatalf("want INVALID_ARGUMENT naming goals, got %v", long.Err())
	}
	for _, d := range long.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				var n int
				if _, err := fmt.Sscanf(v.GetField(), "goals[%d]", &n); err == nil && n >= 100 {
					t.Fatalf("an element past the limit is named: %s (%d violations)", v.GetField(), len(br.GetFieldViolations()))
				}
				var more int
				if _, err := fmt.Sscanf(v.GetDescription(), "%d more violations not listed", &more); err == nil && more > 400 {
					t.Fatalf("elements past the limit were counted: %s", v.GetDescription())
				}
			}
		}
	}
	// A goal named twice is named by its place, never by what was sent (a probe sent a name
	// and a BSN as the goal's id, and the answer repeated them).
	sent := "Piet Jansen 123456782"
	dup := mustErr(noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "p-dup", CaseId: id, EvaluationDate: "2030-01-01",
		Goals: []*casedirectionv1.GoalInput{{GoalId: sent, LifeDomain: fin, BaselineScore: 1, TargetScore: 3},
			{GoalId: sent, LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, BaselineScore: 1, TargetScore: 3}}}))
	expectViolations(t, dup, "goals[0].goal_id", "goals[1].goal_id")
	if strings.Contains(fmt.Sprint(status.Convert(dup).Details()), "123456782") {
		t.Fatalf("the answer repeats the goal id sent: %v", status.Convert(dup).Details())
	}
	if n := h.count(t, `SELECT count(*) FROM case_conferences`); n != 0 {
		t.Fatalf("a refused conference must leave no row, got %d", n)
	}
	// A referral the referral service never reported for the case cannot be linked: it would
	// hold the case open for good (thirtieth session's probe). Nor can another case's.
	ref := uuid.NewString()
	if _, err := noord.AddGoalAction(ctx, &casedirectionv1.AddGoalActionRequest{IdempotencyKey: "ref", CaseId: id, GoalId: goal, ReferralId: ref}); status.Code(err) != codes.NotFound {
		t.Fatalf("linking an unknown referral: want NOT_FOUND, got %v", err)
	}
	other := activeCase(t, h, "noord-other")
	h.env.Publish(t, "referral", "wijkbrug.referral.GM0363.referral.status_changed", ref, &referralv1.ReferralStatusChanged{
		ReferralId: ref, CaseId: other, Status: commonv1.ReferralStatus_REFERRAL_STATUS_SENT, MunicipalityCode: "GM0363", At: timestamppb.Now()})
	waitFor(t, "the referral reported for the other case", func() bool {
		return h.count(t, `SELECT count(*) FROM case_referrals WHERE referral_id = $1`, ref) == 1
	})
	if _, err := noord.AddGoalAction(ctx, &casedirectionv1.AddGoalActionRequest{IdempotencyKey: "ref-2", CaseId: id, GoalId: goal, ReferralId: ref}); status.Code(err) != codes.NotFound {
		t.Fatalf("linking another case's referral: want NOT_FOUND, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM case_referrals WHERE case_id = $1`, id); n != 0 {
		t.Fatalf("refused links must record no referral for the case, got %d", n)
	}
	// "Another municipality" is not the case's own (probe-B F3).
	expectViolations(t, mustErr(noord.HandOver(ctx, &casedirectionv1.HandOverRequest{IdempotencyKey: "ho-own", CaseId: id,
		Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_OTHER_MUNICIPALITY, MunicipalityCode: "GM0363"})), "municipality_code")
	if got, err := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id}); err != nil || got.GetCase().GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_PLAN_ADOPTED {
		t.Fatalf("a refused handover changes nothing: %v %v", err, got.GetCase().GetStatus())
	}
	// A district lies in the municipality given with it (probe-B F8).
	bad := openRequest("o-district", uuid.NewString())
	bad.DistrictCode = "WK034400"
	expectViolations(t, mustErr(h.as(t, intake).OpenCase(ctx, bad)), "district_code")
}

// A plan drawn up from a version that is no longer current is refused with based_on_version:
// of two professionals who adopt a plan from the same version at once, exactly one succeeds and
// the other is FAILED_PRECONDITION, so the goal the first added is not dropped by the second
// without anyone having seen it. The refused call changes nothing and announces nothing; left
// out, based_on_version keeps the old behaviour (adopted over whatever is current).
func TestPlanDrawnUpFromAnOlderVersionIsRefused(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	noord := h.as(t, teamNoord)
	fin, housing := commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING
	id := activeCase(t, h, "noord-1")
	version := func(v int32) *int32 { return &v }
	adopt := func(key string, based *int32, goals ...*casedirectionv1.GoalInput) (*casedirectionv1.AdoptPlanResponse, error) {
		return noord.AdoptPlan(ctx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: key, CaseId: id, EvaluationDate: "2030-01-01",
			Goals: goals, BasedOnVersion: based})
	}

	// The first plan is drawn up from "no plan" (0); 1 names a version that does not exist yet.
	if _, err := adopt("p-ahead", version(1), &casedirectionv1.GoalInput{LifeDomain: fin, BaselineScore: 2, TargetScore: 3}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "drawn up from version 1, but the case's plan is at version 0") {
		t.Fatalf("a plan from a version ahead of the case: %v", err)
	}
	first, err := adopt("p-1", version(0), &casedirectionv1.GoalInput{LifeDomain: fin, BaselineScore: 2, TargetScore: 3})
	if err != nil {
		t.Fatal(err)
	}
	finGoal := first.GetCase().GetPlan().GetGoals()[0].GetId()

	// Eight professionals draw up version 2 from version 1 at once, each adding another goal.
	domains := []commonv1.LifeDomain{housing, commonv1.LifeDomain_LIFE_DOMAIN_WORK_EDUCATION, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK,
		commonv1.LifeDomain_LIFE_DOMAIN_MENTAL_HEALTH, commonv1.LifeDomain_LIFE_DOMAIN_PHYSICAL_HEALTH, commonv1.LifeDomain_LIFE_DOMAIN_SUBSTANCE_USE,
		commonv1.LifeDomain_LIFE_DOMAIN_DAYTIME_ACTIVITIES, commonv1.LifeDomain_LIFE_DOMAIN_DOMESTIC_RELATIONS}
	type result struct {
		domain commonv1.LifeDomain
		out    *casedirectionv1.AdoptPlanResponse
		err    error
	}
	results := make(chan result, len(domains))
	for i, d := range domains {
		go func() {
			out, err := adopt(fmt.Sprintf("p-2-%d", i), version(1),
				&casedirectionv1.GoalInput{GoalId: finGoal, LifeDomain: fin, BaselineScore: 2, TargetScore: 4},
				&casedirectionv1.GoalInput{LifeDomain: d, BaselineScore: 1, TargetScore: 3})
			results <- result{d, out, err}
		}()
	}
	var adopted []result
	for range domains {
		r := <-results
		switch {
		case r.err == nil:
			adopted = append(adopted, r)
		case status.Code(r.err) == codes.FailedPrecondition &&
			strings.Contains(status.Convert(r.err).Message(), "drawn up from version 1, but version 2 has been adopted since"):
		default:
			t.Errorf("%s: want adopted or FAILED_PRECONDITION naming the versions, got %v", r.domain, r.err)
		}
	}
	if len(adopted) != 1 {
		t.Fatalf("of eight adoptions from version 1 exactly one is adopted, got %d", len(adopted))
	}
	won := adopted[0]
	view, err := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	plan := view.GetCase().GetPlan()
	var domainsOfPlan []commonv1.LifeDomain
	for _, g := range plan.GetGoals() {
		domainsOfPlan = append(domainsOfPlan, g.GetLifeDomain())
	}
	if plan.GetVersion() != 2 || len(domainsOfPlan) != 2 || indexOf(domainsOfPlan, fin) < 0 || indexOf(domainsOfPlan, won.domain) < 0 {
		t.Fatalf("the case holds the adopted version 2 with finances and its own goal %s, got %v", won.domain, plan)
	}
	if n := len(outboxEvents(t, h, id, func() *casedirectionv1.CasePlanAdopted { return &casedirectionv1.CasePlanAdopted{} })); n != 2 {
		t.Fatalf("want CasePlanAdopted for versions 1 and 2 only, got %d", n)
	}

	// A replay of the adopted call answers it again; a version 3 from version 2 is adopted, and
	// without based_on_version a plan is adopted over whatever is current (version 4).
	replay, err := adopt(fmt.Sprintf("p-2-%d", indexOf(domains, won.domain)), version(1),
		&casedirectionv1.GoalInput{GoalId: finGoal, LifeDomain: fin, BaselineScore: 2, TargetScore: 4},
		&casedirectionv1.GoalInput{LifeDomain: won.domain, BaselineScore: 1, TargetScore: 3})
	if err != nil || replay.GetCase().GetPlan().GetVersion() != 2 {
		t.Fatalf("replay of the adopted call: %v %v", err, replay.GetCase().GetPlan())
	}
	if out, err := adopt("p-3", version(2), &casedirectionv1.GoalInput{GoalId: finGoal, LifeDomain: fin, BaselineScore: 2, TargetScore: 5}); err != nil ||
		out.GetCase().GetPlan().GetVersion() != 3 {
		t.Fatalf("version 3 from version 2: %v", err)
	}
	if out, err := adopt("p-any", nil, &casedirectionv1.GoalInput{GoalId: finGoal, LifeDomain: fin, BaselineScore: 2, TargetScore: 5}); err != nil ||
		out.GetCase().GetPlan().GetVersion() != 4 {
		t.Fatalf("a plan without based_on_version: %v", err)
	}
	expectViolations(t, mustErr(adopt("p-neg", version(-1), &casedirectionv1.GoalInput{LifeDomain: fin, BaselineScore: 2, TargetScore: 3})), "based_on_version")
}

func indexOf[T comparable](s []T, v T) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
