package service_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/intake/service"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Triage of an intake reads only ZRM assessments its own team may read (the rule of
// ListAssessments). Team B's intake that merely matched a resident team A works with is
// triaged as for a resident without an assessment, so its outcome says nothing about A's
// scores; A's own intakes are triaged with A's assessment as before.

// openCaseFor returns the OpenCase request case direction got for an intake (nil when none).
func (h *harness) openCaseFor(intakeID string) *casedirectionv1.OpenCaseRequest {
	for _, r := range h.cd.Requests() {
		if r.GetIntakeId() == intakeID {
			return r
		}
	}
	return nil
}

// registerAs registers an intake with another team's client and returns the answer.
func registerAs(t *testing.T, client intakev1.IntakeServiceClient, bsn string, urgency intakev1.Urgency) *intakev1.RegisterIntakeResponse {
	t.Helper()
	resp, err := client.RegisterIntake(svctest.Ctx(t), request(bsn, urgency, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING))
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	return resp
}

// At receipt, under the default policy (rule any-domain-acute: the latest ZRM has a domain
// scored 1): A's acute assessment opens case direction for A's intake, not for B's.
func TestMatchedIntakeIsTriagedWithoutTheOtherTeamsAssessment(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	bsn := validBSN(150)
	teamB := svctest.Org(identity.OrgTeam, "Wijkteam Oost")
	b := h.clientAs(t, teamB)

	first := h.register(t, bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	resident := first.GetResidentId()
	acute := h.assess(t, resident, first.GetId(), map[string]int32{"HOUSING": 1, "FINANCES": 4})

	// B may not read A's assessment.
	if _, err := b.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{ResidentId: resident}); status.Code(err) != codes.NotFound {
		t.Fatalf("ListAssessments of the resident by team B: want NOT_FOUND, got %v", err)
	}

	// B's intake: a match, triaged as for a resident without an assessment.
	matched := registerAs(t, b, bsn, intakev1.Urgency_URGENCY_NORMAL)
	if matched.GetMatch() == nil {
		t.Fatalf("want a match for team B, got %v", matched)
	}
	if in := matched.GetIntake(); in.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED || in.GetTriageRule() != "" {
		t.Errorf("team B's intake was triaged with team A's assessment: status %s, rule %q; want RECEIVED, no rule",
			in.GetStatus(), in.GetTriageRule())
	}
	if r := h.openCaseFor(matched.GetIntake().GetId()); r != nil {
		t.Errorf("case direction was asked to open a case for team B's intake: %v", r)
	}

	// A's own next intake still goes to case direction by A's assessment, starting from it.
	own := h.register(t, bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	if own.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || own.GetTriageRule() != "any-domain-acute" {
		t.Errorf("team A's intake: status %s, rule %q; want CASE_OPENED by any-domain-acute", own.GetStatus(), own.GetTriageRule())
	}
	if r := h.openCaseFor(own.GetId()); r == nil || r.GetBaselineAssessmentId() != acute.GetId() {
		t.Errorf("team A's case: want baseline %s, got %v", acute.GetId(), r)
	}

	// A crisis of B's goes to case direction (rule crisis), but its case does not start from
	// A's assessment.
	crisis := registerAs(t, b, bsn, intakev1.Urgency_URGENCY_CRISIS)
	if in := crisis.GetIntake(); in.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || in.GetTriageRule() != "crisis" {
		t.Errorf("team B's crisis: status %s, rule %q; want CASE_OPENED by crisis", in.GetStatus(), in.GetTriageRule())
	}
	if r := h.openCaseFor(crisis.GetIntake().GetId()); r == nil || r.GetBaselineAssessmentId() != "" {
		t.Errorf("team B's case: want no baseline assessment, got %v", r)
	}

	// Nothing of A's file was logged as granted to B; the match is logged as refused.
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE org_oin = $1 AND outcome = 'GRANTED'
		AND (object_type IN ('assessment', 'resident', 'household') OR object_id = $2)`, teamB.OIN, acute.GetId()); n != 0 {
		t.Errorf("%d GRANTED access-log entries of team B on team A's file", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE org_oin = $1 AND action = 'intake.resident.match' AND outcome = 'DENIED'`,
		teamB.OIN); n != 2 {
		t.Errorf("%d DENIED match entries of team B, want 2", n)
	}
}

// Applying a policy later (DecideTriage with apply_policy) reads the same way: a rule on ZRM
// scores refers A's intake, while B's falls through to the policy's fallback.
func TestMatchedIntakeAppliesThePolicyWithoutTheOtherTeamsAssessment(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	gemeente := svctest.Org(identity.OrgMunicipality, "Gemeente Amsterdam")
	if err := service.SeedDemo(context.Background(), h.svc.DSN, service.DemoMunicipality{OIN: gemeente.OIN, Municipality: municipality}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.clientAs(t, gemeente).ReplaceTriagePolicy(adminCtx(t), &intakev1.ReplaceTriagePolicyRequest{
		IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality, Positioning: intakev1.Positioning_POSITIONING_FIRST_ACCESS,
		ContactAttempts: 3, TriageDays: 5, ExpectedVersion: 0,
		Rules: []*intakev1.TriageRule{
			{Name: "acute-zrm", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_DOMAINS_SCORED_AT_MOST, MinCount: 1, MaxScore: 1,
				Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_COMMUNITY_REFERRAL},
			{Name: "fallback", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_ALWAYS, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE},
		},
	}); err != nil {
		t.Fatalf("ReplaceTriagePolicy: %v", err)
	}
	bsn := validBSN(151)
	b := h.clientAs(t, svctest.Org(identity.OrgTeam, "Wijkteam Oost"))
	first := h.register(t, bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	h.assess(t, first.GetResidentId(), first.GetId(), map[string]int32{"HOUSING": 1, "FINANCES": 4})

	apply := func(client intakev1.IntakeServiceClient, id string) *intakev1.Intake {
		t.Helper()
		if _, err := client.StartTriage(ctx, &intakev1.StartTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: id}); err != nil {
			t.Fatalf("StartTriage: %v", err)
		}
		resp, err := client.DecideTriage(ctx, &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: id, ApplyPolicy: true})
		if err != nil {
			t.Fatalf("DecideTriage: %v", err)
		}
		return resp.GetIntake()
	}
	matched := registerAs(t, b, bsn, intakev1.Urgency_URGENCY_NORMAL)
	if matched.GetMatch() == nil {
		t.Fatalf("want a match for team B, got %v", matched)
	}
	if got := apply(b, matched.GetIntake().GetId()); got.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_ADVISED || got.GetTriageRule() != "fallback" {
		t.Errorf("team B's intake under the policy: status %s, rule %q; want ADVISED by fallback", got.GetStatus(), got.GetTriageRule())
	}
	if got := apply(h.client, first.GetId()); got.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_REFERRED || got.GetTriageRule() != "acute-zrm" {
		t.Errorf("team A's intake under the policy: status %s, rule %q; want REFERRED by acute-zrm", got.GetStatus(), got.GetTriageRule())
	}
}

// The rule is ListAssessments' to the letter: when B works with another current member of the
// household (set in the table here, as a handover would), B may read the household's
// assessments, and triage of its matched intake uses the household's latest, not the
// resident's own, which B may not read.
func TestMatchedIntakeUsesTheHouseholdAssessmentItsTeamMayRead(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	bsn := validBSN(152)
	teamB := svctest.Org(identity.OrgTeam, "Wijkteam Oost")
	b := h.clientAs(t, teamB)

	first := h.register(t, bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	resident, household := first.GetResidentId(), first.GetHouseholdId()
	h.assess(t, resident, first.GetId(), map[string]int32{"HOUSING": 4, "FINANCES": 4})
	partner := h.resident(t, h.client, 153, nil)
	if _, err := h.client.AddHouseholdMember(ctx, &intakev1.AddHouseholdMemberRequest{IdempotencyKey: uuid.NewString(),
		HouseholdId: household, ResidentId: partner.GetId(), Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER}); err != nil {
		t.Fatalf("AddHouseholdMember: %v", err)
	}
	hhResp, err := h.client.RecordAssessment(ctx, &intakev1.RecordAssessmentRequest{IdempotencyKey: uuid.NewString(), HouseholdId: household,
		InstrumentVersion: "ZRM-2017", Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE,
		Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, Score: 1}}})
	if err != nil {
		t.Fatalf("RecordAssessment of the household: %v", err)
	}
	if _, err := h.svc.Pool.Exec(context.Background(), `INSERT INTO team_residents (team_oin, resident_id) VALUES ($1, $2)`,
		teamB.OIN, partner.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{ResidentId: resident}); status.Code(err) != codes.NotFound {
		t.Fatalf("ListAssessments of the resident by team B: want NOT_FOUND, got %v", err)
	}
	if list, err := b.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{HouseholdId: household}); err != nil || len(list.GetAssessments()) != 1 {
		t.Fatalf("ListAssessments of the household by team B: want the household's assessment, got %v %v", err, list)
	}

	matched := registerAs(t, b, bsn, intakev1.Urgency_URGENCY_NORMAL)
	if matched.GetMatch() == nil {
		t.Fatalf("want a match for team B, got %v", matched)
	}
	if in := matched.GetIntake(); in.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || in.GetTriageRule() != "any-domain-acute" {
		t.Errorf("team B's intake: status %s, rule %q; want CASE_OPENED by any-domain-acute (the household's assessment)",
			in.GetStatus(), in.GetTriageRule())
	}
	if r := h.openCaseFor(matched.GetIntake().GetId()); r == nil || r.GetBaselineAssessmentId() != hhResp.GetAssessment().GetId() {
		t.Errorf("team B's case: want baseline %s (the household's), got %v", hhResp.GetAssessment().GetId(), r)
	}
	// A's own intake still reads the resident's own assessment first: no acute domain there.
	own := h.register(t, bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	if own.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED {
		t.Errorf("team A's intake: status %s, rule %q; want RECEIVED", own.GetStatus(), own.GetTriageRule())
	}
}
