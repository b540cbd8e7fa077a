package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestCaseSeesEverythingDoneForTheHousehold is issue 10 end to end, with all four services:
// an allocation granted on a provider's request for allocation (315) for the case shows on the
// case, its scale-down advice becomes the case's to-do, and it holds closing until the
// provider reports the stop; afterwards the resident's access history has entries from every
// service — also case-direction's and provider-monitoring's, which hold no BSN.
func TestCaseSeesEverythingDoneForTheHousehold(t *testing.T) {
	t.Parallel()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	events := record(t, s)
	const bsn = "123456782"
	today := nowNL().Format(time.DateOnly)

	// A GP's signal opens the household's case (three life domains).
	gp := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", s.Endpoint("referral").Addr))
	gpCtx := acting(t, "dr-jansen", "gp", "signal")
	sub, err := gp.SubmitSignal(gpCtx, &referralv1.SubmitSignalRequest{
		IdempotencyKey: "hh-1", SourceType: referralv1.SourceType_SOURCE_TYPE_GP, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO,
		ResidentBsn: bsn, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
		Category:    "multiple problems", Description: "rent arrears, alone",
	})
	if err != nil {
		t.Fatalf("signal: %v", err)
	}
	opened := events.wait(t, "intake.case_opened", func(r recorded) bool {
		m, ok := r.msg.(*intakev1.IntakeCaseOpened)
		return ok && len(m.GetSignalIds()) == 1 && m.GetSignalIds()[0] == sub.GetSignalId()
	}).msg.(*intakev1.IntakeCaseOpened)
	caseID := opened.GetCaseId()

	teamIntake := intakev1.NewIntakeServiceClient(dialAs(t, s, "team", s.Endpoint("intake").Addr))
	team := casedirectionv1.NewCaseDirectionServiceClient(dialAs(t, s, "team", s.Endpoint("casedirection").Addr))
	teamCtx := acting(t, "regisseur-anna", "case_director", "case-direction")
	in, err := teamIntake.GetIntake(teamCtx, &intakev1.GetIntakeRequest{IntakeId: opened.GetIntakeId()})
	if err != nil {
		t.Fatalf("get intake: %v", err)
	}
	residentID := in.GetIntake().GetResidentId()

	// Director, plan with one goal, work started; the GP is involved and reads the case.
	if _, err := team.AssignDirector(teamCtx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "hh-dir", CaseId: caseID, ProfessionalId: "regisseur-anna"}); err != nil {
		t.Fatalf("assign director: %v", err)
	}
	plan, err := team.AdoptPlan(teamCtx, &casedirectionv1.AdoptPlanRequest{IdempotencyKey: "hh-plan", CaseId: caseID, ResidentAgreed: true,
		ResidentAgreedOn: today, EvaluationDate: nowNL().AddDate(0, 3, 0).Format(time.DateOnly),
		Goals: []*casedirectionv1.GoalInput{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, BaselineScore: 2, TargetScore: 4}}})
	if err != nil {
		t.Fatalf("adopt plan: %v", err)
	}
	goalID := plan.GetCase().GetPlan().GetGoals()[0].GetId()
	if _, err := team.StartPlanExecution(teamCtx, &casedirectionv1.StartPlanExecutionRequest{IdempotencyKey: "hh-start", CaseId: caseID}); err != nil {
		t.Fatalf("start plan: %v", err)
	}
	if _, err := team.AddInvolvement(teamCtx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "hh-gp", CaseId: caseID,
		OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP, OrganisationOin: suite.DemoGP.OIN,
		Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR}); err != nil {
		t.Fatalf("involve the GP: %v", err)
	}
	gpCase := casedirectionv1.NewCaseDirectionServiceClient(dialAs(t, s, "gp", s.Endpoint("casedirection").Addr))
	if _, err := gpCase.GetCase(acting(t, "dr-jansen", "gp", "case-consultation"), &casedirectionv1.GetCaseRequest{CaseId: caseID}); err != nil {
		t.Fatalf("the involved GP reads the case: %v", err)
	}

	// The provider asks for an allocation (315); the team grants it for the case.
	provider := providermonitoringv1.NewProviderMonitoringServiceClient(dialAs(t, s, "provider", s.Endpoint("providermonitoring").Addr))
	provCtx := acting(t, "zorg-piet", "care_coordinator", "care-delivery")
	req, err := provider.SubmitAllocationRequest(provCtx, &providermonitoringv1.SubmitAllocationRequestRequest{IdempotencyKey: "hh-315",
		Kind: providermonitoringv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION, ProviderAgb: suite.DemoProviderAGB,
		MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict, ProductCategory: suite.DemoProductCategory,
		ProductCode: suite.DemoProductCode, StartDate: today, Volume: hoursPerWeek(3), ReferrerType: "02", ReferrerCode: "01234567"})
	if err != nil {
		t.Fatalf("315: %v", err)
	}
	teamPM := providermonitoringv1.NewProviderMonitoringServiceClient(dialAs(t, s, "team", s.Endpoint("providermonitoring").Addr))
	granted, err := teamPM.AnswerAllocationRequest(acting(t, "anna", "case_director", "allocation"), &providermonitoringv1.AnswerAllocationRequestRequest{
		IdempotencyKey: "hh-319", RequestId: req.GetRequest().GetId(), Decision: providermonitoringv1.AnswerDecision_ANSWER_DECISION_GRANT, CaseId: caseID})
	if err != nil {
		t.Fatalf("grant: %v", err)
	}
	number := granted.GetAllocation().GetNumber()

	// GetCase shows it, as the provider's request.
	var action *casedirectionv1.AllocationAction
	waitUntil(t, "the granted allocation on the case", func() bool {
		c, err := team.GetCase(teamCtx, &casedirectionv1.GetCaseRequest{CaseId: caseID})
		if err != nil {
			return false
		}
		for _, a := range c.GetCase().GetAllocations() {
			if a.GetAllocationNumber() == number {
				action = a
			}
		}
		return action != nil
	})
	if action.GetOrigin() != casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_PROVIDER_REQUEST || action.GetProviderAgb() != suite.DemoProviderAGB {
		t.Fatalf("allocation on the case: %v", action)
	}

	// Care starts; the provider reports the goal reached and advises scaling down: a to-do.
	if _, err := provider.ReportDeliveryStarted(provCtx, &providermonitoringv1.ReportDeliveryStartedRequest{IdempotencyKey: "hh-305", AllocationNumber: number, StartedOn: today}); err != nil {
		t.Fatalf("start of care: %v", err)
	}
	if _, err := provider.ReportProgress(provCtx, &providermonitoringv1.ReportProgressRequest{IdempotencyKey: "hh-prog", AllocationNumber: number,
		GoalIds: []string{goalID}, Judgement: providermonitoringv1.ProgressAssessment_PROGRESS_ASSESSMENT_REACHED}); err != nil {
		t.Fatalf("progress: %v", err)
	}
	waitUntil(t, "the scale-down advice as the case's to-do", func() bool {
		c, err := team.GetCase(teamCtx, &casedirectionv1.GetCaseRequest{CaseId: caseID})
		if err != nil {
			return false
		}
		for _, td := range c.GetCase().GetEvaluationTodos() {
			if td.GetAllocationNumber() == number && td.GetReason() == casedirectionv1.EvaluationTodoReason_EVALUATION_TODO_REASON_SCALE_DOWN_ADVISED {
				return true
			}
		}
		return false
	})

	// Closing is refused while the allocation runs, naming it.
	if _, err := team.SetGoalStatus(teamCtx, &casedirectionv1.SetGoalStatusRequest{IdempotencyKey: "hh-goal", CaseId: caseID, GoalId: goalID,
		Status: casedirectionv1.GoalStatus_GOAL_STATUS_REACHED}); err != nil {
		t.Fatalf("goal reached: %v", err)
	}
	assessment, err := teamIntake.RecordAssessment(teamCtx, &intakev1.RecordAssessmentRequest{IdempotencyKey: "hh-zrm", ResidentId: residentID,
		InstrumentVersion: "ZRM-2017", Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_CLOSING,
		Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, Score: 4}}})
	if err != nil {
		t.Fatalf("closing assessment: %v", err)
	}
	closeReq := func(key string) *casedirectionv1.CloseCaseRequest {
		return &casedirectionv1.CloseCaseRequest{IdempotencyKey: key, CaseId: caseID, Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED,
			AssessmentId: assessment.GetAssessment().GetId()}
	}
	_, err = team.CloseCase(teamCtx, closeReq("hh-close-1"))
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "allocation "+number) {
		t.Fatalf("closing with the granted allocation still STARTED: want FAILED_PRECONDITION naming %s, got %v", number, err)
	}

	// The provider reports the stop; then the case closes, with the outcome from intake's assessment.
	if _, err := provider.ReportDeliveryStopped(provCtx, &providermonitoringv1.ReportDeliveryStoppedRequest{IdempotencyKey: "hh-307",
		AllocationNumber: number, StoppedOn: today, ReasonCode: "31"}); err != nil {
		t.Fatalf("stop of care: %v", err)
	}
	var closed *casedirectionv1.Case
	waitUntil(t, "the case closing once care stopped", func() bool {
		resp, err := team.CloseCase(teamCtx, closeReq("hh-close-"+time.Now().Format("150405.000")))
		closed = resp.GetCase()
		return err == nil
	})
	if closed.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_CLOSED || len(closed.GetDomainOutcomes()) != 1 ||
		closed.GetDomainOutcomes()[0].GetOutcome() != casedirectionv1.DomainOutcomeKind_DOMAIN_OUTCOME_KIND_TARGET_REACHED {
		t.Fatalf("closed case: %v", closed)
	}

	// The resident's access history: every service has entries about them, case-direction's
	// and provider-monitoring's included (under the resident's pseudonym, without a BSN).
	want := map[string][]string{
		"intake":             {"intake."},
		"casedirection":      {"casedirection.case.read", "casedirection.case.close", "casedirection.case.allocation_linked"},
		"providermonitoring": {"providermonitoring.allocation."},
		"referral":           {"referral.signal."},
	}
	for name, prefixes := range want {
		cc := dialAs(t, s, "municipality", s.Endpoint(name).Addr)
		resp, err := accesslogv1.NewAccessLogServiceClient(cc).ListResidentAccess(acting(t, "privacy-officer", "privacy_officer", "right-of-access"),
			&accesslogv1.ListResidentAccessRequest{ResidentBsn: bsn, PageSize: 1000})
		if err != nil {
			t.Fatalf("%s: access history: %v", name, err)
		}
		for _, prefix := range prefixes {
			found := false
			for _, e := range resp.GetEntries() {
				found = found || strings.HasPrefix(e.GetAction(), prefix)
			}
			if !found {
				var got []string
				for _, e := range resp.GetEntries() {
					got = append(got, e.GetAction())
				}
				t.Errorf("%s: no %s* entry in the resident's access history; got %v", name, prefix, got)
			}
		}
	}
}

// waitUntil polls cond for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
